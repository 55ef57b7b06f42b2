// rr_render_panels PROJECT_DIR OUT_DIR [RUN,RUN,...]: saves every analysis panel of a project
// (its newest stored results) as PNG, for looking at them without a display. Not a test.
#include "fake_studio_context.h"
#include "core/runtime.h"
#include "views/analysis/analysis_panels.h"
#include "views/panel_registry.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QDir>

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  rr::runtime::initialiseProcess();
  QApplication app(argc, argv);
  const QStringList args = app.arguments();
  if (args.size() < 3) {
    qWarning("usage: rr_render_panels PROJECT_DIR OUT_DIR [RUN,RUN,...] [INSPECTOR_STEP,STREAM]");
    return 2;
  }
  FakeStudioContext ctx;
  ctx.dir = QDir(args[1]).absolutePath();
  if (args.size() > 3)
    for (const QString& id : args[3].split(QLatin1Char(','), Qt::SkipEmptyParts)) ctx.selection.append(id.toLongLong());
  rr::views::registerAnalysisPanels();
  QDir().mkpath(args[2]);
  for (const auto& info : rr::views::registeredPanels()) {
    QWidget* w = info.create(ctx, nullptr);
    w->resize(1400, 850);
    w->show();
    QApplication::processEvents();
    if (auto* insp = qobject_cast<rr::views::InspectorPanel*>(w); insp && args.size() > 4) {
      const QStringList pos = args[4].split(QLatin1Char(','));
      insp->setPosition(pos.value(0).toInt(), pos.value(1).toInt());
    }
    for (QCustomPlot* p : w->findChildren<QCustomPlot*>()) p->replot();
    const QString file = QDir(args[2]).filePath(info.id + QStringLiteral(".png"));
    w->grab().save(file);
    qInfo("%s", qPrintable(file));
    delete w;
  }
  return 0;
}
