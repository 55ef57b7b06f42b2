#pragma once
/// \file
/// \brief Ranking metrics from per-case target ranks (SPEC §5). Plain C++: usable by views.

#include <QMap>
#include <QString>
#include <QVector>
#include <cstdint>
#include <vector>

namespace rr {

/// \brief A metric name such as "ndcg@10": kind + cutoff.
struct MetricName {
  enum class Kind { Recall, Ndcg, Mrr };
  Kind kind = Kind::Ndcg;
  int k = 10;
  QString toString() const;
  /// Parses "recall@10" / "ndcg@20" / "mrr@10" (also "hr@10" as Recall); false if malformed.
  static bool parse(const QString& text, MetricName* out);
};

/// Value of one metric for one case whose target has 0-based rank `rank`
/// (Recall@K = [rank < K]; NDCG@K = 1/log2(rank+2) if rank < K; MRR@K = 1/(rank+1) if rank < K).
double metricValue(const MetricName& m, int32_t rank);

/// \brief Means over cases of Recall/NDCG/MRR at every K in ks: "recall@5" -> value, ...
QMap<QString, double> metricsFromRanks(const std::vector<int32_t>& ranks, const QVector<int>& ks);

/// Per-case values of one metric (for paired tests and per-user displays).
std::vector<double> perCaseMetric(const std::vector<int32_t>& ranks, const MetricName& m);

/// The standard metric list of the --summary contract, in order.
QStringList summaryMetricNames();

}  // namespace rr
