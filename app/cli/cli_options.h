#pragma once
/// \file
/// \brief Small helpers the subcommands share for declaring and reading their options.

#include "core/errors.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QString>

namespace rr::cli {

/// An option `--name` with help text; it takes a value when `value` names one.
inline QCommandLineOption opt(const QString& name, const QString& help, const QString& value = {}) {
  return value.isEmpty() ? QCommandLineOption(name, help) : QCommandLineOption(name, help, value);
}

/// The value of `--name`; UsageError naming the option when it is missing.
inline QString required(QCommandLineParser& p, const QString& name) {
  const QString v = p.value(name);
  if (v.isEmpty()) throw UsageError(QStringLiteral("--%1 is required").arg(name));
  return v;
}

/// The whole-number option `--name`, at least `minimum`; UsageError saying it is not `what`.
inline int wholeNumberArg(const QCommandLineParser& p, const QString& name, int minimum, const QString& what) {
  bool ok = false;
  const int v = p.value(name).toInt(&ok);
  if (!ok || v < minimum) throw UsageError(QStringLiteral("--%1: '%2' is not %3").arg(name, p.value(name), what));
  return v;
}

/// `--threads N`: a CPU thread count, 0 meaning all cores.
inline int threadsArg(const QCommandLineParser& p) {
  return wholeNumberArg(p, QStringLiteral("threads"), 0, QStringLiteral("a thread count (0 = all cores)"));
}

/// `--time-limit MIN`: the minutes a training session may take (train and resume say this; sweep
/// passes its own `help`).
inline QCommandLineOption timeLimitOption(
    const QString& help = QStringLiteral("Minutes this session may train (e.g. a GPU server's job limit): no epoch starts "
                                         "that, at the previous epoch's pace, would end later. The stage is then "
                                         "evaluated at its best epoch; a run with stages left stays resumable.")) {
  return opt(QStringLiteral("time-limit"), help, QStringLiteral("MIN"));
}

/// --time-limit in seconds (0 when not given); a usage error unless it is a positive number.
inline double timeLimitArg(const QCommandLineParser& p) {
  if (!p.isSet(QStringLiteral("time-limit"))) return 0;
  bool ok = false;
  const double minutes = p.value(QStringLiteral("time-limit")).toDouble(&ok);
  if (!ok || !(minutes > 0) || minutes > 1e7)
    throw UsageError(
        QStringLiteral("--time-limit: '%1' is not a positive number of minutes").arg(p.value(QStringLiteral("time-limit"))));
  return minutes * 60.0;
}

}  // namespace rr::cli
