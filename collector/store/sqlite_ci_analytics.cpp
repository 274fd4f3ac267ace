// SQLite CiAnalytics: runs, durations, flaky tests and failure rates, read from the result
// store's tables in the same database (sqlite::SqliteDb) with pooled readers.
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

// Per (run, job, test) over a period: the CTE behind FlakyTests and GetCiMetrics.
constexpr std::string_view kTestRunsCte =
    "WITH t AS (SELECT test_id, run_id, job, "
    "MAX(CASE WHEN final = 1 AND outcome IN ('failed', 'error') THEN 1 ELSE 0 END) AS failed, "
    "MAX(CASE WHEN final = 1 AND outcome = 'passed' THEN 1 ELSE 0 END) AS passed, "
    "MAX(CASE WHEN final = 1 AND outcome = 'skipped' THEN 1 ELSE 0 END) AS skipped, "
    "MAX(CASE WHEN final = 0 AND outcome IN ('failed', 'error') THEN 1 ELSE 0 END) AS retried, "
    "MAX(time_ns) AS seen "
    "FROM executions WHERE time_ns >= ?1 GROUP BY test_id, run_id, job) ";
class SqliteCiAnalytics final : public CiAnalytics {
 public:
  explicit SqliteCiAnalytics(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {}

  Result<std::vector<RunSummary>> ListRuns(const RunFilter& filter) override;
  Result<std::map<std::string, double>> TestDurations(int per_test_limit) override;
  Result<std::vector<FlakyTest>> FlakyTests(int64_t since_ns) override;
  Result<CiMetrics> GetCiMetrics(int64_t since_ns, int limit) override;

 private:
  Result<ReadLease> Reader() { return db_->Reader(); }
  // The jobs of run row `run_id`, read on `conn`.
  Result<std::vector<JobSummary>> JobsOfRun(Connection& conn, int64_t run_id);

  const std::shared_ptr<SqliteDb> db_;
};

Result<std::vector<JobSummary>> SqliteCiAnalytics::JobsOfRun(Connection& conn, int64_t run_id) {
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      conn.Prepare("SELECT job, shard_index, shard_total, attempt, max(url), max(exit_code), "
                   "count(*), sum(tests), sum(failed) FROM uploads WHERE run_id = ?1 "
                   "GROUP BY job, shard_index, shard_total, attempt "
                   "ORDER BY job, shard_index, attempt"));
  q.Bind(1, run_id);
  std::vector<JobSummary> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    JobSummary j;
    j.job = q.Text(0);
    if (!q.IsNull(1) && !q.IsNull(2)) {
      j.shard_index = static_cast<int>(q.Int64(1));
      j.shard_total = static_cast<int>(q.Int64(2));
    }
    j.attempt = static_cast<int>(q.Int64(3));
    j.url = q.Text(4);
    if (!q.IsNull(5)) j.exit_code = static_cast<int>(q.Int64(5));
    j.uploads = static_cast<int>(q.Int64(6));
    j.tests = static_cast<int>(q.Int64(7));
    j.failed = static_cast<int>(q.Int64(8));
    out.push_back(std::move(j));
  }
  return out;
}

Result<std::vector<RunSummary>> SqliteCiAnalytics::ListRuns(const RunFilter& filter) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  Connection& conn = lease.conn();
  STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(conn, /*immediate=*/false));
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      conn.Prepare(
          "SELECT r.id, r.name, r.first_upload_ns, r.last_upload_ns, "
          "(SELECT count(*) FROM uploads u WHERE u.run_id = r.id), "
          "r.first_start_ns, r.last_end_ns, "
          "(SELECT count(*) FROM executions e WHERE e.run_id = r.id AND final = 1), "
          "(SELECT count(*) FROM executions e WHERE e.run_id = r.id AND final = 1 "
          " AND outcome IN ('failed', 'error')), "
          "(SELECT count(*) FROM executions e WHERE e.run_id = r.id AND final = 1 "
          " AND outcome = 'passed' AND EXISTS (SELECT 1 FROM executions p "
          " WHERE p.run_id = e.run_id AND p.job = e.job AND p.test_id = e.test_id "
          " AND p.final = 0 AND p.outcome IN ('failed', 'error'))), "
          "r.commit_sha, r.branch, r.default_branch, r.on_default, r.pr, r.provider "
          "FROM runs r WHERE (?2 = '' OR r.branch = ?2) "
          "AND (?3 = '' OR substr(r.commit_sha, 1, length(?3)) = ?3) "
          "AND (?4 = '' OR EXISTS (SELECT 1 FROM uploads u WHERE u.job = ?4 AND u.run_id = r.id)) "
          "AND (?5 IS NULL OR coalesce(r.first_start_ns, r.first_upload_ns) >= ?5) "
          "ORDER BY r.last_upload_ns DESC, r.id DESC LIMIT ?1"));
  q.Bind(1, filter.limit);
  q.Bind(2, filter.branch);
  q.Bind(3, filter.commit);
  q.Bind(4, filter.job);
  q.Bind(5, filter.since_ns);
  std::vector<std::pair<int64_t, RunSummary>> rows;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    RunSummary r;
    r.run = q.Text(1);
    r.first_upload_ns = q.Int64(2);
    r.last_upload_ns = q.Int64(3);
    r.uploads = static_cast<int>(q.Int64(4));
    r.first_start_ns = q.OptInt64(5);
    r.last_end_ns = q.OptInt64(6);
    r.tests = static_cast<int>(q.Int64(7));
    r.failed = static_cast<int>(q.Int64(8));
    r.flaky = static_cast<int>(q.Int64(9));
    r.identity.commit = q.Text(10);
    r.identity.branch = q.Text(11);
    r.identity.default_branch = q.Text(12);
    if (!q.IsNull(13)) r.identity.on_default_branch = q.Int64(13) != 0;
    r.identity.pr = q.Text(14);
    r.identity.provider = q.Text(15);
    rows.emplace_back(q.Int64(0), std::move(r));
  }
  std::vector<RunSummary> out;
  out.reserve(rows.size());
  for (auto& [id, r] : rows) {
    STORE_ASSIGN_OR_RETURN(r.jobs, JobsOfRun(conn, id));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::map<std::string, double>> SqliteCiAnalytics::TestDurations(int per_test_limit) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      lease.conn().Prepare(
          "SELECT test_id, avg(duration_s) FROM (SELECT test_id, duration_s, "
          "row_number() OVER (PARTITION BY test_id ORDER BY time_ns DESC, id DESC) AS n "
          "FROM executions WHERE outcome = 'passed') WHERE n <= ?1 GROUP BY test_id"));
  q.Bind(1, per_test_limit);
  std::map<std::string, double> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.emplace(q.Text(0), q.Double(1));
  }
  return out;
}

Result<std::vector<FlakyTest>> SqliteCiAnalytics::FlakyTests(int64_t since_ns) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(
      Statement q, lease.conn().Prepare(
                       std::string(kTestRunsCte) +
                       "SELECT test_id, count(*), sum(passed), sum(failed), sum(passed * retried), "
                       "max(seen) FROM t GROUP BY test_id "
                       "HAVING sum(passed * retried) > 0 OR (sum(passed) > 0 AND sum(failed) > 0) "
                       "ORDER BY sum(passed * retried) + sum(failed) DESC, test_id"));
  q.Bind(1, since_ns);
  std::vector<FlakyTest> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    FlakyTest f;
    f.test_id = q.Text(0);
    f.runs = static_cast<int>(q.Int64(1));
    f.passed = static_cast<int>(q.Int64(2));
    f.failed = static_cast<int>(q.Int64(3));
    f.passed_on_retry = static_cast<int>(q.Int64(4));
    f.last_seen_ns = q.Int64(5);
    out.push_back(std::move(f));
  }
  return out;
}

Result<CiMetrics> SqliteCiAnalytics::GetCiMetrics(int64_t since_ns, int limit) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  Connection& conn = lease.conn();
  STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(conn, /*immediate=*/false));
  CiMetrics m;
  {
    STORE_ASSIGN_OR_RETURN(
        Statement q,
        conn.Prepare(std::string(kTestRunsCte) +
                     "SELECT count(DISTINCT run_id), count(*), coalesce(sum(failed), 0), "
                     "coalesce(sum(passed * retried), 0), coalesce(sum(skipped), 0) FROM t"));
    q.Bind(1, since_ns);
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) {
      m.runs = static_cast<int>(q.Int64(0));
      m.test_runs = static_cast<int>(q.Int64(1));
      m.failed = static_cast<int>(q.Int64(2));
      m.flaky = static_cast<int>(q.Int64(3));
      m.skipped = static_cast<int>(q.Int64(4));
    }
  }
  auto rates = [&](std::string_view sql, std::vector<FailureRate>& out, bool limited) -> Status {
    STORE_ASSIGN_OR_RETURN(Statement q, conn.Prepare(sql));
    q.Bind(1, since_ns);
    if (limited) q.Bind(2, limit);
    for (;;) {
      STORE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return Status::Ok();
      FailureRate r;
      r.key = q.Text(0);
      r.runs = static_cast<int>(q.Int64(1));
      r.failed = static_cast<int>(q.Int64(2));
      r.flaky = static_cast<int>(q.Int64(3));
      r.rate = r.runs > 0 ? static_cast<double>(r.failed) / r.runs : 0;
      out.push_back(std::move(r));
    }
  };
  JOSTLE_RETURN_IF_ERROR(rates(std::string(kTestRunsCte) +
                                   "SELECT test_id, count(*), sum(failed), sum(passed * retried) "
                                   "FROM t GROUP BY test_id HAVING sum(failed) > 0 "
                                   "ORDER BY 1.0 * sum(failed) / count(*) DESC, sum(failed) DESC, "
                                   "test_id LIMIT ?2",
                               m.per_test, true));
  JOSTLE_RETURN_IF_ERROR(rates(std::string(kTestRunsCte) +
                                   "SELECT job, count(*), sum(failed), sum(passed * retried) "
                                   "FROM t GROUP BY job "
                                   "ORDER BY 1.0 * sum(failed) / count(*) DESC, job",
                               m.per_job, false));
  {
    STORE_ASSIGN_OR_RETURN(
        Statement q,
        conn.Prepare("SELECT test_id, avg(duration_s), max(duration_s), count(*) FROM executions "
                     "WHERE time_ns >= ?1 AND final = 1 AND outcome = 'passed' "
                     "GROUP BY test_id ORDER BY 2 DESC, test_id LIMIT ?2"));
    q.Bind(1, since_ns);
    q.Bind(2, limit);
    for (;;) {
      STORE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      m.slowest.push_back({q.Text(0), q.Double(1), q.Double(2), static_cast<int>(q.Int64(3))});
    }
  }
  return m;
}

}  // namespace

std::unique_ptr<CiAnalytics> NewSqliteCiAnalytics(std::shared_ptr<sqlite::SqliteDb> db) {
  return std::make_unique<SqliteCiAnalytics>(std::move(db));
}

}  // namespace jostle::collector
