// reasonrec: the engine on the command line. Wiring only; see app/cli.
#include "app/cli/analysis_commands.h"
#include "app/cli/cli.h"
#include "core/runtime.h"

#include <QCoreApplication>
#ifdef REASONREC_CLI_HAS_REPORT
#include <QApplication>
#endif

#include <csignal>
#include <memory>
#include <cstdio>
#include <unistd.h>

namespace {
void onInterrupt(int) { rr::cli::requestCancel(); }
}  // namespace

int main(int argc, char** argv) {
  rr::runtime::initialiseProcess();
  std::unique_ptr<QCoreApplication> app;
#ifdef REASONREC_CLI_HAS_REPORT
  QStringList args;
  for (int i = 0; i < argc; ++i) args.append(QString::fromLocal8Bit(argv[i]));
  if (rr::cli::needsGuiApplication(args)) {
    // The report renders charts with widgets; without a display it does so offscreen.
    if (qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY") &&
        qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
      qputenv("QT_QPA_PLATFORM", "offscreen");
    app = std::make_unique<QApplication>(argc, argv);
  }
#endif
  if (!app) app = std::make_unique<QCoreApplication>(argc, argv);
  QCoreApplication::setApplicationName(QStringLiteral("reasonrec"));
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  QTextStream out(stdout);
  QTextStream err(stderr);
  return rr::cli::run(QCoreApplication::arguments(), out, err, isatty(fileno(stderr)) != 0);
}
