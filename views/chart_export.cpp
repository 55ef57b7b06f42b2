#include "views/chart_export.h"

#include <QAbstractItemModel>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QTextStream>
#include <qcustomplot.h>

#include <algorithm>

namespace rr::views {

QString chartFileFilter() {
  return QStringLiteral("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf);;CSV data (*.csv)");
}

QString exportChart(QCustomPlot* plot, const QString& path, int width, int height) {
  if (!plot) return QStringLiteral("no chart");
  const int w = width > 0 ? width : std::max(plot->width(), 640);
  const int h = height > 0 ? height : std::max(plot->height(), 400);
  const QString suffix = QFileInfo(path).suffix().toLower();
  bool ok = false;
  if (suffix == QLatin1String("png")) {
    ok = plot->savePng(path, w, h, 2.0);
  } else if (suffix == QLatin1String("pdf")) {
    ok = plot->savePdf(path, w, h, QCP::epNoCosmetic, QStringLiteral("ReasonRec Studio"), plot->objectName());
  } else if (suffix == QLatin1String("svg")) {
    QSvgGenerator gen;
    gen.setFileName(path);
    gen.setSize(QSize(w, h));
    gen.setViewBox(QRect(0, 0, w, h));
    gen.setTitle(plot->objectName());
    gen.setDescription(QStringLiteral("ReasonRec Studio chart"));
    QCPPainter painter;
    if (painter.begin(&gen)) {
      plot->toPainter(&painter, w, h);
      ok = painter.end();
    }
    ok = ok && QFileInfo(path).size() > 0;
  } else {
    return QStringLiteral("%1: unknown chart format '%2' (use .png, .svg or .pdf)").arg(path, suffix);
  }
  return ok ? QString() : QStringLiteral("%1: could not be written").arg(path);
}

QString csvField(const QString& text) {
  if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) && !text.contains(QLatin1Char('\n')))
    return text;
  QString t = text;
  t.replace(QLatin1Char('"'), QStringLiteral("\"\""));
  return QLatin1Char('"') + t + QLatin1Char('"');
}

QString writeCsv(const QString& path, const QVector<QStringList>& rows) {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Text))
    return QStringLiteral("%1: %2").arg(path, f.errorString());
  QTextStream out(&f);
  for (const QStringList& row : rows) {
    QStringList fields;
    for (const QString& cell : row) fields.append(csvField(cell));
    out << fields.join(QLatin1Char(',')) << '\n';
  }
  out.flush();
  if (!f.commit()) return QStringLiteral("%1: %2").arg(path, f.errorString());
  return {};
}

QString writeModelCsv(const QString& path, const QAbstractItemModel& model, const QVector<int>& columns) {
  QVector<int> cols = columns;
  if (cols.isEmpty())
    for (int c = 0; c < model.columnCount(); ++c) cols.append(c);
  QVector<QStringList> rows;
  QStringList header;
  for (int c : cols) header.append(model.headerData(c, Qt::Horizontal, Qt::DisplayRole).toString());
  rows.append(header);
  for (int r = 0; r < model.rowCount(); ++r) {
    QStringList row;
    for (int c : cols) row.append(model.data(model.index(r, c), Qt::DisplayRole).toString());
    rows.append(row);
  }
  return writeCsv(path, rows);
}

}  // namespace rr::views
