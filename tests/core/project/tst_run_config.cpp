#include "core/errors.h"
#include "core/project/run_config.h"
#include "core/project/stored_config.h"
#include "test_main.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>

using namespace rr;

namespace {

QJsonValue parseJsonValue(const QString& text) {
  return QJsonDocument::fromJson(QStringLiteral("[%1]").arg(text).toUtf8()).array().at(0);
}

QJsonObject parseObject(const QString& text) { return QJsonDocument::fromJson(text.toUtf8()).object(); }

/// Runs `f` expecting a ConfigError; returns it.
template <class F>
std::optional<ConfigError> expectConfigError(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e;
  }
  return std::nullopt;
}

}  // namespace

class TestRunConfig : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir tmp_;
  QString writeFile(const QString& name, const QByteArray& content) {
    const QString path = tmp_.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return {};
    f.write(content);
    return path;
  }

 private slots:
  void defaultsAreValid() {
    const RunConfig c;
    QVERIFY(c.issues().isEmpty());
    QCOMPARE(c.preset(), QStringLiteral("custom"));
    QCOMPARE(c.toJson(), ConfigSchema::instance().defaults());
    c.validate();
  }

  void presetNamesInMenuOrder() {
    QCOMPARE(presetNames(), (QStringList{"sasrec", "bert4rec", "gru4rec", "fmlprec", "rearec-erl", "rearec-prl",
                                         "plr", "plr-fast", "lares", "hybrid"}));
    QVERIFY(presetDescription(QStringLiteral("nope")).isEmpty());
    QVERIFY(presetOverlay(QStringLiteral("nope")).isEmpty());
  }

  void presetIsValid_data() {
    QTest::addColumn<QString>("name");
    for (const QString& n : presetNames()) QTest::newRow(qPrintable(n)) << n;
  }
  void presetIsValid() {
    QFETCH(QString, name);
    const RunConfig c = RunConfig::fromPreset(name);
    const QVector<ConfigIssue> issues = c.issues();
    for (const ConfigIssue& i : issues) qWarning("%s: %s", qPrintable(i.key), qPrintable(i.message));
    QVERIFY(issues.isEmpty());
    QCOMPARE(c.preset(), name);
    const QString description = presetDescription(name);
    QVERIFY(!description.isEmpty() && !description.contains(QLatin1Char('\n')) && description.size() < 120);
    // A stored configuration reads back as itself.
    QCOMPARE(RunConfig::fromJson(c.toJson()), c);
    // The overlay is what differs from the defaults (plus the preset name).
    const auto changes = c.diff(RunConfig());
    QVERIFY(changes.contains(QStringLiteral("preset")));
    for (auto it = changes.begin(); it != changes.end(); ++it)
      if (it.key() != QLatin1String("preset"))
        QVERIFY2(!jsonPathValue(presetOverlay(name), it.key()).isUndefined(), qPrintable(it.key()));
  }

  void presetValues_data() {
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("json");
    QTest::newRow("sasrec backbone") << "sasrec" << "model.backbone" << "\"sasrec\"";
    QTest::newRow("sasrec no reasoner") << "sasrec" << "model.reasoner.kind" << "\"none\"";
    QTest::newRow("sasrec max_len") << "sasrec" << "data.max_len" << "50";
    QTest::newRow("sasrec batch") << "sasrec" << "train.batch_size" << "256";
    QTest::newRow("sasrec targets") << "sasrec" << "train.targets" << "\"all_positions\"";
    QTest::newRow("sasrec patience") << "sasrec" << "train.patience" << "10";
    QTest::newRow("bert4rec backbone") << "bert4rec" << "model.backbone" << "\"bert4rec\"";
    QTest::newRow("bert4rec mask") << "bert4rec" << "model.mask_ratio" << "0.2";
    QTest::newRow("gru4rec backbone") << "gru4rec" << "model.backbone" << "\"gru4rec\"";
    QTest::newRow("fmlprec backbone") << "fmlprec" << "model.backbone" << "\"fmlprec\"";
    QTest::newRow("erl kind") << "rearec-erl" << "model.reasoner.kind" << "\"erl\"";
    QTest::newRow("erl steps") << "rearec-erl" << "model.reasoner.steps" << "2";
    QTest::newRow("erl temperature") << "rearec-erl" << "model.temperature" << "0.07";
    QTest::newRow("plr temperature") << "plr" << "model.temperature" << "0.07";
    QTest::newRow("plr-fast temperature") << "plr-fast" << "model.temperature" << "0.07";
    QTest::newRow("erl kl weight") << "rearec-erl" << "train.div_weight" << "0.05";
    QTest::newRow("prl kind") << "rearec-prl" << "model.reasoner.kind" << "\"prl\"";
    QTest::newRow("prl temperature") << "rearec-prl" << "model.temperature" << "0.07";
    QTest::newRow("prl alpha") << "rearec-prl" << "model.reasoner.prl_alpha" << "5";
    QTest::newRow("plr kind") << "plr" << "model.reasoner.kind" << "\"plr\"";
    QTest::newRow("plr d") << "plr" << "model.d" << "256";
    QTest::newRow("plr streams") << "plr" << "model.reasoner.streams" << "2";
    QTest::newRow("plr steps") << "plr" << "model.reasoner.steps" << "2";
    QTest::newRow("plr lambda") << "plr" << "train.div_weight" << "0.1";
    QTest::newRow("plr p_rep") << "plr" << "model.reasoner.rep_dropout" << "0.3";
    QTest::newRow("plr p_attn") << "plr" << "model.reasoner.attn_score_dropout" << "0.3";
    QTest::newRow("plr batch") << "plr" << "train.batch_size" << "2048";
    QTest::newRow("plr optimizer") << "plr" << "train.optimizer" << "\"adam\"";
    QTest::newRow("plr-fast d") << "plr-fast" << "model.d" << "64";
    QTest::newRow("plr-fast streams") << "plr-fast" << "model.reasoner.streams" << "2";
    QTest::newRow("lares kind") << "lares" << "model.reasoner.kind" << "\"lares\"";
    QTest::newRow("lares max_len") << "lares" << "data.max_len" << "20";
    QTest::newRow("lares steps") << "lares" << "model.reasoner.steps" << "4";
    QTest::newRow("lares pre") << "lares" << "model.reasoner.pre_layers" << "2";
    QTest::newRow("lares core") << "lares" << "model.reasoner.core_layers" << "2";
    QTest::newRow("lares ffn") << "lares" << "model.ffn" << "256";
    QTest::newRow("lares dropout") << "lares" << "model.dropout" << "0.5";
    QTest::newRow("lares batch") << "lares" << "train.batch_size" << "1024";
    QTest::newRow("lares optimizer") << "lares" << "train.optimizer" << "\"adamw\"";
    QTest::newRow("lares stages") << "lares" << "stages" << "[\"spt\",\"rpt\"]";
    QTest::newRow("lares targets") << "lares" << "train.targets" << "\"last\"";
    QTest::newRow("lares tla") << "lares" << "train.tla_weight" << "0.1";
    QTest::newRow("lares sla") << "lares" << "train.sla_weight" << "0.5";
    QTest::newRow("lares rpt lr") << "lares" << "rpt.lr" << "0.0005";
    QTest::newRow("hybrid kind") << "hybrid" << "model.reasoner.kind" << "\"hybrid\"";
    QTest::newRow("hybrid streams") << "hybrid" << "model.reasoner.streams" << "2";
    QTest::newRow("hybrid aggregate") << "hybrid" << "model.reasoner.aggregate" << "\"gate\"";
    QTest::newRow("hybrid keeps lares max_len") << "hybrid" << "data.max_len" << "20";
    QTest::newRow("hybrid stages") << "hybrid" << "stages" << "[\"spt\",\"rpt\"]";
  }
  void presetValues() {
    QFETCH(QString, preset);
    QFETCH(QString, key);
    QFETCH(QString, json);
    QCOMPARE(RunConfig::fromPreset(preset).value(key), parseJsonValue(json));
  }

  void unknownPresetListsChoices() {
    const auto e = expectConfigError([] { RunConfig::fromPreset(QStringLiteral("lars")); });
    QVERIFY(e);
    QCOMPARE(e->key(), QStringLiteral("preset"));
    QVERIFY2(e->message().contains(QStringLiteral("sasrec, bert4rec")), qPrintable(e->message()));
  }

  void setAssignment_data() {
    QTest::addColumn<QString>("assignment");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("json");
    QTest::newRow("int") << "train.epochs=5" << "train.epochs" << "5";
    QTest::newRow("spaces around") << " train.epochs = 7 " << "train.epochs" << "7";
    QTest::newRow("double exponent") << "train.lr=1e-3" << "train.lr" << "0.001";
    QTest::newRow("bool yes") << "train.length_bucketing=no" << "train.length_bucketing" << "false";
    QTest::newRow("enum") << "model.reasoner.kind=plr" << "model.reasoner.kind" << "\"plr\"";
    QTest::newRow("int list") << "eval.ks=[5,10]" << "eval.ks" << "[5,10]";
    QTest::newRow("int list bare") << "eval.ks=10,20" << "eval.ks" << "[10,20]";
    QTest::newRow("string list") << "stages=spt" << "stages" << "[\"spt\"]";
    QTest::newRow("device") << "device=cuda:1" << "device" << "\"cuda:1\"";
    QTest::newRow("value with =") << "preset=custom" << "preset" << "\"custom\"";
  }
  void setAssignment() {
    QFETCH(QString, assignment);
    QFETCH(QString, key);
    QFETCH(QString, json);
    RunConfig c;
    c.setAssignment(assignment);
    QCOMPARE(c.value(key), parseJsonValue(json));
  }

  void setAssignmentErrors_data() {
    QTest::addColumn<QString>("assignment");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("message");
    QTest::newRow("not an int") << "train.epochs=abc" << "train.epochs" << "expected an integer, got 'abc'";
    QTest::newRow("out of range") << "train.epochs=0" << "train.epochs" << "must be between 1 and 100000, got 0";
    QTest::newRow("enum case") << "model.reasoner.kind=LARES" << "model.reasoner.kind"
                               << "expected one of: none, erl, prl, lares, plr, hybrid; got 'LARES'";
    QTest::newRow("typo suggests") << "model.reasoner.step=3" << "model.reasoner.step"
                                   << "unknown key; did you mean model.reasoner.steps?";
    QTest::newRow("bare leaf suggests") << "steps=3" << "steps" << "did you mean model.reasoner.steps?";
    QTest::newRow("no equals") << "train.epochs" << "--set" << "expected KEY=VALUE, got 'train.epochs'";
    QTest::newRow("empty key") << "=5" << "--set" << "expected KEY=VALUE";
    QTest::newRow("empty list") << "eval.ks=[]" << "eval.ks" << "must not be empty";
    QTest::newRow("duplicate list") << "eval.ks=5,5" << "eval.ks" << "listed twice";
    QTest::newRow("bad stage") << "stages=spt,sft" << "stages" << "expected one of: spt, rpt";
    QTest::newRow("bad device") << "device=gpu" << "device" << "expected auto, cpu, cuda or cuda:N";
    QTest::newRow("section") << "model=5" << "model" << "is a section";
    QTest::newRow("unknown preset") << "preset=lars" << "preset" << "unknown preset 'lars'";
  }
  void setAssignmentErrors() {
    QFETCH(QString, assignment);
    QFETCH(QString, key);
    QFETCH(QString, message);
    RunConfig c;
    const RunConfig before = c;
    const auto e = expectConfigError([&] { c.setAssignment(assignment); });
    QVERIFY(e);
    QCOMPARE(e->key(), key);
    QCOMPARE(e->code(), ExitCode::Usage);
    QVERIFY2(e->message().startsWith(key + QStringLiteral(": ")), qPrintable(e->message()));
    QVERIFY2(e->message().contains(message), qPrintable(e->message()));
    QCOMPARE(c, before);
  }

  void mergeIsAllOrNothing() {
    RunConfig c;
    const auto e = expectConfigError([&] {
      c.merge(parseObject(R"({"train": {"epochs": 5, "lr": "fast"}})"));
    });
    QVERIFY(e);
    QCOMPARE(e->key(), QStringLiteral("train.lr"));
    QCOMPARE(c.getInt(QStringLiteral("train.epochs")), 200);
  }

  void mergeAcceptsDottedKeysAndEmptySections() {
    RunConfig c;
    c.merge(parseObject(R"({"train.epochs": 3, "model": {"reasoner": {}}, "eval": {"ks": [10]}, "train": {"metric": "recall@10"}})"));
    QCOMPARE(c.getInt(QStringLiteral("train.epochs")), 3);
    QCOMPARE(c.getIntList(QStringLiteral("eval.ks")), QVector<int>{10});
    QVERIFY(c.issues().isEmpty());
  }

  void fromJson_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("errorKey");  // empty = valid
    QTest::addColumn<QString>("message");
    QTest::newRow("overlay on named preset") << R"({"preset": "lares", "train": {"epochs": 3}})" << "" << "";
    QTest::newRow("nested unknown key") << R"({"model": {"reasoner": {"stepz": 2}}})" << "model.reasoner.stepz"
                                        << "did you mean model.reasoner.steps?";
    QTest::newRow("value used as section") << R"({"train": {"epochs": {"max": 3}}})" << "train.epochs"
                                           << "is a value (integer), not a section";
    QTest::newRow("empty object for a value") << R"({"train": {"epochs": {}}})" << "train.epochs" << "expected an integer";
    QTest::newRow("section given a value") << R"({"model": 3})" << "model" << "is a section";
    QTest::newRow("preset not a string") << R"({"preset": 3})" << "preset" << "expected a preset name";
    QTest::newRow("unknown preset") << R"({"preset": "lars"})" << "preset" << "unknown preset";
    QTest::newRow("wrong type") << R"({"model": {"d": "64"}})" << "model.d" << "expected an integer, got '64'";
  }
  void fromJson() {
    QFETCH(QString, json);
    QFETCH(QString, errorKey);
    QFETCH(QString, message);
    if (errorKey.isEmpty()) {
      const RunConfig c = RunConfig::fromJson(parseObject(json));
      QCOMPARE(c.preset(), QStringLiteral("lares"));
      QCOMPARE(c.getString(QStringLiteral("model.reasoner.kind")), QStringLiteral("lares"));
      QCOMPARE(c.getInt(QStringLiteral("train.epochs")), 3);
      return;
    }
    const auto e = expectConfigError([&] { RunConfig::fromJson(parseObject(json)); });
    QVERIFY(e);
    QCOMPARE(e->key(), errorKey);
    QVERIFY2(e->message().contains(message), qPrintable(e->message()));
  }

  void fromFileParseErrorNamesLine_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<int>("line");
    QTest::newRow("missing comma on line 3") << QByteArray("{\n  \"train\": {\"epochs\": 5}\n  \"model\": {}\n}\n") << 3;
    QTest::newRow("trailing garbage on line 1") << QByteArray("{} x") << 1;
    QTest::newRow("double comma on line 2") << QByteArray("{\"train\": {\n\"epochs\": 5,,\n\"lr\": 1}}") << 2;
  }
  void fromFileParseErrorNamesLine() {
    QFETCH(QByteArray, content);
    QFETCH(int, line);
    const QString path = writeFile(QStringLiteral("broken.json"), content);
    const auto e = expectConfigError([&] { RunConfig::fromFile(path); });
    QVERIFY(e);
    QCOMPARE(e->key(), QStringLiteral("%1:%2").arg(path).arg(line));
    QCOMPARE(e->code(), ExitCode::Usage);
  }

  void fromFileBadValueNamesKeyAndFile() {
    const QString path = writeFile(QStringLiteral("bad-value.json"), R"({"preset": "plr", "model": {"heads": 0}})");
    const auto e = expectConfigError([&] { RunConfig::fromFile(path); });
    QVERIFY(e);
    QCOMPARE(e->key(), QStringLiteral("model.heads"));
    QVERIFY2(e->message().endsWith(QStringLiteral("(in %1)").arg(path)), qPrintable(e->message()));
  }

  void fromFileReadsPresetOverlay() {
    const QString path = writeFile(QStringLiteral("good.json"), R"({"preset": "plr-fast", "train": {"epochs": 2}})");
    const RunConfig c = RunConfig::fromFile(path);
    QCOMPARE(c.getInt(QStringLiteral("model.d")), 64);
    QCOMPARE(c.getInt(QStringLiteral("train.epochs")), 2);
    QCOMPARE(c.diff(RunConfig::fromPreset(QStringLiteral("plr-fast"))).keys(), QStringList{QStringLiteral("train.epochs")});
  }

  void fromFileMissing() {
    const auto e = expectConfigError([&] { RunConfig::fromFile(tmp_.filePath(QStringLiteral("absent.json"))); });
    QVERIFY(e);
    QVERIFY(e->message().contains(QStringLiteral("cannot read")));
    const QString path = writeFile(QStringLiteral("array.json"), "[1, 2]");
    QVERIFY(expectConfigError([&] { RunConfig::fromFile(path); })->message().contains(QStringLiteral("JSON object")));
  }

  void crossKeyRules_data() {
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QString>("overlay");
    QTest::addColumn<QString>("key");  // the key the issue names; empty = valid
    QTest::addColumn<QString>("message");
    QTest::newRow("heads divide d") << "sasrec" << R"({"model": {"d": 64, "heads": 3}})" << "model.heads"
                                    << "model.d (64) must be divisible by model.heads (3)";
    QTest::newRow("gru4rec has no heads") << "gru4rec" << R"({"model": {"d": 63, "heads": 2}})" << "" << "";
    QTest::newRow("metric K in ks") << "sasrec" << R"({"train": {"metric": "ndcg@50"}, "eval": {"ks": [5, 10]}})"
                                    << "train.metric" << "ndcg@50 needs K = 50 in eval.ks";
    QTest::newRow("time cuts ordered") << "sasrec" << R"({"data": {"split": "global_time", "valid_cut": 0.9, "test_cut": 0.8}})"
                                       << "data.test_cut" << "must be later than data.valid_cut";
    QTest::newRow("time cuts equal") << "sasrec" << R"({"data": {"split": "global_time", "valid_cut": 0.9, "test_cut": 0.9}})"
                                     << "data.test_cut" << "must be later";
    QTest::newRow("time cuts ignored for loo") << "sasrec" << R"({"data": {"valid_cut": 0.9, "test_cut": 0.8}})" << "" << "";
    QTest::newRow("time cuts as timestamps") << "sasrec"
                                             << R"({"data": {"split": "global_time", "valid_cut": 1.6e9, "test_cut": 1.7e9}})"
                                             << "" << "";
    QTest::newRow("time cuts mixed units") << "sasrec"
                                           << R"({"data": {"split": "global_time", "valid_cut": 0.8, "test_cut": 1.7e9}})"
                                           << "data.valid_cut" << "both be quantiles";
    QTest::newRow("rpt needs lares or hybrid") << "plr" << R"({"stages": ["spt", "rpt"]})" << "stages"
                                               << "needs model.reasoner.kind lares or hybrid, not plr";
    QTest::newRow("rpt before spt") << "lares" << R"({"stages": ["rpt", "spt"]})" << "stages" << "rpt must come after spt";
    QTest::newRow("rpt alone needs from_run") << "lares" << R"({"stages": ["rpt"]})" << "stages" << "needs rpt.from_run";
    QTest::newRow("rpt alone from a run") << "lares" << R"({"stages": ["rpt"], "rpt": {"from_run": 7}})" << "" << "";
    QTest::newRow("from_run with spt") << "lares" << R"({"rpt": {"from_run": 7}})" << "rpt.from_run"
                                       << "used only when stages is [rpt]";
    QTest::newRow("gru4rec with a reasoner") << "gru4rec" << R"({"model": {"reasoner": {"kind": "lares"}}})"
                                             << "model.reasoner.kind" << "with gru4rec only none works";
    QTest::newRow("fmlprec with plr") << "fmlprec" << R"({"model": {"reasoner": {"kind": "plr"}}})"
                                      << "model.reasoner.kind" << "fmlprec";
    QTest::newRow("fmlprec with lares") << "fmlprec" << R"({"model": {"reasoner": {"kind": "lares"}}})" << "" << "";
    QTest::newRow("bert4rec with erl") << "bert4rec" << R"({"model": {"reasoner": {"kind": "erl"}}})" << "" << "";
  }
  void crossKeyRules() {
    QFETCH(QString, preset);
    QFETCH(QString, overlay);
    QFETCH(QString, key);
    QFETCH(QString, message);
    RunConfig c = RunConfig::fromPreset(preset);
    c.merge(parseObject(overlay));  // each value is fine on its own
    const QVector<ConfigIssue> issues = c.issues();
    if (key.isEmpty()) {
      for (const ConfigIssue& i : issues) qWarning("%s: %s", qPrintable(i.key), qPrintable(i.message));
      QVERIFY(issues.isEmpty());
      return;
    }
    QVERIFY(!issues.isEmpty());
    QCOMPARE(issues.first().key, key);
    QVERIFY2(issues.first().message.contains(message), qPrintable(issues.first().message));
    const auto e = expectConfigError([&] { c.validate(); });
    QVERIFY(e);
    QCOMPARE(e->key(), key);
  }

  void getters() {
    RunConfig c = RunConfig::fromPreset(QStringLiteral("lares"));
    QCOMPARE(c.getInt(QStringLiteral("data.max_len")), 20);
    QCOMPARE(c.getDouble(QStringLiteral("train.lr")), 1e-3);
    QCOMPARE(c.getDouble(QStringLiteral("model.d")), 64.0);  // an integer read as a number is fine
    QCOMPARE(c.getBool(QStringLiteral("train.length_bucketing")), true);
    QCOMPARE(c.getString(QStringLiteral("model.reasoner.kind")), QStringLiteral("lares"));
    QCOMPARE(c.getString(QStringLiteral("device")), QStringLiteral("auto"));
    QCOMPARE(c.getIntList(QStringLiteral("eval.ks")), (QVector<int>{5, 10, 20, 50}));
    QCOMPARE(c.getStringList(QStringLiteral("stages")), (QStringList{"spt", "rpt"}));
    QCOMPARE(c.getInt(QStringLiteral("train.seed")), 42);
    QCOMPARE(expectConfigError([&] { c.getInt(QStringLiteral("train.lr")); })->key(), QStringLiteral("train.lr"));
    QCOMPARE(expectConfigError([&] { c.value(QStringLiteral("train.nope")); })->key(), QStringLiteral("train.nope"));
  }

  void integersStayIntegers() {
    RunConfig c;
    c.set(QStringLiteral("train.epochs"), 5.0);  // a JSON number that is whole
    const QByteArray text = QJsonDocument(c.toJson()).toJson(QJsonDocument::Compact);
    QVERIFY2(text.contains("\"epochs\":5,") || text.contains("\"epochs\":5}"), text.constData());
  }

  // A run stored before a key existed keeps the behaviour it was made with when it is read back
  // (resume, sweeps, reports); a run stored with the key keeps its value.
  void storedRunWithoutNewerKeysKeepsEarlierBehaviour() {
    QJsonObject stored = RunConfig::fromPreset(QStringLiteral("lares")).toJson();
    QJsonObject rpt = stored.value(QStringLiteral("rpt")).toObject();
    QVERIFY(rpt.contains(QStringLiteral("kl_level")) && rpt.contains(QStringLiteral("advantages")));
    rpt.remove(QStringLiteral("kl_level"));
    rpt.remove(QStringLiteral("advantages"));
    stored.insert(QStringLiteral("rpt"), rpt);

    QCOMPARE(RunConfig::fromJson(stored).getString(QStringLiteral("rpt.kl_level")), QStringLiteral("step"));
    const RunConfig older = storedRunConfig(stored);
    QCOMPARE(older.getString(QStringLiteral("rpt.kl_level")), QStringLiteral("rollout"));
    QCOMPARE(older.getString(QStringLiteral("rpt.advantages")), QStringLiteral("group"));
    older.validate();
    // Nothing else changes.
    const auto changed = older.diff(RunConfig::fromJson(stored)).keys();
    QCOMPARE(changed, (QList<QString>{QStringLiteral("rpt.advantages"), QStringLiteral("rpt.kl_level")}));

    const RunConfig current = RunConfig::fromPreset(QStringLiteral("lares"));
    QCOMPARE(storedRunConfig(current.toJson()), current);
  }
  void olderRunDefaultsAreSchemaKeysWithValidValues() {
    QVERIFY(!olderRunDefaults().isEmpty());
    for (const auto& [key, earlier] : olderRunDefaults()) {
      RunConfig c;
      c.set(key, earlier);  // throws on an unknown key or an invalid value
      QVERIFY2(c.value(key) != RunConfig().value(key), qPrintable(key + QStringLiteral(" earlier value equals today's default")));
    }
  }
  void diffAgainstPreset() {
    const RunConfig base = RunConfig::fromPreset(QStringLiteral("lares"));
    RunConfig c = base;
    c.setAssignment(QStringLiteral("train.epochs=3"));
    c.setAssignment(QStringLiteral("model.reasoner.steps=6"));
    const auto d = c.diff(base);
    QCOMPARE(d.keys(), (QStringList{"model.reasoner.steps", "train.epochs"}));
    QCOMPARE(d.value(QStringLiteral("train.epochs")).first, QJsonValue(200));
    QCOMPARE(d.value(QStringLiteral("train.epochs")).second, QJsonValue(3));
    QVERIFY(base.diff(base).isEmpty());
    const auto fast = RunConfig::fromPreset(QStringLiteral("plr-fast")).diff(RunConfig::fromPreset(QStringLiteral("plr")));
    QCOMPARE(fast.keys(), (QStringList{"model.d", "preset"}));
  }
};

RR_TEST_MAIN(TestRunConfig)
#include "tst_run_config.moc"
