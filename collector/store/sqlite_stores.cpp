// OpenSqliteStores: every role of the store over one SQLite file.
#include <memory>

#include "collector/store/sqlite_roles.h"
#include "collector/store/stores.h"

namespace jostle::collector {
namespace {

class SqliteStores final : public Stores {
 public:
  explicit SqliteStores(std::shared_ptr<sqlite::SqliteDb> db)
      : db_(db),
        samples_(NewSqliteSampleSource(db)),
        results_(NewSqliteResultStore(db)),
        analytics_(NewSqliteCiAnalytics(db)),
        alerts_(NewSqliteAlertLog(db)) {}

  SampleSource& samples() override { return *samples_; }
  ResultStore& results() override { return *results_; }
  CiAnalytics& analytics() override { return *analytics_; }
  AlertLog& alerts() override { return *alerts_; }
  Status Checkpoint() override { return db_->Checkpoint(); }

 private:
  std::shared_ptr<sqlite::SqliteDb> db_;
  std::unique_ptr<SampleSource> samples_;
  std::unique_ptr<ResultStore> results_;
  std::unique_ptr<CiAnalytics> analytics_;
  std::unique_ptr<AlertLog> alerts_;
};

}  // namespace

Result<std::unique_ptr<Stores>> OpenSqliteStores(const std::string& path,
                                                 const SqliteStoreOptions& options) {
  Result<std::shared_ptr<sqlite::SqliteDb>> db = sqlite::SqliteDb::Open(path, options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Stores>(std::make_unique<SqliteStores>(std::move(*db)));
}

}  // namespace jostle::collector
