#pragma once
/// \file
/// \brief Dataset import wizard: choose a file (or a synthetic spec), see the detected format
/// and the first lines, set preprocessing (rating threshold, k-core, minimum length) and the
/// run defaults (maximum length, split), then see statistics and a sequence-length histogram
/// computed off the GUI thread before confirming. The import itself runs as an ImportJob
/// (submitted by the caller) with progress and cancellation. Malformed files are rejected
/// with the file and line of the problem. Thread: GUI thread.

#include "core/data/sequence_data.h"
#include "core/jobs/import_job.h"

#include <QFutureWatcher>
#include <QWizard>
#include <atomic>
#include <memory>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QCustomPlot;
class QTableWidget;

namespace rr::views {

/// \brief What the statistics page computed (off the GUI thread).
struct ImportPreview {
  bool ok = false;
  bool cancelled = false;
  QString error;         ///< "file:line: reason" when !ok
  qint64 errorLine = 0;  ///< 1-based line of the problem (0 when not tied to a line)
  QString format;
  qint64 rawInteractions = 0;
  qint64 linesRead = 0;
  rr::DatasetStats stats;
  qint64 truncatedUsers = 0;  ///< users longer than the chosen maximum length
};

/// Reads, preprocesses and describes `request.source` (a file or synthetic spec). Never throws.
/// Thread: any; `cancel` may be set from another thread.
ImportPreview computeImportPreview(const rr::ImportRequest& request, int maxLen, const std::atomic<bool>* cancel);

class ImportWizard : public QWizard {
  Q_OBJECT
 public:
  explicit ImportWizard(const QString& projectDir, QWidget* parent = nullptr);
  ~ImportWizard() override;
  enum PageId { SourcePage, OptionsPage, StatsPage };

  void setSource(const QString& pathOrSpec);
  QString source() const;
  /// The import to run once accepted.
  rr::ImportRequest request() const;
  int maxLength() const;
  QString split() const;
  /// The statistics page's message (the error with its line when the file is malformed).
  QString statusText() const;
  bool previewReady() const { return preview_.ok; }
  const ImportPreview& preview() const { return preview_; }
  /// The format detection line on the first page.
  QString detectedText() const;

 signals:
  void previewFinished();

 private:
  friend class StatsPageWidget;
  void updateSource();
  void startPreview();
  void showPreview();

  QString projectDir_;
  QLineEdit* path_ = nullptr;
  QComboBox* format_ = nullptr;
  QLabel* detected_ = nullptr;
  QPlainTextEdit* lines_ = nullptr;
  QDoubleSpinBox* minRating_ = nullptr;
  QSpinBox* kcore_ = nullptr;
  QSpinBox* minLength_ = nullptr;
  QSpinBox* maxLength_ = nullptr;
  QComboBox* split_ = nullptr;
  QLineEdit* name_ = nullptr;
  QLabel* status_ = nullptr;
  QTableWidget* statsTable_ = nullptr;
  QCustomPlot* histogram_ = nullptr;
  QFutureWatcher<ImportPreview> watcher_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  ImportPreview preview_;
};

}  // namespace rr::views
