#include "core/analysis/analyses.h"

#include "core/eval/metrics.h"
#include "core/runtime.h"

#include <QElapsedTimer>

#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace rr {

namespace {

constexpr int kLatencyBigBatch = 256;  // the "batch 256" of the efficiency table
constexpr int kLatencyWarmup = 3;
constexpr int kLatencyBlock = 8;  // consecutive requests per target in measureEfficiencySideBySide

QString metricKey(const char* kind, int k) { return QStringLiteral("%1@%2").arg(QLatin1String(kind)).arg(k); }

/// (step, stream) pairs of a trace's states that are ranking candidates.
std::vector<std::pair<int, int>> candidatePairs(const ReasoningTrace& t) {
  std::vector<std::pair<int, int>> out;
  const int S = static_cast<int>(t.states.size(1)), M = static_cast<int>(t.states.size(2));
  for (int s = 0; s < S; ++s)
    for (int m = 0; m < M; ++m) {
      const bool ok = t.candidate.empty() ||
                      (s < static_cast<int>(t.candidate.size()) && m < static_cast<int>(t.candidate[s].size()) && t.candidate[s][m]);
      if (ok) out.emplace_back(s, m);
    }
  return out;
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

double percentileOf(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * (static_cast<double>(v.size()) - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

OracleRun oracleCeiling(RecommenderImpl& model, const FullRankingEvaluator& evaluator,
                        const std::vector<EvalCase>& cases, int k, const AnalysisProgress& progress) {
  torch::NoGradGuard ng;
  OracleRun out;
  std::vector<std::pair<int, int>> pairs;
  auto represent = [&](const Batch& b) {
    ReasoningTrace t = model.trace(b, false);
    if (pairs.empty()) {
      pairs = candidatePairs(t);
      out.steps = static_cast<int>(t.states.size(1));
      out.streams = static_cast<int>(t.states.size(2));
    }
    std::vector<torch::Tensor> cols{t.final};
    for (const auto& [s, m] : pairs) cols.push_back(t.states.select(1, s).select(1, m));
    return torch::stack(cols, 1);  // [B, 1 + C, d]
  };
  const auto ranks = evaluator.ranksForCandidates(represent, model.itemTable(), cases, [&](int64_t done, int64_t total) {
    if (progress) progress(static_cast<double>(done) / std::max<int64_t>(1, total));
  });
  out.cases = static_cast<int>(cases.size());
  if (ranks.empty()) return out;
  const MetricName ndcg{MetricName::Kind::Ndcg, k}, recall{MetricName::Kind::Recall, k};
  std::vector<int32_t> best = ranks[0];
  for (size_t c = 1; c < ranks.size(); ++c)
    for (size_t i = 0; i < best.size(); ++i) best[i] = std::min(best[i], ranks[c][i]);
  auto meanMetric = [&](const std::vector<int32_t>& r, const MetricName& m) { return mean(perCaseMetric(r, m)); };
  out.currentNdcg = meanMetric(ranks[0], ndcg);
  out.currentRecall = meanMetric(ranks[0], recall);
  out.oracleNdcg = meanMetric(best, ndcg);
  out.oracleRecall = meanMetric(best, recall);
  for (size_t c = 0; c < ranks.size(); ++c) {
    OracleRun::Candidate cand;
    cand.final = c == 0;
    if (c > 0) {
      cand.step = pairs[c - 1].first;
      cand.stream = pairs[c - 1].second;
    }
    cand.ndcg = meanMetric(ranks[c], ndcg);
    cand.recall = meanMetric(ranks[c], recall);
    int64_t hits = 0;
    for (size_t i = 0; i < best.size(); ++i) hits += ranks[c][i] == best[i] ? 1 : 0;
    cand.bestShare = best.empty() ? 0.0 : static_cast<double>(hits) / static_cast<double>(best.size());
    out.candidates.append(cand);
  }
  return out;
}

std::vector<EvalCase> dropHistoryItems(const SequenceData& data, const std::vector<EvalCase>& cases,
                                       double fraction, uint64_t seed, SequenceData* out) {
  out->numItems = data.numItems;
  out->sequences.clear();
  out->timestamps.clear();
  out->userIds.clear();
  out->itemIds = data.itemIds;
  out->itemTitles = data.itemTitles;
  std::vector<EvalCase> result;
  result.reserve(cases.size());
  std::mt19937_64 rng(mixSeed(seed, 0x726f62ULL));
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto& seq = data.sequences[static_cast<size_t>(c.user)];
    std::vector<int32_t> hist(seq.begin(), seq.begin() + c.pos);
    const int n = static_cast<int>(hist.size());
    const int drop = std::min(std::max(0, n - 1), static_cast<int>(std::lround(fraction * n)));
    if (drop > 0) {
      std::vector<int> idx(static_cast<size_t>(n));
      std::iota(idx.begin(), idx.end(), 0);
      // Partial Fisher-Yates: the first `drop` entries are a uniform sample without replacement.
      for (int j = 0; j < drop; ++j) {
        std::uniform_int_distribution<int> pick(j, n - 1);
        std::swap(idx[static_cast<size_t>(j)], idx[static_cast<size_t>(pick(rng))]);
      }
      std::vector<char> removed(static_cast<size_t>(n), 0);
      for (int j = 0; j < drop; ++j) removed[static_cast<size_t>(idx[static_cast<size_t>(j)])] = 1;
      std::vector<int32_t> kept;
      kept.reserve(static_cast<size_t>(n - drop));
      for (int j = 0; j < n; ++j)
        if (!removed[static_cast<size_t>(j)]) kept.push_back(hist[static_cast<size_t>(j)]);
      hist.swap(kept);
    }
    EvalCase nc;
    nc.user = static_cast<int32_t>(i);
    nc.pos = static_cast<int32_t>(hist.size());
    hist.push_back(seq[static_cast<size_t>(c.pos)]);
    out->sequences.push_back(std::move(hist));
    out->userIds.append(c.user < data.userIds.size() ? data.userIds[c.user] : QString::number(c.user));
    result.push_back(nc);
  }
  return result;
}

RobustnessRun robustnessCurve(RecommenderImpl& model, const SequenceData& data, int maxLen,
                              const EvalOptions& options, const torch::Device& device,
                              const std::vector<EvalCase>& cases, const QVector<double>& drops,
                              int repetitions, uint64_t seed, int k, const AnalysisProgress& progress) {
  RobustnessRun out;
  out.drops = drops;
  const QString nk = metricKey("ndcg", k), rk = metricKey("recall", k);
  EvalOptions o = options;
  if (!o.ks.contains(k)) o.ks.append(k);
  int total = 0;
  for (double d : drops) total += d > 0 ? repetitions : 1;
  int done = 0;
  for (double d : drops) {
    std::vector<double> ndcg, recall;
    const int reps = d > 0 ? repetitions : 1;
    for (int r = 0; r < reps; ++r) {
      SequenceData dropped;
      const auto dc = dropHistoryItems(data, cases, d, mixSeed(seed, static_cast<uint64_t>(r) * 1000003ULL +
                                                                         static_cast<uint64_t>(std::lround(d * 1e6))),
                                       &dropped);
      const BatchBuilder builder(dropped, maxLen);
      const FullRankingEvaluator evaluator(builder, o, device);
      const EvalResult e = evaluator.evaluate(model, dc, [&](int64_t a, int64_t b) {
        if (progress) progress((done + static_cast<double>(a) / std::max<int64_t>(1, b)) / std::max(1, total));
      });
      ndcg.push_back(e.metrics.value(nk));
      recall.push_back(e.metrics.value(rk));
      ++done;
    }
    out.ndcgMean.append(mean(ndcg));
    out.ndcgStd.append(stddev(ndcg));
    out.recallMean.append(mean(recall));
    out.recallStd.append(stddev(recall));
  }
  return out;
}

DepthRun depthSweep(RecommenderImpl& model, const FullRankingEvaluator& evaluator,
                    const std::vector<EvalCase>& cases, const QVector<int>& steps,
                    const AnalysisProgress& progress) {
  DepthRun out;
  const int trained = model.evalSteps();
  QVector<int> todo = steps;
  if (!todo.isEmpty()) {
    model.setEvalSteps(todo.first());
    if (model.evalSteps() != todo.first()) {
      out.supported = false;
      todo = {trained};
    }
  }
  struct Restore {
    RecommenderImpl& m;
    int steps;
    ~Restore() { m.setEvalSteps(steps); }
  } restore{model, trained};
  for (int i = 0; i < todo.size(); ++i) {
    if (out.supported) model.setEvalSteps(todo[i]);
    const EvalResult e = evaluator.evaluate(model, cases, [&](int64_t a, int64_t b) {
      if (progress) progress((i + static_cast<double>(a) / std::max<int64_t>(1, b)) / todo.size());
    });
    out.steps.append(todo[i]);
    out.metrics.append(e.metrics);
  }
  return out;
}

DiversityRun streamDiversity(RecommenderImpl& model, const BatchBuilder& builder,
                             const std::vector<EvalCase>& cases, const torch::Device& device, int bins,
                             int batchSize, const AnalysisProgress& progress) {
  torch::NoGradGuard ng;
  DiversityRun out;
  out.bins = std::max(1, bins);
  std::vector<int> lengths(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) lengths[i] = builder.caseLength(cases[i]);
  std::vector<std::vector<double>> perStep;  // [S][case]
  std::vector<std::vector<double>> gates;    // [M][case]
  int64_t done = 0;
  for (const auto& rows : evalBatches(lengths, batchSize)) {
    Batch b = builder.evalBatch(cases, rows).to(device);
    ReasoningTrace t = model.trace(b, false);
    auto st = t.states.to(torch::kCPU).to(torch::kDouble);  // [B,S,M,d]
    const int64_t S = st.size(1), M = st.size(2);
    out.steps = static_cast<int>(S);
    out.streams = static_cast<int>(M);
    if (perStep.empty()) perStep.resize(static_cast<size_t>(S));
    for (int64_t s = 0; s < S; ++s) {
      auto h = st.select(1, s);  // [B,M,d]
      torch::Tensor d;
      if (M < 2) {
        d = torch::zeros({h.size(0)}, h.options());
      } else {
        // Mean over pairs m < m' of the squared distance: cdist² summed over the upper triangle.
        auto diff = h.unsqueeze(2) - h.unsqueeze(1);                   // [B,M,M,d]
        auto sq = diff.pow(2).sum(-1);                                  // [B,M,M]
        d = sq.sum({1, 2}) / 2.0 / static_cast<double>(M * (M - 1) / 2);
      }
      auto acc = d.contiguous();
      const double* p = acc.data_ptr<double>();
      perStep[static_cast<size_t>(s)].insert(perStep[static_cast<size_t>(s)].end(), p, p + acc.numel());
    }
    if (t.gate.defined()) {
      out.hasGate = true;
      auto g = t.gate.to(torch::kCPU).to(torch::kDouble).contiguous();  // [B,M]
      if (gates.empty()) gates.resize(static_cast<size_t>(g.size(1)));
      const double* p = g.data_ptr<double>();
      for (int64_t b2 = 0; b2 < g.size(0); ++b2)
        for (int64_t m = 0; m < g.size(1); ++m) gates[static_cast<size_t>(m)].push_back(p[b2 * g.size(1) + m]);
    }
    done += static_cast<int64_t>(rows.size());
    if (progress) progress(static_cast<double>(done) / std::max<size_t>(1, cases.size()));
  }
  for (const auto& v : perStep) {
    out.diversityMean.append(mean(v));
    out.diversityStd.append(stddev(v));
  }
  for (const auto& g : gates) {
    out.gateMean.append(mean(g));
    out.gateStd.append(stddev(g));
    QVector<double> h(out.bins, 0.0);
    for (double x : g) h[std::clamp(static_cast<int>(x * out.bins), 0, out.bins - 1)] += 1.0 / std::max<size_t>(1, g.size());
    out.gateHistogram.append(h);
  }
  return out;
}

InspectorData inspectCase(RecommenderImpl& model, const BatchBuilder& builder, const EvalOptions& options,
                          const std::vector<EvalCase>& cases, int caseIndex, const torch::Device& device, int topK) {
  torch::NoGradGuard ng;
  InspectorData d;
  const SequenceData& data = builder.data();
  const EvalCase& c = cases.at(static_cast<size_t>(caseIndex));
  d.caseIndex = caseIndex;
  d.user = c.user;
  d.userId = c.user < data.userIds.size() ? data.userIds[c.user] : QString::number(c.user);
  const auto& seq = data.sequences[static_cast<size_t>(c.user)];
  const int len = builder.caseLength(c);
  for (int j = c.pos - len; j < c.pos; ++j) {
    d.history.append(seq[static_cast<size_t>(j)]);
    d.historyLabels.append(data.itemLabel(seq[static_cast<size_t>(j)]));
  }
  d.target = seq[static_cast<size_t>(c.pos)];
  d.targetLabel = data.itemLabel(d.target);

  Batch b = builder.evalBatch(cases, {static_cast<int64_t>(caseIndex)}).to(device);
  ReasoningTrace t = model.trace(b, true);
  d.steps = static_cast<int>(t.states.size(1));
  d.streams = static_cast<int>(t.states.size(2));
  if (t.gate.defined()) {
    auto g = t.gate.to(torch::kCPU).to(torch::kDouble).contiguous();
    for (int64_t m = 0; m < g.size(1); ++m) d.gate.append(g[0][m].item<double>());
  }
  for (const auto& r : t.attention) {
    InspectorData::Map m;
    m.step = r.step;
    m.stream = r.stream;
    m.layer = r.layer;
    m.itemKeys = r.itemKeys;
    auto w = r.weights.to(torch::kCPU).to(torch::kDouble).contiguous();  // [1,heads,Lk]
    for (int64_t h = 0; h < w.size(1); ++h) {
      QVector<double> row(static_cast<int>(w.size(2)));
      for (int64_t k2 = 0; k2 < w.size(2); ++k2) row[static_cast<int>(k2)] = w[0][h][k2].item<double>();
      m.weights.append(row);
    }
    d.maps.append(m);
  }
  // Ranks and top items of every state, masked like the evaluation.
  torch::Tensor mr, mi;
  if (options.historyMask == HistoryMask::ExcludeSeen) {
    auto [r, i] = builder.historyIndex(cases, {static_cast<int64_t>(caseIndex)});
    mr = r.to(device);
    mi = i.to(device);
  }
  const auto table = model.itemTable();
  auto rankAndTop = [&](const torch::Tensor& z, int step, int stream, bool keepTop) {
    auto scores = torch::mm(z.reshape({1, -1}), table.t());
    auto forTop = scores.clone();
    const int rank = static_cast<int>(FullRankingEvaluator::ranksFromScores(scores, b.target, mr, mi).item<int64_t>());
    if (keepTop) {
      forTop.select(1, 0).fill_(-std::numeric_limits<float>::infinity());
      if (mr.defined() && mr.numel() > 0) forTop.index_put_({mr, mi}, -std::numeric_limits<float>::infinity());
      auto [vals, idx] = forTop.topk(std::min<int64_t>(topK, forTop.size(1) - 1), 1);
      vals = vals.to(torch::kCPU).to(torch::kDouble);
      idx = idx.to(torch::kCPU);
      InspectorData::Top top;
      top.step = step;
      top.stream = stream;
      for (int64_t j = 0; j < idx.size(1); ++j) {
        const int item = static_cast<int>(idx[0][j].item<int64_t>());
        top.items.append(item);
        top.labels.append(data.itemLabel(item));
        top.scores.append(vals[0][j].item<double>());
      }
      d.top.append(top);
    }
    return rank;
  };
  for (int s = 0; s < d.steps; ++s) {
    QVector<int> row;
    for (int m = 0; m < d.streams; ++m) row.append(rankAndTop(t.states[0][s][m], s, m, true));
    d.ranks.append(row);
  }
  d.finalRank = rankAndTop(t.final[0], -1, -1, true);
  return d;
}

namespace {

/// One ranking request (build the batch of `rows`, represent, score every item, top 10) in ms.
double timeOneRequest(RecommenderImpl& model, const BatchBuilder& builder, const std::vector<EvalCase>& cases,
                      const torch::Device& device, const torch::Tensor& table, const std::vector<int64_t>& rows) {
  QElapsedTimer timer;
  timer.start();
  Batch b = builder.evalBatch(cases, rows).to(device);
  auto top = std::get<1>(torch::mm(model.represent(b), table.t()).topk(10, 1));
  if (device.is_cuda()) torch::cuda::synchronize();
  (void)top;
  return timer.nsecsElapsed() / 1e6;
}

/// Request r's case rows: cases r·batchSize … in turn.
std::vector<int64_t> requestRows(int64_t r, int batchSize, int64_t n) {
  std::vector<int64_t> rows;
  for (int j = 0; j < batchSize; ++j) rows.push_back((r * batchSize + j) % n);
  return rows;
}

thread_local int tOperatorDepth = 0;
thread_local qint64 tOperatorCalls = 0;

std::unique_ptr<at::ObserverContext> operatorStarted(const at::RecordFunction&) {
  if (tOperatorDepth++ == 0) ++tOperatorCalls;
  return nullptr;
}

void operatorEnded(const at::RecordFunction&, at::ObserverContext*) { --tOperatorDepth; }

}  // namespace

qint64 countOperatorCalls(const std::function<void()>& fn) {
  const qint64 before = tOperatorCalls;
  const int depth = tOperatorDepth;
  const auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(operatorStarted, operatorEnded).scopes({at::RecordScope::FUNCTION}));
  struct Remove {
    at::CallbackHandle handle;
    int depth;
    ~Remove() {
      at::removeCallback(handle);
      tOperatorDepth = depth;  // an exception may have skipped end callbacks
    }
  } remove{handle, depth};
  fn();
  return tOperatorCalls - before;
}

qint64 rankingRequestOperatorCalls(RecommenderImpl& model, const BatchBuilder& builder,
                                   const std::vector<EvalCase>& cases, const torch::Device& device, int batchSize) {
  if (cases.empty()) return 0;
  c10::InferenceMode inferenceMode;  // as timeRankingRequests
  const auto table = model.itemTable();
  const auto rows = requestRows(0, batchSize, static_cast<int64_t>(cases.size()));
  timeOneRequest(model, builder, cases, device, table, rows);  // first-call work (caches, lazy set-up) is not counted
  return countOperatorCalls([&] { timeOneRequest(model, builder, cases, device, table, rows); });
}

std::vector<double> timeRankingRequests(RecommenderImpl& model, const BatchBuilder& builder,
                                        const std::vector<EvalCase>& cases, const torch::Device& device,
                                        int batchSize, int repeats, const std::function<void()>& checkCancel) {
  std::vector<double> ms;
  if (cases.empty()) return ms;
  // No autograd bookkeeping: at batch 1, where a request is a few hundred small LibTorch calls,
  // that is 5-9% of the latency (measured against NoGradGuard).
  c10::InferenceMode inferenceMode;
  const auto table = model.itemTable();
  const auto n = static_cast<int64_t>(cases.size());
  for (int r = -kLatencyWarmup; r < repeats; ++r) {
    if (checkCancel) checkCancel();
    const double t = timeOneRequest(model, builder, cases, device, table, requestRows(r + kLatencyWarmup, batchSize, n));
    if (r >= 0) ms.push_back(t);
  }
  return ms;
}

RankingLatency measureRankingLatency(RecommenderImpl& model, const BatchBuilder& builder,
                                     const std::vector<EvalCase>& cases, const torch::Device& device, int repeats,
                                     const std::function<void()>& checkCancel) {
  RankingLatency l;
  if (cases.empty()) return l;
  const auto b1 = timeRankingRequests(model, builder, cases, device, 1, repeats, checkCancel);
  const auto b256 =
      timeRankingRequests(model, builder, cases, device, kLatencyBigBatch, std::max(10, repeats / 10), checkCancel);
  l.batch1P50 = percentileOf(b1, 0.5);
  l.batch1P99 = percentileOf(b1, 0.99);
  l.batch256P50 = percentileOf(b256, 0.5);
  l.batch256P99 = percentileOf(b256, 0.99);
  l.batch1OperatorCalls = rankingRequestOperatorCalls(model, builder, cases, device, 1);
  return l;
}

std::vector<EfficiencyRow> measureEfficiencySideBySide(const std::vector<EfficiencyTarget>& targets, int repeats,
                                                       const std::function<void()>& checkCancel,
                                                       const std::function<void(double)>& progress) {
  const size_t n = targets.size();
  std::vector<EfficiencyRow> rows(n);
  std::vector<int> trained(n);
  for (size_t i = 0; i < n; ++i) trained[i] = targets[i].model->evalSteps();
  // Every model back at its trained depth however this ends (cancel, error).
  struct Restore {
    const std::vector<EfficiencyTarget>& targets;
    const std::vector<int>& trained;
    ~Restore() {
      for (size_t i = 0; i < targets.size(); ++i) targets[i].model->setEvalSteps(trained[i]);
    }
  } restore{targets, trained};
  auto select = [&](size_t i) {
    targets[i].model->setEvalSteps(targets[i].steps > 0 ? targets[i].steps : trained[i]);
  };
  torch::NoGradGuard ng;
  for (size_t i = 0; i < n; ++i) {
    const EfficiencyTarget& t = targets[i];
    select(i);
    EfficiencyRow& row = rows[i];
    row.steps = t.model->evalSteps();
    for (const auto& p : t.model->parameters()) row.parameters += static_cast<double>(p.numel());
    double meanLen = 0;
    for (const auto& c : *t.cases) meanLen += t.builder->caseLength(c);
    meanLen /= static_cast<double>(std::max<size_t>(1, t.cases->size()));
    row.flopsPerSample = t.model->flopsPerSample(meanLen);
  }
  if (std::any_of(targets.begin(), targets.end(), [](const EfficiencyTarget& t) { return t.cases->empty(); })) {
    for (auto& row : rows) row.peakRssMb = runtime::peakRssMb();
    return rows;
  }
  c10::InferenceMode inferenceMode;  // as timeRankingRequests
  std::vector<torch::Tensor> tables;
  for (const auto& t : targets) tables.push_back(t.model->itemTable());
  const int bigRepeats = std::max(10, repeats / 10);
  // Rounds of blocks: each target answers kLatencyBlock requests in a row, the first untimed (it
  // brings that model's weights back into the caches, as a server answering only that model
  // would have them), then the next target. A warm-up round comes first.
  constexpr int timedPerBlock = kLatencyBlock - 1;
  auto roundsFor = [](int count) { return (count + timedPerBlock - 1) / timedPerBlock; };
  const double total = static_cast<double>(n) * (roundsFor(repeats) + roundsFor(bigRepeats) + 2);
  double done = 0;
  // ms[i][j]: target i's timed request j; request j of every target uses the same case rows.
  auto interleave = [&](int batchSize, int count) {
    std::vector<std::vector<double>> ms(n);
    for (int round = -1; round < roundsFor(count); ++round) {
      if (checkCancel) checkCancel();
      for (size_t k = 0; k < n; ++k) {
        const size_t i = (k + static_cast<size_t>(round + 1)) % n;  // the first of the round rotates
        const EfficiencyTarget& t = targets[i];
        select(i);
        for (int q = 0; q < kLatencyBlock; ++q) {
          const int64_t request = static_cast<int64_t>(round + 1) * kLatencyBlock + q;
          const auto caseRows = requestRows(request, batchSize, static_cast<int64_t>(t.cases->size()));
          const double v = timeOneRequest(*t.model, *t.builder, *t.cases, t.device, tables[i], caseRows);
          if (round >= 0 && q > 0 && static_cast<int>(ms[i].size()) < count) ms[i].push_back(v);
        }
        done += 1;
        if (progress) progress(done / total);
      }
    }
    return ms;
  };
  auto pairedRatio = [](const std::vector<double>& a, const std::vector<double>& base) {
    std::vector<double> ratio;
    for (size_t r = 0; r < a.size(); ++r) ratio.push_back(a[r] / base[r]);
    return percentileOf(ratio, 0.5);
  };
  const auto b1 = interleave(1, repeats);
  const auto b256 = interleave(kLatencyBigBatch, bigRepeats);
  const double peak = runtime::peakRssMb();
  for (size_t i = 0; i < n; ++i) {
    EfficiencyRow& row = rows[i];
    row.batch1P50 = percentileOf(b1[i], 0.5);
    row.batch1P99 = percentileOf(b1[i], 0.99);
    row.batch256P50 = percentileOf(b256[i], 0.5);
    row.batch256P99 = percentileOf(b256[i], 0.99);
    row.batch1Ratio = pairedRatio(b1[i], b1[0]);
    row.batch256Ratio = pairedRatio(b256[i], b256[0]);
    row.throughput = row.batch256P50 > 0 ? kLatencyBigBatch * 1000.0 / row.batch256P50 : 0;
    row.peakRssMb = peak;
    select(i);
    row.batch1OperatorCalls = rankingRequestOperatorCalls(*targets[i].model, *targets[i].builder, *targets[i].cases,
                                                          targets[i].device, 1);
  }
  return rows;
}

}  // namespace rr
