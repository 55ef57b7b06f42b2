#pragma once
/// \file
/// \brief Errors a person can cause, each mapped to the command line's exit codes.

#include <QString>
#include <stdexcept>

namespace rr {

/// Exit codes of the command line contract (DESIGN.md).
enum class ExitCode : int {
  Success = 0,
  Usage = 2,      ///< bad arguments or configuration
  Data = 3,       ///< unreadable or malformed dataset
  RunFailed = 4,  ///< training diverged, I/O failed mid-run, ...
  Cancelled = 130 ///< stopped by the user (Ctrl+C, Stop button)
};

/// \brief Base of every error meant for a person: one line saying what and where.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const QString& message)
      : std::runtime_error(message.toStdString()), code_(code), message_(message) {}
  ExitCode code() const { return code_; }
  /// The one-line message, e.g. "data.txt:12: expected an integer item id, got 'x'".
  const QString& message() const { return message_; }

 private:
  ExitCode code_;
  QString message_;
};

/// \brief A configuration problem; the message starts with the key.
class ConfigError : public Error {
 public:
  ConfigError(const QString& key, const QString& detail)
      : Error(ExitCode::Usage, key + QStringLiteral(": ") + detail), key_(key) {}
  const QString& key() const { return key_; }

 private:
  QString key_;
};

/// \brief Bad command-line usage (unknown option, missing argument).
class UsageError : public Error {
 public:
  explicit UsageError(const QString& detail) : Error(ExitCode::Usage, detail) {}
};

/// \brief A dataset problem; names the file and, where known, the 1-based line.
class DataError : public Error {
 public:
  DataError(const QString& file, qint64 line, const QString& detail)
      : Error(ExitCode::Data, format(file, line, detail)), file_(file), line_(line), detail_(detail) {}
  const QString& file() const { return file_; }
  qint64 line() const { return line_; }  ///< 0 when the problem is not tied to one line
  const QString& detail() const { return detail_; }

 private:
  static QString format(const QString& file, qint64 line, const QString& detail) {
    return line > 0 ? QStringLiteral("%1:%2: %3").arg(file).arg(line).arg(detail)
                    : QStringLiteral("%1: %2").arg(file, detail);
  }
  QString file_;
  qint64 line_;
  QString detail_;
};

/// \brief A run that cannot go on: diverged to NaN, disk full, corrupt checkpoint.
class RunError : public Error {
 public:
  explicit RunError(const QString& detail) : Error(ExitCode::RunFailed, detail) {}
};

/// \brief Thrown from a job's cancellation point when the user stopped it.
class CancelledError : public Error {
 public:
  CancelledError() : Error(ExitCode::Cancelled, QStringLiteral("cancelled")) {}
};

/// \brief A training session reached its time limit before its run was done (a stage that had
/// not finished one epoch, or stages still to come). The run stays resumable, as when stopped.
class TimeLimitError : public Error {
 public:
  explicit TimeLimitError(const QString& detail) : Error(ExitCode::Cancelled, detail) {}
};

}  // namespace rr
