// SQLite AlertLog: the webhook delivery log in the store's database (sqlite::SqliteDb).
#include <mutex>

#include "collector/store/sqlite_db.h"
#include "collector/store/sqlite_roles.h"

namespace jostle::collector {
namespace {

using sqlite::Connection;
using sqlite::SqliteDb;
using sqlite::Statement;
using sqlite::Transaction;
using ReadLease = SqliteDb::ReadLease;

class SqliteAlertLog final : public AlertLog {
 public:
  explicit SqliteAlertLog(std::shared_ptr<SqliteDb> db)
      : db_(std::move(db)), write_mu_(db_->write_mu()), writer_(&db_->writer()) {}

  Status RecordAlert(const AlertRecord& alert) override;
  Result<std::vector<AlertRecord>> ListAlerts(int limit) override;
  Result<bool> WasRunAlerted(std::string_view run, std::string_view target_key) override;
  Result<std::optional<int64_t>> LastAlertAt(std::string_view cooldown_key,
                                             std::string_view target_key) override;
  Result<int64_t> Prune(int64_t before_ns) override;

 private:
  Result<ReadLease> Reader() { return db_->Reader(); }

  const std::shared_ptr<SqliteDb> db_;
  std::mutex& write_mu_;  // db_->write_mu()
  Connection* writer_;    // &db_->writer(), only with write_mu_ held
};

Status SqliteAlertLog::RecordAlert(const AlertRecord& a) {
  std::lock_guard<std::mutex> lock(write_mu_);
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      writer_->Prepare("INSERT INTO alerts(run, job, cooldown_key, target, target_key, "
                       "delivered, status, attempts, error, at_ns) "
                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  q.Bind(1, a.run);
  q.Bind(2, a.job);
  q.Bind(3, a.cooldown_key);
  q.Bind(4, a.target);
  q.Bind(5, a.target_key);
  q.Bind(6, a.delivered);
  q.Bind(7, a.status);
  q.Bind(8, a.attempts);
  q.Bind(9, a.error);
  q.Bind(10, a.at_ns);
  return q.Run();
}

Result<std::vector<AlertRecord>> SqliteAlertLog::ListAlerts(int limit) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      lease.conn().Prepare("SELECT id, run, job, cooldown_key, target, target_key, delivered, "
                           "status, attempts, error, at_ns FROM alerts "
                           "ORDER BY at_ns DESC, id DESC LIMIT ?1"));
  q.Bind(1, limit);
  std::vector<AlertRecord> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    AlertRecord a;
    a.id = q.Int64(0);
    a.run = q.Text(1);
    a.job = q.Text(2);
    a.cooldown_key = q.Text(3);
    a.target = q.Text(4);
    a.target_key = q.Text(5);
    a.delivered = q.Int64(6) != 0;
    a.status = static_cast<int>(q.Int64(7));
    a.attempts = static_cast<int>(q.Int64(8));
    a.error = q.Text(9);
    a.at_ns = q.Int64(10);
    out.push_back(std::move(a));
  }
  return out;
}

Result<bool> SqliteAlertLog::WasRunAlerted(std::string_view run, std::string_view target_key) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(Statement q,
                         lease.conn().Prepare("SELECT 1 FROM alerts WHERE run = ?1 AND "
                                              "target_key = ?2 AND delivered = 1 LIMIT 1"));
  q.Bind(1, run);
  q.Bind(2, target_key);
  return q.Step();
}

Result<std::optional<int64_t>> SqliteAlertLog::LastAlertAt(std::string_view cooldown_key,
                                                           std::string_view target_key) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(
      Statement q, lease.conn().Prepare("SELECT max(at_ns) FROM alerts WHERE cooldown_key = ?1 "
                                        "AND target_key = ?2 AND delivered = 1"));
  q.Bind(1, cooldown_key);
  q.Bind(2, target_key);
  STORE_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row || q.IsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(q.Int64(0));
}
Result<int64_t> SqliteAlertLog::Prune(int64_t before_ns) {
  int64_t deleted = 0;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(int64_t n,
                           db_->WriteStep("DELETE FROM alerts WHERE id IN (SELECT id FROM alerts "
                                          "WHERE at_ns < ?1 LIMIT ?2)",
                                          {before_ns, kPruneChunkRows}));
    deleted += n;
    if (n == 0) break;
  }
  return deleted;
}

}  // namespace

std::unique_ptr<AlertLog> NewSqliteAlertLog(std::shared_ptr<sqlite::SqliteDb> db) {
  return std::make_unique<SqliteAlertLog>(std::move(db));
}

}  // namespace jostle::collector
