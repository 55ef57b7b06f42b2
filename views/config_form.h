#pragma once
/// \file
/// \brief The run configuration form, generated from ConfigSchema: one tab per schema page
/// (Run, Data, Model, Reasoner, SPT, RPT, Evaluation), every key with its label, help text and
/// valid range; inline validation (a bad value is flagged next to its field, cross-key rules
/// too); keys that do not apply to the chosen reasoner/backbone are hidden; a Differences tab
/// lists what differs from the preset. A new model or key in the schema appears here without
/// changes to this file. Thread: GUI thread.

#include "core/project/run_config.h"

#include <QHash>
#include <QWidget>

class QCheckBox;
class QFormLayout;
class QLabel;
class QTabWidget;
class QTreeWidget;

namespace rr::views {

class ConfigForm : public QWidget {
  Q_OBJECT
 public:
  explicit ConfigForm(QWidget* parent = nullptr);

  /// Fills every editor from `config`; the Differences tab compares against its preset.
  void setConfig(const rr::RunConfig& config);
  /// What the editors hold, as nested JSON (keys whose text does not parse are left out).
  QJsonObject json() const;
  /// Every problem: per-field parse/range errors and the configuration's cross-key rules.
  QVector<rr::ConfigIssue> issues() const { return issues_; }
  bool isValid() const { return issues_.isEmpty(); }
  /// The validated configuration; throws ConfigError naming the first bad key.
  rr::RunConfig config() const;

  /// Test and automation hooks: set / read a key's editor as text (what a person would type;
  /// Bool takes true/false, Enum a choice).
  void setValueText(const QString& key, const QString& text);
  QString valueText(const QString& key) const;
  QWidget* editor(const QString& key) const;
  /// The error shown next to a key's field (empty when valid).
  QString errorText(const QString& key) const;
  /// Whether the key's row is shown (applies to the chosen reasoner/backbone, advanced shown).
  bool isKeyShown(const QString& key) const;
  void setShowAdvanced(bool on);
  QTabWidget* tabs() const { return tabs_; }
  /// The configuration's differences from its preset: key -> (preset value, this value).
  QMap<QString, QPair<QJsonValue, QJsonValue>> differences() const;

 signals:
  /// Any edit, after validation.
  void changed();

 private:
  struct Field {
    const rr::ConfigKey* key = nullptr;
    QWidget* editor = nullptr;
    QLabel* label = nullptr;
    QLabel* error = nullptr;
    QWidget* row = nullptr;
    QFormLayout* form = nullptr;
  };
  QWidget* makeEditor(const rr::ConfigKey& key);
  void writeEditor(Field& f, const QJsonValue& value);
  /// Parses one editor; on failure returns Undefined and sets *why.
  QJsonValue readEditor(const Field& f, QString* why) const;
  void validate();
  void updateVisibility();
  void updateDifferences();
  static QString rangeText(const rr::ConfigKey& key);

  QTabWidget* tabs_ = nullptr;
  QTreeWidget* diffTree_ = nullptr;
  QLabel* diffSummary_ = nullptr;
  QCheckBox* advancedBox_ = nullptr;
  QHash<QString, Field> fields_;
  QStringList order_;
  QVector<rr::ConfigIssue> issues_;
  QString basePreset_ = QStringLiteral("custom");
  bool loading_ = false;
  bool showAdvanced_ = false;
};

}  // namespace rr::views
