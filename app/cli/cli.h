#pragma once
/// \file
/// \brief The `reasonrec` command line (DESIGN.md, "Command line contract").

#include <QStringList>
#include <QTextStream>

namespace rr::cli {

/// \brief Runs one command line (args[0] is the program name) and returns the exit code.
/// Normal output goes to `out`, progress and errors to `err`. interactive: stderr is a terminal
/// (progress bar) rather than a log (one line per epoch).
int run(const QStringList& args, QTextStream& out, QTextStream& err, bool interactive);

/// Asks the job currently run by run() (if any) to stop; safe from a signal handler.
void requestCancel();
/// Whether requestCancel() was called since run() began (for commands that run child processes
/// rather than one job).
bool cancelRequested();

}  // namespace rr::cli
