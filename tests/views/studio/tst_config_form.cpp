// The run configuration form: generated from the schema, every key round-trips through its
// editor, bad input is flagged next to its field and blocks starting a run.
#include "core/errors.h"
#include "studio_test_support.h"
#include "test_main.h"
#include "views/config_form.h"
#include "views/config_panel.h"

#include <QApplication>
#include <QJsonArray>
#include <QPushButton>
#include <QTemporaryDir>

using namespace rr;
using rr::views::ConfigForm;
using rr::views::ConfigPanel;

namespace {
/// A valid value for `key` that differs from its default (Undefined when none can be made).
QJsonValue alternative(const ConfigKey& key) {
  const ConfigSchema& schema = ConfigSchema::instance();
  QList<QJsonValue> candidates;
  switch (key.type) {
    case ConfigKey::Type::Int:
    case ConfigKey::Type::Double:
      candidates = {key.min, key.max, (key.min + key.max) / 2};
      break;
    case ConfigKey::Type::Bool: candidates = {!key.defaultValue.toBool()}; break;
    case ConfigKey::Type::Enum:
      for (const QString& c : key.choices) candidates.append(c);
      break;
    case ConfigKey::Type::String:
      for (const char* s : {"lares", "plr", "cpu", "cuda:1", "abc"}) candidates.append(QString::fromLatin1(s));
      break;
    case ConfigKey::Type::IntList:
      candidates = {QJsonArray{key.max}, QJsonArray{key.min, key.max}};
      break;
    case ConfigKey::Type::StringList: {
      QJsonArray all, first;
      for (const QString& c : key.choices) all.append(c);
      if (!key.choices.isEmpty()) first.append(key.choices.first());
      candidates = {all, first, QJsonArray{QStringLiteral("x")}};
      break;
    }
  }
  for (const QJsonValue& v : candidates)
    if (v != key.defaultValue && schema.check(key, v).isEmpty()) return v;
  return QJsonValue(QJsonValue::Undefined);
}
}  // namespace

class ConfigFormTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { rr::test::isolateSettings(); }

  void everySchemaKeyHasAnEditor() {
    ConfigForm form;
    for (const ConfigKey& k : ConfigSchema::instance().keys()) QVERIFY2(form.editor(k.path), qPrintable(k.path));
  }

  void presetsRoundTrip_data() {
    QTest::addColumn<QString>("preset");
    for (const QString& p : presetNames()) QTest::newRow(qPrintable(p)) << p;
  }
  void presetsRoundTrip() {
    QFETCH(QString, preset);
    ConfigForm form;
    const RunConfig cfg = RunConfig::fromPreset(preset);
    form.setConfig(cfg);
    QVERIFY2(form.isValid(), qPrintable(form.issues().value(0).key + ": " + form.issues().value(0).message));
    QCOMPARE(form.json(), cfg.toJson());
    QCOMPARE(form.config().toJson(), cfg.toJson());
    QVERIFY(form.differences().isEmpty());
  }

  void everyKeyRoundTrips_data() {
    QTest::addColumn<QString>("key");
    for (const ConfigKey& k : ConfigSchema::instance().keys()) QTest::newRow(qPrintable(k.path)) << k.path;
  }
  void everyKeyRoundTrips() {
    QFETCH(QString, key);
    const ConfigKey& k = ConfigSchema::instance().require(key);
    const QJsonValue alt = alternative(k);
    QVERIFY2(!alt.isUndefined(), "no valid non-default value could be made for the key");
    RunConfig cfg;
    cfg.set(key, alt);
    ConfigForm form;
    form.setConfig(cfg);
    QCOMPARE(jsonPathValue(form.json(), key), alt);
    QCOMPARE(form.json(), cfg.toJson());  // and nothing else changed on the way
    // The edited key shows up as a difference from the (custom) preset.
    if (key != QLatin1String("preset")) QVERIFY(form.differences().contains(key));
  }

  void invalidInputIsFlaggedAndBlocksStart() {
    rr::test::isolateSettings();
    QTemporaryDir dir;
    rr::test::makeProject(dir.path());
    Project p = Project::openOrCreate(dir.path());
    ExperimentStore store(p.databasePath());
    ConfigPanel panel;
    panel.setStore(&store);
    panel.setPreset(QStringLiteral("sasrec"));
    ConfigForm* form = panel.form();
    QVERIFY(panel.datasetId() > 0);
    QVERIFY(panel.startButton()->isEnabled());

    form->setValueText(QStringLiteral("model.d"), QStringLiteral("abc"));  // not a number
    QVERIFY(!form->errorText(QStringLiteral("model.d")).isEmpty());
    QVERIFY(!panel.startButton()->isEnabled());
    QCOMPARE(form->issues().first().key, QStringLiteral("model.d"));
    QVERIFY_THROWS_EXCEPTION(ConfigError, form->config());

    form->setValueText(QStringLiteral("model.d"), QStringLiteral("100000"));  // out of range
    QVERIFY(form->errorText(QStringLiteral("model.d")).contains(QStringLiteral("between")));
    QVERIFY(!panel.startButton()->isEnabled());

    form->setValueText(QStringLiteral("model.d"), QStringLiteral("30"));  // 2 heads divide 30 ...
    form->setValueText(QStringLiteral("model.heads"), QStringLiteral("4"));  // ... 4 do not
    QVERIFY(!form->isValid());
    QVERIFY(!panel.startButton()->isEnabled());

    form->setValueText(QStringLiteral("model.d"), QStringLiteral("32"));
    QVERIFY2(form->isValid(), qPrintable(form->issues().value(0).message));
    QVERIFY(form->errorText(QStringLiteral("model.d")).isEmpty());
    QVERIFY(panel.startButton()->isEnabled());
    QCOMPARE(form->config().getInt(QStringLiteral("model.d")), 32);
    QVERIFY(form->differences().contains(QStringLiteral("model.heads")));
  }

  void keysThatDoNotApplyAreHidden() {
    ConfigForm form;
    form.show();
    form.setConfig(RunConfig::fromPreset(QStringLiteral("sasrec")));
    QVERIFY(!form.isKeyShown(QStringLiteral("model.reasoner.streams")));
    QVERIFY(form.isKeyShown(QStringLiteral("train.lr")));
    form.setValueText(QStringLiteral("model.reasoner.kind"), QStringLiteral("plr"));
    QVERIFY(form.isKeyShown(QStringLiteral("model.reasoner.streams")));
    QVERIFY(!form.isKeyShown(QStringLiteral("model.reasoner.t0_std")));  // LARES and advanced
  }

  void savedConfigurationsAreReusable() {
    QTemporaryDir dir;
    rr::test::makeProject(dir.path());
    Project p = Project::openOrCreate(dir.path());
    ExperimentStore store(p.databasePath());
    ConfigPanel panel;
    panel.setStore(&store);
    panel.setPreset(QStringLiteral("lares"));
    panel.form()->setValueText(QStringLiteral("train.epochs"), QStringLiteral("7"));
    QCOMPARE(panel.saveConfiguration(QStringLiteral("lares-short")), QString());
    const auto saved = store.savedConfigs();
    QCOMPARE(saved.size(), 1);
    panel.setPreset(QStringLiteral("sasrec"));
    QCOMPARE(panel.form()->valueText(QStringLiteral("train.epochs")), QStringLiteral("200"));
    panel.loadSavedConfiguration(saved.first().id);
    QCOMPARE(panel.form()->valueText(QStringLiteral("train.epochs")), QStringLiteral("7"));
    QCOMPARE(panel.form()->valueText(QStringLiteral("model.reasoner.kind")), QStringLiteral("lares"));
  }
};

RR_TEST_GUI_MAIN(ConfigFormTest)
#include "tst_config_form.moc"
