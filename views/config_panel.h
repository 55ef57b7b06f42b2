#pragma once
/// \file
/// \brief The run configuration panel: preset and saved-configuration pickers, the dataset to
/// train on, a run name, the schema-generated form, the list of problems, and Save / Create /
/// Start buttons (Start stays disabled while anything is invalid). Thread: GUI thread.

#include "core/project/run_config.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace rr {
class ExperimentStore;
}

namespace rr::views {

class ConfigForm;

class ConfigPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ConfigPanel(QWidget* parent = nullptr);
  /// The store of the open project (GUI thread's connection), or null; refreshes the lists.
  void setStore(rr::ExperimentStore* store);
  void reloadLists();
  ConfigForm* form() const { return form_; }
  void setPreset(const QString& name);
  void selectDataset(qint64 datasetId);
  qint64 datasetId() const;
  QString runName() const;
  QPushButton* startButton() const { return start_; }
  /// Saves the current configuration under `name` in the project; empty string on success.
  QString saveConfiguration(const QString& name);
  void loadSavedConfiguration(qint64 id);

 signals:
  /// The user asked for a new run (startNow: also queue its training).
  void runRequested(qint64 datasetId, const rr::RunConfig& config, const QString& name, bool startNow);
  void importRequested();

 private:
  void updateState();
  ConfigForm* form_;
  QComboBox* preset_;
  QComboBox* saved_;
  QComboBox* dataset_;
  QLineEdit* name_;
  QLabel* issues_;
  QPushButton* save_;
  QPushButton* create_;
  QPushButton* start_;
  rr::ExperimentStore* store_ = nullptr;
};

}  // namespace rr::views
