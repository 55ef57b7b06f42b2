// reasonrec-studio: the desktop studio. Opens a project (projects/demo by default) in the main
// window. Automation options render the panels to PNG (--capture) and measure the GUI event
// loop's responsiveness while a training job runs (--measure-latency).
#include "core/errors.h"
#include "core/runtime.h"
#include "views/curves_panel.h"
#include "views/analysis/analysis_panels.h"
#include "views/latency_probe.h"
#include "views/main_window.h"
#include "views/runs_panel.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QSettings>
#include <QTimer>
#include <cstdio>

namespace {

/// projects/demo next to the build tree, the installed share directory or the working directory.
QString defaultProject() {
  const QString app = QCoreApplication::applicationDirPath();
  const QStringList candidates = {QDir(app).filePath(QStringLiteral("../../projects/demo")),
                                  QDir(app).filePath(QStringLiteral("../share/reasonrec/projects/demo")),
                                  QDir::current().filePath(QStringLiteral("projects/demo"))};
  for (const QString& c : candidates)
    if (QFileInfo(QDir(c).filePath(QStringLiteral("project.json"))).isFile()) return QDir::cleanPath(c);
  const QStringList recent = QSettings().value(QStringLiteral("recentProjects")).toStringList();
  if (!recent.isEmpty()) return recent.first();
  return QDir::home().filePath(QStringLiteral("ReasonRec/demo"));
}

QList<qint64> parseIds(const QString& text) {
  QList<qint64> ids;
  for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) ids.append(part.trimmed().toLongLong());
  return ids;
}

/// Processes events for `ms` milliseconds.
void spin(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
}

}  // namespace

int main(int argc, char** argv) {
  rr::runtime::initialiseProcess();
  // Automation without a display renders offscreen.
  bool automation = false;
  for (int i = 1; i < argc; ++i) {
    const QByteArray a(argv[i]);
    if (a == "--capture" || a == "--measure-latency") automation = true;
  }
  if (automation && qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY") &&
      qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
    qputenv("QT_QPA_PLATFORM", "offscreen");

  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("ReasonRec"));
  QApplication::setApplicationName(QStringLiteral("ReasonRec Studio"));
  QApplication::setApplicationVersion(rr::runtime::versionString());
  QApplication::setDesktopFileName(QStringLiteral("reasonrec-studio"));

  QCommandLineParser p;
  p.setApplicationDescription(QStringLiteral("ReasonRec Studio: set up, run, watch and compare training runs."));
  p.addHelpOption();
  p.addVersionOption();
  p.addPositionalArgument(QStringLiteral("project"), QStringLiteral("Project directory (default: projects/demo)."));
  p.addOption({QStringLiteral("capture"), QStringLiteral("Render each panel and the window to DIR/*.png, then quit."), QStringLiteral("DIR")});
  p.addOption({QStringLiteral("select"), QStringLiteral("Select these runs (comma-separated ids) before capturing."), QStringLiteral("IDS")});
  p.addOption({QStringLiteral("start"), QStringLiteral("Start (or resume) this run first (new: a new run of the demo configuration); with --capture the run is stopped (interrupted) after the capture."), QStringLiteral("RUN")});
  p.addOption({QStringLiteral("capture-delay"), QStringLiteral("Seconds to let a started run stream before capturing (default 20)."), QStringLiteral("S")});
  p.addOption({QStringLiteral("measure-latency"), QStringLiteral("Measure the lateness of a 10 ms timer for S seconds idle, then S seconds while a training job runs (--start RUN, else a new demo run), print p50/p99/max, quit."), QStringLiteral("S")});
  p.addOption({QStringLiteral("size"), QStringLiteral("Window size WxH for captures (default 1600x1000)."), QStringLiteral("WxH")});
  p.process(app);

  const QString dir = p.positionalArguments().value(0, defaultProject());
  rr::views::registerAnalysisPanels();  // before the window: it docks every registered panel
  rr::views::MainWindow window;
  const bool automated = p.isSet(QStringLiteral("capture")) || p.isSet(QStringLiteral("measure-latency"));
  if (automated) {
    const QStringList wh = p.value(QStringLiteral("size")).split(QLatin1Char('x'));
    window.resize(wh.size() == 2 ? wh[0].toInt() : 1600, wh.size() == 2 ? wh[1].toInt() : 1000);
  }
  window.show();
  if (automated) window.resetLayout();  // captures show the default arrangement, not a saved one
  if (!window.openProject(dir, automated)) {
    if (automated) {
      std::fprintf(stderr, "%s\n", qPrintable(window.lastError()));
      return 2;
    }
  }
  if (!automated) return app.exec();

  // --- automation ---
  window.jobs().waitForIdle(10 * 60 * 1000);  // manifest imports
  window.reloadFromStore();
  if (p.isSet(QStringLiteral("select"))) window.setSelectedRuns(parseIds(p.value(QStringLiteral("select"))));
  if (window.runsPanel()) window.runsPanel()->selectRuns(window.selectedRuns());

  if (p.isSet(QStringLiteral("measure-latency"))) {
    const double seconds = p.value(QStringLiteral("measure-latency")).toDouble();
    rr::views::LatencyProbe probe(10);
    spin(1000);  // let the window settle
    probe.start();
    spin(static_cast<int>(seconds * 1000));
    probe.stop();
    const double idle50 = probe.quantileMs(0.5), idle99 = probe.quantileMs(0.99), idleMax = probe.maxMs();
    const size_t idleN = probe.samplesMs().size();
    qint64 run = p.value(QStringLiteral("start")).toLongLong();
    if (run <= 0) run = window.createRun(window.firstDatasetId(), window.demoConfig(), QStringLiteral("latency probe"));
    if (run <= 0 || !window.startRun(run)) {
      std::fprintf(stderr, "cannot start a run: %s\n", qPrintable(window.lastError()));
      return 4;
    }
    window.setSelectedRuns({run});
    spin(3000);  // the job opens its session and starts its first epoch
    probe.clear();
    probe.start();
    spin(static_cast<int>(seconds * 1000));
    probe.stop();
    const bool stillRunning = window.jobs().activeCount() > 0;
    std::printf("event-loop lateness of a 10 ms timer over %.0f s each\n", seconds);
    std::printf("idle:     p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu samples)\n", idle50, idle99, idleMax, idleN);
    std::printf("training: p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu samples, run %lld, %s, %d redraws, %lld points)\n",
                probe.quantileMs(0.5), probe.quantileMs(0.99), probe.maxMs(), probe.samplesMs().size(),
                static_cast<long long>(run), stillRunning ? "job running throughout" : "job ended early",
                window.curvesPanel()->redrawCount(), static_cast<long long>(window.curves().pointCount()));
    std::fflush(stdout);
    window.jobs().cancelAll();
    window.jobs().waitForIdle(120000);
    return 0;
  }

  const QString out = p.value(QStringLiteral("capture"));
  if (p.isSet(QStringLiteral("start"))) {
    qint64 run = p.value(QStringLiteral("start")).toLongLong();
    if (p.value(QStringLiteral("start")) == QLatin1String("new"))
      run = window.createRun(window.firstDatasetId(), window.demoConfig(), QStringLiteral("demo (live)"));
    if (run <= 0 || !window.startRun(run)) {
      std::fprintf(stderr, "cannot start run %lld\n", static_cast<long long>(run));
      return 4;
    }
    if (!p.isSet(QStringLiteral("select"))) window.setSelectedRuns({run});
    spin(static_cast<int>(p.value(QStringLiteral("capture-delay")).toDouble() * 1000 + 0.5) > 0
             ? static_cast<int>(p.value(QStringLiteral("capture-delay")).toDouble() * 1000)
             : 20000);
  } else {
    spin(500);
  }
  const QStringList files = window.captureTo(out);
  for (const QString& f : files) std::printf("%s\n", qPrintable(f));
  std::fflush(stdout);
  window.jobs().cancelAll();
  window.jobs().waitForIdle(120000);
  return files.isEmpty() ? 4 : 0;
}
