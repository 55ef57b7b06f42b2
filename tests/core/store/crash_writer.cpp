// Helper of tst_store_crash_consistency: opens a project, creates a run marked running, holds
// its run lock and writes metrics, progress, checkpoints and evaluations as a training job
// would, forever, until the test kills it with SIGKILL.
// Usage: rr_store_crash_writer PROJECT_DIR
// Prints "ready <run id>" on stdout once the run exists and its lock is held.
#include "core/errors.h"
#include "core/project/project.h"
#include "core/store/experiment_store.h"

#include <QCoreApplication>
#include <QStringList>

#include <cstdio>

using namespace rr;

namespace {
constexpr int kBatch = 250;  // metric records per appendMetrics call (the test relies on it)
}

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);  // QLockFile records the process name of the owner
  const QStringList args = app.arguments();
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: rr_store_crash_writer PROJECT_DIR\n");
    return 2;
  }
  try {
    const Project project = Project::openOrCreate(args[1]);
    ExperimentStore store(project.databasePath());
    RunRecord r;
    r.name = QStringLiteral("killed mid-run");
    r.status = RunStatus::Running;
    const qint64 run = store.createRun(r);
    Project::RunLock lock = project.lockRun(run);
    store.setRunStarted(run, QStringLiteral("cpu"));
    std::printf("ready %lld\n", static_cast<long long>(run));
    std::fflush(stdout);

    for (qint64 step = 0;; ++step) {
      QVector<MetricRecord> batch;
      batch.reserve(kBatch);
      for (int i = 0; i < kBatch; ++i) {
        MetricRecord m;
        m.run = run;
        m.stage = QStringLiteral("spt");
        m.step = step;
        m.epoch = static_cast<int>(step / 10) + 1;
        m.name = QStringLiteral("loss/part%1").arg(i);
        m.value = 1.0 / static_cast<double>(step + 1 + i);
        m.wallTime = static_cast<double>(step);
        batch.append(m);
      }
      store.appendMetrics(batch);
      if (step % 10 == 9) {
        const int epoch = static_cast<int>(step / 10) + 1;
        store.setRunProgress(run, epoch, epoch, {{QStringLiteral("ndcg@10"), 0.01 * epoch}},
                             {{QStringLiteral("ndcg@10"), 0.01 * epoch}});
        CheckpointRecord c;
        c.runId = run;
        c.stage = QStringLiteral("spt");
        c.kind = QStringLiteral("last");
        c.epoch = epoch;
        c.path = QStringLiteral("checkpoints/run-%1/spt-last.pt").arg(run);
        store.recordCheckpoint(c);
        EvaluationRecord e;
        e.runId = run;
        e.stage = QStringLiteral("spt");
        e.split = QStringLiteral("valid");
        e.ranks.assign(5000, epoch);
        store.saveEvaluation(e);
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", qPrintable(e.message()));
    return static_cast<int>(e.code());
  }
}
