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

}  // namespace rr::cli
