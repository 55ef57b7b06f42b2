#include "app/cli/cli_options.h"
#include "app/cli/analysis_commands.h"
#include "app/cli/cli.h"

#include "core/analysis/analysis_job.h"
#include "core/analysis/analysis_results.h"
#include "core/analysis/comparison.h"
#include "core/analysis/sweep.h"
#include "core/errors.h"
#include "core/jobs/train_job.h"
#include "core/project/project.h"
#include "core/project/stored_config.h"
#include "core/store/experiment_store.h"

#ifdef REASONREC_CLI_HAS_REPORT
#include "views/report/report_writer.h"
#endif

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QSaveFile>
#include <QThread>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

namespace rr::cli {

namespace {

QVector<qint64> runIds(const QString& text, const QString& option) {
  QVector<qint64> ids;
  for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    bool ok = false;
    const qint64 id = part.trimmed().toLongLong(&ok);
    if (!ok || id <= 0) throw UsageError(QStringLiteral("--%1: '%2' is not a run id").arg(option, part));
    if (!ids.contains(id)) ids.append(id);
  }
  return ids;
}

void writeText(const QString& path, const QByteArray& bytes) {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly) || f.write(bytes) < 0 || !f.commit())
    throw Error(ExitCode::RunFailed, QStringLiteral("%1: cannot write: %2").arg(path, f.errorString()));
}

QString num(double v, int prec = 4) { return QString::number(v, 'f', prec); }

/// A few readable lines per kind; the full result is in --summary and the store.
void printAnalysis(const QString& kind, const QJsonObject& r, QTextStream& out) {
  if (kind == QLatin1String("oracle")) {
    const OracleResult o = OracleResult::fromJson(r);
    out << QStringLiteral("%1  %2  %3  %4  %5  %6  %7\n")
               .arg(QStringLiteral("run"), -24).arg(QStringLiteral("S x M"), 6)
               .arg(QStringLiteral("NDCG@%1").arg(o.k), 9).arg(QStringLiteral("oracle"), 9).arg(QStringLiteral("R@%1").arg(o.k), 9)
               .arg(QStringLiteral("oracle"), 9).arg(QStringLiteral("gap N/R"), 15);
    for (const auto& x : o.runs)
      out << QStringLiteral("%1  %2  %3  %4  %5  %6  %7/%8\n")
                 .arg(x.label.left(24), -24).arg(QStringLiteral("%1x%2").arg(x.steps).arg(x.streams), 6)
                 .arg(num(x.currentNdcg), 9).arg(num(x.oracleNdcg), 9).arg(num(x.currentRecall), 9).arg(num(x.oracleRecall), 9)
                 .arg(num(x.oracleNdcg - x.currentNdcg), 7).arg(num(x.oracleRecall - x.currentRecall), 7);
  } else if (kind == QLatin1String("robustness")) {
    const RobustnessResult o = RobustnessResult::fromJson(r);
    for (const auto& x : o.runs) {
      out << x.label << QStringLiteral(" (%1 repetitions)\n").arg(o.repetitions);
      for (int i = 0; i < x.drops.size(); ++i)
        out << QStringLiteral("  drop %1%  NDCG@%2 %3 ± %4  Recall@%2 %5 ± %6\n")
                   .arg(100 * x.drops[i], 3, 'f', 0).arg(o.k).arg(num(x.ndcgMean[i])).arg(num(x.ndcgStd[i]))
                   .arg(num(x.recallMean[i])).arg(num(x.recallStd[i]));
    }
  } else if (kind == QLatin1String("depth")) {
    const DepthResult o = DepthResult::fromJson(r);
    for (const auto& x : o.runs) {
      out << x.label << (x.supported ? QString() : QStringLiteral(" (no reasoning depth: evaluated once)")) << '\n';
      for (int i = 0; i < x.steps.size(); ++i)
        out << QStringLiteral("  steps %1  NDCG@10 %2  NDCG@20 %3  Recall@10 %4  Recall@20 %5\n")
                   .arg(x.steps[i] > 0 ? QString::number(x.steps[i]) : QStringLiteral("as trained"), 3).arg(num(x.metrics[i].value(QStringLiteral("ndcg@10"))))
                   .arg(num(x.metrics[i].value(QStringLiteral("ndcg@20")))).arg(num(x.metrics[i].value(QStringLiteral("recall@10"))))
                   .arg(num(x.metrics[i].value(QStringLiteral("recall@20"))));
    }
  } else if (kind == QLatin1String("efficiency")) {
    const EfficiencyResult o = EfficiencyResult::fromJson(r);
    out << QStringLiteral("device %1, %2 threads\n").arg(o.device).arg(o.threads);
    out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8 %9 %10 %11 %12 %13\n")
               .arg(QStringLiteral("run"), -22).arg(QStringLiteral("steps"), 5).arg(QStringLiteral("params"), 9)
               .arg(QStringLiteral("MFLOPs"), 8).arg(QStringLiteral("b1 p50"), 8).arg(QStringLiteral("b1 p99"), 8)
               .arg(QStringLiteral("b256 p50"), 9).arg(QStringLiteral("b256 p99"), 9).arg(QStringLiteral("b1 x1st"), 8)
               .arg(QStringLiteral("b256 x1st"), 9).arg(QStringLiteral("users/s"), 9).arg(QStringLiteral("b1 ops"), 7)
               .arg(QStringLiteral("peak MB"), 8);
    auto ratio = [](double v, int width) { return v > 0 ? QStringLiteral("%1").arg(v, width, 'f', 3) : QStringLiteral("%1").arg(QStringLiteral("-"), width); };
    for (const auto& x : o.rows)
      out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8 %9 %10 %11 %12 %13\n")
                 .arg(x.label.left(22), -22).arg(x.steps ? QString::number(x.steps) : QStringLiteral("-"), 5)
                 .arg(x.parameters, 9, 'f', 0).arg(x.flopsPerSample / 1e6, 8, 'f', 2).arg(x.batch1P50, 8, 'f', 3)
                 .arg(x.batch1P99, 8, 'f', 3).arg(x.batch256P50, 9, 'f', 2).arg(x.batch256P99, 9, 'f', 2)
                 .arg(ratio(x.batch1Ratio, 8)).arg(ratio(x.batch256Ratio, 9))
                 .arg(x.throughput, 9, 'f', 0)
                 .arg(x.batch1OperatorCalls > 0 ? QString::number(x.batch1OperatorCalls) : QStringLiteral("-"), 7)
                 .arg(x.peakRssMb, 8, 'f', 0);
    out << QStringLiteral("requests of all rows interleaved; x1st = median per-request latency ratio to the first row; "
                          "b1 ops = LibTorch operator calls of a batch-1 request (on a GPU, about one kernel launch each)\n");
  } else if (kind == QLatin1String("diversity")) {
    const DiversityResult o = DiversityResult::fromJson(r);
    for (const auto& x : o.runs) {
      out << x.label << QStringLiteral(" (%1 steps x %2 streams)\n").arg(x.steps).arg(x.streams);
      for (int i = 0; i < x.diversityMean.size(); ++i)
        out << QStringLiteral("  D(%1) = %2 ± %3\n").arg(i).arg(num(x.diversityMean[i])).arg(num(x.diversityStd[i]));
      for (int m = 0; m < x.gateMean.size(); ++m)
        out << QStringLiteral("  gate[%1] = %2 ± %3\n").arg(m).arg(num(x.gateMean[m])).arg(num(x.gateStd[m]));
      if (!x.hasGate) out << "  (no stream gate)\n";
    }
  } else if (kind == QLatin1String("attention")) {
    const InspectorData d = InspectorData::fromJson(r);
    out << QStringLiteral("%1, %2 case %3, user %4: %5 history items, target %6, final rank %7\n")
               .arg(d.label, d.split).arg(d.caseIndex).arg(d.userId).arg(d.history.size()).arg(d.targetLabel).arg(d.finalRank + 1);
    for (int s = 0; s < d.ranks.size(); ++s)
      for (int m = 0; m < d.ranks[s].size(); ++m)
        out << QStringLiteral("  step %1 stream %2: target rank %3\n").arg(s).arg(m).arg(d.ranks[s][m] + 1);
    out << QStringLiteral("  %1 attention maps\n").arg(d.maps.size());
    // How differently the streams look at the history: per step and layer, the largest
    // difference of a head-averaged attention weight between stream m and stream 0.
    for (const auto& a : d.maps) {
      if (a.stream == 0) continue;
      for (const auto& b : d.maps) {
        if (b.stream != 0 || b.step != a.step || b.layer != a.layer) continue;
        const QVector<double> wa = InspectorData::headAverage(a), wb = InspectorData::headAverage(b);
        double maxDiff = 0;
        for (int k = 0; k < std::min(wa.size(), wb.size()); ++k) maxDiff = std::max(maxDiff, std::abs(wa[k] - wb[k]));
        out << QStringLiteral("  step %1 layer %2: max |attention(stream %3) - attention(stream 0)| = %4\n")
                   .arg(a.step)
                   .arg(a.layer)
                   .arg(a.stream)
                   .arg(num(maxDiff));
      }
    }
  }
}

}  // namespace

bool needsGuiApplication(const QStringList& args) {
  return args.size() > 1 && args[1] == QLatin1String("export") &&
         std::any_of(args.begin(), args.end(), [](const QString& a) { return a == QLatin1String("--report") || a.startsWith(QLatin1String("--report=")); });
}

void addAnalyzeOptions(QCommandLineParser& p) {
  p.addOption(opt(QStringLiteral("project"), QStringLiteral("Project directory."), QStringLiteral("DIR")));
  p.addOption(opt(QStringLiteral("run"), QStringLiteral("Run id(s), comma-separated."), QStringLiteral("ID[,ID...]")));
  p.addOption(opt(QStringLiteral("kind"), QStringLiteral("%1.").arg(analysisKinds().join(QLatin1Char('|'))), QStringLiteral("KIND")));
  p.addOption(opt(QStringLiteral("param"),
                  QStringLiteral("Analysis parameter KEY=VALUE (repeatable), e.g. repetitions=5, drops=0,0.1,0.2,0.3, "
                                 "steps=1,2,4,8, user=A1B2C3, case=0, split=valid, max_cases=1000, k=20, bins=20, repeats=100."),
                  QStringLiteral("KEY=VALUE")));
  p.addOption(opt(QStringLiteral("set"), QStringLiteral("Same as --param."), QStringLiteral("KEY=VALUE")));
  p.addOption(opt(QStringLiteral("threads"), QStringLiteral("Total CPU threads (default: the run's setting)."), QStringLiteral("N")));
  p.addOption(opt(QStringLiteral("no-store"), QStringLiteral("Do not save the result in the project.")));
  p.addOption(opt(QStringLiteral("summary"), QStringLiteral("Write the result JSON here."), QStringLiteral("FILE")));
}

int cmdAnalyze(QCommandLineParser& p, QTextStream& out, QTextStream& err, bool interactive) {
  AnalysisRequest req;
  req.projectDir = required(p, QStringLiteral("project"));
  req.runIds = runIds(required(p, QStringLiteral("run")), QStringLiteral("run"));
  req.kind = required(p, QStringLiteral("kind"));
  QStringList params = p.values(QStringLiteral("param")) + p.values(QStringLiteral("set"));
  if (p.isSet(QStringLiteral("threads"))) params.append(QStringLiteral("threads=") + p.value(QStringLiteral("threads")));
  req.params = parseAnalysisParams(req.kind, params);
  req.store = !p.isSet(QStringLiteral("no-store"));
  {
    // Unknown runs fail here with "run N not found" rather than inside the job.
    ExperimentStore store(Project::openOrCreate(req.projectDir).databasePath());
    for (qint64 id : req.runIds) (void)store.run(id);
  }
  AnalysisJob job(req);
  const int code = executeCliJob(job, err, interactive);
  if (code != 0) return code;
  const QJsonObject r = job.result();
  if (p.isSet(QStringLiteral("summary"))) writeText(p.value(QStringLiteral("summary")), QJsonDocument(r).toJson(QJsonDocument::Indented));
  printAnalysis(req.kind, r.value(QStringLiteral("result")).toObject(), out);
  if (req.store) out << QStringLiteral("stored as analysis %1\n").arg(r.value(QStringLiteral("analysis_id")).toInt());
  out.flush();
  return 0;
}

void addCompareOptions(QCommandLineParser& p) {
  p.addOption(opt(QStringLiteral("project"), QStringLiteral("Project directory."), QStringLiteral("DIR")));
  p.addOption(opt(QStringLiteral("run"), QStringLiteral("Run ids, comma-separated (default: all completed)."), QStringLiteral("ID[,ID...]")));
  p.addOption(opt(QStringLiteral("baseline"), QStringLiteral("Baseline run for improvements and the paired t-test."), QStringLiteral("ID")));
  p.addOption(opt(QStringLiteral("evaluation"),
                  QStringLiteral("Add a row for run ID's stored re-evaluation LABEL, the overrides it was made with "
                                 "(`reasonrec evaluate --run ID --set LABEL`; several --set joined by spaces). "
                                 "Repeatable; tested against the baseline's final evaluation."),
                  QStringLiteral("ID=LABEL")));
  p.addOption(opt(QStringLiteral("split"), QStringLiteral("test|valid (default test)."), QStringLiteral("SPLIT")));
  p.addOption(opt(QStringLiteral("by-length"),
                  QStringLiteral("One table per group of cases by history length (items before the target): N groups "
                                 "of about equal size, 2 to 20. Metrics and paired tests over each group's cases."),
                  QStringLiteral("N")));
  p.addOption(opt(QStringLiteral("format"), QStringLiteral("markdown|csv|latex (default markdown)."), QStringLiteral("FORMAT")));
  p.addOption(opt(QStringLiteral("output"), QStringLiteral("Write the table to this file instead of stdout."), QStringLiteral("FILE")));
}

int cmdCompare(QCommandLineParser& p, QTextStream& out, QTextStream& err) {
  ExperimentStore store(Project::openOrCreate(required(p, QStringLiteral("project"))).databasePath());
  QVector<qint64> ids;
  if (p.isSet(QStringLiteral("run"))) {
    ids = runIds(p.value(QStringLiteral("run")), QStringLiteral("run"));
  } else {
    const auto runs = store.runs();
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
      if (it->status == RunStatus::Completed) ids.append(it->id);
  }
  qint64 baseline = 0;
  if (p.isSet(QStringLiteral("baseline"))) {
    baseline = runIds(p.value(QStringLiteral("baseline")), QStringLiteral("baseline")).value(0);
    if (!ids.contains(baseline)) ids.prepend(baseline);
  }
  QVector<ComparisonEntry> entries;
  for (qint64 id : ids) entries.append({id, QStringLiteral("final")});
  for (const QString& v : p.values(QStringLiteral("evaluation"))) {
    const int eq = static_cast<int>(v.indexOf(QLatin1Char('=')));
    bool ok = false;
    const qint64 id = eq > 0 ? v.left(eq).trimmed().toLongLong(&ok) : 0;
    if (!ok || id <= 0 || v.mid(eq + 1).trimmed().isEmpty())
      throw UsageError(QStringLiteral("--evaluation: expected ID=LABEL (e.g. 7=model.reasoner.inference=reasoning), got '%1'").arg(v));
    entries.append({id, v.mid(eq + 1).trimmed()});
  }
  const QString split = p.value(QStringLiteral("split")).isEmpty() ? QStringLiteral("test") : p.value(QStringLiteral("split"));
  const QString format = p.value(QStringLiteral("format")).isEmpty() ? QStringLiteral("markdown") : p.value(QStringLiteral("format"));
  formatComparisons({}, format);  // a bad --format fails before any work
  QVector<ComparisonTable> tables;
  if (p.isSet(QStringLiteral("by-length"))) {
    bool ok = false;
    const int groups = p.value(QStringLiteral("by-length")).toInt(&ok);
    if (!ok) throw UsageError(QStringLiteral("--by-length: expected a number of groups, got '%1'").arg(p.value(QStringLiteral("by-length"))));
    if (entries.isEmpty()) throw UsageError(QStringLiteral("--by-length: no runs to compare"));
    tables = buildComparisons(store, entries, baseline, split, {}, historyLengthGroups(store, entries.first().runId, split, groups));
  } else {
    tables.append(buildComparison(store, entries, baseline, split));
  }
  const QString text = formatComparisons(tables, format);
  if (p.isSet(QStringLiteral("output"))) {
    writeText(p.value(QStringLiteral("output")), text.toUtf8());
    err << QStringLiteral("wrote %1\n").arg(p.value(QStringLiteral("output")));
    err.flush();
  } else {
    out << text;
    out.flush();
  }
  return 0;
}

void addSweepOptions(QCommandLineParser& p) {
  p.addOption(opt(QStringLiteral("project"), QStringLiteral("Project directory."), QStringLiteral("DIR")));
  p.addOption(opt(QStringLiteral("base-run"), QStringLiteral("Run whose dataset and configuration the sweep starts from."), QStringLiteral("ID")));
  p.addOption(opt(QStringLiteral("grid"),
                  QStringLiteral("An axis KEY=V1,V2,... (repeatable; list-valued keys separate values with ';'). "
                                 "One run per point of the cartesian product."),
                  QStringLiteral("KEY=VALUES")));
  p.addOption(opt(QStringLiteral("set"), QStringLiteral("Override a base configuration key (repeatable)."), QStringLiteral("KEY=VALUE")));
  p.addOption(opt(QStringLiteral("name"), QStringLiteral("Sweep name (runs are tagged sweep:NAME)."), QStringLiteral("NAME")));
  p.addOption(opt(QStringLiteral("train"), QStringLiteral("Train the queued runs now (one after another unless --jobs).")));
  p.addOption(opt(QStringLiteral("jobs"),
                  QStringLiteral("With --train: train this many runs at once, each in its own reasonrec process "
                                 "with --threads divided among them (default 1: one after another in this process). "
                                 "Ctrl+C stops them all at their next checkpoint; runs not started stay queued."),
                  QStringLiteral("N")));
  p.addOption(opt(QStringLiteral("threads"), QStringLiteral("With --train: CPU threads in all (0 = all cores, the default)."),
                  QStringLiteral("N")));
  p.addOption(timeLimitOption(
      QStringLiteral("With --train: minutes the whole sweep may train (e.g. a GPU server's job limit). Each run starts "
                     "with the time left as its own limit (see train --time-limit); once the limit stops one, no "
                     "further run starts and those not started stay queued (exit code 130).")));
}

namespace {

/// The reasonrec executable children run: this program, or REASONREC_EXECUTABLE (tests run the
/// command line inside their own executable).
QString reasonrecExecutable() {
  const QString env = qEnvironmentVariable("REASONREC_EXECUTABLE");
  return env.isEmpty() ? QCoreApplication::applicationFilePath() : env;
}

QString testLine(qint64 id, double ndcg10, double recall10) {
  return QStringLiteral("run %1: test NDCG@10 %2, Recall@10 %3\n").arg(id).arg(num(ndcg10)).arg(num(recall10));
}

/// "WHY: N runs not started stay queued (ids)" for the runs of `ids` from `from` on.
QString notStartedLine(const QString& why, const QVector<qint64>& ids, int from) {
  QStringList left;
  for (int i = from; i < ids.size(); ++i) left << QString::number(ids[i]);
  return QStringLiteral("%1: %2 runs not started stay queued (%3)\n").arg(why).arg(left.size()).arg(left.join(QStringLiteral(", ")));
}

QString timeLimitReached(double seconds) {
  return QStringLiteral("time limit of %1 min reached").arg(seconds / 60.0, 0, 'g', 4);
}

/// Trains queued runs `jobs` at a time, each as `reasonrec resume --run ID` in a child process
/// (its own LibTorch thread pools and random generators, so runs stay reproducible). Children's
/// output is forwarded line by line, prefixed with their run. With a time limit (seconds, 0 =
/// none) each child gets the time left as its --time-limit, and none starts after the limit
/// stopped one. Returns 0, the first child's failure code, or 130 when cancelled (children are
/// asked to stop, and waited for) or when runs were left queued by the time limit.
int trainInParallel(const QString& projectDir, const QVector<qint64>& ids, int jobs, int totalThreads,
                    double timeLimit, QTextStream& out, QTextStream& err) {
  const int cores = totalThreads > 0 ? totalThreads : std::max(1, QThread::idealThreadCount());
  const int threads = std::max(1, cores / jobs);
  struct Child {
    qint64 run = 0;
    std::unique_ptr<QProcess> process;
    QByteArray partial;
  };
  std::vector<Child> running;
  int next = 0, result = 0;
  bool stopping = false, outOfTime = false;
  QElapsedTimer wall;
  wall.start();
  const auto secondsLeft = [&] { return timeLimit - wall.nsecsElapsed() / 1e9; };
  auto forward = [&err](Child& c, bool all) {
    c.partial += c.process->readAll();
    int nl;
    while ((nl = c.partial.indexOf('\n')) >= 0) {
      err << QStringLiteral("[run %1] ").arg(c.run) << QString::fromUtf8(c.partial.left(nl)) << '\n';
      c.partial.remove(0, nl + 1);
    }
    if (all && !c.partial.isEmpty()) {
      err << QStringLiteral("[run %1] ").arg(c.run) << QString::fromUtf8(c.partial) << '\n';
      c.partial.clear();
    }
    err.flush();
  };
  while ((!stopping && !outOfTime && next < ids.size()) || !running.empty()) {
    if (cancelRequested() && !stopping) {
      stopping = true;  // SIGTERM, handled as Ctrl+C: each child saves a checkpoint and ends `interrupted`
      for (Child& c : running) c.process->terminate();
      if (next < ids.size())
        err << notStartedLine(QStringLiteral("cancelled"), ids, next);
    }
    if (timeLimit > 0 && !outOfTime && next < ids.size() && secondsLeft() <= 0) outOfTime = true;
    while (!stopping && !outOfTime && static_cast<int>(running.size()) < jobs && next < ids.size()) {
      Child c;
      c.run = ids[next++];
      c.process = std::make_unique<QProcess>();
      c.process->setProcessChannelMode(QProcess::MergedChannels);
      QStringList args{QStringLiteral("resume"), QStringLiteral("--project"), projectDir, QStringLiteral("--run"),
                       QString::number(c.run),   QStringLiteral("--threads"), QString::number(threads)};
      if (timeLimit > 0)  // never 0 or less, which the child would refuse
        args << QStringLiteral("--time-limit") << QString::number(std::max(1e-6, secondsLeft()) / 60.0, 'g', 12);
      c.process->start(reasonrecExecutable(), args);
      if (!c.process->waitForStarted(30000)) {
        out << QStringLiteral("run %1: not started (%2: %3); it stays queued\n")
                   .arg(c.run).arg(reasonrecExecutable(), c.process->errorString());
        out.flush();
        if (result == 0) result = static_cast<int>(ExitCode::RunFailed);
        continue;
      }
      err << QStringLiteral("run %1: training in process %2 with %3 threads\n").arg(c.run).arg(c.process->processId()).arg(threads);
      err.flush();
      running.push_back(std::move(c));
    }
    for (auto it = running.begin(); it != running.end();) {
      it->process->waitForReadyRead(std::max(10, 200 / static_cast<int>(running.size())));
      forward(*it, false);
      if (it->process->state() != QProcess::NotRunning) {
        ++it;
        continue;
      }
      it->process->waitForFinished();
      forward(*it, true);
      const int code = it->process->exitStatus() == QProcess::NormalExit ? it->process->exitCode()
                                                                          : static_cast<int>(ExitCode::RunFailed);
      ExperimentStore store(Project::openOrCreate(projectDir).databasePath());
      const RunRecord r = store.run(it->run);
      // The limit stopped this child (completed early, or interrupted: exit 130 we did not ask for).
      if (timeLimit > 0 && !stopping &&
          (code == static_cast<int>(ExitCode::Cancelled) || r.summary.value(QStringLiteral("time_limit_reached")).toBool()))
        outOfTime = true;
      if (code == 0 && r.status == RunStatus::Completed) {
        out << testLine(it->run, r.test.value(QStringLiteral("ndcg@10")), r.test.value(QStringLiteral("recall@10")));
      } else {
        out << QStringLiteral("run %1: %2 (exit code %3)%4\n")
                   .arg(it->run)
                   .arg(runStatusName(r.status))
                   .arg(code)
                   .arg(r.error.isEmpty() ? QString() : QStringLiteral(": ") + r.error);
        if (result == 0) result = code != 0 ? code : static_cast<int>(ExitCode::RunFailed);
      }
      out.flush();
      it = running.erase(it);
    }
  }
  if (outOfTime && !stopping && next < ids.size()) {
    err << notStartedLine(timeLimitReached(timeLimit), ids, next);
    err.flush();
    if (result == 0) result = static_cast<int>(ExitCode::Cancelled);
  }
  return stopping ? static_cast<int>(ExitCode::Cancelled) : result;
}

}  // namespace

int cmdSweep(QCommandLineParser& p, QTextStream& out, QTextStream& err, bool interactive) {
  const QString projectDir = required(p, QStringLiteral("project"));
  const qint64 baseRun = runIds(required(p, QStringLiteral("base-run")), QStringLiteral("base-run")).value(0);
  QVector<SweepAxis> axes;
  for (const QString& g : p.values(QStringLiteral("grid"))) axes.append(parseSweepAxis(g));
  if (axes.isEmpty()) throw UsageError(QStringLiteral("--grid is required (e.g. --grid model.reasoner.steps=1,2,3)"));
  const int jobs = p.isSet(QStringLiteral("jobs"))
                       ? wholeNumberArg(p, QStringLiteral("jobs"), 1, QStringLiteral("a positive number of runs"))
                       : 1;
  const int threads = p.isSet(QStringLiteral("threads")) ? threadsArg(p) : 0;
  const double timeLimit = timeLimitArg(p);
  if ((p.isSet(QStringLiteral("jobs")) || p.isSet(QStringLiteral("threads")) || timeLimit > 0) &&
      !p.isSet(QStringLiteral("train")))
    throw UsageError(QStringLiteral("--jobs, --threads and --time-limit apply to training: add --train"));
  QVector<qint64> ids;
  {
    ExperimentStore store(Project::openOrCreate(projectDir).databasePath());
    const RunRecord base = store.run(baseRun);
    RunConfig cfg = storedRunConfig(base.config);
    for (const QString& a : p.values(QStringLiteral("set"))) cfg.setAssignment(a);
    const QString name = p.value(QStringLiteral("name")).isEmpty() ? QStringLiteral("sweep-run%1").arg(baseRun) : p.value(QStringLiteral("name"));
    ids = queueSweep(store, base.datasetId, cfg, axes, name);
    out << QStringLiteral("queued %1 runs (sweep '%2'):").arg(ids.size()).arg(name);
    for (qint64 id : ids) out << ' ' << id;
    out << '\n';
    out.flush();
  }
  if (!p.isSet(QStringLiteral("train"))) return 0;
  if (jobs > 1) return trainInParallel(projectDir, ids, jobs, threads, timeLimit, out, err);
  QElapsedTimer wall;
  wall.start();
  for (int i = 0; i < ids.size(); ++i) {
    TrainJob job(projectDir, ids[i]);
    if (p.isSet(QStringLiteral("threads"))) job.setThreads(threads);
    if (timeLimit > 0) job.setTimeLimit(std::max(1e-6, timeLimit - wall.nsecsElapsed() / 1e9));  // 0 would be none
    const int code = executeCliJob(job, err, interactive);
    if (code != 0) {
      if (i + 1 < ids.size())
        err << notStartedLine(cancelRequested()                              ? QStringLiteral("cancelled")
                              : code == static_cast<int>(ExitCode::Cancelled) ? timeLimitReached(timeLimit)
                                                                              : QStringLiteral("run %1 failed").arg(ids[i]),
                              ids, i + 1);
      return code;
    }
    const QJsonObject test = job.result().value(QStringLiteral("test")).toObject();
    out << testLine(ids[i], test.value(QStringLiteral("ndcg@10")).toDouble(), test.value(QStringLiteral("recall@10")).toDouble());
    out.flush();
    const bool outOfTime = timeLimit > 0 && (job.result().value(QStringLiteral("time_limit_reached")).toBool() ||
                                             wall.nsecsElapsed() / 1e9 >= timeLimit);
    if (outOfTime && i + 1 < ids.size()) {
      err << notStartedLine(timeLimitReached(timeLimit), ids, i + 1);
      return static_cast<int>(ExitCode::Cancelled);
    }
  }
  return 0;
}

int exportReport(QCommandLineParser& p, QTextStream& out, QTextStream& err) {
#ifdef REASONREC_CLI_HAS_REPORT
  views::ReportOptions o;
  o.projectDir = required(p, QStringLiteral("project"));
  if (p.isSet(QStringLiteral("run"))) o.runIds = runIds(p.value(QStringLiteral("run")), QStringLiteral("run"));
  if (p.isSet(QStringLiteral("baseline"))) o.baselineRunId = runIds(p.value(QStringLiteral("baseline")), QStringLiteral("baseline")).value(0);
  if (p.isSet(QStringLiteral("analyses"))) o.analyses = p.value(QStringLiteral("analyses")).split(QLatin1Char(','), Qt::SkipEmptyParts);
  const QString path = p.value(QStringLiteral("report"));
  const int pages = views::writeReport(o, path);
  err << QStringLiteral("wrote %1 (%2 pages)\n").arg(path).arg(pages);
  err.flush();
  (void)out;
  return 0;
#else
  (void)p;
  (void)out;
  (void)err;
  throw UsageError(QStringLiteral("--report needs the studio libraries; this reasonrec was built with REASONREC_BUILD_GUI=OFF"));
#endif
}

}  // namespace rr::cli
