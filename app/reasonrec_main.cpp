// reasonrec: the engine on the command line. Wiring only; see app/cli.
#include "app/cli/cli.h"
#include "core/runtime.h"

#include <QCoreApplication>

#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace {
void onInterrupt(int) { rr::cli::requestCancel(); }
}  // namespace

int main(int argc, char** argv) {
  rr::runtime::initialiseProcess();
  QCoreApplication app(argc, argv);
  QCoreApplication::setApplicationName(QStringLiteral("reasonrec"));
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  QTextStream out(stdout);
  QTextStream err(stderr);
  return rr::cli::run(QCoreApplication::arguments(), out, err, isatty(fileno(stderr)) != 0);
}
