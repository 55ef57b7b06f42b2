#include "core/jobs/bench_job.h"

#include "core/analysis/analyses.h"
#include "core/data/preprocess.h"
#include "core/data/synthetic.h"
#include "core/errors.h"
#include "core/jobs/run_session.h"
#include "core/train/trainer.h"

#include <QDir>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include <algorithm>

namespace rr {
namespace {

constexpr int64_t kMatmulSize = 2048;       // square GEMM used to measure the machine's peak
constexpr double kMatmulSeconds = 1.0;

/// Hooks that only honour cancellation (bench has no store and prints at the end).
struct BenchHooks : TrainHooks {
  std::function<void()> cancel;
  void checkCancel() override { cancel(); }
  void batchProgress(const std::string&, int, int, int64_t, int64_t, double) override {}
  void metric(const std::string&, int64_t, int, const QString&, double) override {}
  void message(const QString&) override {}
};

double measureMatmulGflops(const torch::Device& device) {
  torch::NoGradGuard ng;
  auto opts = torch::TensorOptions().device(device).dtype(torch::kFloat);
  auto a = torch::randn({kMatmulSize, kMatmulSize}, opts);
  auto b = torch::randn({kMatmulSize, kMatmulSize}, opts);
  auto c = torch::empty({kMatmulSize, kMatmulSize}, opts);
  torch::mm_out(c, a, b);  // warm-up
  if (device.is_cuda()) torch::cuda::synchronize();
  QElapsedTimer t;
  t.start();
  int reps = 0;
  do {
    torch::mm_out(c, a, b);
    if (device.is_cuda()) torch::cuda::synchronize();
    ++reps;
  } while (t.nsecsElapsed() / 1e9 < kMatmulSeconds);
  const double secs = t.nsecsElapsed() / 1e9;
  return reps * 2.0 * kMatmulSize * kMatmulSize * kMatmulSize / secs / 1e9;
}

}  // namespace

QString defaultBenchData() { return QStringLiteral("synthetic:users=22363,items=12101,length=9,seed=7"); }

BenchJob::BenchJob(BenchRequest request) : request_(std::move(request)) {}

QString BenchJob::title() const { return QStringLiteral("Benchmark %1").arg(request_.preset); }

void BenchJob::run() {
  RunConfig cfg = RunConfig::fromPreset(request_.preset);
  for (const QString& o : request_.overrides) cfg.setAssignment(o);
  cfg.set(QStringLiteral("threads"), request_.threads);
  cfg.set(QStringLiteral("device"), request_.device);
  cfg.validate();
  const runtime::ThreadSplit threads = runtime::applyThreads(request_.threads);
  const QString deviceName = runtime::resolveDevice(request_.device);
  const torch::Device device(deviceName.toStdString());

  auto phase = [this](const QString& name, double fraction) {
    checkpointCancel();
    JobProgress p;
    p.phase = name;
    p.fraction = fraction;
    reportProgress(p);
    reportMessage(QStringLiteral("%1 (RSS %2 MB, peak %3 MB)").arg(name).arg(runtime::currentRssMb(), 0, 'f', 0).arg(runtime::peakRssMb(), 0, 'f', 0));
  };

  phase(QStringLiteral("loading data"), 0.0);
  const QString source = request_.data.isEmpty() ? defaultBenchData() : request_.data;
  PreprocessOptions pre;
  pre.minRating = cfg.getDouble(QStringLiteral("data.min_rating"));
  pre.kcore = cfg.getInt(QStringLiteral("data.kcore"));
  pre.minSequenceLength = cfg.getInt(QStringLiteral("data.min_seq_len"));
  const SequenceData data = preprocess(isSyntheticSpec(source) ? generateSynthetic(parseSyntheticSpec(source))
                                                               : readInteractions(source, DataFormat::Auto),
                                       pre);
  const DataSplit split = splitFor(data, cfg);
  const BatchBuilder builder(data, cfg.getInt(QStringLiteral("data.max_len")));
  const FullRankingEvaluator evaluator(builder, EvalOptions::fromConfig(cfg), device);
  Recommender model = buildRecommender(cfg, data.numItems);
  model->to(device);

  QJsonObject result{{QStringLiteral("preset"), request_.preset},
                     {QStringLiteral("threads"), threads.torch * threads.blas},
                     {QStringLiteral("thread_split"), QJsonObject{{QStringLiteral("torch"), threads.torch},
                                                                   {QStringLiteral("blas"), threads.blas}}},
                     {QStringLiteral("device"), deviceName},
                     {QStringLiteral("data"), source},
                     {QStringLiteral("users"), data.numUsers()},
                     {QStringLiteral("items"), data.numItems}};

  // Training throughput of each configured stage's optimisation steps.
  BenchHooks hooks;
  hooks.cancel = [this] { checkpointCancel(); };
  QTemporaryDir scratch;
  const QStringList stages = cfg.getStringList(QStringLiteral("stages"));
  double trainSps = 0, trainTps = 0;
  QJsonObject perStage;
  for (int i = 0; i < stages.size(); ++i) {
    phase(QStringLiteral("training %1").arg(stages[i]), 0.1 + 0.4 * i / stages.size());
    StageEnv env;
    env.model = model;
    env.data = &data;
    env.split = &split;
    env.builder = &builder;
    env.evaluator = &evaluator;
    env.device = device;
    env.config = cfg;
    env.settings = stages[i] == QLatin1String("rpt") ? StageSettings::forRpt(cfg) : StageSettings::forSpt(cfg);
    env.hooks = &hooks;
    env.lastCheckpoint = QDir(scratch.path()).filePath(stages[i] + QStringLiteral("-last.pt"));
    env.bestCheckpoint = QDir(scratch.path()).filePath(stages[i] + QStringLiteral("-best.pt"));
    auto trainer = makeStageTrainer(stages[i].toStdString(), env);
    const TrainBenchFigures f = trainer->benchmark(request_.trainSeconds / stages.size());
    perStage.insert(stages[i], QJsonObject{{QStringLiteral("samples_per_second"), f.samplesPerSecond},
                                           {QStringLiteral("targets_per_second"), f.targetsPerSecond},
                                           {QStringLiteral("steps"), static_cast<double>(f.steps)},
                                           {QStringLiteral("seconds"), f.seconds}});
    if (i == 0) {
      trainSps = f.samplesPerSecond;
      trainTps = f.targetsPerSecond;
    }
  }
  result.insert(QStringLiteral("train_samples_per_second"), trainSps);
  result.insert(QStringLiteral("train_targets_per_second"), trainTps);
  result.insert(QStringLiteral("stages"), perStage);

  // Evaluation throughput: full ranking of every validation case.
  phase(QStringLiteral("evaluating"), 0.5);
  evaluator.evaluate(*model, std::vector<EvalCase>(split.valid.begin(), split.valid.begin() + std::min<size_t>(split.valid.size(), 512)));
  const EvalResult ev = evaluator.evaluate(*model, split.valid, [this](int64_t, int64_t) { checkpointCancel(); });
  result.insert(QStringLiteral("eval_users_per_second"), ev.casesPerSecond);

  // Latency of ranking requests (represent + score all items + top-10), batch 1 and 256.
  phase(QStringLiteral("latency"), 0.7);
  model->eval();
  const RankingLatency l =
      measureRankingLatency(*model, builder, split.test, device, request_.latencyRepeats, [this] { checkpointCancel(); });
  result.insert(QStringLiteral("latency_ms"), QJsonObject{{QStringLiteral("batch1_p50"), l.batch1P50},
                                                          {QStringLiteral("batch1_p99"), l.batch1P99},
                                                          {QStringLiteral("batch256_p50"), l.batch256P50},
                                                          {QStringLiteral("batch256_p99"), l.batch256P99}});
  result.insert(QStringLiteral("batch1_operator_calls"), l.batch1OperatorCalls);

  // FLOPs and utilisation.
  phase(QStringLiteral("matmul peak"), 0.9);
  double meanLen = 0;
  for (const auto& c : split.test) meanLen += builder.caseLength(c);
  meanLen /= std::max<size_t>(1, split.test.size());
  const double flops = model->flopsPerSample(meanLen);
  const auto units = trainingUnits(split, StageSettings::forSpt(cfg).targets);
  double unitLen = 0, unitTargets = 0;
  for (const auto& u : units) {
    unitLen += builder.unitLength(u);
    unitTargets += StageSettings::forSpt(cfg).targets == TargetMode::AllPositions ? builder.unitLength(u) : 1;
  }
  unitLen /= std::max<size_t>(1, units.size());
  unitTargets /= std::max<size_t>(1, units.size());
  const double trainFlops = model->trainingFlopsPerSample(unitLen, unitTargets);
  const double peak = measureMatmulGflops(device);
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  result.insert(QStringLiteral("flops_per_sample"), flops);
  result.insert(QStringLiteral("train_flops_per_sample"), trainFlops);
  result.insert(QStringLiteral("parameters"), static_cast<double>(params));
  result.insert(QStringLiteral("matmul_peak_gflops"), peak);
  result.insert(QStringLiteral("model_flops_utilisation"), peak > 0 ? trainSps * trainFlops / (peak * 1e9) : 0.0);
  result.insert(QStringLiteral("peak_rss_mb"), runtime::peakRssMb());
  const auto blocks = runtime::largeBlockStats();
  result.insert(QStringLiteral("allocator"), QJsonObject{
      {QStringLiteral("policy"), runtime::allocatorPolicy() == runtime::AllocatorPolicy::HugePages
                                     ? QStringLiteral("huge_pages") : QStringLiteral("heap")},
      {QStringLiteral("peak_live_large_mb"), blocks.peakLiveMb},
      {QStringLiteral("large_blocks_mapped"), static_cast<double>(blocks.mapped)},
      {QStringLiteral("large_blocks_reused"), static_cast<double>(blocks.reused)}});
  phase(QStringLiteral("done"), 1.0);
  setResult(result);
}

}  // namespace rr
