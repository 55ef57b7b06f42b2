#pragma once
/// \file
/// \brief A validated run configuration (plain JSON underneath) and the presets.

#include "core/project/config_schema.h"

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

namespace rr {

/// \brief One problem found by validation: the key and what is wrong.
struct ConfigIssue {
  QString key;
  QString message;
};

/// \brief A run configuration: schema defaults, overlaid by a preset, a file and --set values.
/// Every mutator validates the keys it touches and throws ConfigError naming the key; whole-
/// configuration rules (e.g. heads divides d) are checked by validate().
class RunConfig {
 public:
  RunConfig();  ///< schema defaults, preset "custom"
  static RunConfig fromPreset(const QString& name);  ///< throws ConfigError("preset", ...)
  /// Overlay `json` on the defaults (or on the preset it names in "preset"). Unknown keys and
  /// bad values throw ConfigError naming the key.
  static RunConfig fromJson(const QJsonObject& json);
  /// Reads a JSON file; parse errors throw ConfigError("<file>:<line>", ...); a bad key or value
  /// throws ConfigError naming the key, its message ending in "(in <file>)".
  static RunConfig fromFile(const QString& path);

  /// Sets every value of `overlay` (nested objects or dotted keys); all or nothing: on error the
  /// configuration is unchanged.
  void merge(const QJsonObject& overlay);
  void set(const QString& key, const QJsonValue& value);
  /// "key=value" as given to --set; the value is text parsed by ConfigSchema::parseText.
  void setAssignment(const QString& assignment);

  QJsonValue value(const QString& key) const;
  int getInt(const QString& key) const;
  double getDouble(const QString& key) const;
  bool getBool(const QString& key) const;
  QString getString(const QString& key) const;
  QVector<int> getIntList(const QString& key) const;
  QStringList getStringList(const QString& key) const;

  QString preset() const;           ///< the preset this configuration started from
  /// Whether `key` matters for this configuration's reasoner and backbone (ConfigKey::appliesTo);
  /// true for keys the schema does not know.
  bool applies(const QString& key) const;
  /// All problems, including cross-key rules; empty when valid.
  QVector<ConfigIssue> issues() const;
  /// Throws ConfigError for the first issue.
  void validate() const;

  QJsonObject toJson() const { return json_; }
  /// Keys whose value differs from `base`, flattened: key -> (base value, this value).
  QMap<QString, QPair<QJsonValue, QJsonValue>> diff(const RunConfig& base) const;
  bool operator==(const RunConfig& o) const { return json_ == o.json_; }

 private:
  QJsonObject json_;
};

/// Names of the built-in presets, in menu order.
QStringList presetNames();
/// One-line description of a preset for menus and --help (empty for an unknown name).
QString presetDescription(const QString& name);
/// What a preset changes on top of the schema defaults, as nested JSON (empty for an unknown
/// name). RunConfig::fromPreset() is the defaults merged with this overlay.
QJsonObject presetOverlay(const QString& name);

}  // namespace rr
