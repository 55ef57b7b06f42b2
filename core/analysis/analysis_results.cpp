#include "core/analysis/analysis_results.h"

#include <QJsonArray>

namespace rr {

namespace {

QJsonArray arr(const QVector<double>& v) {
  QJsonArray a;
  for (double x : v) a.append(x);
  return a;
}
QJsonArray arr(const QVector<int>& v) {
  QJsonArray a;
  for (int x : v) a.append(x);
  return a;
}
QJsonArray arr(const QStringList& v) {
  QJsonArray a;
  for (const QString& x : v) a.append(x);
  return a;
}
QVector<double> doubles(const QJsonValue& v) {
  QVector<double> out;
  for (const auto& x : v.toArray()) out.append(x.toDouble());
  return out;
}
QVector<int> ints(const QJsonValue& v) {
  QVector<int> out;
  for (const auto& x : v.toArray()) out.append(x.toInt());
  return out;
}
QStringList strings(const QJsonValue& v) {
  QStringList out;
  for (const auto& x : v.toArray()) out.append(x.toString());
  return out;
}
QJsonObject metricsJson(const QMap<QString, double>& m) {
  QJsonObject o;
  for (auto it = m.begin(); it != m.end(); ++it) o.insert(it.key(), it.value());
  return o;
}
QMap<QString, double> metricsMap(const QJsonValue& v) {
  QMap<QString, double> m;
  const QJsonObject o = v.toObject();
  for (auto it = o.begin(); it != o.end(); ++it) m.insert(it.key(), it.value().toDouble());
  return m;
}
qint64 id(const QJsonObject& o) { return static_cast<qint64>(o.value(QStringLiteral("run_id")).toDouble()); }

}  // namespace

QStringList analysisKinds() {
  return {QStringLiteral("oracle"),     QStringLiteral("robustness"), QStringLiteral("depth"),
          QStringLiteral("attention"),  QStringLiteral("efficiency"), QStringLiteral("diversity")};
}

QString analysisKindTitle(const QString& kind) {
  static const QMap<QString, QString> titles{{QStringLiteral("oracle"), QStringLiteral("Oracle ceiling")},
                                             {QStringLiteral("robustness"), QStringLiteral("Robustness")},
                                             {QStringLiteral("depth"), QStringLiteral("Test-time depth")},
                                             {QStringLiteral("attention"), QStringLiteral("Reasoning inspector")},
                                             {QStringLiteral("efficiency"), QStringLiteral("Efficiency")},
                                             {QStringLiteral("diversity"), QStringLiteral("Stream diversity and gates")}};
  return titles.value(kind, kind);
}

// ---- oracle ----
QJsonObject OracleResult::toJson() const {
  QJsonArray rs;
  for (const auto& r : runs) {
    QJsonArray cs;
    for (const auto& c : r.candidates)
      cs.append(QJsonObject{{QStringLiteral("step"), c.step},        {QStringLiteral("stream"), c.stream},
                            {QStringLiteral("final"), c.final},      {QStringLiteral("ndcg"), c.ndcg},
                            {QStringLiteral("recall"), c.recall},    {QStringLiteral("best_share"), c.bestShare}});
    rs.append(QJsonObject{{QStringLiteral("run_id"), r.runId},
                          {QStringLiteral("label"), r.label},
                          {QStringLiteral("steps"), r.steps},
                          {QStringLiteral("streams"), r.streams},
                          {QStringLiteral("cases"), r.cases},
                          {QStringLiteral("current_ndcg"), r.currentNdcg},
                          {QStringLiteral("current_recall"), r.currentRecall},
                          {QStringLiteral("oracle_ndcg"), r.oracleNdcg},
                          {QStringLiteral("oracle_recall"), r.oracleRecall},
                          {QStringLiteral("gap_ndcg"), r.oracleNdcg - r.currentNdcg},
                          {QStringLiteral("gap_recall"), r.oracleRecall - r.currentRecall},
                          {QStringLiteral("candidates"), cs}});
  }
  return QJsonObject{{QStringLiteral("k"), k}, {QStringLiteral("split"), split}, {QStringLiteral("runs"), rs}};
}

OracleResult OracleResult::fromJson(const QJsonObject& o) {
  OracleResult r;
  r.k = o.value(QStringLiteral("k")).toInt(20);
  r.split = o.value(QStringLiteral("split")).toString(QStringLiteral("test"));
  for (const auto& v : o.value(QStringLiteral("runs")).toArray()) {
    const QJsonObject j = v.toObject();
    OracleRun x;
    x.runId = id(j);
    x.label = j.value(QStringLiteral("label")).toString();
    x.steps = j.value(QStringLiteral("steps")).toInt(1);
    x.streams = j.value(QStringLiteral("streams")).toInt(1);
    x.cases = j.value(QStringLiteral("cases")).toInt();
    x.currentNdcg = j.value(QStringLiteral("current_ndcg")).toDouble();
    x.currentRecall = j.value(QStringLiteral("current_recall")).toDouble();
    x.oracleNdcg = j.value(QStringLiteral("oracle_ndcg")).toDouble();
    x.oracleRecall = j.value(QStringLiteral("oracle_recall")).toDouble();
    for (const auto& cv : j.value(QStringLiteral("candidates")).toArray()) {
      const QJsonObject c = cv.toObject();
      OracleRun::Candidate cand;
      cand.step = c.value(QStringLiteral("step")).toInt();
      cand.stream = c.value(QStringLiteral("stream")).toInt();
      cand.final = c.value(QStringLiteral("final")).toBool();
      cand.ndcg = c.value(QStringLiteral("ndcg")).toDouble();
      cand.recall = c.value(QStringLiteral("recall")).toDouble();
      cand.bestShare = c.value(QStringLiteral("best_share")).toDouble();
      x.candidates.append(cand);
    }
    r.runs.append(x);
  }
  return r;
}

// ---- robustness ----
QJsonObject RobustnessResult::toJson() const {
  QJsonArray rs;
  for (const auto& r : runs)
    rs.append(QJsonObject{{QStringLiteral("run_id"), r.runId},           {QStringLiteral("label"), r.label},
                          {QStringLiteral("drops"), arr(r.drops)},        {QStringLiteral("ndcg_mean"), arr(r.ndcgMean)},
                          {QStringLiteral("ndcg_std"), arr(r.ndcgStd)},   {QStringLiteral("recall_mean"), arr(r.recallMean)},
                          {QStringLiteral("recall_std"), arr(r.recallStd)}});
  return QJsonObject{{QStringLiteral("k"), k},
                     {QStringLiteral("repetitions"), repetitions},
                     {QStringLiteral("seed"), seed},
                     {QStringLiteral("split"), split},
                     {QStringLiteral("runs"), rs}};
}

RobustnessResult RobustnessResult::fromJson(const QJsonObject& o) {
  RobustnessResult r;
  r.k = o.value(QStringLiteral("k")).toInt(20);
  r.repetitions = o.value(QStringLiteral("repetitions")).toInt(1);
  r.seed = static_cast<qint64>(o.value(QStringLiteral("seed")).toDouble(1));
  r.split = o.value(QStringLiteral("split")).toString(QStringLiteral("test"));
  for (const auto& v : o.value(QStringLiteral("runs")).toArray()) {
    const QJsonObject j = v.toObject();
    RobustnessRun x;
    x.runId = id(j);
    x.label = j.value(QStringLiteral("label")).toString();
    x.drops = doubles(j.value(QStringLiteral("drops")));
    x.ndcgMean = doubles(j.value(QStringLiteral("ndcg_mean")));
    x.ndcgStd = doubles(j.value(QStringLiteral("ndcg_std")));
    x.recallMean = doubles(j.value(QStringLiteral("recall_mean")));
    x.recallStd = doubles(j.value(QStringLiteral("recall_std")));
    r.runs.append(x);
  }
  return r;
}

// ---- depth ----
QJsonObject DepthResult::toJson() const {
  QJsonArray rs;
  for (const auto& r : runs) {
    QJsonArray ms;
    for (const auto& m : r.metrics) ms.append(metricsJson(m));
    rs.append(QJsonObject{{QStringLiteral("run_id"), r.runId}, {QStringLiteral("label"), r.label},
                          {QStringLiteral("supported"), r.supported}, {QStringLiteral("steps"), arr(r.steps)},
                          {QStringLiteral("metrics"), ms}});
  }
  return QJsonObject{{QStringLiteral("split"), split}, {QStringLiteral("runs"), rs}};
}

DepthResult DepthResult::fromJson(const QJsonObject& o) {
  DepthResult r;
  r.split = o.value(QStringLiteral("split")).toString(QStringLiteral("test"));
  for (const auto& v : o.value(QStringLiteral("runs")).toArray()) {
    const QJsonObject j = v.toObject();
    DepthRun x;
    x.runId = id(j);
    x.label = j.value(QStringLiteral("label")).toString();
    x.supported = j.value(QStringLiteral("supported")).toBool(true);
    x.steps = ints(j.value(QStringLiteral("steps")));
    for (const auto& m : j.value(QStringLiteral("metrics")).toArray()) x.metrics.append(metricsMap(m));
    r.runs.append(x);
  }
  return r;
}

// ---- efficiency ----
QJsonObject EfficiencyResult::toJson() const {
  QJsonArray rs;
  for (const auto& r : rows)
    rs.append(QJsonObject{{QStringLiteral("run_id"), r.runId},
                          {QStringLiteral("label"), r.label},
                          {QStringLiteral("steps"), r.steps},
                          {QStringLiteral("parameters"), r.parameters},
                          {QStringLiteral("flops_per_sample"), r.flopsPerSample},
                          {QStringLiteral("latency_ms"), QJsonObject{{QStringLiteral("batch1_p50"), r.batch1P50},
                                                                     {QStringLiteral("batch1_p99"), r.batch1P99},
                                                                     {QStringLiteral("batch256_p50"), r.batch256P50},
                                                                     {QStringLiteral("batch256_p99"), r.batch256P99}}},
                          {QStringLiteral("latency_ratio_to_first"),
                           QJsonObject{{QStringLiteral("batch1"), r.batch1Ratio}, {QStringLiteral("batch256"), r.batch256Ratio}}},
                          {QStringLiteral("throughput_users_per_second"), r.throughput},
                          {QStringLiteral("batch1_operator_calls"), r.batch1OperatorCalls},
                          {QStringLiteral("peak_rss_mb"), r.peakRssMb}});
  return QJsonObject{{QStringLiteral("device"), device}, {QStringLiteral("threads"), threads}, {QStringLiteral("rows"), rs}};
}

EfficiencyResult EfficiencyResult::fromJson(const QJsonObject& o) {
  EfficiencyResult r;
  r.device = o.value(QStringLiteral("device")).toString();
  r.threads = o.value(QStringLiteral("threads")).toInt();
  for (const auto& v : o.value(QStringLiteral("rows")).toArray()) {
    const QJsonObject j = v.toObject();
    const QJsonObject lat = j.value(QStringLiteral("latency_ms")).toObject();
    EfficiencyRow x;
    x.runId = id(j);
    x.label = j.value(QStringLiteral("label")).toString();
    x.steps = j.value(QStringLiteral("steps")).toInt();
    x.parameters = j.value(QStringLiteral("parameters")).toDouble();
    x.flopsPerSample = j.value(QStringLiteral("flops_per_sample")).toDouble();
    x.batch1P50 = lat.value(QStringLiteral("batch1_p50")).toDouble();
    x.batch1P99 = lat.value(QStringLiteral("batch1_p99")).toDouble();
    x.batch256P50 = lat.value(QStringLiteral("batch256_p50")).toDouble();
    x.batch256P99 = lat.value(QStringLiteral("batch256_p99")).toDouble();
    const QJsonObject ratio = j.value(QStringLiteral("latency_ratio_to_first")).toObject();  // absent before stop 23
    x.batch1Ratio = ratio.value(QStringLiteral("batch1")).toDouble();
    x.batch256Ratio = ratio.value(QStringLiteral("batch256")).toDouble();
    x.throughput = j.value(QStringLiteral("throughput_users_per_second")).toDouble();
    x.batch1OperatorCalls = j.value(QStringLiteral("batch1_operator_calls")).toInteger();
    x.peakRssMb = j.value(QStringLiteral("peak_rss_mb")).toDouble();
    r.rows.append(x);
  }
  return r;
}

// ---- diversity ----
QJsonObject DiversityResult::toJson() const {
  QJsonArray rs;
  for (const auto& r : runs) {
    QJsonArray hist;
    for (const auto& h : r.gateHistogram) hist.append(arr(h));
    rs.append(QJsonObject{{QStringLiteral("run_id"), r.runId},
                          {QStringLiteral("label"), r.label},
                          {QStringLiteral("steps"), r.steps},
                          {QStringLiteral("streams"), r.streams},
                          {QStringLiteral("diversity_mean"), arr(r.diversityMean)},
                          {QStringLiteral("diversity_std"), arr(r.diversityStd)},
                          {QStringLiteral("has_gate"), r.hasGate},
                          {QStringLiteral("gate_mean"), arr(r.gateMean)},
                          {QStringLiteral("gate_std"), arr(r.gateStd)},
                          {QStringLiteral("bins"), r.bins},
                          {QStringLiteral("gate_histogram"), hist}});
  }
  return QJsonObject{{QStringLiteral("split"), split}, {QStringLiteral("runs"), rs}};
}

DiversityResult DiversityResult::fromJson(const QJsonObject& o) {
  DiversityResult r;
  r.split = o.value(QStringLiteral("split")).toString(QStringLiteral("test"));
  for (const auto& v : o.value(QStringLiteral("runs")).toArray()) {
    const QJsonObject j = v.toObject();
    DiversityRun x;
    x.runId = id(j);
    x.label = j.value(QStringLiteral("label")).toString();
    x.steps = j.value(QStringLiteral("steps")).toInt(1);
    x.streams = j.value(QStringLiteral("streams")).toInt(1);
    x.diversityMean = doubles(j.value(QStringLiteral("diversity_mean")));
    x.diversityStd = doubles(j.value(QStringLiteral("diversity_std")));
    x.hasGate = j.value(QStringLiteral("has_gate")).toBool();
    x.gateMean = doubles(j.value(QStringLiteral("gate_mean")));
    x.gateStd = doubles(j.value(QStringLiteral("gate_std")));
    x.bins = j.value(QStringLiteral("bins")).toInt(20);
    for (const auto& h : j.value(QStringLiteral("gate_histogram")).toArray()) x.gateHistogram.append(doubles(h));
    r.runs.append(x);
  }
  return r;
}

// ---- inspector ----
QJsonObject InspectorData::toJson() const {
  QJsonArray ms;
  for (const auto& m : maps) {
    QJsonArray w;
    for (const auto& h : m.weights) w.append(arr(h));
    ms.append(QJsonObject{{QStringLiteral("step"), m.step}, {QStringLiteral("stream"), m.stream},
                          {QStringLiteral("layer"), m.layer}, {QStringLiteral("item_keys"), m.itemKeys},
                          {QStringLiteral("weights"), w}});
  }
  QJsonArray rk;
  for (const auto& r : ranks) rk.append(arr(r));
  QJsonArray tp;
  for (const auto& t : top)
    tp.append(QJsonObject{{QStringLiteral("step"), t.step}, {QStringLiteral("stream"), t.stream},
                          {QStringLiteral("items"), arr(t.items)}, {QStringLiteral("labels"), arr(t.labels)},
                          {QStringLiteral("scores"), arr(t.scores)}});
  return QJsonObject{{QStringLiteral("run_id"), runId},
                     {QStringLiteral("label"), label},
                     {QStringLiteral("split"), split},
                     {QStringLiteral("case"), caseIndex},
                     {QStringLiteral("user"), user},
                     {QStringLiteral("user_id"), userId},
                     {QStringLiteral("history"), arr(history)},
                     {QStringLiteral("history_labels"), arr(historyLabels)},
                     {QStringLiteral("target"), target},
                     {QStringLiteral("target_label"), targetLabel},
                     {QStringLiteral("steps"), steps},
                     {QStringLiteral("streams"), streams},
                     {QStringLiteral("gate"), arr(gate)},
                     {QStringLiteral("maps"), ms},
                     {QStringLiteral("ranks"), rk},
                     {QStringLiteral("final_rank"), finalRank},
                     {QStringLiteral("top"), tp}};
}

InspectorData InspectorData::fromJson(const QJsonObject& o) {
  InspectorData d;
  d.runId = id(o);
  d.label = o.value(QStringLiteral("label")).toString();
  d.split = o.value(QStringLiteral("split")).toString(QStringLiteral("test"));
  d.caseIndex = o.value(QStringLiteral("case")).toInt();
  d.user = o.value(QStringLiteral("user")).toInt();
  d.userId = o.value(QStringLiteral("user_id")).toString();
  d.history = ints(o.value(QStringLiteral("history")));
  d.historyLabels = strings(o.value(QStringLiteral("history_labels")));
  d.target = o.value(QStringLiteral("target")).toInt();
  d.targetLabel = o.value(QStringLiteral("target_label")).toString();
  d.steps = o.value(QStringLiteral("steps")).toInt(1);
  d.streams = o.value(QStringLiteral("streams")).toInt(1);
  d.gate = doubles(o.value(QStringLiteral("gate")));
  for (const auto& v : o.value(QStringLiteral("maps")).toArray()) {
    const QJsonObject j = v.toObject();
    Map m;
    m.step = j.value(QStringLiteral("step")).toInt();
    m.stream = j.value(QStringLiteral("stream")).toInt();
    m.layer = j.value(QStringLiteral("layer")).toInt();
    m.itemKeys = j.value(QStringLiteral("item_keys")).toInt();
    for (const auto& h : j.value(QStringLiteral("weights")).toArray()) m.weights.append(doubles(h));
    d.maps.append(m);
  }
  for (const auto& v : o.value(QStringLiteral("ranks")).toArray()) d.ranks.append(ints(v));
  d.finalRank = o.value(QStringLiteral("final_rank")).toInt();
  for (const auto& v : o.value(QStringLiteral("top")).toArray()) {
    const QJsonObject j = v.toObject();
    Top t;
    t.step = j.value(QStringLiteral("step")).toInt();
    t.stream = j.value(QStringLiteral("stream")).toInt();
    t.items = ints(j.value(QStringLiteral("items")));
    t.labels = strings(j.value(QStringLiteral("labels")));
    t.scores = doubles(j.value(QStringLiteral("scores")));
    d.top.append(t);
  }
  return d;
}

QVector<double> InspectorData::headAverage(const Map& m) {
  QVector<double> avg;
  if (m.weights.isEmpty()) return avg;
  avg.fill(0.0, m.weights.first().size());
  for (const auto& h : m.weights)
    for (int k = 0; k < avg.size() && k < h.size(); ++k) avg[k] += h[k] / m.weights.size();
  return avg;
}

}  // namespace rr
