#pragma once
// Helpers shared by the store tests: raw SQL access to a store's own connection (to count rows,
// read PRAGMAs and simulate a full disk) and a small hand-made dataset.
#include "core/data/sequence_data.h"

#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QVariant>

namespace rr::test {

/// The Qt SQL connection an ExperimentStore opened on `path` (same thread only).
inline QSqlDatabase storeConnection(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  for (const QString& name : QSqlDatabase::connectionNames()) {
    QSqlDatabase db = QSqlDatabase::database(name, false);
    if (db.databaseName() == absolute) return db;
  }
  return {};
}

/// First column of the first row of `sql` on `db` (invalid QVariant on error).
inline QVariant sqlValue(const QSqlDatabase& db, const QString& sql) {
  QSqlQuery q(db);
  if (!q.exec(sql) || !q.next()) return {};
  return q.value(0);
}

inline qint64 countRows(const QSqlDatabase& db, const QString& table, const QString& where = {}) {
  return sqlValue(db, QStringLiteral("SELECT COUNT(*) FROM %1%2")
                          .arg(table, where.isEmpty() ? QString() : QStringLiteral(" WHERE ") + where))
      .toLongLong();
}

inline SequenceData tinyDataset() {
  SequenceData d;
  d.numItems = 4;
  d.sequences = {{1, 2, 3}, {2, 3, 4, 1}, {4, 4, 2}};
  d.timestamps = {{1.0, 2.0, 3.0}, {1.5, 2.5, 3.5, 4.5}, {7.0, 8.0, 9.0}};
  d.userIds = {QStringLiteral("alice"), QStringLiteral("bob"), QStringLiteral("carol")};
  d.itemIds = {QString(), QStringLiteral("i1"), QStringLiteral("i2"), QStringLiteral("i3"), QStringLiteral("i4")};
  return d;
}

}  // namespace rr::test
