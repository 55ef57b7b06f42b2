#pragma once
/// \file
/// \brief Results of the analyses (SPEC §6) as plain C++/Qt structs, with the JSON form they
/// take in the store's analyses table. Plain C++: usable by views (no LibTorch).

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

namespace rr {

/// Analysis kinds a job can compute, in menu order: oracle, robustness, depth, attention,
/// efficiency, diversity.
QStringList analysisKinds();
/// Human title of a kind ("Oracle ceiling", ...); the kind itself when unknown.
QString analysisKindTitle(const QString& kind);

/// \brief Oracle ceiling of one run (PLR §6.5.2): every step/stream output ranked separately,
/// per case the best of them.
struct OracleRun {
  qint64 runId = 0;
  QString label;
  int steps = 1;    ///< S (including step 0)
  int streams = 1;  ///< M
  int cases = 0;
  double currentNdcg = 0, currentRecall = 0;  ///< the model's own ranking, @k
  double oracleNdcg = 0, oracleRecall = 0;    ///< per case the best candidate, @k
  struct Candidate {
    int step = 0;
    int stream = 0;
    bool final = false;   ///< the representation the model ranks with
    double ndcg = 0, recall = 0;
    double bestShare = 0; ///< fraction of cases where this candidate reaches the best rank
  };
  QVector<Candidate> candidates;
};
struct OracleResult {
  int k = 20;
  QString split = QStringLiteral("test");
  QVector<OracleRun> runs;
  QJsonObject toJson() const;
  static OracleResult fromJson(const QJsonObject& o);
};

/// \brief Metrics under random removal of history items (PLR §6.5.1).
struct RobustnessRun {
  qint64 runId = 0;
  QString label;
  QVector<double> drops;  ///< fractions, e.g. 0, 0.1, 0.2, 0.3
  QVector<double> ndcgMean, ndcgStd, recallMean, recallStd;  ///< per drop, over repetitions
};
struct RobustnessResult {
  int k = 20;
  int repetitions = 3;
  qint64 seed = 1;
  QString split = QStringLiteral("test");
  QVector<RobustnessRun> runs;
  QJsonObject toJson() const;
  static RobustnessResult fromJson(const QJsonObject& o);
};

/// \brief Test-time depth sweep of one run (LARES §3.4.2).
struct DepthRun {
  qint64 runId = 0;
  QString label;
  bool supported = true;  ///< false: the model has no depth to change (evaluated once)
  QVector<int> steps;
  QVector<QMap<QString, double>> metrics;  ///< per step count: "ndcg@20" -> value, ...
};
struct DepthResult {
  QString split = QStringLiteral("test");
  QVector<DepthRun> runs;
  QJsonObject toJson() const;
  static DepthResult fromJson(const QJsonObject& o);
};

/// \brief Cost of one run at one evaluation depth (LARES Table 4, PLR Table 4).
struct EfficiencyRow {
  qint64 runId = 0;
  QString label;
  int steps = 0;                ///< evaluation depth; 0 = as trained
  double parameters = 0;
  double flopsPerSample = 0;    ///< analytic, at the mean test history length
  double batch1P50 = 0, batch1P99 = 0;      ///< ms per request (represent + rank + top-10)
  double batch256P50 = 0, batch256P99 = 0;
  /// Median over interleaved requests of this row's latency / the first row's (paired; 1 for
  /// the first row, 0 where not measured side by side).
  double batch1Ratio = 0, batch256Ratio = 0;
  double throughput = 0;        ///< ranked users per second at batch 256 (from the p50)
  /// LibTorch operator calls of one batch-1 request on this device (countOperatorCalls; 0 in
  /// results stored before stop 29)
  qint64 batch1OperatorCalls = 0;
  double peakRssMb = 0;         ///< process peak resident memory after the measurement
};
struct EfficiencyResult {
  QString device;
  int threads = 0;
  QVector<EfficiencyRow> rows;
  QJsonObject toJson() const;
  static EfficiencyResult fromJson(const QJsonObject& o);
};

/// \brief Stream diversity D(t) = mean pairwise ‖h_{t,m} − h_{t,m'}‖² per step (PLR Thm 4.4)
/// and the distribution of gate weights across users.
struct DiversityRun {
  qint64 runId = 0;
  QString label;
  int steps = 1, streams = 1;
  QVector<double> diversityMean, diversityStd;  ///< per step, over cases
  bool hasGate = false;
  QVector<double> gateMean, gateStd;            ///< per stream
  int bins = 20;
  QVector<QVector<double>> gateHistogram;       ///< per stream: fraction of cases per bin on [0,1]
};
struct DiversityResult {
  QString split = QStringLiteral("test");
  QVector<DiversityRun> runs;
  QJsonObject toJson() const;
  static DiversityResult fromJson(const QJsonObject& o);
};

/// \brief Everything the reasoning inspector shows for one evaluation case of one run.
struct InspectorData {
  qint64 runId = 0;
  QString label;
  QString split = QStringLiteral("test");
  int caseIndex = 0;
  int user = 0;          ///< dense user id
  QString userId;        ///< original id
  QVector<int> history;  ///< the model's input window, oldest first
  QStringList historyLabels;
  int target = 0;
  QString targetLabel;
  int steps = 1, streams = 1;
  QVector<double> gate;  ///< per stream; empty without a gate
  struct Map {
    int step = 0, stream = 0, layer = 0;
    int itemKeys = 0;                 ///< keys 0..itemKeys-1 are history positions
    QVector<QVector<double>> weights; ///< [head][key]
  };
  QVector<Map> maps;
  QVector<QVector<int>> ranks;  ///< [step][stream] 0-based rank of the target
  int finalRank = 0;
  struct Top {
    int step = 0, stream = 0;
    QVector<int> items;
    QStringList labels;
    QVector<double> scores;
  };
  QVector<Top> top;  ///< top-10 per step and stream
  QJsonObject toJson() const;
  static InspectorData fromJson(const QJsonObject& o);
  /// Head-average of a map's weights: [key].
  static QVector<double> headAverage(const Map& m);
};

}  // namespace rr
