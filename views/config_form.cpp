#include "views/config_form.h"

#include "core/errors.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QTabWidget>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <cmath>

namespace rr::views {

namespace {
using Type = ConfigKey::Type;

const QVector<QPair<QString, QString>>& pageTitles() {
  static const QVector<QPair<QString, QString>> t = {
      {QStringLiteral("run"), QObject::tr("Run")},       {QStringLiteral("data"), QObject::tr("Data")},
      {QStringLiteral("model"), QObject::tr("Model")},   {QStringLiteral("reasoner"), QObject::tr("Reasoner")},
      {QStringLiteral("spt"), QObject::tr("SPT")},       {QStringLiteral("rpt"), QObject::tr("RPT")},
      {QStringLiteral("eval"), QObject::tr("Evaluation")}};
  return t;
}

QString jsonText(const QJsonValue& v) {
  switch (v.type()) {
    case QJsonValue::Bool: return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double: {
      const double d = v.toDouble();
      if (d == static_cast<double>(static_cast<qint64>(d)) && std::abs(d) < 1e15) return QString::number(static_cast<qint64>(d));
      return QString::number(d, 'g', 12);
    }
    case QJsonValue::String: return v.toString();
    case QJsonValue::Array: {
      QStringList parts;
      for (const QJsonValue& e : v.toArray()) parts.append(jsonText(e));
      return parts.join(QStringLiteral(", "));
    }
    case QJsonValue::Undefined: return {};
    default: return QString::fromUtf8(QJsonDocument::fromVariant(v.toVariant()).toJson(QJsonDocument::Compact));
  }
}

const char* kInvalidStyle = "border: 1px solid #d03030; background: #fff0f0;";
}  // namespace

QString ConfigForm::rangeText(const ConfigKey& key) {
  auto num = [](double v) { return QString::number(v, 'g', 10); };
  switch (key.type) {
    case Type::Int:
    case Type::Double: return QStringLiteral("%1 … %2").arg(num(key.min), num(key.max));
    case Type::IntList: return tr("list, each %1 … %2").arg(num(key.min), num(key.max));
    case Type::StringList: return key.choices.isEmpty() ? tr("comma-separated list") : tr("any of: %1").arg(key.choices.join(QStringLiteral(", ")));
    default: return {};
  }
}

ConfigForm::ConfigForm(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("ConfigForm"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  advancedBox_ = new QCheckBox(tr("Show advanced settings"));
  tabs_ = new QTabWidget;
  layout->addWidget(tabs_, 1);

  const ConfigSchema& schema = ConfigSchema::instance();
  QHash<QString, QFormLayout*> forms;
  for (const auto& [page, title] : pageTitles()) {
    auto* scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    auto* host = new QWidget;
    auto* form = new QFormLayout(host);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->setLabelAlignment(Qt::AlignRight | Qt::AlignTop);
    scroll->setWidget(host);
    tabs_->addTab(scroll, title);
    forms.insert(page, form);
  }
  for (const ConfigKey& key : schema.keys()) {
    QFormLayout* form = forms.value(key.page);
    if (!form) {  // a page this form does not know yet: give it a tab of its own
      auto* scroll = new QScrollArea;
      scroll->setWidgetResizable(true);
      auto* host = new QWidget;
      form = new QFormLayout(host);
      scroll->setWidget(host);
      tabs_->addTab(scroll, key.page);
      forms.insert(key.page, form);
    }
    Field f;
    f.key = &key;
    f.form = form;
    f.editor = makeEditor(key);
    f.editor->setObjectName(key.path);
    f.editor->setToolTip(QStringLiteral("<b>%1</b> (%2)<br>%3").arg(key.path, ConfigSchema::typeName(key.type), key.help.toHtmlEscaped()));
    f.row = new QWidget;
    auto* v = new QVBoxLayout(f.row);
    v->setContentsMargins(0, 0, 0, 4);
    v->setSpacing(1);
    auto* h = new QHBoxLayout;
    h->addWidget(f.editor, 1);
    const QString range = rangeText(key);
    if (!range.isEmpty()) {
      auto* r = new QLabel(range);
      r->setStyleSheet(QStringLiteral("color: #666;"));
      h->addWidget(r);
    }
    v->addLayout(h);
    auto* help = new QLabel(key.help);
    help->setWordWrap(true);
    help->setStyleSheet(QStringLiteral("color: #666; font-size: 8pt;"));
    v->addWidget(help);
    f.error = new QLabel;
    f.error->setWordWrap(true);
    f.error->setStyleSheet(QStringLiteral("color: #c02020;"));
    f.error->hide();
    v->addWidget(f.error);
    f.label = new QLabel(key.label + QLatin1Char(':'));
    f.label->setToolTip(key.path);
    form->addRow(f.label, f.row);
    fields_.insert(key.path, f);
    order_.append(key.path);
  }
  forms.value(QStringLiteral("run"))->addRow(QString(), advancedBox_);

  // Differences from the preset.
  auto* diffHost = new QWidget;
  auto* dv = new QVBoxLayout(diffHost);
  diffSummary_ = new QLabel;
  dv->addWidget(diffSummary_);
  diffTree_ = new QTreeWidget;
  diffTree_->setHeaderLabels({tr("Key"), tr("Preset"), tr("This configuration")});
  diffTree_->setRootIsDecorated(false);
  diffTree_->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  dv->addWidget(diffTree_, 1);
  tabs_->addTab(diffHost, tr("Differences"));

  connect(advancedBox_, &QCheckBox::toggled, this, &ConfigForm::setShowAdvanced);
  setConfig(RunConfig());
}

QWidget* ConfigForm::makeEditor(const ConfigKey& key) {
  switch (key.type) {
    case Type::Bool: {
      auto* b = new QCheckBox;
      connect(b, &QCheckBox::toggled, this, [this] { validate(); });
      return b;
    }
    case Type::Enum: {
      auto* c = new QComboBox;
      c->addItems(key.choices);
      connect(c, &QComboBox::currentIndexChanged, this, [this] { validate(); });
      return c;
    }
    default: {
      auto* e = new QLineEdit;
      e->setPlaceholderText(jsonText(key.defaultValue));
      connect(e, &QLineEdit::textChanged, this, [this] { validate(); });
      return e;
    }
  }
}

void ConfigForm::writeEditor(Field& f, const QJsonValue& value) {
  if (auto* b = qobject_cast<QCheckBox*>(f.editor)) {
    b->setChecked(value.toBool());
  } else if (auto* c = qobject_cast<QComboBox*>(f.editor)) {
    const int i = c->findText(value.toString());
    if (i >= 0) c->setCurrentIndex(i);
  } else if (auto* e = qobject_cast<QLineEdit*>(f.editor)) {
    e->setText(jsonText(value));
  }
}

QJsonValue ConfigForm::readEditor(const Field& f, QString* why) const {
  const ConfigSchema& schema = ConfigSchema::instance();
  QJsonValue v;
  if (auto* b = qobject_cast<QCheckBox*>(f.editor)) {
    v = b->isChecked();
  } else if (auto* c = qobject_cast<QComboBox*>(f.editor)) {
    v = c->currentText();
  } else if (auto* e = qobject_cast<QLineEdit*>(f.editor)) {
    try {
      v = schema.parseText(*f.key, e->text());
    } catch (const ConfigError& err) {
      *why = err.message().mid(f.key->path.size() + 2);
      return QJsonValue(QJsonValue::Undefined);
    }
  }
  const QString problem = schema.check(*f.key, v);
  if (!problem.isEmpty()) {
    *why = problem;
    return QJsonValue(QJsonValue::Undefined);
  }
  return v;
}

void ConfigForm::setConfig(const RunConfig& config) {
  loading_ = true;
  basePreset_ = config.preset();
  const QJsonObject json = config.toJson();
  for (const QString& path : order_) writeEditor(fields_[path], jsonPathValue(json, path));
  loading_ = false;
  validate();
}

QJsonObject ConfigForm::json() const {
  QJsonObject root;
  for (const QString& path : order_) {
    QString why;
    const QJsonValue v = readEditor(fields_.value(path), &why);
    if (!v.isUndefined()) setJsonPathValue(root, path, v);
  }
  return root;
}

void ConfigForm::validate() {
  if (loading_) return;
  issues_.clear();
  QHash<QString, QString> errors;
  QJsonObject root;
  for (const QString& path : order_) {
    QString why;
    const QJsonValue v = readEditor(fields_.value(path), &why);
    if (v.isUndefined()) {
      errors.insert(path, why);
      issues_.append({path, why});
    } else {
      setJsonPathValue(root, path, v);
    }
  }
  if (issues_.isEmpty()) {
    try {
      const RunConfig cfg = RunConfig::fromJson(root);
      for (const ConfigIssue& i : cfg.issues()) {
        issues_.append(i);
        errors[i.key] += (errors.value(i.key).isEmpty() ? QString() : QStringLiteral("; ")) + i.message;
      }
    } catch (const ConfigError& e) {
      issues_.append({e.key(), e.message()});
      errors.insert(e.key(), e.message());
    }
  }
  for (auto it = fields_.begin(); it != fields_.end(); ++it) {
    const QString err = errors.value(it.key());
    it->error->setText(err);
    it->error->setVisible(!err.isEmpty());
    it->editor->setStyleSheet(err.isEmpty() || qobject_cast<QCheckBox*>(it->editor) ? QString() : QLatin1String(kInvalidStyle));
  }
  updateVisibility();
  updateDifferences();
  emit changed();
}

void ConfigForm::updateVisibility() {
  const QString reasoner = valueText(QStringLiteral("model.reasoner.kind"));
  const QString backbone = valueText(QStringLiteral("model.backbone"));
  for (auto it = fields_.begin(); it != fields_.end(); ++it) {
    const ConfigKey& k = *it->key;
    const bool applies = k.appliesFor(reasoner, backbone);
    // A field with an error is always shown, so the problem can be seen and fixed.
    const bool shown = !it->error->text().isEmpty() || (applies && (showAdvanced_ || !k.advanced));
    it->form->setRowVisible(it->row, shown);
  }
}

bool ConfigForm::isKeyShown(const QString& key) const {
  auto it = fields_.find(key);
  return it != fields_.end() && it->form->isRowVisible(it->row);
}

void ConfigForm::setShowAdvanced(bool on) {
  showAdvanced_ = on;
  if (advancedBox_->isChecked() != on) advancedBox_->setChecked(on);
  updateVisibility();
}

QMap<QString, QPair<QJsonValue, QJsonValue>> ConfigForm::differences() const {
  RunConfig base;
  try {
    base = RunConfig::fromPreset(basePreset_);
  } catch (const ConfigError&) {
  }
  QMap<QString, QPair<QJsonValue, QJsonValue>> out;
  const QJsonObject now = json();
  const QJsonObject b = base.toJson();
  for (const QString& path : order_) {
    if (path == QLatin1String("preset")) continue;
    const QJsonValue x = jsonPathValue(b, path), y = jsonPathValue(now, path);
    if (x != y) out.insert(path, {x, y});
  }
  return out;
}

void ConfigForm::updateDifferences() {
  const auto diff = differences();
  diffTree_->clear();
  for (auto it = diff.begin(); it != diff.end(); ++it) {
    auto* item = new QTreeWidgetItem(diffTree_, {it.key(), jsonText(it.value().first),
                                                 it.value().second.isUndefined() ? tr("(invalid)") : jsonText(it.value().second)});
    item->setToolTip(0, fields_.value(it.key()).key ? fields_.value(it.key()).key->help : QString());
  }
  diffSummary_->setText(diff.isEmpty() ? tr("Same as preset '%1'.").arg(basePreset_)
                                       : tr("%n key(s) differ from preset '%1':", nullptr, diff.size()).arg(basePreset_));
  const int tab = tabs_->count() - 1;
  tabs_->setTabText(tab, diff.isEmpty() ? tr("Differences") : tr("Differences (%1)").arg(diff.size()));
}

RunConfig ConfigForm::config() const {
  if (!issues_.isEmpty()) throw ConfigError(issues_.first().key, issues_.first().message);
  RunConfig cfg = RunConfig::fromJson(json());
  cfg.validate();
  return cfg;
}

void ConfigForm::setValueText(const QString& key, const QString& text) {
  auto it = fields_.find(key);
  if (it == fields_.end()) return;
  if (auto* b = qobject_cast<QCheckBox*>(it->editor)) {
    b->setChecked(text == QLatin1String("true") || text == QLatin1String("1"));
  } else if (auto* c = qobject_cast<QComboBox*>(it->editor)) {
    c->setCurrentIndex(c->findText(text));
  } else if (auto* e = qobject_cast<QLineEdit*>(it->editor)) {
    e->setText(text);
  }
}

QString ConfigForm::valueText(const QString& key) const {
  auto it = fields_.find(key);
  if (it == fields_.end()) return {};
  if (auto* b = qobject_cast<QCheckBox*>(it->editor)) return b->isChecked() ? QStringLiteral("true") : QStringLiteral("false");
  if (auto* c = qobject_cast<QComboBox*>(it->editor)) return c->currentText();
  if (auto* e = qobject_cast<QLineEdit*>(it->editor)) return e->text();
  return {};
}

QWidget* ConfigForm::editor(const QString& key) const { return fields_.value(key).editor; }
QString ConfigForm::errorText(const QString& key) const {
  auto it = fields_.find(key);
  return it == fields_.end() ? QString() : it->error->text();
}

}  // namespace rr::views
