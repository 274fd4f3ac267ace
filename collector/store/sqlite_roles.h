// The roles of the SQLite store, each implemented in its own source file over one
// sqlite::SqliteDb (sqlite_sample_source.cpp, sqlite_result_store.cpp,
// sqlite_ci_analytics.cpp, sqlite_alert_log.cpp); OpenSqliteStores (sqlite_stores.cpp) opens
// the database and builds all four. Private to the store module.
#pragma once

#include <memory>

#include "collector/store/alert_log.h"
#include "collector/store/ci_analytics.h"
#include "collector/store/result_store.h"
#include "collector/store/sample_source.h"
#include "collector/store/sqlite_db.h"

namespace jostle::collector {

std::unique_ptr<SampleSource> NewSqliteSampleSource(std::shared_ptr<sqlite::SqliteDb> db);
std::unique_ptr<ResultStore> NewSqliteResultStore(std::shared_ptr<sqlite::SqliteDb> db);
std::unique_ptr<CiAnalytics> NewSqliteCiAnalytics(std::shared_ptr<sqlite::SqliteDb> db);
std::unique_ptr<AlertLog> NewSqliteAlertLog(std::shared_ptr<sqlite::SqliteDb> db);

// Rows a prune step deletes (each step is one short write transaction).
inline constexpr int kPruneChunkRows = 5000;

}  // namespace jostle::collector
