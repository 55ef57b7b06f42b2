#include "core/analysis/comparison.h"

#include "core/errors.h"
#include "core/eval/metrics.h"
#include "core/eval/significance.h"
#include "core/jobs/run_session.h"
#include "core/project/stored_config.h"
#include "core/store/experiment_store.h"

#include <algorithm>
#include <numeric>
#include <optional>

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
  if (!group.isEmpty()) head.prepend(QStringLiteral("group"));
  for (const QString& m : metrics) head << m << m + QStringLiteral(" improvement") << m + QStringLiteral(" p");
  QString out = head.join(QLatin1Char(',')) + QLatin1Char('\n');
  for (const auto& r : rows) {
    QStringList f{QString::number(r.runId), csvField(r.label)};
    if (!group.isEmpty()) f.prepend(csvField(group));
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
  QString out = group.isEmpty() ? QString() : QStringLiteral("### ") + group + QStringLiteral("\n\n");
  out += QStringLiteral("| Run |");
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
  QString out = group.isEmpty() ? QString() : QStringLiteral("%% ") + group + QLatin1Char('\n');
  out += QStringLiteral("\\begin{tabular}{l") + QString(metrics.size(), QLatin1Char('r')) + QStringLiteral("}\n\\hline\nRun");
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

QString formatComparisons(const QVector<ComparisonTable>& tables, const QString& format) {
  if (format != QLatin1String("markdown") && format != QLatin1String("csv") && format != QLatin1String("latex"))
    throw UsageError(QStringLiteral("--format: '%1' is not one of markdown, csv, latex").arg(format));
  QString text;
  for (const ComparisonTable& t : tables) {
    if (format == QLatin1String("csv")) {
      const QString csv = t.toCsv();
      text += text.isEmpty() ? csv : csv.section(QLatin1Char('\n'), 1);
    } else {
      if (!text.isEmpty()) text += QLatin1Char('\n');
      text += format == QLatin1String("markdown") ? t.toMarkdown() : t.toLatex();
    }
  }
  return text;
}

QString CaseGroup::label(const QString& split) const {
  const QString lengths = minLength == maxLength ? QString::number(minLength)
                                                 : QStringLiteral("%1–%2").arg(minLength).arg(maxLength);
  return QStringLiteral("history %1 item%2, %3 %4 cases")
      .arg(lengths, maxLength == 1 ? QString() : QStringLiteral("s"))
      .arg(cases.size())
      .arg(split);
}

QVector<CaseGroup> historyLengthGroups(const ExperimentStore& store, qint64 runId, const QString& split, int groups) {
  if (groups < 2 || groups > 20)
    throw UsageError(QStringLiteral("--by-length: %1 groups; give 2 to 20").arg(groups));
  if (split != QLatin1String("test") && split != QLatin1String("valid"))
    throw UsageError(QStringLiteral("--split: '%1' is not one of test, valid").arg(split));
  const RunRecord run = store.run(runId);
  const DataSplit s = splitFor(store.loadDatasetData(run.datasetId), storedRunConfig(run.config));
  const std::vector<EvalCase>& cases = split == QLatin1String("valid") ? s.valid : s.test;
  std::vector<int> order(cases.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return cases[a].pos < cases[b].pos; });
  QVector<CaseGroup> out;
  size_t i = 0;
  while (i < order.size()) {
    CaseGroup g;
    g.minLength = g.maxLength = cases[order[i]].pos;
    // This group's share of the cases, counted from the start so rounding does not pile up.
    const size_t made = static_cast<size_t>(out.size()) + 1;
    const size_t end = made >= static_cast<size_t>(groups) ? order.size() : order.size() * made / static_cast<size_t>(groups);
    while (i < order.size() && (i < end || cases[order[i]].pos == g.maxLength)) {
      g.maxLength = cases[order[i]].pos;
      g.cases.push_back(order[i++]);
    }
    std::sort(g.cases.begin(), g.cases.end());
    out.append(std::move(g));
  }
  return out;
}

namespace {

/// One entry's run and stored evaluation, read once for every table built from them.
struct LoadedEntry {
  ComparisonEntry entry;
  RunRecord run;
  std::optional<EvaluationRecord> evaluation;
};

QVector<LoadedEntry> loadEntries(const ExperimentStore& store, const QVector<ComparisonEntry>& entries, const QString& split) {
  QVector<LoadedEntry> out;
  for (const ComparisonEntry& e : entries) {
    LoadedEntry l{e, store.run(e.runId), store.evaluation(e.runId, split, e.evaluation)};
    if (!l.evaluation && e.evaluation != QLatin1String("final"))
      throw Error(ExitCode::Usage, QStringLiteral("run %1 has no stored %2 evaluation labelled '%3' (make it with "
                                                  "reasonrec evaluate --run %1 --set %3)")
                                       .arg(e.runId).arg(split, e.evaluation));
    out.append(std::move(l));
  }
  return out;
}

/// Runs compared case by case on groups of one split must share its dataset and settings.
void requireOneSplit(const QVector<LoadedEntry>& loaded) {
  if (loaded.isEmpty()) return;
  const RunRecord& first = loaded.first().run;
  const RunConfig a = storedRunConfig(first.config);
  for (const LoadedEntry& l : loaded) {
    if (l.run.id == first.id) continue;
    const RunConfig b = storedRunConfig(l.run.config);
    bool same = l.run.datasetId == first.datasetId;
    for (const char* key : {"data.split", "data.valid_cut", "data.test_cut"})
      same = same && a.value(QLatin1String(key)) == b.value(QLatin1String(key));
    if (!same)
      throw UsageError(QStringLiteral("--by-length: run %1 is on another dataset or split than run %2; runs compared "
                                      "case by case must share both")
                           .arg(l.run.id)
                           .arg(first.id));
  }
}

/// The table over all cases (group null) or over one group's cases, whose values then come
/// from the per-user ranks of those cases.
ComparisonTable tableOf(const QVector<LoadedEntry>& loaded, qint64 baselineRunId, const QString& split,
                        const QStringList& metrics, const CaseGroup* group) {
  ComparisonTable t;
  t.split = split;
  if (group) t.group = group->label(split);
  t.metrics = metrics.isEmpty() ? summaryMetricNames() : metrics;
  const QString final = QStringLiteral("final");
  const auto isBaseline = [&](const ComparisonEntry& e) { return e.runId == baselineRunId && e.evaluation == final; };
  t.baselineRunId = std::any_of(loaded.begin(), loaded.end(), [&](const LoadedEntry& l) { return isBaseline(l.entry); })
                        ? baselineRunId
                        : 0;
  std::vector<std::vector<int32_t>> ranks;
  for (const LoadedEntry& l : loaded) {
    const ComparisonEntry& e = l.entry;
    ComparisonTable::Row row;
    row.runId = e.runId;
    row.evaluation = e.evaluation;
    row.baseline = t.baselineRunId && isBaseline(e);
    row.label = runLabel(l.run);
    if (e.evaluation != final) row.label += QStringLiteral(" [") + e.evaluation + QLatin1Char(']');
    const auto& ev = l.evaluation;
    if (ev && group) {  // the group's cases only; a row without per-user ranks stays empty
      std::vector<int32_t> sub;
      if (!ev->ranks.empty())
        for (int c : group->cases) {
          if (c >= static_cast<int>(ev->ranks.size()))
            throw UsageError(QStringLiteral("--by-length: run %1 has %2 %3 cases, fewer than its split gives")
                                 .arg(e.runId).arg(ev->ranks.size()).arg(split));
          sub.push_back(ev->ranks[static_cast<size_t>(c)]);
        }
      row.perCase = !sub.empty();
      for (const QString& m : t.metrics) {
        MetricName name;
        if (!row.perCase || !MetricName::parse(m, &name)) continue;
        const std::vector<double> v = perCaseMetric(sub, name);
        row.values.insert(m, std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()));
      }
      ranks.push_back(std::move(sub));
    } else if (ev) {
      row.values = ev->metrics;
      row.perCase = !ev->ranks.empty();
      ranks.push_back(ev->ranks);
    } else {
      if (split == QLatin1String("test") && !group) row.values = l.run.test;
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

}  // namespace

ComparisonTable buildComparison(const ExperimentStore& store, const QVector<ComparisonEntry>& entries,
                                qint64 baselineRunId, const QString& split, const QStringList& metrics) {
  return tableOf(loadEntries(store, entries, split), baselineRunId, split, metrics, nullptr);
}

QVector<ComparisonTable> buildComparisons(const ExperimentStore& store, const QVector<ComparisonEntry>& entries,
                                          qint64 baselineRunId, const QString& split, const QStringList& metrics,
                                          const QVector<CaseGroup>& groups) {
  const QVector<LoadedEntry> loaded = loadEntries(store, entries, split);
  requireOneSplit(loaded);
  QVector<ComparisonTable> tables;
  for (const CaseGroup& g : groups) tables.append(tableOf(loaded, baselineRunId, split, metrics, &g));
  return tables;
}

ComparisonTable buildComparison(const ExperimentStore& store, const QVector<qint64>& runIds, qint64 baselineRunId,
                                const QString& split, const QStringList& metrics) {
  QVector<ComparisonEntry> entries;
  for (qint64 id : runIds) entries.append({id, QStringLiteral("final")});
  return buildComparison(store, entries, baselineRunId, split, metrics);
}

}  // namespace rr
