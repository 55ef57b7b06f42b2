#include "core/jobs/import_job.h"

#include "core/data/synthetic.h"
#include "core/errors.h"
#include "core/project/project.h"
#include "core/store/experiment_store.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

namespace rr {

QString datasetFingerprint(const ImportRequest& request) {
  QCryptographicHash hash(QCryptographicHash::Sha1);
  if (isSyntheticSpec(request.source)) {
    hash.addData(parseSyntheticSpec(request.source).toSpec().toUtf8());
  } else {
    QFile f(request.source);
    if (!f.open(QIODevice::ReadOnly))
      throw DataError(request.source, 0, QStringLiteral("cannot open: %1").arg(f.errorString()));
    if (!hash.addData(&f)) throw DataError(request.source, 0, QStringLiteral("cannot read: %1").arg(f.errorString()));
    // RecBole titles live in a sibling .item file; they are part of what gets imported.
    const QFileInfo fi(request.source);
    QFile items(fi.absolutePath() + QLatin1Char('/') + fi.completeBaseName() + QStringLiteral(".item"));
    if (fi.suffix() == QLatin1String("inter") && items.open(QIODevice::ReadOnly)) hash.addData(&items);
  }
  hash.addData(dataFormatName(request.format).toUtf8());
  hash.addData(QJsonDocument(request.preprocess.toJson()).toJson(QJsonDocument::Compact));
  return QString::fromLatin1(hash.result().toHex());
}

qint64 importDataset(const ImportRequest& request, ExperimentStore& store, const ReadProgress& progress,
                     bool* reused) {
  const QString fingerprint = datasetFingerprint(request);
  if (auto existing = store.findDatasetByFingerprint(fingerprint)) {
    if (reused) *reused = true;
    return existing->id;
  }
  if (reused) *reused = false;
  const bool synthetic = isSyntheticSpec(request.source);
  RawLog log = synthetic ? generateSynthetic(parseSyntheticSpec(request.source))
                         : readInteractions(request.source, request.format, progress);
  SequenceData data = preprocess(log, request.preprocess);
  data.validate(request.source);
  DatasetRecord rec;
  rec.name = !request.name.isEmpty() ? request.name
             : synthetic             ? QStringLiteral("synthetic")
                                     : QFileInfo(request.source).completeBaseName();
  rec.sourcePath = synthetic ? request.source : QFileInfo(request.source).absoluteFilePath();
  rec.format = synthetic ? QStringLiteral("synthetic") : dataFormatName(log.format);
  rec.fingerprint = fingerprint;
  rec.preprocess = request.preprocess.toJson();
  rec.stats = data.computeStats();
  return store.addDataset(rec, data);
}

ImportJob::ImportJob(ImportRequest request) : request_(std::move(request)) {}

QString ImportJob::title() const {
  return QStringLiteral("Import %1").arg(isSyntheticSpec(request_.source) ? request_.source
                                                                         : QFileInfo(request_.source).fileName());
}

void ImportJob::run() {
  Project project = Project::openOrCreate(request_.projectDir);
  ExperimentStore store(project.databasePath());
  QElapsedTimer timer;
  timer.start();
  EtaEstimator eta;
  bool started = false;
  bool reused = false;
  const qint64 id = importDataset(request_, store, [&](qint64 done, qint64 total) {
    checkpointCancel();
    if (!started) {
      eta.start(total);
      started = true;
    }
    const double secs = timer.nsecsElapsed() / 1e9;
    eta.update(done, secs);
    JobProgress p;
    p.phase = QStringLiteral("reading");
    p.phaseDone = done;
    p.phaseTotal = total;
    p.fraction = total > 0 ? 0.8 * done / total : 0;
    p.rate = eta.rate() / (1024.0 * 1024.0);
    p.rateUnit = QStringLiteral("MB/s");
    p.phaseEtaSeconds = eta.etaSeconds();
    p.etaSeconds = p.phaseEtaSeconds;
    p.elapsedSeconds = secs;
    reportProgress(p);
    return true;
  }, &reused);
  checkpointCancel();
  datasetId_ = id;
  const DatasetRecord rec = store.dataset(id);
  JobProgress done;
  done.fraction = 1;
  done.phase = QStringLiteral("done");
  done.elapsedSeconds = timer.nsecsElapsed() / 1e9;
  reportProgress(done);
  reportMessage(QStringLiteral("%1 dataset %2 '%3': %4 users, %5 items, %6 interactions")
                    .arg(reused ? QStringLiteral("reused") : QStringLiteral("imported"))
                    .arg(id)
                    .arg(rec.name)
                    .arg(rec.stats.users)
                    .arg(rec.stats.items)
                    .arg(rec.stats.interactions));
  setResult(QJsonObject{{QStringLiteral("dataset_id"), id},
                        {QStringLiteral("reused"), reused},
                        {QStringLiteral("stats"), rec.stats.toJson()}});
}

}  // namespace rr
