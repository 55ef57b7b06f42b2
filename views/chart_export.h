#pragma once
/// \file
/// \brief Writing a chart to PNG, SVG or PDF (chosen by the file's suffix) and tables to CSV.
/// Thread: GUI thread.

#include <QString>
#include <QStringList>
#include <QVector>

class QCustomPlot;
class QAbstractItemModel;

namespace rr::views {

/// File-dialog filter of the chart formats.
QString chartFileFilter();
/// Renders `plot` at width x height pixels (0 = its current size) to .png, .svg or .pdf.
/// Returns an empty string on success, else the reason (unknown suffix, unwritable file).
QString exportChart(QCustomPlot* plot, const QString& path, int width = 0, int height = 0);
/// Quotes a CSV field when needed (RFC 4180).
QString csvField(const QString& text);
/// Writes rows (first row = header) as CSV. Returns an empty string on success, else the reason.
QString writeCsv(const QString& path, const QVector<QStringList>& rows);
/// Writes the visible columns of a model (header from Qt::DisplayRole) as CSV.
QString writeModelCsv(const QString& path, const QAbstractItemModel& model,
                      const QVector<int>& columns = {});

}  // namespace rr::views
