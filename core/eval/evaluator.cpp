#include "core/eval/evaluator.h"

#include "core/errors.h"
#include "core/eval/fused_ranking.h"
#include "core/runtime.h"

#include <ATen/Parallel.h>

#include <QElapsedTimer>
#include <atomic>
#include <chrono>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

namespace rr {

HistoryMask parseHistoryMask(const QString& name) {
  if (name == QLatin1String("none")) return HistoryMask::None;
  if (name == QLatin1String("exclude_seen")) return HistoryMask::ExcludeSeen;
  throw ConfigError(QStringLiteral("eval.history_mask"),
                    QStringLiteral("'%1' is not one of none, exclude_seen").arg(name));
}

EvalOptions EvalOptions::fromConfig(const RunConfig& cfg) {
  EvalOptions o;
  o.historyMask = parseHistoryMask(cfg.getString(QStringLiteral("eval.history_mask")));
  o.batchSize = cfg.getInt(QStringLiteral("eval.batch_size"));
  o.ks = cfg.getIntList(QStringLiteral("eval.ks"));
  return o;
}

FullRankingEvaluator::FullRankingEvaluator(const BatchBuilder& builder, EvalOptions options,
                                           torch::Device device)
    : builder_(builder), options_(std::move(options)), device_(device) {}

namespace {

/// Counts, per row, the items 1..N-1 scoring at least `target[b]`, minus one for the target
/// itself. A plain loop the compiler vectorises: on CPU this is ~10x faster than
/// ge().sum(), which widens the comparison to int64 first.
__attribute__((optimize("O3"))) void countAtLeast(const float* scores, const float* target, int64_t* out,
                                                  int64_t begin, int64_t end, int64_t n) {
  for (int64_t b = begin; b < end; ++b) {
    const float t = target[b];
    const float* row = scores + b * n;
    int32_t count = 0;
    for (int64_t j = 1; j < n; ++j) count += row[j] >= t ? 1 : 0;
    out[b] = static_cast<int64_t>(count) - 1;
  }
}

}  // namespace

torch::Tensor FullRankingEvaluator::ranksFromScores(torch::Tensor scores, const torch::Tensor& target,
                                                    const torch::Tensor& maskRows,
                                                    const torch::Tensor& maskItems) {
  const float negInf = -std::numeric_limits<float>::infinity();
  auto idx = target.unsqueeze(1);
  auto ts = scores.gather(1, idx);  // [B,1]
  if (!torch::isfinite(ts).all().item<bool>())
    throw RunError(QStringLiteral("the model produced non-finite scores (diverged?)"));
  if (maskRows.defined() && maskRows.numel() > 0) {
    scores.index_put_({maskRows, maskItems}, torch::full({}, negInf, scores.options()));
    scores.scatter_(1, idx, ts);  // the target itself is never masked
  }
  // Items scoring at least as high as the target, minus the target itself: ties count against.
  // Column 0 (padding) is never ranked.
  if (scores.device().is_cpu() && scores.scalar_type() == torch::kFloat) {
    auto s = scores.contiguous();
    auto t = ts.contiguous();
    auto out = torch::empty({s.size(0)}, target.options().dtype(torch::kLong));
    const float* sp = s.data_ptr<float>();
    const float* tp = t.data_ptr<float>();
    int64_t* op = out.data_ptr<int64_t>();
    const int64_t n = s.size(1);
    at::parallel_for(0, s.size(0), 8, [&](int64_t begin, int64_t end) { countAtLeast(sp, tp, op, begin, end, n); });
    return out;
  }
  scores.select(1, 0).fill_(negInf);
  return scores.ge(ts).sum(1) - 1;
}

std::vector<std::vector<int32_t>> FullRankingEvaluator::ranksForCandidates(
    const std::function<torch::Tensor(const Batch&)>& represent, const torch::Tensor& table,
    const std::vector<EvalCase>& cases, const EvalProgress& progress) const {
  // Callers' represent functions may keep state between batches (the oracle's candidate
  // pairs), so they run one batch at a time.
  return rankBatches(represent, table, cases, progress, 1);
}

int FullRankingEvaluator::workersFor(torch::Device device) const {
  if (!device.is_cpu()) return 1;
  if (options_.workers > 0) return options_.workers;
  const QByteArray env = qgetenv("RR_EVAL_WORKERS");
  if (!env.isEmpty() && env.toInt() > 0) return env.toInt();
  const runtime::ThreadSplit split = runtime::currentSplit();
  return split.torch == 1 && split.blas > 1 && runtime::blasThreadsControllable() ? split.blas : 1;
}

std::vector<std::vector<int32_t>> FullRankingEvaluator::rankBatches(
    const std::function<torch::Tensor(const Batch&)>& represent, const torch::Tensor& table,
    const std::vector<EvalCase>& cases, const EvalProgress& progress, int workers) const {
  std::vector<int> lengths(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) lengths[i] = builder_.caseLength(cases[i]);
  const std::vector<std::vector<int64_t>> batches = evalBatches(lengths, options_.batchSize);
  const int64_t total = static_cast<int64_t>(cases.size());
  const auto tableT = table.t();
  workers = std::max(1, std::min(workers, static_cast<int>(batches.size())));
  // On one core per batch (each worker's: one BLAS and one LibTorch thread), scoring and
  // counting in registers beats the GEMM; with threads to spare the BLAS path uses them. The
  // table is packed once for all batches.
  std::optional<RankingTable> packed;
  if (fusedRankingApplies(table) && at::get_num_threads() == 1 && (workers > 1 || runtime::blasThreads() == 1))
    packed.emplace(table);

  // One batch's ranks, [C][row in batch].
  auto rankBatch = [&](const std::vector<int64_t>& rows) {
    Batch batch = builder_.evalBatch(cases, rows).to(device_);
    torch::Tensor mr, mi;
    if (options_.historyMask == HistoryMask::ExcludeSeen) {
      auto [r, i] = builder_.historyIndex(cases, rows);
      mr = r.to(device_);
      mi = i.to(device_);
    }
    auto reps = represent(batch);  // [B,C,d]
    if (reps.dim() == 2) reps = reps.unsqueeze(1);
    std::vector<std::vector<int32_t>> out(static_cast<size_t>(reps.size(1)));
    for (size_t c = 0; c < out.size(); ++c) {
      const auto rc = reps.select(1, static_cast<int64_t>(c)).contiguous();
      auto r = (packed ? packed->ranks(rc, batch.target, mr, mi)
                       : ranksFromScores(torch::mm(rc, tableT), batch.target, mr, mi))
                   .to(torch::kCPU)
                   .to(torch::kInt)
                   .contiguous();
      out[c].assign(r.data_ptr<int32_t>(), r.data_ptr<int32_t>() + r.numel());
    }
    return out;
  };

  std::vector<std::vector<std::vector<int32_t>>> perBatch(batches.size());
  if (workers == 1) {
    torch::NoGradGuard ng;
    int64_t done = 0;
    for (size_t i = 0; i < batches.size(); ++i) {
      perBatch[i] = rankBatch(batches[i]);
      done += static_cast<int64_t>(batches[i].size());
      if (progress) progress(done, total);
    }
  } else {
    // Workers claim batches in order; this thread is one of them and alone reports progress.
    // The callback may block (a paused job) or throw CancelledError: the others finish the
    // batch they hold (at most one more, claimed just as the callback began) and claim no
    // other until it returns, or stop.
    std::atomic<size_t> next{0};
    std::atomic<int64_t> done{0};
    std::atomic<bool> stop{false}, reporting{false};
    std::mutex failureMutex;
    std::exception_ptr failure;
    auto work = [&](bool reports) {
      try {
        torch::NoGradGuard ng;
        for (;;) {
          while (!reports && reporting.load() && !stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          const size_t i = next++;
          if (i >= batches.size() || stop.load()) break;
          perBatch[i] = rankBatch(batches[i]);
          done += static_cast<int64_t>(batches[i].size());
          if (reports && progress) {
            reporting.store(true);
            progress(done.load(), total);
            reporting.store(false);
          }
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(failureMutex);
        if (!failure) failure = std::current_exception();
        stop.store(true);
      }
    };
    const int blasBefore = runtime::setBlasThreads(1);
    std::vector<std::thread> others;
    for (int w = 1; w < workers; ++w) others.emplace_back(work, false);
    work(true);
    for (auto& t : others) t.join();
    if (blasBefore > 0) runtime::setBlasThreads(blasBefore);
    if (failure) std::rethrow_exception(failure);
    if (progress) progress(total, total);
  }

  std::vector<std::vector<int32_t>> ranks;
  for (size_t i = 0; i < batches.size(); ++i) {
    if (ranks.empty()) ranks.assign(perBatch[i].size(), std::vector<int32_t>(cases.size(), 0));
    for (size_t c = 0; c < ranks.size(); ++c)
      for (size_t b = 0; b < batches[i].size(); ++b)
        ranks[c][static_cast<size_t>(batches[i][b])] = perBatch[i][c][b];
  }
  return ranks;
}

EvalResult FullRankingEvaluator::evaluate(RecommenderImpl& model, const std::vector<EvalCase>& cases,
                                          const EvalProgress& progress) const {
  QElapsedTimer timer;
  timer.start();
  const bool wasTraining = model.is_training();
  model.eval();
  EvalResult result;
  try {
    torch::NoGradGuard ng;
    auto table = model.itemTable();
    auto all = rankBatches([&](const Batch& b) { return model.represent(b); }, table, cases, progress,
                           workersFor(device_));
    result.ranks = all.empty() ? std::vector<int32_t>() : std::move(all[0]);
  } catch (...) {
    model.train(wasTraining);
    throw;
  }
  model.train(wasTraining);
  result.metrics = metricsFromRanks(result.ranks, options_.ks);
  result.seconds = timer.nsecsElapsed() / 1e9;
  result.casesPerSecond = result.seconds > 0 ? static_cast<double>(cases.size()) / result.seconds : 0;
  return result;
}

}  // namespace rr
