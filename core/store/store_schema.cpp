#include "core/store/store_schema.h"

namespace rr::store_schema {

namespace {

// Version 1: everything the studio stores today.
// Timestamps are ISO 8601 UTC text with milliseconds; JSON columns hold compact JSON text;
// a NULL metric value stands for NaN (SQLite stores NaN as NULL).
Migration version1() {
  return {1, QStringLiteral("initial schema"), {
    QStringLiteral(R"(CREATE TABLE meta(
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL))"),

    QStringLiteral(R"(CREATE TABLE datasets(
      id              INTEGER PRIMARY KEY AUTOINCREMENT,
      name            TEXT NOT NULL,
      source_path     TEXT NOT NULL DEFAULT '',
      format          TEXT NOT NULL DEFAULT '',
      fingerprint     TEXT NOT NULL UNIQUE,
      preprocess_json TEXT NOT NULL DEFAULT '{}',
      stats_json      TEXT NOT NULL DEFAULT '{}',
      users           INTEGER NOT NULL DEFAULT 0,
      items           INTEGER NOT NULL DEFAULT 0,
      interactions    INTEGER NOT NULL DEFAULT 0,
      data            BLOB NOT NULL,
      created_at      TEXT NOT NULL))"),

    QStringLiteral(R"(CREATE TABLE runs(
      id              INTEGER PRIMARY KEY AUTOINCREMENT,
      dataset_id      INTEGER REFERENCES datasets(id),
      name            TEXT NOT NULL DEFAULT '',
      preset          TEXT NOT NULL DEFAULT '',
      config_json     TEXT NOT NULL DEFAULT '{}',
      status          TEXT NOT NULL DEFAULT 'queued',
      stage           TEXT NOT NULL DEFAULT '',
      epochs_run      INTEGER NOT NULL DEFAULT 0,
      best_epoch      INTEGER NOT NULL DEFAULT 0,
      best_valid_json TEXT NOT NULL DEFAULT '{}',
      last_valid_json TEXT NOT NULL DEFAULT '{}',
      test_json       TEXT NOT NULL DEFAULT '{}',
      summary_json    TEXT NOT NULL DEFAULT '{}',
      tags            TEXT NOT NULL DEFAULT '[]',
      notes           TEXT NOT NULL DEFAULT '',
      error           TEXT NOT NULL DEFAULT '',
      device          TEXT NOT NULL DEFAULT '',
      wall_seconds    REAL NOT NULL DEFAULT 0,
      created_at      TEXT NOT NULL,
      started_at      TEXT,
      finished_at     TEXT))"),
    QStringLiteral("CREATE INDEX runs_by_dataset ON runs(dataset_id)"),
    QStringLiteral("CREATE INDEX runs_by_status ON runs(status)"),

    QStringLiteral(R"(CREATE TABLE metrics(
      run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      stage     TEXT NOT NULL,
      step      INTEGER NOT NULL,
      epoch     INTEGER NOT NULL DEFAULT 0,
      name      TEXT NOT NULL,
      value     REAL,
      wall_time REAL NOT NULL DEFAULT 0))"),
    QStringLiteral("CREATE INDEX metrics_series ON metrics(run_id, name, stage, step)"),

    QStringLiteral(R"(CREATE TABLE evaluations(
      id             INTEGER PRIMARY KEY AUTOINCREMENT,
      run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      stage          TEXT NOT NULL,
      split          TEXT NOT NULL,
      label          TEXT NOT NULL,
      overrides_json TEXT NOT NULL DEFAULT '{}',
      metrics_json   TEXT NOT NULL DEFAULT '{}',
      ranks          BLOB,
      created_at     TEXT NOT NULL,
      UNIQUE(run_id, stage, split, label)))"),

    QStringLiteral(R"(CREATE TABLE checkpoints(
      run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      stage      TEXT NOT NULL,
      kind       TEXT NOT NULL,
      epoch      INTEGER NOT NULL DEFAULT 0,
      path       TEXT NOT NULL,
      metric     REAL,
      created_at TEXT NOT NULL,
      UNIQUE(run_id, stage, kind)))"),

    QStringLiteral(R"(CREATE TABLE analyses(
      id           INTEGER PRIMARY KEY AUTOINCREMENT,
      kind         TEXT NOT NULL,
      run_ids_json TEXT NOT NULL DEFAULT '[]',
      params_json  TEXT NOT NULL DEFAULT '{}',
      result_json  TEXT NOT NULL DEFAULT '{}',
      created_at   TEXT NOT NULL))"),
    QStringLiteral("CREATE INDEX analyses_by_kind ON analyses(kind)"),
    QStringLiteral(R"(CREATE TABLE analysis_runs(
      analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
      run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      PRIMARY KEY(analysis_id, run_id)))"),
    QStringLiteral("CREATE INDEX analysis_runs_by_run ON analysis_runs(run_id)"),

    QStringLiteral(R"(CREATE TABLE saved_configs(
      id          INTEGER PRIMARY KEY AUTOINCREMENT,
      name        TEXT NOT NULL UNIQUE,
      config_json TEXT NOT NULL,
      created_at  TEXT NOT NULL))"),
  }};
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {version1()};
  return all;
}

int currentVersion() { return migrations().back().version; }

}  // namespace rr::store_schema
