#pragma once
// Runs `reasonrec ARGS...` in-process and keeps its exit code, stdout and stderr.
#include "app/cli/cli.h"

#include <QString>
#include <QStringList>
#include <QTextStream>

struct CliResult {
  int code = 0;
  QString out, err;
};

inline CliResult cli(QStringList args) {
  args.prepend("reasonrec");
  CliResult r;
  QTextStream out(&r.out), err(&r.err);
  r.code = rr::cli::run(args, out, err, false);
  return r;
}
