#include "core/store/experiment_store.h"

#include "core/errors.h"
#include "core/store/store_schema.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>
#include <QVariant>
#include <QtEndian>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace rr {

namespace {

constexpr int kBusyTimeoutMs = 5000;  ///< how long a write waits for another writer
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QString nowText() { return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs); }

/// Qt SQL binds a null QString as SQL NULL; text columns are NOT NULL and store "" instead.
/// (A deliberate NULL is passed as an invalid QVariant.)
QString nonNull(const QString& s) { return s.isNull() ? QStringLiteral("") : s; }
QVariant bindable(const QVariant& v) {
  if (v.typeId() == QMetaType::QString) return nonNull(*static_cast<const QString*>(v.constData()));
  return v;
}

QVariant timeValue(const QDateTime& t) {
  return t.isValid() ? QVariant(t.toUTC().toString(Qt::ISODateWithMs)) : QVariant();
}

QDateTime parseTime(const QVariant& v) {
  if (v.isNull()) return {};
  return QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
}

QString jsonText(const QJsonObject& o) {
  return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}
QString jsonText(const QJsonArray& a) {
  return QString::fromUtf8(QJsonDocument(a).toJson(QJsonDocument::Compact));
}
QJsonObject parseObject(const QVariant& v) {
  return QJsonDocument::fromJson(v.toString().toUtf8()).object();
}
QJsonArray parseArray(const QVariant& v) {
  return QJsonDocument::fromJson(v.toString().toUtf8()).array();
}

/// Metric maps as JSON; non-finite values (which JSON cannot hold) are stored as null and read
/// back as NaN.
QString metricMapText(const QMap<QString, double>& m) {
  QJsonObject o;
  for (auto it = m.begin(); it != m.end(); ++it)
    o.insert(it.key(), std::isfinite(it.value()) ? QJsonValue(it.value()) : QJsonValue(QJsonValue::Null));
  return jsonText(o);
}
QMap<QString, double> parseMetricMap(const QVariant& v) {
  QMap<QString, double> m;
  const QJsonObject o = parseObject(v);
  for (auto it = o.begin(); it != o.end(); ++it)
    m.insert(it.key(), it.value().isDouble() ? it.value().toDouble() : kNaN);
  return m;
}

QVariant idOrNull(qint64 id) {
  return id > 0 ? QVariant(id) : QVariant();
}

/// Ranks blob: qCompress'd little-endian int32 array, one entry per case.
QByteArray encodeRanks(const std::vector<int32_t>& ranks) {
  QByteArray raw(static_cast<qsizetype>(ranks.size() * sizeof(int32_t)), Qt::Uninitialized);
  if (!ranks.empty()) qToLittleEndian<qint32>(ranks.data(), static_cast<qsizetype>(ranks.size()), raw.data());
  return qCompress(raw);
}

std::vector<int32_t> decodeRanks(const QByteArray& blob, qint64 evaluationId) {
  if (blob.isEmpty()) return {};
  const QByteArray raw = qUncompress(blob);
  if ((raw.isEmpty() && blob.size() > 4) || raw.size() % static_cast<qsizetype>(sizeof(int32_t)) != 0)
    throw Error(ExitCode::RunFailed,
                QStringLiteral("read evaluation %1: the stored ranks are corrupt").arg(evaluationId));
  std::vector<int32_t> ranks(static_cast<size_t>(raw.size()) / sizeof(int32_t));
  if (!ranks.empty()) qFromLittleEndian<qint32>(raw.constData(), static_cast<qsizetype>(ranks.size()), ranks.data());
  return ranks;
}

QString notFound(const char* what, qint64 id) {
  return QStringLiteral("%1 %2 not found").arg(QLatin1String(what)).arg(id);
}

const QString kRunColumns = QStringLiteral(
    "id, dataset_id, name, preset, config_json, status, stage, epochs_run, best_epoch, "
    "best_valid_json, last_valid_json, test_json, summary_json, tags, notes, error, device, "
    "wall_seconds, created_at, started_at, finished_at");

const QString kDatasetColumns = QStringLiteral(
    "id, name, source_path, format, fingerprint, preprocess_json, stats_json, created_at");

const QString kEvaluationColumns = QStringLiteral(
    "id, run_id, stage, split, label, overrides_json, metrics_json, ranks, created_at");

const QString kCheckpointColumns =
    QStringLiteral("run_id, stage, kind, epoch, path, metric, created_at");

const QString kAnalysisColumns =
    QStringLiteral("id, kind, run_ids_json, params_json, result_json, created_at");

}  // namespace

struct ExperimentStore::Impl {
  QString path;
  QString connection;
  QSqlDatabase db;

  ~Impl() {
    if (db.isValid()) db.close();
    db = QSqlDatabase();  // drop the last handle before removing the connection
    if (!connection.isEmpty()) QSqlDatabase::removeDatabase(connection);
  }

  [[noreturn]] static void fail(const QString& operation, const QSqlError& e) {
    const QString detail = e.databaseText().isEmpty() ? e.text() : e.databaseText();
    throw Error(ExitCode::RunFailed, operation + QStringLiteral(": ") + detail);
  }

  /// Prepares `sql`, binds `values` positionally and executes it.
  QSqlQuery exec(const QString& operation, const QString& sql, const QVariantList& values = {}) const {
    QSqlQuery q(db);
    q.setForwardOnly(true);
    if (!q.prepare(sql)) fail(operation, q.lastError());
    for (int i = 0; i < values.size(); ++i) q.bindValue(i, bindable(values[i]));
    if (!q.exec()) fail(operation, q.lastError());
    return q;
  }

  /// Runs statements without preparing (PRAGMA, BEGIN, COMMIT).
  QSqlQuery execRaw(const QString& operation, const QString& sql) const {
    QSqlQuery q(db);
    q.setForwardOnly(true);
    if (!q.exec(sql)) fail(operation, q.lastError());
    return q;
  }

  QVariant scalar(const QString& operation, const QString& sql, const QVariantList& values = {}) const {
    QSqlQuery q = exec(operation, sql, values);
    return q.next() ? q.value(0) : QVariant();
  }

  /// Runs `body` in one write transaction (BEGIN IMMEDIATE takes the write lock up front, so a
  /// concurrent writer waits on busy_timeout instead of failing on lock upgrade). Any exception
  /// rolls the transaction back and propagates: the database is left as before the call.
  template <class Body>
  auto transaction(const QString& operation, Body&& body) -> decltype(body()) {
    execRaw(operation, QStringLiteral("BEGIN IMMEDIATE"));
    try {
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        execRaw(operation, QStringLiteral("COMMIT"));
      } else {
        auto result = body();
        execRaw(operation, QStringLiteral("COMMIT"));
        return result;
      }
    } catch (...) {
      QSqlQuery rollback(db);
      rollback.exec(QStringLiteral("ROLLBACK"));  // may fail when SQLite already rolled back
      throw;
    }
  }

  int userVersion(const QString& operation) const {
    return scalar(operation, QStringLiteral("PRAGMA user_version")).toInt();
  }

  void migrate() {
    const int target = store_schema::currentVersion();
    const int found = userVersion(QStringLiteral("open ") + path);
    if (found > target) throwTooNew(found, target);
    if (found == target) return;
    for (const store_schema::Migration& m : store_schema::migrations()) {
      if (m.version <= found) continue;
      const QString op = QStringLiteral("migrate %1 to schema version %2 (%3)").arg(path).arg(m.version).arg(m.summary);
      transaction(op, [&] {
        // Another process may have migrated between our check and our write lock.
        const int now = userVersion(op);
        if (now > target) throwTooNew(now, target);
        if (now >= m.version) return;
        for (const QString& statement : m.statements) execRaw(op, statement);
        execRaw(op, QStringLiteral("PRAGMA user_version = %1").arg(m.version));
      });
    }
  }

  [[noreturn]] void throwTooNew(int found, int supported) const {
    throw Error(ExitCode::RunFailed,
                QStringLiteral("%1: schema version %2 is newer than this build of ReasonRec Studio "
                               "understands (%3); open the project with a newer version")
                    .arg(path).arg(found).arg(supported));
  }

  /// UPDATE one run in a transaction; throws Error(Usage) when the run does not exist.
  void updateRun(const QString& operation, qint64 id, const QString& assignments, QVariantList values) {
    transaction(operation, [&] {
      values.append(id);
      QSqlQuery q = exec(operation, QStringLiteral("UPDATE runs SET %1 WHERE id = ?").arg(assignments), values);
      if (q.numRowsAffected() == 0) throw Error(ExitCode::Usage, operation + QStringLiteral(": ") + notFound("run", id));
    });
  }

  static RunRecord readRun(const QSqlQuery& q) {
    RunRecord r;
    r.id = q.value(0).toLongLong();
    r.datasetId = q.value(1).isNull() ? 0 : q.value(1).toLongLong();
    r.name = q.value(2).toString();
    r.preset = q.value(3).toString();
    r.config = parseObject(q.value(4));
    r.status = parseRunStatus(q.value(5).toString());
    r.stage = q.value(6).toString();
    r.epochsRun = q.value(7).toInt();
    r.bestEpoch = q.value(8).toInt();
    r.bestValid = parseMetricMap(q.value(9));
    r.lastValid = parseMetricMap(q.value(10));
    r.test = parseMetricMap(q.value(11));
    r.summary = parseObject(q.value(12));
    for (const QJsonValue& t : parseArray(q.value(13))) r.tags.append(t.toString());
    r.notes = q.value(14).toString();
    r.error = q.value(15).toString();
    r.device = q.value(16).toString();
    r.wallSeconds = q.value(17).toDouble();
    r.createdAt = parseTime(q.value(18));
    r.startedAt = parseTime(q.value(19));
    r.finishedAt = parseTime(q.value(20));
    return r;
  }

  static DatasetRecord readDataset(const QSqlQuery& q) {
    DatasetRecord r;
    r.id = q.value(0).toLongLong();
    r.name = q.value(1).toString();
    r.sourcePath = q.value(2).toString();
    r.format = q.value(3).toString();
    r.fingerprint = q.value(4).toString();
    r.preprocess = parseObject(q.value(5));
    r.stats = DatasetStats::fromJson(parseObject(q.value(6)));
    r.createdAt = parseTime(q.value(7));
    return r;
  }

  static EvaluationRecord readEvaluation(const QSqlQuery& q) {
    EvaluationRecord r;
    r.id = q.value(0).toLongLong();
    r.runId = q.value(1).toLongLong();
    r.stage = q.value(2).toString();
    r.split = q.value(3).toString();
    r.label = q.value(4).toString();
    r.overrides = parseObject(q.value(5));
    r.metrics = parseMetricMap(q.value(6));
    r.ranks = decodeRanks(q.value(7).toByteArray(), r.id);
    r.createdAt = parseTime(q.value(8));
    return r;
  }

  static CheckpointRecord readCheckpoint(const QSqlQuery& q) {
    CheckpointRecord r;
    r.runId = q.value(0).toLongLong();
    r.stage = q.value(1).toString();
    r.kind = q.value(2).toString();
    r.epoch = q.value(3).toInt();
    r.path = q.value(4).toString();
    r.metric = q.value(5).isNull() ? kNaN : q.value(5).toDouble();
    r.createdAt = parseTime(q.value(6));
    return r;
  }

  static AnalysisRecord readAnalysis(const QSqlQuery& q) {
    AnalysisRecord r;
    r.id = q.value(0).toLongLong();
    r.kind = q.value(1).toString();
    for (const QJsonValue& v : parseArray(q.value(2))) r.runIds.append(v.toInteger());
    r.params = parseObject(q.value(3));
    r.result = parseObject(q.value(4));
    r.createdAt = parseTime(q.value(5));
    return r;
  }
};

// ---------------------------------------------------------------------------------------------
// Opening

ExperimentStore::ExperimentStore(const QString& databasePath) : d(std::make_unique<Impl>()) {
  // If anything below throws, d's destructor closes and removes the connection.
  d->path = QFileInfo(databasePath).absoluteFilePath();
  const QString openOp = QStringLiteral("open ") + d->path;
  if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE")))
    throw Error(ExitCode::RunFailed, openOp + QStringLiteral(": the Qt SQLite driver (QSQLITE) is not "
                                                             "installed (Debian: libqt6sql6-sqlite)"));
  d->connection = QStringLiteral("rr-store-") + QUuid::createUuid().toString(QUuid::WithoutBraces);
  d->db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), d->connection);
  d->db.setDatabaseName(d->path);
  d->db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(kBusyTimeoutMs));
  if (!d->db.open()) Impl::fail(openOp, d->db.lastError());

  d->execRaw(openOp, QStringLiteral("PRAGMA busy_timeout = %1").arg(kBusyTimeoutMs));
  d->execRaw(openOp, QStringLiteral("PRAGMA foreign_keys = ON"));
  // WAL: readers (the GUI) never block the writer (a training job) and a killed writer leaves
  // the database consistent. NORMAL sync is durable up to the last checkpoint of the WAL.
  d->execRaw(openOp, QStringLiteral("PRAGMA journal_mode = WAL"));
  d->execRaw(openOp, QStringLiteral("PRAGMA synchronous = NORMAL"));
  d->migrate();
}

ExperimentStore::~ExperimentStore() = default;

int ExperimentStore::currentSchemaVersion() { return store_schema::currentVersion(); }

int ExperimentStore::schemaVersion() const { return d->userVersion(QStringLiteral("read schema version")); }

QString ExperimentStore::databasePath() const { return d->path; }

qint64 ExperimentStore::dataVersion() const {
  return d->scalar(QStringLiteral("data version"), QStringLiteral("PRAGMA data_version")).toLongLong();
}

QString ExperimentStore::integrityCheck() const {
  QSqlQuery q = d->execRaw(QStringLiteral("integrity check"), QStringLiteral("PRAGMA integrity_check"));
  return q.next() ? q.value(0).toString() : QStringLiteral("integrity_check returned nothing");
}

// ---------------------------------------------------------------------------------------------
// Metadata

void ExperimentStore::setMeta(const QString& key, const QString& value) {
  const QString op = QStringLiteral("set project metadata '%1'").arg(key);
  d->transaction(op, [&] {
    d->exec(op, QStringLiteral("INSERT INTO meta(key, value) VALUES(?, ?) "
                               "ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
            {key, value});
  });
}

QString ExperimentStore::meta(const QString& key, const QString& fallback) const {
  QSqlQuery q = d->exec(QStringLiteral("read project metadata"),
                        QStringLiteral("SELECT value FROM meta WHERE key = ?"), {key});
  return q.next() ? q.value(0).toString() : fallback;
}

// ---------------------------------------------------------------------------------------------
// Datasets

qint64 ExperimentStore::addDataset(const DatasetRecord& record, const SequenceData& data) {
  const QString op = QStringLiteral("add dataset '%1'").arg(record.name);
  if (record.fingerprint.isEmpty())
    throw Error(ExitCode::Usage, op + QStringLiteral(": the dataset has no fingerprint"));
  const QByteArray blob = serializeSequenceData(data);
  return d->transaction(op, [&] {
    const QVariant existing = d->scalar(op, QStringLiteral("SELECT id FROM datasets WHERE fingerprint = ?"),
                                        {record.fingerprint});
    if (existing.isValid())
      throw Error(ExitCode::Usage, op + QStringLiteral(": dataset %1 has the same fingerprint (same source and "
                                                       "preprocessing)").arg(existing.toLongLong()));
    QSqlQuery q = d->exec(
        op,
        QStringLiteral("INSERT INTO datasets(name, source_path, format, fingerprint, preprocess_json, "
                       "stats_json, users, items, interactions, data, created_at) "
                       "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        {record.name, record.sourcePath, record.format, record.fingerprint, jsonText(record.preprocess),
         jsonText(record.stats.toJson()), record.stats.users, record.stats.items,
         record.stats.interactions, blob,
         record.createdAt.isValid() ? timeValue(record.createdAt) : QVariant(nowText())});
    return q.lastInsertId().toLongLong();
  });
}

std::optional<DatasetRecord> ExperimentStore::findDatasetByFingerprint(const QString& fingerprint) const {
  QSqlQuery q = d->exec(QStringLiteral("find dataset"),
                        QStringLiteral("SELECT %1 FROM datasets WHERE fingerprint = ?").arg(kDatasetColumns),
                        {fingerprint});
  if (!q.next()) return std::nullopt;
  return Impl::readDataset(q);
}

DatasetRecord ExperimentStore::dataset(qint64 id) const {
  QSqlQuery q = d->exec(QStringLiteral("read dataset"),
                        QStringLiteral("SELECT %1 FROM datasets WHERE id = ?").arg(kDatasetColumns), {id});
  if (!q.next()) throw Error(ExitCode::Usage, notFound("dataset", id));
  return Impl::readDataset(q);
}

QVector<DatasetRecord> ExperimentStore::datasets() const {
  QSqlQuery q = d->exec(QStringLiteral("list datasets"),
                        QStringLiteral("SELECT %1 FROM datasets ORDER BY id").arg(kDatasetColumns));
  QVector<DatasetRecord> out;
  while (q.next()) out.append(Impl::readDataset(q));
  return out;
}

SequenceData ExperimentStore::loadDatasetData(qint64 id) const {
  QByteArray blob;
  {
    QSqlQuery q = d->exec(QStringLiteral("load dataset"), QStringLiteral("SELECT data FROM datasets WHERE id = ?"), {id});
    if (!q.next()) throw Error(ExitCode::Usage, notFound("dataset", id));
    blob = q.value(0).toByteArray();
  }
  return deserializeSequenceData(blob);
}

void ExperimentStore::renameDataset(qint64 id, const QString& name) {
  const QString op = QStringLiteral("rename dataset %1").arg(id);
  d->transaction(op, [&] {
    QSqlQuery q = d->exec(op, QStringLiteral("UPDATE datasets SET name = ? WHERE id = ?"), {name, id});
    if (q.numRowsAffected() == 0) throw Error(ExitCode::Usage, op + QStringLiteral(": ") + notFound("dataset", id));
  });
}

void ExperimentStore::deleteDataset(qint64 id) {
  const QString op = QStringLiteral("delete dataset %1").arg(id);
  d->transaction(op, [&] {
    const qint64 users = d->scalar(op, QStringLiteral("SELECT COUNT(*) FROM runs WHERE dataset_id = ?"), {id}).toLongLong();
    if (users > 0)
      throw Error(ExitCode::Usage, op + QStringLiteral(": %1 run(s) use it; delete those runs first").arg(users));
    QSqlQuery q = d->exec(op, QStringLiteral("DELETE FROM datasets WHERE id = ?"), {id});
    if (q.numRowsAffected() == 0) throw Error(ExitCode::Usage, op + QStringLiteral(": ") + notFound("dataset", id));
  });
}

// ---------------------------------------------------------------------------------------------
// Runs

qint64 ExperimentStore::createRun(const RunRecord& r) {
  const QString op = QStringLiteral("create run");
  QJsonArray tags;
  for (const QString& t : r.tags) tags.append(t);
  const QString preset = !r.preset.isEmpty() ? r.preset : r.config.value(QStringLiteral("preset")).toString();
  return d->transaction(op, [&] {
    QSqlQuery q = d->exec(
        op,
        QStringLiteral("INSERT INTO runs(dataset_id, name, preset, config_json, status, stage, epochs_run, "
                       "best_epoch, best_valid_json, last_valid_json, test_json, summary_json, tags, notes, "
                       "error, device, wall_seconds, created_at, started_at, finished_at) "
                       "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        {idOrNull(r.datasetId), r.name, preset, jsonText(r.config), runStatusName(r.status), r.stage,
         r.epochsRun, r.bestEpoch, metricMapText(r.bestValid), metricMapText(r.lastValid),
         metricMapText(r.test), jsonText(r.summary), jsonText(tags), r.notes, r.error, r.device,
         r.wallSeconds, r.createdAt.isValid() ? timeValue(r.createdAt) : QVariant(nowText()),
         timeValue(r.startedAt), timeValue(r.finishedAt)});
    return q.lastInsertId().toLongLong();
  });
}

RunRecord ExperimentStore::run(qint64 id) const {
  std::optional<RunRecord> r = findRun(id);
  if (!r) throw Error(ExitCode::Usage, notFound("run", id));
  return *r;
}

std::optional<RunRecord> ExperimentStore::findRun(qint64 id) const {
  QSqlQuery q = d->exec(QStringLiteral("read run %1").arg(id),
                        QStringLiteral("SELECT %1 FROM runs WHERE id = ?").arg(kRunColumns), {id});
  if (!q.next()) return std::nullopt;
  return Impl::readRun(q);
}

QVector<RunRecord> ExperimentStore::runs() const {
  QSqlQuery q = d->exec(QStringLiteral("list runs"),
                        QStringLiteral("SELECT %1 FROM runs ORDER BY created_at DESC, id DESC").arg(kRunColumns));
  QVector<RunRecord> out;
  while (q.next()) out.append(Impl::readRun(q));
  return out;
}

void ExperimentStore::setRunStatus(qint64 id, RunStatus status, const QString& error) {
  d->updateRun(QStringLiteral("set status of run %1").arg(id), id, QStringLiteral("status = ?, error = ?"),
               {runStatusName(status), error});
}

void ExperimentStore::setRunStage(qint64 id, const QString& stage) {
  d->updateRun(QStringLiteral("set stage of run %1").arg(id), id, QStringLiteral("stage = ?"), {stage});
}

void ExperimentStore::setRunProgress(qint64 id, int epochsRun, int bestEpoch,
                                     const QMap<QString, double>& bestValid,
                                     const QMap<QString, double>& lastValid) {
  d->updateRun(QStringLiteral("record progress of run %1").arg(id), id,
               QStringLiteral("epochs_run = ?, best_epoch = ?, best_valid_json = ?, last_valid_json = ?"),
               {epochsRun, bestEpoch, metricMapText(bestValid), metricMapText(lastValid)});
}

void ExperimentStore::setRunResult(qint64 id, const QMap<QString, double>& test, const QJsonObject& summary,
                                   double wallSeconds) {
  d->updateRun(QStringLiteral("record result of run %1").arg(id), id,
               QStringLiteral("test_json = ?, summary_json = ?, wall_seconds = ?"),
               {metricMapText(test), jsonText(summary), wallSeconds});
}

void ExperimentStore::setRunStarted(qint64 id, const QString& device, const QDateTime& at) {
  d->updateRun(QStringLiteral("mark run %1 started").arg(id), id, QStringLiteral("started_at = ?, device = ?"),
               {at.isValid() ? timeValue(at) : QVariant(nowText()), device});
}

void ExperimentStore::setRunFinished(qint64 id) {
  d->updateRun(QStringLiteral("mark run %1 finished").arg(id), id, QStringLiteral("finished_at = ?"), {nowText()});
}

void ExperimentStore::setRunName(qint64 id, const QString& name) {
  d->updateRun(QStringLiteral("rename run %1").arg(id), id, QStringLiteral("name = ?"), {name});
}

void ExperimentStore::setRunTags(qint64 id, const QStringList& tags) {
  QJsonArray a;
  for (const QString& t : tags) a.append(t);
  d->updateRun(QStringLiteral("set tags of run %1").arg(id), id, QStringLiteral("tags = ?"), {jsonText(a)});
}

void ExperimentStore::setRunNotes(qint64 id, const QString& notes) {
  d->updateRun(QStringLiteral("set notes of run %1").arg(id), id, QStringLiteral("notes = ?"), {notes});
}

void ExperimentStore::setRunConfig(qint64 id, const QJsonObject& config) {
  QString assignments = QStringLiteral("config_json = ?");
  QVariantList values{jsonText(config)};
  if (config.contains(QStringLiteral("preset"))) {
    assignments += QStringLiteral(", preset = ?");
    values.append(config.value(QStringLiteral("preset")).toString());
  }
  d->updateRun(QStringLiteral("set configuration of run %1").arg(id), id, assignments, values);
}

void ExperimentStore::reopenRunStage(qint64 id, const QJsonObject& config, const QString& stage) {
  const QString op = QStringLiteral("reopen stage %1 of run %2").arg(stage).arg(id);
  d->transaction(op, [&] {
    QSqlQuery q = d->exec(op, QStringLiteral("UPDATE runs SET config_json = ? WHERE id = ?"), {jsonText(config), id});
    if (q.numRowsAffected() == 0) throw Error(ExitCode::Usage, op + QStringLiteral(": ") + notFound("run", id));
    d->exec(op, QStringLiteral("DELETE FROM evaluations WHERE run_id = ? AND stage = ? AND label = 'final'"), {id, stage});
  });
}

QStringList ExperimentStore::deleteRun(qint64 id) {
  const QString op = QStringLiteral("delete run %1").arg(id);
  return d->transaction(op, [&] {
    QStringList paths;
    {
      QSqlQuery q = d->exec(op, QStringLiteral("SELECT path FROM checkpoints WHERE run_id = ? ORDER BY rowid"), {id});
      while (q.next()) paths.append(q.value(0).toString());
    }
    // Cascades remove metrics, evaluations, checkpoints and analysis links.
    QSqlQuery q = d->exec(op, QStringLiteral("DELETE FROM runs WHERE id = ?"), {id});
    if (q.numRowsAffected() == 0) throw Error(ExitCode::Usage, op + QStringLiteral(": ") + notFound("run", id));
    return paths;
  });
}

int ExperimentStore::markOrphanedRunsInterrupted(const std::function<bool(qint64)>& isAlive) {
  const QString op = QStringLiteral("mark orphaned runs interrupted");
  QVector<qint64> orphans;
  {
    QSqlQuery q = d->exec(op, QStringLiteral("SELECT id FROM runs WHERE status IN ('running', 'paused') ORDER BY id"));
    while (q.next()) orphans.append(q.value(0).toLongLong());
  }
  orphans.erase(std::remove_if(orphans.begin(), orphans.end(), [&](qint64 id) { return isAlive(id); }),
                orphans.end());
  if (orphans.isEmpty()) return 0;
  return d->transaction(op, [&] {
    int changed = 0;
    for (qint64 id : orphans) {
      // Re-check the status inside the transaction: the owner may have finished meanwhile.
      QSqlQuery q = d->exec(op,
                            QStringLiteral("UPDATE runs SET status = 'interrupted' "
                                           "WHERE id = ? AND status IN ('running', 'paused')"),
                            {id});
      changed += q.numRowsAffected();
    }
    return changed;
  });
}

// ---------------------------------------------------------------------------------------------
// Metric series

void ExperimentStore::appendMetrics(const QVector<MetricRecord>& records) {
  if (records.isEmpty()) return;
  const QString op = QStringLiteral("append metrics");
  d->transaction(op, [&] {
    // One prepared statement reused for every row: ~10x faster than preparing per row.
    QSqlQuery q(d->db);
    q.setForwardOnly(true);
    if (!q.prepare(QStringLiteral("INSERT INTO metrics(run_id, stage, step, epoch, name, value, wall_time) "
                                  "VALUES(?, ?, ?, ?, ?, ?, ?)")))
      Impl::fail(op, q.lastError());
    for (const MetricRecord& m : records) {
      q.bindValue(0, m.run);
      q.bindValue(1, nonNull(m.stage));
      q.bindValue(2, m.step);
      q.bindValue(3, m.epoch);
      q.bindValue(4, nonNull(m.name));
      q.bindValue(5, m.value);  // NaN is stored as NULL by SQLite and read back as NaN
      q.bindValue(6, m.wallTime);
      if (!q.exec()) Impl::fail(op, q.lastError());
    }
  });
}

namespace {

QVector<MetricRecord> readMetricRows(QSqlQuery& q, qint64 runId) {
  QVector<MetricRecord> out;
  while (q.next()) {
    MetricRecord m;
    m.run = runId;
    m.stage = q.value(0).toString();
    m.step = q.value(1).toLongLong();
    m.epoch = q.value(2).toInt();
    m.name = q.value(3).toString();
    m.value = q.value(4).isNull() ? kNaN : q.value(4).toDouble();
    m.wallTime = q.value(5).toDouble();
    m.row = q.value(6).toLongLong();
    out.append(std::move(m));
  }
  return out;
}

}  // namespace

QVector<MetricRecord> ExperimentStore::metrics(qint64 runId, const QString& namePrefix) const {
  // Stages in the order they first appeared, then step, then insertion order.
  QString sql = QStringLiteral(
      "SELECT m.stage, m.step, m.epoch, m.name, m.value, m.wall_time, m.rowid FROM metrics m "
      "JOIN (SELECT stage, MIN(rowid) AS first_row FROM metrics WHERE run_id = ? GROUP BY stage) s "
      "ON s.stage = m.stage WHERE m.run_id = ?");
  QVariantList values{runId, runId};
  if (!namePrefix.isEmpty()) {
    sql += QStringLiteral(" AND substr(m.name, 1, ?) = ?");
    values << namePrefix.size() << namePrefix;
  }
  sql += QStringLiteral(" ORDER BY s.first_row, m.step, m.rowid");
  QSqlQuery q = d->exec(QStringLiteral("read metrics of run %1").arg(runId), sql, values);
  return readMetricRows(q, runId);
}

QVector<MetricRecord> ExperimentStore::metricsAfter(qint64 runId, qint64 afterRow) const {
  // Past a row, walk the table from that row on ("+run_id" keeps SQLite off the series index,
  // which would visit every row the run ever wrote): a poll then costs what was written since.
  const QString sql =
      afterRow > 0
          ? QStringLiteral("SELECT stage, step, epoch, name, value, wall_time, rowid FROM metrics "
                           "WHERE rowid > ? AND +run_id = ? ORDER BY rowid")
          : QStringLiteral("SELECT stage, step, epoch, name, value, wall_time, rowid FROM metrics "
                           "WHERE rowid > ? AND run_id = ? ORDER BY rowid");
  QSqlQuery q = d->exec(QStringLiteral("read new metrics of run %1").arg(runId), sql, {afterRow, runId});
  return readMetricRows(q, runId);
}

QStringList ExperimentStore::metricNames(qint64 runId) const {
  QSqlQuery q = d->exec(QStringLiteral("list metric names of run %1").arg(runId),
                        QStringLiteral("SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name"), {runId});
  QStringList out;
  while (q.next()) out.append(q.value(0).toString());
  return out;
}

void ExperimentStore::truncateMetrics(qint64 runId, const QString& stage, qint64 afterStep) {
  const QString op = QStringLiteral("truncate metrics of run %1").arg(runId);
  d->transaction(op, [&] {
    d->exec(op, QStringLiteral("DELETE FROM metrics WHERE run_id = ? AND stage = ? AND step > ?"),
            {runId, stage, afterStep});
  });
}

// ---------------------------------------------------------------------------------------------
// Evaluations

qint64 ExperimentStore::saveEvaluation(const EvaluationRecord& r) {
  const QString op = QStringLiteral("save evaluation of run %1").arg(r.runId);
  const QString label = r.label.isEmpty() ? QStringLiteral("final") : r.label;
  const QByteArray ranks = encodeRanks(r.ranks);
  return d->transaction(op, [&] {
    d->exec(op,
            QStringLiteral("INSERT INTO evaluations(run_id, stage, split, label, overrides_json, metrics_json, "
                           "ranks, created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT(run_id, stage, split, label) DO UPDATE SET "
                           "overrides_json = excluded.overrides_json, metrics_json = excluded.metrics_json, "
                           "ranks = excluded.ranks, created_at = excluded.created_at"),
            {r.runId, r.stage, r.split, label, jsonText(r.overrides), metricMapText(r.metrics), ranks,
             r.createdAt.isValid() ? timeValue(r.createdAt) : QVariant(nowText())});
    return d->scalar(op,
                     QStringLiteral("SELECT id FROM evaluations WHERE run_id = ? AND stage = ? AND split = ? "
                                    "AND label = ?"),
                     {r.runId, r.stage, r.split, label})
        .toLongLong();
  });
}

std::optional<EvaluationRecord> ExperimentStore::evaluation(qint64 runId, const QString& split,
                                                            const QString& label) const {
  const QString op = QStringLiteral("read evaluation of run %1").arg(runId);
  // Several stages may have an evaluation with this split and label: prefer the stage that
  // comes last in the run's configured stages (the final model), then the most recent.
  QStringList stages;
  for (const QJsonValue& s :
       parseObject(d->scalar(op, QStringLiteral("SELECT config_json FROM runs WHERE id = ?"), {runId}))
           .value(QStringLiteral("stages")).toArray())
    stages.append(s.toString());
  QSqlQuery q = d->exec(op,
                        QStringLiteral("SELECT %1 FROM evaluations WHERE run_id = ? AND split = ? AND label = ? "
                                       "ORDER BY created_at, id").arg(kEvaluationColumns),
                        {runId, split, label});
  std::optional<EvaluationRecord> best;
  int bestRank = -2;
  while (q.next()) {
    const int rank = static_cast<int>(stages.indexOf(q.value(2).toString()));
    if (rank >= bestRank) {
      best = Impl::readEvaluation(q);
      bestRank = rank;
    }
  }
  return best;
}

QVector<EvaluationRecord> ExperimentStore::evaluations(qint64 runId) const {
  QSqlQuery q = d->exec(QStringLiteral("list evaluations of run %1").arg(runId),
                        QStringLiteral("SELECT %1 FROM evaluations WHERE run_id = ? ORDER BY id").arg(kEvaluationColumns),
                        {runId});
  QVector<EvaluationRecord> out;
  while (q.next()) out.append(Impl::readEvaluation(q));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

void ExperimentStore::recordCheckpoint(const CheckpointRecord& r) {
  const QString op = QStringLiteral("record checkpoint of run %1").arg(r.runId);
  d->transaction(op, [&] {
    d->exec(op,
            QStringLiteral("INSERT INTO checkpoints(run_id, stage, kind, epoch, path, metric, created_at) "
                           "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, stage, kind) DO UPDATE SET "
                           "epoch = excluded.epoch, path = excluded.path, metric = excluded.metric, "
                           "created_at = excluded.created_at"),
            {r.runId, r.stage, r.kind, r.epoch, r.path, r.metric,
             r.createdAt.isValid() ? timeValue(r.createdAt) : QVariant(nowText())});
  });
}

std::optional<CheckpointRecord> ExperimentStore::checkpoint(qint64 runId, const QString& stage,
                                                            const QString& kind) const {
  QSqlQuery q = d->exec(QStringLiteral("read checkpoint of run %1").arg(runId),
                        QStringLiteral("SELECT %1 FROM checkpoints WHERE run_id = ? AND stage = ? AND kind = ?")
                            .arg(kCheckpointColumns),
                        {runId, stage, kind});
  if (!q.next()) return std::nullopt;
  return Impl::readCheckpoint(q);
}

QVector<CheckpointRecord> ExperimentStore::checkpoints(qint64 runId) const {
  QSqlQuery q = d->exec(QStringLiteral("list checkpoints of run %1").arg(runId),
                        QStringLiteral("SELECT %1 FROM checkpoints WHERE run_id = ? ORDER BY rowid").arg(kCheckpointColumns),
                        {runId});
  QVector<CheckpointRecord> out;
  while (q.next()) out.append(Impl::readCheckpoint(q));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Analyses

qint64 ExperimentStore::saveAnalysis(const AnalysisRecord& r) {
  const QString op = QStringLiteral("save %1 analysis").arg(r.kind);
  QJsonArray ids;
  for (qint64 id : r.runIds) ids.append(id);
  return d->transaction(op, [&] {
    QSqlQuery q = d->exec(op,
                          QStringLiteral("INSERT INTO analyses(kind, run_ids_json, params_json, result_json, "
                                         "created_at) VALUES(?, ?, ?, ?, ?)"),
                          {r.kind, jsonText(ids), jsonText(r.params), jsonText(r.result),
                           r.createdAt.isValid() ? timeValue(r.createdAt) : QVariant(nowText())});
    const qint64 id = q.lastInsertId().toLongLong();
    for (qint64 runId : r.runIds)
      d->exec(op, QStringLiteral("INSERT OR IGNORE INTO analysis_runs(analysis_id, run_id) VALUES(?, ?)"), {id, runId});
    return id;
  });
}

AnalysisRecord ExperimentStore::analysis(qint64 id) const {
  QSqlQuery q = d->exec(QStringLiteral("read analysis %1").arg(id),
                        QStringLiteral("SELECT %1 FROM analyses WHERE id = ?").arg(kAnalysisColumns), {id});
  if (!q.next()) throw Error(ExitCode::Usage, notFound("analysis", id));
  return Impl::readAnalysis(q);
}

QVector<AnalysisRecord> ExperimentStore::analyses(const QString& kind) const {
  QString sql = QStringLiteral("SELECT %1 FROM analyses").arg(kAnalysisColumns);
  QVariantList values;
  if (!kind.isEmpty()) {
    sql += QStringLiteral(" WHERE kind = ?");
    values.append(kind);
  }
  sql += QStringLiteral(" ORDER BY created_at DESC, id DESC");
  QSqlQuery q = d->exec(QStringLiteral("list analyses"), sql, values);
  QVector<AnalysisRecord> out;
  while (q.next()) out.append(Impl::readAnalysis(q));
  return out;
}

void ExperimentStore::deleteAnalysis(qint64 id) {
  const QString op = QStringLiteral("delete analysis %1").arg(id);
  d->transaction(op, [&] {
    QSqlQuery q = d->exec(op, QStringLiteral("DELETE FROM analyses WHERE id = ?"), {id});
    if (q.numRowsAffected() == 0) throw Error(ExitCode::Usage, op + QStringLiteral(": ") + notFound("analysis", id));
  });
}

// ---------------------------------------------------------------------------------------------
// Saved configurations

qint64 ExperimentStore::saveConfig(const QString& name, const QJsonObject& config) {
  const QString op = QStringLiteral("save configuration '%1'").arg(name);
  if (name.trimmed().isEmpty()) throw Error(ExitCode::Usage, op + QStringLiteral(": the name is empty"));
  return d->transaction(op, [&] {
    d->exec(op,
            QStringLiteral("INSERT INTO saved_configs(name, config_json, created_at) VALUES(?, ?, ?) "
                           "ON CONFLICT(name) DO UPDATE SET config_json = excluded.config_json, "
                           "created_at = excluded.created_at"),
            {name, jsonText(config), nowText()});
    return d->scalar(op, QStringLiteral("SELECT id FROM saved_configs WHERE name = ?"), {name}).toLongLong();
  });
}

QVector<SavedConfigRecord> ExperimentStore::savedConfigs() const {
  QSqlQuery q = d->exec(QStringLiteral("list saved configurations"),
                        QStringLiteral("SELECT id, name, config_json, created_at FROM saved_configs ORDER BY name"));
  QVector<SavedConfigRecord> out;
  while (q.next()) {
    SavedConfigRecord r;
    r.id = q.value(0).toLongLong();
    r.name = q.value(1).toString();
    r.config = parseObject(q.value(2));
    r.createdAt = parseTime(q.value(3));
    out.append(r);
  }
  return out;
}

void ExperimentStore::deleteSavedConfig(qint64 id) {
  const QString op = QStringLiteral("delete saved configuration %1").arg(id);
  d->transaction(op, [&] {
    QSqlQuery q = d->exec(op, QStringLiteral("DELETE FROM saved_configs WHERE id = ?"), {id});
    if (q.numRowsAffected() == 0)
      throw Error(ExitCode::Usage, op + QStringLiteral(": ") + notFound("saved configuration", id));
  });
}

}  // namespace rr
