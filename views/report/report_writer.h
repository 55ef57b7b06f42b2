#pragma once
/// \file
/// \brief The stakeholder report: a PDF with a title page (project, dataset statistics, runs),
/// configurations, the comparison table, training curves and the selected analyses' figures,
/// each with a short caption. Used by File → Export report and `reasonrec export --report`.
/// Thread: GUI thread (needs a QApplication; QCustomPlot renders offscreen).

#include <QString>
#include <QStringList>
#include <QVector>

namespace rr {
class RunConfig;
}

namespace rr::views {

struct ReportOptions {
  QString projectDir;
  QVector<qint64> runIds;      ///< empty = every completed run, oldest first (the title page names the others)
  qint64 baselineRunId = 0;    ///< comparison baseline; 0 = the first run
  QStringList analyses;        ///< kinds to include (latest stored result of each); empty = all found
  /// With analyses empty: also the newest inspected case (kind "attention"), which is per user
  /// and so left out by default.
  bool withInspector = false;
  QString title;               ///< default "<project name>: results"
};

/// The report's configuration table, one row per setting: the setting, then its value in each
/// configuration. "–" where a setting does not apply to a run's model. The main settings first,
/// then every other one whose cells differ (so a setting in which the runs differ only where it
/// applies to none of them is not listed).
QVector<QStringList> configurationRows(const QVector<RunConfig>& configs);

/// The pages the report will have, in order, each as "<title>" (for previews and tests).
QStringList reportPageTitles(const ReportOptions& options);

/// Writes the PDF and returns its page count. Throws rr::Error when the project cannot be read
/// or the file cannot be written.
int writeReport(const ReportOptions& options, const QString& pdfPath);

}  // namespace rr::views
