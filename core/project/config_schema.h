#pragma once
/// \file
/// \brief The one schema of run configurations: every key with type, default, range and help.
/// The studio's forms, the command line and the presets all go through it.

#include <QJsonObject>
#include <QJsonValue>
#include <QString>
#include <QStringList>
#include <QVector>

namespace rr {

/// \brief One configuration key.
struct ConfigKey {
  enum class Type { Int, Double, Bool, String, Enum, IntList, StringList };
  QString path;         ///< dotted JSON path, e.g. "model.reasoner.steps"
  Type type = Type::Int;
  QJsonValue defaultValue;
  double min = 0;       ///< Int/Double (and IntList elements): inclusive range
  double max = 0;
  QStringList choices;  ///< Enum, and allowed elements of StringList
  /// String: regular expression the whole value must match (empty = any string).
  /// Lists (IntList, StringList) must be non-empty and free of duplicates.
  QString pattern;
  QString label;        ///< short label for forms, e.g. "Reasoning steps"
  QString help;         ///< one or two sentences, shown as tooltip / --help text
  /// Form page: "data", "model", "reasoner", "spt", "rpt", "eval", "run".
  QString page;
  /// Reasoner kinds or backbones the key matters for; empty = always. Entries are
  /// "reasoner:<kind>" or "backbone:<name>"; forms hide keys that do not apply.
  QStringList appliesTo;
  bool advanced = false;  ///< hidden behind "Show advanced" in forms
  /// Whether the key matters for a model of this reasoner kind and backbone (see appliesTo).
  bool appliesFor(const QString& reasoner, const QString& backbone) const {
    return appliesTo.isEmpty() || appliesTo.contains(QStringLiteral("reasoner:") + reasoner) ||
           appliesTo.contains(QStringLiteral("backbone:") + backbone);
  }
};

/// \brief Registry of all keys (built once; thread-safe to read).
class ConfigSchema {
 public:
  static const ConfigSchema& instance();
  const QVector<ConfigKey>& keys() const { return keys_; }
  const ConfigKey* find(const QString& path) const;
  /// Like find(), but throws ConfigError(path, "unknown key; did you mean ...?") when absent.
  const ConfigKey& require(const QString& path) const;
  /// The known key closest to a mistyped one (empty when nothing is close).
  QString suggest(const QString& unknownPath) const;
  /// The full default configuration as nested JSON.
  QJsonObject defaults() const;
  /// Checks one value against its key; returns an empty string when valid, else the reason.
  QString check(const ConfigKey& key, const QJsonValue& value) const;
  /// Converts "3" / "0.5" / "true" / "[5,10]" / "a,b" command-line text to the key's type.
  /// Throws ConfigError(key, ...) when it does not parse.
  QJsonValue parseText(const ConfigKey& key, const QString& text) const;
  static QString typeName(ConfigKey::Type t);

 private:
  ConfigSchema();
  QVector<ConfigKey> keys_;
};

/// Reads a dotted path from nested JSON (Undefined when absent).
QJsonValue jsonPathValue(const QJsonObject& root, const QString& path);
/// Writes a dotted path into nested JSON, creating objects as needed.
void setJsonPathValue(QJsonObject& root, const QString& path, const QJsonValue& value);
/// Flattens nested JSON to dotted paths (arrays stay values; an empty object is a value too,
/// so that a misplaced {} is reported rather than ignored).
QVector<QPair<QString, QJsonValue>> flattenJson(const QJsonObject& root);

}  // namespace rr
