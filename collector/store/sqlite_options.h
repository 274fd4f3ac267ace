// How the SQLite store opens its database file (OpenSqliteStores, sqlite::SqliteDb).
#pragma once

namespace jostle::collector {

struct SqliteStoreOptions {
  // PRAGMA synchronous=FULL (true) or NORMAL. See sqlite_db.h: FULL is what makes an
  // acknowledged batch survive power loss; NORMAL only survives a process crash. Keep true
  // for the collector; `jostle run` (a throw-away local database) may turn it off.
  bool durable_commits = true;
  int busy_timeout_ms = 5000;  // how long a statement waits for another process's lock
  int max_readers = 4;         // read connections for a file database (none for :memory:)
};

}  // namespace jostle::collector
