#pragma once
/// \file
/// \brief `reasonrec analyze`, `reasonrec compare`, `reasonrec sweep` and `export --report`
/// (DESIGN.md, "Command line contract"); wired into the command table in cli.cpp.

#include <QCommandLineParser>
#include <QTextStream>

#include <functional>

namespace rr {
class Job;
}

namespace rr::cli {

/// Runs a job with terminal progress; Ctrl+C cancels it (defined in cli.cpp).
int executeCliJob(Job& job, QTextStream& err, bool interactive);

void addAnalyzeOptions(QCommandLineParser& p);
int cmdAnalyze(QCommandLineParser& p, QTextStream& out, QTextStream& err, bool interactive);

void addCompareOptions(QCommandLineParser& p);
int cmdCompare(QCommandLineParser& p, QTextStream& out, QTextStream& err);

void addSweepOptions(QCommandLineParser& p);
int cmdSweep(QCommandLineParser& p, QTextStream& out, QTextStream& err, bool interactive);

/// export --report FILE.pdf: builds the stakeholder report (needs the GUI libraries).
int exportReport(QCommandLineParser& p, QTextStream& out, QTextStream& err);

/// Whether args ask for something that needs a QApplication (export --report); the main then
/// creates one (offscreen without a display) instead of a QCoreApplication.
bool needsGuiApplication(const QStringList& args);

}  // namespace rr::cli
