#include "core/project/run_config.h"

#include "core/errors.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QSet>

namespace rr {

namespace {

const ConfigSchema& schema() { return ConfigSchema::instance(); }

/// Values as the schema types them: integers stored as JSON integers, numbers as doubles.
QJsonValue normalised(const ConfigKey& key, const QJsonValue& v) {
  switch (key.type) {
    case ConfigKey::Type::Int: return QJsonValue(static_cast<qint64>(v.toDouble()));
    case ConfigKey::Type::Double: return QJsonValue(v.toDouble());
    case ConfigKey::Type::IntList: {
      QJsonArray a;
      for (const QJsonValue& e : v.toArray()) a.append(static_cast<qint64>(e.toDouble()));
      return a;
    }
    default: return v;
  }
}

/// The K of "ndcg@10" (0 when there is none).
int cutoffOf(const QString& metric) { return metric.section(QLatin1Char('@'), 1).toInt(); }

/// Message of a ConfigError without its "key: " prefix.
QString detailOf(const ConfigError& e) { return e.message().mid(e.key().size() + 2); }

}  // namespace

RunConfig::RunConfig() : json_(schema().defaults()) {}

RunConfig RunConfig::fromPreset(const QString& name) {
  RunConfig c;
  if (name == QLatin1String("custom")) return c;
  if (!presetNames().contains(name))
    throw ConfigError(QStringLiteral("preset"), QStringLiteral("unknown preset '%1'; choose one of: %2")
                                                    .arg(name, presetNames().join(QStringLiteral(", "))));
  c.merge(presetOverlay(name));
  c.set(QStringLiteral("preset"), name);
  return c;
}

RunConfig RunConfig::fromJson(const QJsonObject& json) {
  RunConfig c;
  const QJsonValue preset = json.value(QStringLiteral("preset"));
  if (!preset.isUndefined()) {
    if (!preset.isString())
      throw ConfigError(QStringLiteral("preset"), QStringLiteral("expected a preset name, got a %1")
                                                      .arg(preset.isDouble() ? QStringLiteral("number")
                                                                             : QStringLiteral("non-string value")));
    c = fromPreset(preset.toString());
  }
  c.merge(json);
  return c;
}

RunConfig RunConfig::fromFile(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) throw ConfigError(path, QStringLiteral("cannot read: %1").arg(f.errorString()));
  const QByteArray data = f.readAll();
  QJsonParseError err;
  const QJsonDocument doc = QJsonDocument::fromJson(data, &err);
  if (err.error != QJsonParseError::NoError) {
    const QByteArray before = data.left(err.offset);
    const qsizetype line = before.count('\n') + 1;
    const qsizetype column = err.offset - (before.lastIndexOf('\n') + 1) + 1;
    throw ConfigError(QStringLiteral("%1:%2").arg(path).arg(line),
                      QStringLiteral("%1 (column %2)").arg(err.errorString()).arg(column));
  }
  if (!doc.isObject()) throw ConfigError(path, QStringLiteral("expected a JSON object at the top level"));
  try {
    return fromJson(doc.object());
  } catch (const ConfigError& e) {
    throw ConfigError(e.key(), detailOf(e) + QStringLiteral(" (in %1)").arg(path));
  }
}

void RunConfig::merge(const QJsonObject& overlay) {
  RunConfig next = *this;
  for (const auto& [path, value] : flattenJson(overlay)) {
    // An empty object for a whole section changes nothing; for a value it is an error.
    if (value.isObject() && !schema().find(path)) {
      bool isSection = false;
      for (const ConfigKey& k : schema().keys()) isSection = isSection || k.path.startsWith(path + QLatin1Char('.'));
      if (isSection) continue;
    }
    next.set(path, value);
  }
  json_ = std::move(next.json_);
}

void RunConfig::set(const QString& key, const QJsonValue& value) {
  const ConfigKey* k = schema().find(key);
  if (!k) {
    // "train.epochs.x": a value addressed as if it were a section.
    QString prefix = key;
    while (prefix.contains(QLatin1Char('.'))) {
      prefix = prefix.section(QLatin1Char('.'), 0, -2);
      if (const ConfigKey* parent = schema().find(prefix))
        throw ConfigError(prefix, QStringLiteral("is a value (%1), not a section").arg(ConfigSchema::typeName(parent->type)));
    }
    schema().require(key);  // throws: unknown key (with a suggestion) or a section
  }
  const QString why = schema().check(*k, value);
  if (!why.isEmpty()) throw ConfigError(key, why);
  setJsonPathValue(json_, key, normalised(*k, value));
}

void RunConfig::setAssignment(const QString& assignment) {
  const qsizetype eq = assignment.indexOf(QLatin1Char('='));
  if (eq <= 0)
    throw ConfigError(QStringLiteral("--set"), QStringLiteral("expected KEY=VALUE, got '%1'").arg(assignment));
  const QString key = assignment.left(eq).trimmed();
  const ConfigKey& k = schema().require(key);
  set(key, schema().parseText(k, assignment.mid(eq + 1)));
}

QJsonValue RunConfig::value(const QString& key) const {
  schema().require(key);
  return jsonPathValue(json_, key);
}

namespace {
void expectType(const QString& key, ConfigKey::Type actual, std::initializer_list<ConfigKey::Type> wanted,
                const char* as) {
  for (ConfigKey::Type t : wanted)
    if (t == actual) return;
  throw ConfigError(key, QStringLiteral("is a %1, read as %2").arg(ConfigSchema::typeName(actual), QLatin1String(as)));
}
}  // namespace

int RunConfig::getInt(const QString& key) const {
  expectType(key, schema().require(key).type, {ConfigKey::Type::Int}, "an integer");
  return static_cast<int>(jsonPathValue(json_, key).toInteger());
}

double RunConfig::getDouble(const QString& key) const {
  expectType(key, schema().require(key).type, {ConfigKey::Type::Double, ConfigKey::Type::Int}, "a number");
  return jsonPathValue(json_, key).toDouble();
}

bool RunConfig::getBool(const QString& key) const {
  expectType(key, schema().require(key).type, {ConfigKey::Type::Bool}, "a boolean");
  return jsonPathValue(json_, key).toBool();
}

QString RunConfig::getString(const QString& key) const {
  expectType(key, schema().require(key).type, {ConfigKey::Type::String, ConfigKey::Type::Enum}, "a string");
  return jsonPathValue(json_, key).toString();
}

QVector<int> RunConfig::getIntList(const QString& key) const {
  expectType(key, schema().require(key).type, {ConfigKey::Type::IntList}, "a list of integers");
  QVector<int> out;
  for (const QJsonValue& v : jsonPathValue(json_, key).toArray()) out.append(static_cast<int>(v.toInteger()));
  return out;
}

QStringList RunConfig::getStringList(const QString& key) const {
  expectType(key, schema().require(key).type, {ConfigKey::Type::StringList}, "a list of strings");
  QStringList out;
  for (const QJsonValue& v : jsonPathValue(json_, key).toArray()) out.append(v.toString());
  return out;
}

bool RunConfig::applies(const QString& key) const {
  const ConfigKey* k = ConfigSchema::instance().find(key);
  return !k || k->appliesFor(getString(QStringLiteral("model.reasoner.kind")), getString(QStringLiteral("model.backbone")));
}

QString RunConfig::preset() const { return json_.value(QStringLiteral("preset")).toString(); }

QVector<ConfigIssue> RunConfig::issues() const {
  QVector<ConfigIssue> out;
  // Per-key: unknown keys, missing keys, bad values (the JSON may have been built elsewhere).
  for (const auto& [path, value] : flattenJson(json_))
    if (!schema().find(path)) out.append({path, QStringLiteral("unknown key")});
  for (const ConfigKey& k : schema().keys()) {
    const QJsonValue v = jsonPathValue(json_, k.path);
    if (v.isUndefined()) {
      out.append({k.path, QStringLiteral("missing")});
      continue;
    }
    const QString why = schema().check(k, v);
    if (!why.isEmpty()) out.append({k.path, why});
  }
  if (!out.isEmpty()) return out;  // the rules below read values and assume they are valid

  const QString backbone = getString(QStringLiteral("model.backbone"));
  const QString kind = getString(QStringLiteral("model.reasoner.kind"));
  const QStringList stageList = getStringList(QStringLiteral("stages"));
  const bool hasSpt = stageList.contains(QLatin1String("spt"));
  const bool hasRpt = stageList.contains(QLatin1String("rpt"));
  const int fromRun = getInt(QStringLiteral("rpt.from_run"));

  // Stages: [spt], [spt, rpt], or [rpt] continuing another run.
  if (hasSpt && hasRpt && stageList.indexOf(QLatin1String("rpt")) < stageList.indexOf(QLatin1String("spt")))
    out.append({QStringLiteral("stages"), QStringLiteral("rpt must come after spt (it post-trains the spt model)")});
  if (hasRpt && kind != QLatin1String("lares") && kind != QLatin1String("hybrid"))
    out.append({QStringLiteral("stages"),
                QStringLiteral("rpt (GRPO post-training) needs model.reasoner.kind lares or hybrid, not %1").arg(kind)});
  if (hasRpt && !hasSpt && fromRun == 0)
    out.append({QStringLiteral("stages"),
                QStringLiteral("rpt without spt needs rpt.from_run, the run whose best spt checkpoint it starts from")});
  if (fromRun != 0 && hasSpt)
    out.append({QStringLiteral("rpt.from_run"),
                QStringLiteral("is used only when stages is [rpt]; with spt in stages, rpt starts from this run's "
                               "own spt checkpoint (set it to 0)")});

  // Reasoner and backbone compatibility.
  if (backbone == QLatin1String("gru4rec") && kind != QLatin1String("none"))
    out.append({QStringLiteral("model.reasoner.kind"),
                QStringLiteral("reasoner %1 needs an attention or filter backbone; with gru4rec only none works").arg(kind)});
  if (backbone == QLatin1String("fmlprec") &&
      (kind == QLatin1String("erl") || kind == QLatin1String("prl") || kind == QLatin1String("plr")))
    out.append({QStringLiteral("model.reasoner.kind"),
                QStringLiteral("reasoner %1 attends over the encoder's cached keys and values, which fmlprec "
                               "(filters, no attention) does not have; use sasrec or bert4rec, or lares/hybrid")
                    .arg(kind)});

  // Attention heads split d evenly (gru4rec has no attention).
  const int d = getInt(QStringLiteral("model.d"));
  const int heads = getInt(QStringLiteral("model.heads"));
  if (backbone != QLatin1String("gru4rec") && d % heads != 0)
    out.append({QStringLiteral("model.heads"),
                QStringLiteral("model.d (%1) must be divisible by model.heads (%2)").arg(d).arg(heads)});

  // Early stopping reads a metric that evaluation computes.
  const QString metric = getString(QStringLiteral("train.metric"));
  const QVector<int> ks = getIntList(QStringLiteral("eval.ks"));
  if (!ks.contains(cutoffOf(metric)))
    out.append({QStringLiteral("train.metric"),
                QStringLiteral("%1 needs K = %2 in eval.ks").arg(metric).arg(cutoffOf(metric))});

  // Time cuts of the global split: ordered, and both quantiles or both timestamps.
  if (getString(QStringLiteral("data.split")) == QLatin1String("global_time")) {
    const double valid = getDouble(QStringLiteral("data.valid_cut"));
    const double test = getDouble(QStringLiteral("data.test_cut"));
    if ((valid <= 1.0) != (test <= 1.0))
      out.append({QStringLiteral("data.valid_cut"),
                  QStringLiteral("data.valid_cut (%1) and data.test_cut (%2) must both be quantiles (up to 1) or "
                                 "both Unix timestamps").arg(valid).arg(test)});
    else if (!(test > valid))
      out.append({QStringLiteral("data.test_cut"),
                  QStringLiteral("must be later than data.valid_cut (%1), got %2").arg(valid).arg(test)});
  }
  return out;
}

void RunConfig::validate() const {
  const QVector<ConfigIssue> all = issues();
  if (!all.isEmpty()) throw ConfigError(all.first().key, all.first().message);
}

QMap<QString, QPair<QJsonValue, QJsonValue>> RunConfig::diff(const RunConfig& base) const {
  QMap<QString, QPair<QJsonValue, QJsonValue>> out;
  QMap<QString, QJsonValue> mine, theirs;
  for (const auto& [k, v] : flattenJson(json_)) mine.insert(k, v);
  for (const auto& [k, v] : flattenJson(base.json_)) theirs.insert(k, v);
  QSet<QString> keys;
  for (auto it = mine.begin(); it != mine.end(); ++it) keys.insert(it.key());
  for (auto it = theirs.begin(); it != theirs.end(); ++it) keys.insert(it.key());
  for (const QString& k : keys) {
    const QJsonValue a = theirs.value(k, QJsonValue(QJsonValue::Undefined));
    const QJsonValue b = mine.value(k, QJsonValue(QJsonValue::Undefined));
    if (a != b) out.insert(k, {a, b});
  }
  return out;
}

}  // namespace rr
