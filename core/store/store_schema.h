#pragma once
/// \file
/// \brief Schema of project.db as an ordered list of forward migrations (internal to the store).

#include <QString>
#include <QStringList>
#include <vector>

namespace rr::store_schema {

/// \brief One forward step: applying `statements` to a database at version - 1 gives `version`.
/// Steps are applied in order, each in its own transaction, and never edited once released:
/// a change to the schema is a new step appended to the list.
struct Migration {
  int version;
  QString summary;
  QStringList statements;
};

/// All migrations, ordered by version (1, 2, ...).
const std::vector<Migration>& migrations();
/// The version a fully migrated database has (`PRAGMA user_version`).
int currentVersion();

}  // namespace rr::store_schema
