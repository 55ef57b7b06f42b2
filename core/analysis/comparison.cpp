#include "core/analysis/comparison.h"

#include "core/eval/metrics.h"
#include "core/eval/significance.h"
#include "core/store/experiment_store.h"

#include <algorithm>

namespace rr {

int ComparisonTable::bestRow(const QString& metric) const {
  int best = -1;
  for (int i = 0; i < rows.size(); ++i) {
    if (!rows[i].values.contains(metric)) continue;
    if (best < 0 || rows[i].values.value(metric) > rows[best].values.value(metric)) best = i;
  }
  return best;
}

bool ComparisonTable::significant(int row, const QString& metric) const {
  const auto& r = rows.at(row);
  return r.runId != baselineRunId && r.pValue.contains(metric) && r.pValue.value(metric) < alpha;
}

namespace {

QString fmt(double v) { return QString::number(v, 'f', 4); }
QString pct(double v) { return QStringLiteral("%1%2%").arg(v >= 0 ? QStringLiteral("+") : QString()).arg(100 * v, 0, 'f', 1); }
QString csvField(QString s) {
  if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"'))) s = QLatin1Char('"') + s.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"');
  return s;
}
QString latexEscape(QString s) {
  for (const char* c : {"\\", "&", "%", "$", "#", "_", "{", "}"}) {
    const QString ch = QLatin1String(c);
    s.replace(ch, ch == QLatin1String("\\") ? QStringLiteral("\\textbackslash{}") : QStringLiteral("\\") + ch);
  }
  return s;
}

}  // namespace

QString ComparisonTable::toCsv() const {
  QStringList head{QStringLiteral("run"), QStringLiteral("label")};
  for (const QString& m : metrics) head << m << m + QStringLiteral(" improvement") << m + QStringLiteral(" p");
  QString out = head.join(QLatin1Char(',')) + QLatin1Char('\n');
  for (const auto& r : rows) {
    QStringList f{QString::number(r.runId), csvField(r.label)};
    for (const QString& m : metrics) {
      f << (r.values.contains(m) ? QString::number(r.values.value(m), 'g', 8) : QString());
      f << (r.improvement.contains(m) ? QString::number(r.improvement.value(m), 'g', 6) : QString());
      f << (r.pValue.contains(m) ? QString::number(r.pValue.value(m), 'g', 6) : QString());
    }
    out += f.join(QLatin1Char(',')) + QLatin1Char('\n');
  }
  return out;
}

QString ComparisonTable::toMarkdown() const {
  QString out = QStringLiteral("| Run |");
  for (const QString& m : metrics) out += QLatin1Char(' ') + m + QStringLiteral(" |");
  out += QStringLiteral("\n|---|");
  for (int i = 0; i < metrics.size(); ++i) out += QStringLiteral("---:|");
  out += QLatin1Char('\n');
  for (int i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    out += QStringLiteral("| ") + r.label + (r.runId == baselineRunId ? QStringLiteral(" (baseline)") : QString()) + QStringLiteral(" |");
    for (const QString& m : metrics) {
      QString cell = r.values.contains(m) ? fmt(r.values.value(m)) : QStringLiteral("–");
      if (r.values.contains(m) && bestRow(m) == i) cell = QStringLiteral("**") + cell + QStringLiteral("**");
      if (significant(i, m)) cell += QLatin1Char('*');
      if (baselineRunId && r.runId != baselineRunId && r.improvement.contains(m)) cell += QStringLiteral(" (") + pct(r.improvement.value(m)) + QLatin1Char(')');
      out += QLatin1Char(' ') + cell + QStringLiteral(" |");
    }
    out += QLatin1Char('\n');
  }
  if (baselineRunId) out += QStringLiteral("\n\\* p < %1, paired t-test against the baseline over the same %2 cases.\n").arg(alpha).arg(split);
  const QString missing = missingRanksNote();
  if (!missing.isEmpty()) out += missing + QLatin1Char('\n');
  return out;
}

QString ComparisonTable::missingRanksNote() const {
  if (!baselineRunId) return {};
  QStringList ids;
  for (const auto& r : rows)
    if (!r.perCase) ids << QStringLiteral("#%1").arg(r.runId);
  if (ids.isEmpty()) return {};
  return QStringLiteral("No p-value for %1: no per-user %2 ranks stored (not evaluated yet, or being trained further).")
      .arg(ids.join(QStringLiteral(", ")), split);
}

QString ComparisonTable::toLatex() const {
  QString out = QStringLiteral("\\begin{tabular}{l") + QString(metrics.size(), QLatin1Char('r')) + QStringLiteral("}\n\\hline\nRun");
  for (const QString& m : metrics) out += QStringLiteral(" & ") + latexEscape(m);
  out += QStringLiteral(" \\\\\n\\hline\n");
  for (int i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    out += latexEscape(r.label);
    for (const QString& m : metrics) {
      QString cell = r.values.contains(m) ? fmt(r.values.value(m)) : QStringLiteral("--");
      if (r.values.contains(m) && bestRow(m) == i) cell = QStringLiteral("\\textbf{") + cell + QLatin1Char('}');
      if (significant(i, m)) cell += QStringLiteral("$^{*}$");
      out += QStringLiteral(" & ") + cell;
    }
    out += QStringLiteral(" \\\\\n");
  }
  out += QStringLiteral("\\hline\n\\end{tabular}\n");
  return out;
}

ComparisonTable buildComparison(const ExperimentStore& store, const QVector<qint64>& runIds, qint64 baselineRunId,
                                const QString& split, const QStringList& metrics) {
  ComparisonTable t;
  t.split = split;
  t.metrics = metrics.isEmpty() ? summaryMetricNames() : metrics;
  t.baselineRunId = runIds.contains(baselineRunId) ? baselineRunId : 0;
  QMap<qint64, std::vector<int32_t>> ranks;
  for (qint64 id : runIds) {
    const RunRecord run = store.run(id);
    ComparisonTable::Row row;
    row.runId = id;
    row.label = QStringLiteral("#%1 %2").arg(id).arg(run.name.isEmpty() ? run.preset : run.name);
    const auto ev = store.evaluation(id, split);
    if (ev) {
      row.values = ev->metrics;
      row.perCase = !ev->ranks.empty();
      ranks.insert(id, ev->ranks);
    } else if (split == QLatin1String("test")) {
      row.values = run.test;
    }
    t.rows.append(row);
  }
  if (!t.baselineRunId) return t;
  const auto& base = *std::find_if(t.rows.begin(), t.rows.end(), [&](const auto& r) { return r.runId == t.baselineRunId; });
  for (auto& r : t.rows) {
    if (r.runId == t.baselineRunId) continue;
    for (const QString& m : t.metrics) {
      if (!r.values.contains(m) || !base.values.contains(m)) continue;
      const double b = base.values.value(m);
      if (b != 0) r.improvement.insert(m, (r.values.value(m) - b) / b);
      MetricName name;
      if (!MetricName::parse(m, &name)) continue;
      const auto& ra = ranks.value(r.runId);
      const auto& rb = ranks.value(t.baselineRunId);
      if (ra.empty() || ra.size() != rb.size()) continue;
      r.pValue.insert(m, pairedTTest(perCaseMetric(ra, name), perCaseMetric(rb, name)).p);
    }
  }
  return t;
}

}  // namespace rr
