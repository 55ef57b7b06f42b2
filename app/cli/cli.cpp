#include "app/cli/cli_options.h"
#include "app/cli/cli.h"

#include "app/cli/analysis_commands.h"

#include "app/cli/terminal_progress.h"
#include "core/data/synthetic.h"
#include "core/errors.h"
#include "core/eval/metrics.h"
#include "core/jobs/bench_job.h"
#include "core/jobs/evaluate_job.h"
#include "core/jobs/import_job.h"
#include "core/jobs/train_job.h"
#include "core/project/project.h"
#include "core/project/run_config.h"
#include "core/runtime.h"
#include "core/store/experiment_store.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <atomic>
#include <functional>
#include <map>

namespace rr::cli {
namespace {

std::atomic<Job*> g_currentJob{nullptr};
std::atomic<bool> g_cancelRequested{false};

struct Context {
  QTextStream& out;
  QTextStream& err;
  bool interactive;
};

/// A subcommand: its options and what it does with them.
struct Command {
  QString summary;
  std::function<void(QCommandLineParser&)> options;
  std::function<int(QCommandLineParser&, Context&)> run;
};

qint64 runIdArg(QCommandLineParser& p) {
  bool ok = false;
  const qint64 id = required(p, QStringLiteral("run")).toLongLong(&ok);
  if (!ok || id <= 0) throw UsageError(QStringLiteral("--run: '%1' is not a run id").arg(p.value(QStringLiteral("run"))));
  return id;
}

void writeJsonFile(const QString& path, const QJsonObject& o) {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(o).toJson(QJsonDocument::Indented)) < 0 || !f.commit())
    throw Error(ExitCode::RunFailed, QStringLiteral("%1: cannot write: %2").arg(path, f.errorString()));
}

QString metricsTable(const QList<QPair<QString, QJsonObject>>& rows) {
  const QStringList names = summaryMetricNames();
  QString s = QStringLiteral("%1").arg(QString(), -8);
  for (const QString& n : names) s += QStringLiteral("%1").arg(n, 11);
  s += QLatin1Char('\n');
  for (const auto& [label, m] : rows) {
    s += QStringLiteral("%1").arg(label, -8);
    for (const QString& n : names) s += QStringLiteral("%1").arg(m.value(n).toDouble(), 11, 'f', 4);
    s += QLatin1Char('\n');
  }
  return s;
}

/// Runs a job on this thread with terminal progress; Ctrl+C cancels it.
int executeJob(Job& job, Context& c) {
  TerminalProgress progress(c.err, c.interactive);
  job.addObserver(&progress);
  g_currentJob = &job;
  job.execute();
  g_currentJob = nullptr;
  progress.clear();
  if (job.status() == JobStatus::Failed) c.err << "error: " << job.errorMessage() << "\n";
  if (job.status() == JobStatus::Cancelled)
    c.err << (job.errorMessage().isEmpty() ? QStringLiteral("cancelled") : job.errorMessage()) << "\n";
  c.err.flush();
  return job.exitCode();
}

void printRunResult(const QJsonObject& summary, Context& c) {
  if (summary.isEmpty()) return;
  c.out << QStringLiteral("run %1 (%2): %3 epochs, best epoch %4, %5 samples/s, %6 s\n")
               .arg(summary.value(QStringLiteral("run_id")).toInt())
               .arg(summary.value(QStringLiteral("preset")).toString())
               .arg(summary.value(QStringLiteral("epochs_run")).toInt())
               .arg(summary.value(QStringLiteral("best_epoch")).toInt())
               .arg(summary.value(QStringLiteral("train_samples_per_second")).toDouble(), 0, 'f', 0)
               .arg(summary.value(QStringLiteral("wall_seconds")).toDouble(), 0, 'f', 1);
  QList<QPair<QString, QJsonObject>> rows;
  const QJsonArray stages = summary.value(QStringLiteral("stages")).toArray();
  for (const auto& st : stages) {
    const QJsonObject o = st.toObject();
    rows.append({o.value(QStringLiteral("stage")).toString() + QStringLiteral(" val"), o.value(QStringLiteral("valid")).toObject()});
    rows.append({o.value(QStringLiteral("stage")).toString() + QStringLiteral(" test"), o.value(QStringLiteral("test")).toObject()});
  }
  if (stages.isEmpty()) {
    rows.append({QStringLiteral("valid"), summary.value(QStringLiteral("valid")).toObject()});
    rows.append({QStringLiteral("test"), summary.value(QStringLiteral("test")).toObject()});
  }
  c.out << metricsTable(rows);
  c.out.flush();
}

QJsonObject failureSummary(qint64 runId, const Job& job) {
  return QJsonObject{{QStringLiteral("run_id"), runId},
                     {QStringLiteral("status"), job.status() == JobStatus::Cancelled ? QStringLiteral("interrupted")
                                                                                    : QStringLiteral("failed")},
                     {QStringLiteral("error"), job.errorMessage()}};
}

int finishTraining(TrainJob& job, QCommandLineParser& p, Context& c) {
  const int code = executeJob(job, c);
  const QJsonObject summary = job.status() == JobStatus::Completed ? job.result() : failureSummary(job.runId(), job);
  if (p.isSet(QStringLiteral("summary"))) writeJsonFile(p.value(QStringLiteral("summary")), summary);
  if (job.status() == JobStatus::Completed) printRunResult(summary, c);
  else c.err << QStringLiteral("run %1 is %2; continue it with: reasonrec resume --project %3 --run %1\n")
                    .arg(job.runId())
                    .arg(summary.value(QStringLiteral("status")).toString(), p.value(QStringLiteral("project")));
  c.err.flush();
  return code;
}

RunConfig configFromArgs(QCommandLineParser& p) {
  const QString preset = p.value(QStringLiteral("preset"));
  RunConfig cfg;
  if (p.isSet(QStringLiteral("config"))) {
    const RunConfig fromFile = RunConfig::fromFile(p.value(QStringLiteral("config")));  // syntax + keys
    if (preset.isEmpty()) {
      cfg = fromFile;
    } else {
      cfg = RunConfig::fromPreset(preset);
      QFile f(p.value(QStringLiteral("config")));
      f.open(QIODevice::ReadOnly);
      QJsonObject overlay = QJsonDocument::fromJson(f.readAll()).object();
      overlay.remove(QStringLiteral("preset"));
      cfg.merge(overlay);
    }
  } else {
    cfg = RunConfig::fromPreset(preset.isEmpty() ? QStringLiteral("sasrec") : preset);
  }
  for (const QString& a : p.values(QStringLiteral("set"))) cfg.setAssignment(a);
  if (p.isSet(QStringLiteral("device"))) cfg.set(QStringLiteral("device"), p.value(QStringLiteral("device")));
  if (p.isSet(QStringLiteral("threads"))) cfg.set(QStringLiteral("threads"), threadsArg(p));
  cfg.validate();
  return cfg;
}

PreprocessOptions preprocessFrom(const RunConfig& cfg) {
  PreprocessOptions o;
  o.minRating = cfg.getDouble(QStringLiteral("data.min_rating"));
  o.kcore = cfg.getInt(QStringLiteral("data.kcore"));
  o.minSequenceLength = cfg.getInt(QStringLiteral("data.min_seq_len"));
  return o;
}

qint64 importFor(const QString& projectDir, const QString& source, DataFormat format, const RunConfig& cfg,
                 ExperimentStore& store, Context& c) {
  ImportRequest req;
  req.projectDir = projectDir;
  req.source = source;
  req.format = format;
  req.preprocess = preprocessFrom(cfg);
  bool reused = false;
  const qint64 id = importDataset(req, store, {}, &reused);
  const DatasetRecord rec = store.dataset(id);
  c.err << QStringLiteral("%1 dataset %2 '%3': %4 users, %5 items, %6 interactions\n")
               .arg(reused ? QStringLiteral("using") : QStringLiteral("imported"))
               .arg(id)
               .arg(rec.name)
               .arg(rec.stats.users)
               .arg(rec.stats.items)
               .arg(rec.stats.interactions);
  c.err.flush();
  return id;
}

void addTrainOptions(QCommandLineParser& p) {
  p.addOption(opt(QStringLiteral("project"), QStringLiteral("Project directory (created if missing)."), QStringLiteral("DIR")));
  p.addOption(opt(QStringLiteral("data"), QStringLiteral("Dataset file, or synthetic:key=value,... for the generator."), QStringLiteral("FILE")));
  p.addOption(opt(QStringLiteral("format"), QStringLiteral("auto|sasrec|recbole|amazon2023 (default auto)."), QStringLiteral("FORMAT")));
  p.addOption(opt(QStringLiteral("preset"), QStringLiteral("Preset: %1 (default sasrec).").arg(presetNames().join(QStringLiteral(", "))), QStringLiteral("NAME")));
  p.addOption(opt(QStringLiteral("config"), QStringLiteral("Run configuration JSON file."), QStringLiteral("FILE")));
  p.addOption(opt(QStringLiteral("set"), QStringLiteral("Override a configuration key, e.g. train.epochs=5 (repeatable)."), QStringLiteral("KEY=VALUE")));
  p.addOption(opt(QStringLiteral("device"), QStringLiteral("auto|cpu|cuda|cuda:N."), QStringLiteral("DEVICE")));
  p.addOption(opt(QStringLiteral("threads"), QStringLiteral("Total CPU threads for LibTorch and OpenBLAS (0 = all cores)."), QStringLiteral("N")));
  p.addOption(opt(QStringLiteral("name"), QStringLiteral("Run name shown in the studio."), QStringLiteral("NAME")));
  p.addOption(opt(QStringLiteral("summary"), QStringLiteral("Write the run summary JSON here."), QStringLiteral("FILE")));
  p.addOption(timeLimitOption());
}

int cmdTrain(QCommandLineParser& p, Context& c) {
  const QString projectDir = required(p, QStringLiteral("project"));
  const QString data = required(p, QStringLiteral("data"));
  const RunConfig cfg = configFromArgs(p);
  const double timeLimit = timeLimitArg(p);
  const DataFormat format = parseDataFormat(p.value(QStringLiteral("format")).isEmpty() ? QStringLiteral("auto") : p.value(QStringLiteral("format")));
  Project project = Project::openOrCreate(projectDir);
  qint64 runId = 0;
  {
    ExperimentStore store(project.databasePath());
    const qint64 datasetId = importFor(projectDir, data, format, cfg, store, c);
    runId = createRun(store, datasetId, cfg, p.value(QStringLiteral("name")));
  }
  c.err << QStringLiteral("run %1 created in %2\n").arg(runId).arg(QDir(projectDir).absolutePath());
  TrainJob job(projectDir, runId);
  job.setTimeLimit(timeLimit);
  return finishTraining(job, p, c);
}

int cmdResume(QCommandLineParser& p, Context& c) {
  const QString projectDir = required(p, QStringLiteral("project"));
  const qint64 runId = runIdArg(p);
  {
    Project project = Project::openOrCreate(projectDir);
    ExperimentStore store(project.databasePath());
    const RunRecord r = store.run(runId);
    if (r.status == RunStatus::Completed && !p.isSet(QStringLiteral("epochs")))
      throw Error(ExitCode::Usage, QStringLiteral("run %1 is already completed; to train it further, give --epochs N "
                                                  "(the total for its last stage)")
                                       .arg(runId));
  }
  const double timeLimit = timeLimitArg(p);
  TrainJob job(projectDir, runId);
  job.setTimeLimit(timeLimit);
  if (p.isSet(QStringLiteral("threads"))) job.setThreads(threadsArg(p));
  if (p.isSet(QStringLiteral("epochs")))
    job.setExtendEpochs(wholeNumberArg(p, QStringLiteral("epochs"), 1, QStringLiteral("a positive number of epochs")));
  return finishTraining(job, p, c);
}

int cmdEvaluate(QCommandLineParser& p, Context& c) {
  EvaluateRequest req;
  req.projectDir = required(p, QStringLiteral("project"));
  req.runId = runIdArg(p);
  req.overrides = p.values(QStringLiteral("set"));
  req.stage = p.value(QStringLiteral("stage"));
  if (p.isSet(QStringLiteral("threads"))) req.threads = threadsArg(p);
  EvaluateJob job(req);
  const int code = executeJob(job, c);
  if (job.status() != JobStatus::Completed) return code;
  const QJsonObject r = job.result();
  if (p.isSet(QStringLiteral("summary"))) writeJsonFile(p.value(QStringLiteral("summary")), r);
  c.out << QStringLiteral("run %1, stage %2, %3\n").arg(req.runId).arg(r.value(QStringLiteral("stage")).toString(), r.value(QStringLiteral("label")).toString());
  c.out << metricsTable({{QStringLiteral("valid"), r.value(QStringLiteral("valid")).toObject()},
                         {QStringLiteral("test"), r.value(QStringLiteral("test")).toObject()}});
  c.out.flush();
  return code;
}

int cmdRuns(QCommandLineParser& p, Context& c) {
  Project project = Project::openOrCreate(required(p, QStringLiteral("project")));
  ExperimentStore store(project.databasePath());
  QHash<qint64, QString> datasetNames;
  for (const auto& d : store.datasets()) datasetNames.insert(d.id, d.name);
  const auto runs = store.runs();
  // Runs that train now (here or in another process): when their stage's epochs end at the
  // pace of their last epochs.
  const QDateTime now = QDateTime::currentDateTimeUtc();
  QHash<qint64, qint64> secondsLeft;
  for (const auto& r : runs)
    if (r.status == RunStatus::Running) {
      const QDateTime end = estimatedStageEnd(r, store.metrics(r.id, QStringLiteral("time/epoch_seconds")), stageEpochs(r));
      if (end.isValid()) secondsLeft.insert(r.id, std::max<qint64>(0, now.secsTo(end)));
    }
  if (p.isSet(QStringLiteral("json"))) {
    QJsonArray arr;
    for (const auto& r : runs) {
      QJsonObject best, test;
      for (auto it = r.bestValid.begin(); it != r.bestValid.end(); ++it) best.insert(it.key(), it.value());
      for (auto it = r.test.begin(); it != r.test.end(); ++it) test.insert(it.key(), it.value());
      arr.append(QJsonObject{{QStringLiteral("id"), r.id},
                             {QStringLiteral("name"), r.name},
                             {QStringLiteral("status"), runStatusName(r.status)},
                             {QStringLiteral("preset"), r.preset},
                             {QStringLiteral("dataset_id"), r.datasetId},
                             {QStringLiteral("dataset"), datasetNames.value(r.datasetId)},
                             {QStringLiteral("stage"), r.stage},
                             {QStringLiteral("stage_epochs"), stageEpochs(r)},
                             {QStringLiteral("eta_seconds"), secondsLeft.contains(r.id) ? QJsonValue(secondsLeft.value(r.id)) : QJsonValue()},
                             {QStringLiteral("epochs_run"), r.epochsRun},
                             {QStringLiteral("best_epoch"), r.bestEpoch},
                             {QStringLiteral("best_valid"), best},
                             {QStringLiteral("test"), test},
                             {QStringLiteral("wall_seconds"), r.wallSeconds},
                             {QStringLiteral("created_at"), r.createdAt.toString(Qt::ISODate)},
                             {QStringLiteral("error"), r.error}});
    }
    c.out << QJsonDocument(arr).toJson(QJsonDocument::Indented);
    c.out.flush();
    return 0;
  }
  c.out << QStringLiteral("%1  %2  %3  %4  %5  %6  %7  %8\n")
               .arg(QStringLiteral("id"), 4).arg(QStringLiteral("status"), -11).arg(QStringLiteral("preset"), -11)
               .arg(QStringLiteral("dataset"), -16).arg(QStringLiteral("epochs"), 6).arg(QStringLiteral("val ndcg@10"), 11)
               .arg(QStringLiteral("test ndcg@10"), 12).arg(QStringLiteral("test recall@10"), 14);
  for (const auto& r : runs) {
    auto cell = [](const QMap<QString, double>& m, const QString& k) {
      return m.contains(k) ? QString::number(m.value(k), 'f', 4) : QStringLiteral("-");
    };
    c.out << QStringLiteral("%1  %2  %3  %4  %5  %6  %7  %8\n")
                 .arg(r.id, 4).arg(runStatusName(r.status), -11).arg(r.preset.left(11), -11)
                 .arg(datasetNames.value(r.datasetId).left(16), -16).arg(r.epochsRun, 6)
                 .arg(cell(r.bestValid, QStringLiteral("ndcg@10")), 11).arg(cell(r.test, QStringLiteral("ndcg@10")), 12)
                 .arg(cell(r.test, QStringLiteral("recall@10")), 14);
  }
  for (const auto& r : runs)
    if (secondsLeft.contains(r.id))
      c.out << QStringLiteral("run %1: %2, the rest in about %3 at its recent pace (early stopping or a time "
                              "limit may end it sooner)\n")
                   .arg(r.id)
                   .arg(stageProgressText(r))
                   .arg(formatClock(static_cast<double>(secondsLeft.value(r.id))));
  c.out.flush();
  return 0;
}

int cmdExport(QCommandLineParser& p, Context& c) {
  if (p.isSet(QStringLiteral("report"))) return exportReport(p, c.out, c.err);
  Project project = Project::openOrCreate(required(p, QStringLiteral("project")));
  ExperimentStore store(project.databasePath());
  const qint64 runId = runIdArg(p);
  (void)store.run(runId);
  if (p.isSet(QStringLiteral("metrics"))) {
    const QString path = p.value(QStringLiteral("metrics"));
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) throw Error(ExitCode::RunFailed, QStringLiteral("%1: cannot write: %2").arg(path, f.errorString()));
    QTextStream s(&f);
    s << "run,stage,step,epoch,name,value,wall_time\n";
    for (const auto& m : store.metrics(runId))
      s << m.run << ',' << m.stage << ',' << m.step << ',' << m.epoch << ',' << m.name << ','
        << QString::number(m.value, 'g', 10) << ',' << QString::number(m.wallTime, 'f', 3) << '\n';
    s.flush();
    if (!f.commit()) throw Error(ExitCode::RunFailed, QStringLiteral("%1: cannot write: %2").arg(path, f.errorString()));
    c.err << QStringLiteral("wrote %1\n").arg(path);
    return 0;
  }
  throw UsageError(QStringLiteral("export needs --metrics FILE.csv or --report FILE.pdf"));
}

int cmdBench(QCommandLineParser& p, Context& c) {
  BenchRequest req;
  if (p.isSet(QStringLiteral("preset"))) req.preset = p.value(QStringLiteral("preset"));
  req.data = p.value(QStringLiteral("data"));
  req.overrides = p.values(QStringLiteral("set"));
  if (p.isSet(QStringLiteral("threads"))) req.threads = p.value(QStringLiteral("threads")).toInt();
  if (p.isSet(QStringLiteral("device"))) req.device = p.value(QStringLiteral("device"));
  if (p.isSet(QStringLiteral("seconds"))) req.trainSeconds = p.value(QStringLiteral("seconds")).toDouble();
  if (!presetNames().contains(req.preset)) throw ConfigError(QStringLiteral("preset"), QStringLiteral("unknown preset '%1'").arg(req.preset));
  BenchJob job(req);
  const int code = executeJob(job, c);
  if (job.status() != JobStatus::Completed) return code;
  const QJsonObject r = job.result();
  if (p.isSet(QStringLiteral("summary"))) writeJsonFile(p.value(QStringLiteral("summary")), r);
  const QJsonObject lat = r.value(QStringLiteral("latency_ms")).toObject();
  c.out << QStringLiteral("preset %1 on %2 (%3 users, %4 items), device %5, threads %6 (torch %7 x BLAS %8)\n")
               .arg(req.preset, r.value(QStringLiteral("data")).toString())
               .arg(r.value(QStringLiteral("users")).toInt()).arg(r.value(QStringLiteral("items")).toInt())
               .arg(r.value(QStringLiteral("device")).toString()).arg(r.value(QStringLiteral("threads")).toInt())
               .arg(r.value(QStringLiteral("thread_split")).toObject().value(QStringLiteral("torch")).toInt())
               .arg(r.value(QStringLiteral("thread_split")).toObject().value(QStringLiteral("blas")).toInt());
  const QJsonObject stages = r.value(QStringLiteral("stages")).toObject();
  for (auto it = stages.begin(); it != stages.end(); ++it) {
    const QJsonObject s = it.value().toObject();
    c.out << QStringLiteral("  train %1: %2 samples/s, %3 targets/s (%4 steps)\n")
                 .arg(it.key()).arg(s.value(QStringLiteral("samples_per_second")).toDouble(), 0, 'f', 0)
                 .arg(s.value(QStringLiteral("targets_per_second")).toDouble(), 0, 'f', 0)
                 .arg(s.value(QStringLiteral("steps")).toInt());
  }
  c.out << QStringLiteral("  eval: %1 users/s\n").arg(r.value(QStringLiteral("eval_users_per_second")).toDouble(), 0, 'f', 0);
  c.out << QStringLiteral("  latency ms: batch1 p50 %1 p99 %2, batch256 p50 %3 p99 %4; %5 LibTorch operator calls per batch-1 request\n")
               .arg(lat.value(QStringLiteral("batch1_p50")).toDouble(), 0, 'f', 3).arg(lat.value(QStringLiteral("batch1_p99")).toDouble(), 0, 'f', 3)
               .arg(lat.value(QStringLiteral("batch256_p50")).toDouble(), 0, 'f', 2).arg(lat.value(QStringLiteral("batch256_p99")).toDouble(), 0, 'f', 2)
               .arg(r.value(QStringLiteral("batch1_operator_calls")).toInteger());
  c.out << QStringLiteral("  parameters %1, %2 MFLOPs/sample (inference), %3 MFLOPs/sample (training)\n")
               .arg(r.value(QStringLiteral("parameters")).toDouble(), 0, 'f', 0)
               .arg(r.value(QStringLiteral("flops_per_sample")).toDouble() / 1e6, 0, 'f', 2)
               .arg(r.value(QStringLiteral("train_flops_per_sample")).toDouble() / 1e6, 0, 'f', 2);
  c.out << QStringLiteral("  matmul peak %1 GFLOP/s, model FLOPs utilisation %2%, peak RSS %3 MB\n")
               .arg(r.value(QStringLiteral("matmul_peak_gflops")).toDouble(), 0, 'f', 1)
               .arg(100 * r.value(QStringLiteral("model_flops_utilisation")).toDouble(), 0, 'f', 1)
               .arg(r.value(QStringLiteral("peak_rss_mb")).toDouble(), 0, 'f', 0);
  const QJsonObject alloc = r.value(QStringLiteral("allocator")).toObject();
  if (alloc.value(QStringLiteral("policy")).toString() == QLatin1String("huge_pages"))
    c.out << QStringLiteral("  allocator: huge pages for tensors from 4 MB, %1 mappings reused, %2 made, "
                            "live peak %3 MB\n")
                 .arg(alloc.value(QStringLiteral("large_blocks_reused")).toDouble(), 0, 'f', 0)
                 .arg(alloc.value(QStringLiteral("large_blocks_mapped")).toDouble(), 0, 'f', 0)
                 .arg(alloc.value(QStringLiteral("peak_live_large_mb")).toDouble(), 0, 'f', 0);
  else
    c.out << QStringLiteral("  allocator: heap (no transparent huge pages, or RR_ALLOCATOR=heap)\n");
  c.out.flush();
  return code;
}

int cmdDemo(QCommandLineParser& p, Context& c) {
  const QString projectDir = required(p, QStringLiteral("project"));
  Project project = Project::openOrCreate(projectDir);
  const QJsonObject manifest = project.manifest();
  const QJsonObject demo = manifest.value(QStringLiteral("demo")).toObject();
  const QString source = demo.value(QStringLiteral("data")).toString(QStringLiteral("synthetic:users=2000,items=500,seed=1"));
  RunConfig cfg = RunConfig::fromPreset(demo.value(QStringLiteral("preset")).toString(QStringLiteral("sasrec")));
  cfg.merge(demo.value(QStringLiteral("config")).toObject());
  for (const QString& a : p.values(QStringLiteral("set"))) cfg.setAssignment(a);
  cfg.validate();
  qint64 runId = 0;
  {
    ExperimentStore store(project.databasePath());
    const qint64 datasetId = importFor(projectDir, source, DataFormat::Auto, cfg, store, c);
    runId = createRun(store, datasetId, cfg, QStringLiteral("demo %1").arg(cfg.preset()));
  }
  c.err << QStringLiteral("demo: training %1 as run %2 in %3\n").arg(cfg.preset()).arg(runId).arg(QDir(projectDir).absolutePath());
  TrainJob job(projectDir, runId);
  return finishTraining(job, p, c);
}

const std::map<QString, Command>& commands() {
  static const std::map<QString, Command> cmds{
      {QStringLiteral("train"), {QStringLiteral("Import a dataset and train a new run."), addTrainOptions, cmdTrain}},
      {QStringLiteral("resume"),
       {QStringLiteral("Continue an interrupted or failed run from its last checkpoint, or train a run further "
                       "(--epochs)."),
        [](QCommandLineParser& p) {
          p.addOption(opt(QStringLiteral("project"), QStringLiteral("Project directory."), QStringLiteral("DIR")));
          p.addOption(opt(QStringLiteral("run"), QStringLiteral("Run id."), QStringLiteral("ID")));
          p.addOption(opt(QStringLiteral("summary"), QStringLiteral("Write the run summary JSON here."), QStringLiteral("FILE")));
          p.addOption(opt(QStringLiteral("threads"), QStringLiteral("Total CPU threads for this session (default: the run's setting; 0 = all cores)."), QStringLiteral("N")));
          p.addOption(timeLimitOption());
          p.addOption(opt(QStringLiteral("epochs"),
                          QStringLiteral("Train the last stage to N epochs in all, also a completed run: its "
                                         "early-stopping patience starts over and it is evaluated again."),
                          QStringLiteral("N")));
        },
        cmdResume}},
      {QStringLiteral("evaluate"),
       {QStringLiteral("Evaluate a trained run (optionally with overrides such as model.reasoner.eval_steps=8)."),
        [](QCommandLineParser& p) {
          p.addOption(opt(QStringLiteral("project"), QStringLiteral("Project directory."), QStringLiteral("DIR")));
          p.addOption(opt(QStringLiteral("run"), QStringLiteral("Run id."), QStringLiteral("ID")));
          p.addOption(opt(QStringLiteral("set"), QStringLiteral("Configuration override KEY=VALUE (repeatable)."), QStringLiteral("KEY=VALUE")));
          p.addOption(opt(QStringLiteral("stage"), QStringLiteral("Stage whose best checkpoint to use (default: the last)."), QStringLiteral("STAGE")));
          p.addOption(opt(QStringLiteral("threads"), QStringLiteral("Total CPU threads for this evaluation (default: the run's setting; 0 = all cores)."), QStringLiteral("N")));
          p.addOption(opt(QStringLiteral("summary"), QStringLiteral("Write the results JSON here."), QStringLiteral("FILE")));
        },
        cmdEvaluate}},
      {QStringLiteral("runs"),
       {QStringLiteral("List the runs of a project."),
        [](QCommandLineParser& p) {
          p.addOption(opt(QStringLiteral("project"), QStringLiteral("Project directory."), QStringLiteral("DIR")));
          p.addOption(opt(QStringLiteral("json"), QStringLiteral("Print JSON instead of a table.")));
        },
        cmdRuns}},
      {QStringLiteral("export"),
       {QStringLiteral("Export a run's metric series as CSV, or a PDF report of the project."),
        [](QCommandLineParser& p) {
          p.addOption(opt(QStringLiteral("project"), QStringLiteral("Project directory."), QStringLiteral("DIR")));
          p.addOption(opt(QStringLiteral("run"), QStringLiteral("Run id (--report: ids, comma-separated; default all completed)."), QStringLiteral("ID")));
          p.addOption(opt(QStringLiteral("metrics"), QStringLiteral("CSV file for the metric series."), QStringLiteral("FILE")));
          p.addOption(opt(QStringLiteral("report"), QStringLiteral("PDF report for stakeholders."), QStringLiteral("FILE.pdf")));
          p.addOption(opt(QStringLiteral("baseline"), QStringLiteral("--report: baseline run of the comparison table."), QStringLiteral("ID")));
          p.addOption(opt(QStringLiteral("analyses"), QStringLiteral("--report: analysis kinds to include (default: the latest of each)."), QStringLiteral("KIND,...")));
        },
        cmdExport}},
      {QStringLiteral("bench"),
       {QStringLiteral("Measure training/evaluation throughput, latency, memory and FLOPs utilisation."),
        [](QCommandLineParser& p) {
          p.addOption(opt(QStringLiteral("preset"), QStringLiteral("Preset to measure (default sasrec)."), QStringLiteral("NAME")));
          p.addOption(opt(QStringLiteral("data"), QStringLiteral("Dataset file or synthetic spec (default: synthetic, Beauty-sized)."), QStringLiteral("FILE")));
          p.addOption(opt(QStringLiteral("set"), QStringLiteral("Configuration override KEY=VALUE (repeatable)."), QStringLiteral("KEY=VALUE")));
          p.addOption(opt(QStringLiteral("threads"), QStringLiteral("Total CPU threads (0 = all cores)."), QStringLiteral("N")));
          p.addOption(opt(QStringLiteral("device"), QStringLiteral("auto|cpu|cuda|cuda:N."), QStringLiteral("DEVICE")));
          p.addOption(opt(QStringLiteral("seconds"), QStringLiteral("Seconds of timed training steps (default 20)."), QStringLiteral("S")));
          p.addOption(opt(QStringLiteral("summary"), QStringLiteral("Write the figures as JSON here."), QStringLiteral("FILE")));
        },
        cmdBench}},
      {QStringLiteral("analyze"),
       {QStringLiteral("Run an analysis (oracle, robustness, depth, attention, efficiency, diversity) on trained runs."),
        addAnalyzeOptions, [](QCommandLineParser& p, Context& c) { return cmdAnalyze(p, c.out, c.err, c.interactive); }}},
      {QStringLiteral("compare"),
       {QStringLiteral("Comparison table of runs (best in bold, improvement and paired t-test vs a baseline)."),
        addCompareOptions, [](QCommandLineParser& p, Context& c) { return cmdCompare(p, c.out, c.err); }}},
      {QStringLiteral("sweep"),
       {QStringLiteral("Queue (and optionally train) one run per point of a grid over configuration keys."),
        addSweepOptions, [](QCommandLineParser& p, Context& c) { return cmdSweep(p, c.out, c.err, c.interactive); }}},
      {QStringLiteral("demo"),
       {QStringLiteral("Train the demo project's run headless and print its results."),
        [](QCommandLineParser& p) {
          p.addOption(opt(QStringLiteral("project"), QStringLiteral("Project directory (projects/demo)."), QStringLiteral("DIR")));
          p.addOption(opt(QStringLiteral("set"), QStringLiteral("Configuration override KEY=VALUE (repeatable)."), QStringLiteral("KEY=VALUE")));
          p.addOption(opt(QStringLiteral("summary"), QStringLiteral("Write the run summary JSON here."), QStringLiteral("FILE")));
        },
        cmdDemo}},
  };
  return cmds;
}

QString mainHelp() {
  QString s = QStringLiteral("usage: reasonrec <command> [options]\n\nReasonRec Studio's engine on the command line.\n\ncommands:\n");
  for (const auto& [name, cmd] : commands()) s += QStringLiteral("  %1%2\n").arg(name, -10).arg(cmd.summary);
  s += QStringLiteral("\nEvery command has --help. Exit codes: 0 ok, 2 usage/configuration, 3 data, 4 run failed, 130 cancelled.\n");
  return s;
}

}  // namespace

int executeCliJob(Job& job, QTextStream& err, bool interactive) {
  QTextStream out(stdout);
  Context c{out, err, interactive};
  return executeJob(job, c);
}

void requestCancel() {
  g_cancelRequested = true;
  if (Job* j = g_currentJob.load()) j->cancel();
}

bool cancelRequested() { return g_cancelRequested.load(); }

int run(const QStringList& args, QTextStream& out, QTextStream& err, bool interactive) {
  g_cancelRequested = false;
  Context c{out, err, interactive};
  if (args.size() < 2 || args[1] == QLatin1String("--help") || args[1] == QLatin1String("-h") || args[1] == QLatin1String("help")) {
    out << mainHelp();
    out.flush();
    return args.size() < 2 ? 2 : 0;
  }
  if (args[1] == QLatin1String("--version")) {
    out << "reasonrec " << runtime::versionString() << "\n";
    out.flush();
    return 0;
  }
  const auto it = commands().find(args[1]);
  if (it == commands().end()) {
    err << "error: unknown command '" << args[1] << "'; see reasonrec --help\n";
    err.flush();
    return static_cast<int>(ExitCode::Usage);
  }
  QCommandLineParser parser;
  parser.setApplicationDescription(it->second.summary);
  parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
  const QCommandLineOption help(QStringList{QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
  parser.addOption(help);
  it->second.options(parser);
  QStringList sub = args.mid(1);
  sub[0] = QStringLiteral("reasonrec ") + args[1];
  try {
    if (!parser.parse(sub)) throw UsageError(parser.errorText());
    if (parser.isSet(help)) {
      // helpText() names the executable's path; show the subcommand instead.
      QString text = parser.helpText();
      const QString usage = QStringLiteral("Usage: ");
      const int end = text.indexOf(QLatin1Char(' '), usage.size());
      if (text.startsWith(usage) && end > 0) text.replace(usage.size(), end - usage.size(), sub[0]);
      out << text;
      out.flush();
      return 0;
    }
    if (!parser.positionalArguments().isEmpty())
      throw UsageError(QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()));
    return it->second.run(parser, c);
  } catch (const Error& e) {
    err << "error: " << e.message() << "\n";
    err.flush();
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    err << "error: internal: " << e.what() << "\n";
    err.flush();
    return static_cast<int>(ExitCode::RunFailed);
  }
}

}  // namespace rr::cli
