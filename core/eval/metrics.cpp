#include "core/eval/metrics.h"

#include <QRegularExpression>
#include <cmath>

namespace rr {

QString MetricName::toString() const {
  const char* k = kind == Kind::Recall ? "recall" : kind == Kind::Ndcg ? "ndcg" : "mrr";
  return QStringLiteral("%1@%2").arg(QLatin1String(k)).arg(this->k);
}

bool MetricName::parse(const QString& text, MetricName* out) {
  static const QRegularExpression re(QStringLiteral("^(recall|hr|ndcg|mrr)@(\\d+)$"));
  const auto m = re.match(text.trimmed().toLower());
  if (!m.hasMatch()) return false;
  MetricName n;
  const QString kind = m.captured(1);
  n.kind = (kind == QLatin1String("recall") || kind == QLatin1String("hr")) ? Kind::Recall
           : kind == QLatin1String("ndcg")                                ? Kind::Ndcg
                                                                          : Kind::Mrr;
  n.k = m.captured(2).toInt();
  if (n.k <= 0) return false;
  if (out) *out = n;
  return true;
}

double metricValue(const MetricName& m, int32_t rank) {
  if (rank < 0 || rank >= m.k) return 0.0;
  switch (m.kind) {
    case MetricName::Kind::Recall: return 1.0;
    case MetricName::Kind::Ndcg: return 1.0 / std::log2(static_cast<double>(rank) + 2.0);
    case MetricName::Kind::Mrr: return 1.0 / (static_cast<double>(rank) + 1.0);
  }
  return 0.0;
}

QMap<QString, double> metricsFromRanks(const std::vector<int32_t>& ranks, const QVector<int>& ks) {
  QMap<QString, double> out;
  const double n = static_cast<double>(ranks.size());
  for (int k : ks) {
    for (auto kind : {MetricName::Kind::Recall, MetricName::Kind::Ndcg, MetricName::Kind::Mrr}) {
      MetricName m{kind, k};
      double sum = 0;
      for (int32_t r : ranks) sum += metricValue(m, r);
      out.insert(m.toString(), n > 0 ? sum / n : 0.0);
    }
  }
  return out;
}

std::vector<double> perCaseMetric(const std::vector<int32_t>& ranks, const MetricName& m) {
  std::vector<double> v(ranks.size());
  for (size_t i = 0; i < ranks.size(); ++i) v[i] = metricValue(m, ranks[i]);
  return v;
}

QStringList summaryMetricNames() {
  return {QStringLiteral("recall@5"), QStringLiteral("recall@10"), QStringLiteral("recall@20"),
          QStringLiteral("ndcg@5"),   QStringLiteral("ndcg@10"),   QStringLiteral("ndcg@20"),
          QStringLiteral("mrr@10")};
}

}  // namespace rr
