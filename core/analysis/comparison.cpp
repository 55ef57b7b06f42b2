#include "core/analysis/comparison.h"

#include "core/errors.h"
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
  return !r.baseline && r.pValue.contains(metric) && r.pValue.value(metric) < alpha;
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
    out += QStringLiteral("| ") + r.label + (r.baseline ? QStringLiteral(" (baseline)") : QString()) + QStringLiteral(" |");
    for (const QString& m : metrics) {
      QString cell = r.values.contains(m) ? fmt(r.values.value(m)) : QStringLiteral("–");
      if (r.values.contains(m) && bestRow(m) == i) cell = QStringLiteral("**") + cell + QStringLiteral("**");
      if (significant(i, m)) cell += QLatin1Char('*');
      if (baselineRunId && !r.baseline && r.improvement.contains(m)) cell += QStringLiteral(" (") + pct(r.improvement.value(m)) + QLatin1Char(')');
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

ComparisonTable buildComparison(const ExperimentStore& store, const QVector<ComparisonEntry>& entries,
                                qint64 baselineRunId, const QString& split, const QStringList& metrics) {
  ComparisonTable t;
  t.split = split;
  t.metrics = metrics.isEmpty() ? summaryMetricNames() : metrics;
  const QString final = QStringLiteral("final");
  const auto isBaseline = [&](const ComparisonEntry& e) { return e.runId == baselineRunId && e.evaluation == final; };
  t.baselineRunId = std::any_of(entries.begin(), entries.end(), isBaseline) ? baselineRunId : 0;
  std::vector<std::vector<int32_t>> ranks;
  for (const ComparisonEntry& e : entries) {
    const RunRecord run = store.run(e.runId);
    ComparisonTable::Row row;
    row.runId = e.runId;
    row.evaluation = e.evaluation;
    row.baseline = t.baselineRunId && isBaseline(e);
    row.label = runLabel(run);
    if (e.evaluation != final) row.label += QStringLiteral(" [") + e.evaluation + QLatin1Char(']');
    const auto ev = store.evaluation(e.runId, split, e.evaluation);
    if (ev) {
      row.values = ev->metrics;
      row.perCase = !ev->ranks.empty();
      ranks.push_back(ev->ranks);
    } else if (e.evaluation != final) {
      throw Error(ExitCode::Usage, QStringLiteral("run %1 has no stored %2 evaluation labelled '%3' (make it with "
                                                  "reasonrec evaluate --run %1 --set %3)")
                                       .arg(e.runId).arg(split, e.evaluation));
    } else {
      if (split == QLatin1String("test")) row.values = run.test;
      ranks.emplace_back();
    }
    t.rows.append(row);
  }
  if (!t.baselineRunId) return t;
  const int b = static_cast<int>(std::find_if(t.rows.begin(), t.rows.end(), [](const auto& r) { return r.baseline; }) - t.rows.begin());
  const auto& base = t.rows[b];
  for (int i = 0; i < t.rows.size(); ++i) {
    auto& r = t.rows[i];
    if (r.baseline) continue;
    for (const QString& m : t.metrics) {
      if (!r.values.contains(m) || !base.values.contains(m)) continue;
      const double bv = base.values.value(m);
      if (bv != 0) r.improvement.insert(m, (r.values.value(m) - bv) / bv);
      MetricName name;
      if (!MetricName::parse(m, &name)) continue;
      const auto& ra = ranks[i];
      const auto& rb = ranks[b];
      if (ra.empty() || ra.size() != rb.size()) continue;
      r.pValue.insert(m, pairedTTest(perCaseMetric(ra, name), perCaseMetric(rb, name)).p);
    }
  }
  return t;
}

ComparisonTable buildComparison(const ExperimentStore& store, const QVector<qint64>& runIds, qint64 baselineRunId,
                                const QString& split, const QStringList& metrics) {
  QVector<ComparisonEntry> entries;
  for (qint64 id : runIds) entries.append({id, QStringLiteral("final")});
  return buildComparison(store, entries, baselineRunId, split, metrics);
}

}  // namespace rr
