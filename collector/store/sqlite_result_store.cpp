// SQLite ResultStore: CI test results in the store's database (sqlite::SqliteDb): runs,
// uploads, one row per test attempt, and the cached window classification of executions.
//
// Threads: every write holds the database's write_mu() for its one transaction; reads use a
// pooled reader. Any thread may call any method.
#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "collector/store/schema.h"
#include "collector/store/sqlite_db.h"
#include "collector/store/sqlite_roles.h"

namespace jostle::collector {
namespace {

using sqlite::Connection;
using sqlite::NowNs;
using sqlite::SqliteDb;
using sqlite::Statement;
using sqlite::Transaction;
using ReadLease = SqliteDb::ReadLease;

// `stored` with every empty field of the run taken from `given` (per-run fields only).
RunIdentity MergeRunIdentityFields(const RunIdentity& stored, const RunIdentity& given) {
  RunIdentity out = stored;
  for (auto [to, from] : {std::pair{&out.commit, &given.commit},
                          {&out.branch, &given.branch},
                          {&out.default_branch, &given.default_branch},
                          {&out.pr, &given.pr},
                          {&out.provider, &given.provider}}) {
    if (to->empty()) *to = *from;
  }
  if (!out.on_default_branch) out.on_default_branch = given.on_default_branch;
  return out;
}

// The executions SELECT shared by RunExecutions and TestHistory.
constexpr std::string_view kExecutionColumns =
    "SELECT e.id, r.name, e.job, e.test_id, e.suite, e.classname, e.name, e.file, e.line, "
    "e.attempt, e.outcome, e.start_ns, e.duration_s, e.timing_approximate, e.message, "
    "e.details, e.node, e.pod_namespace, e.pod_name, e.final, e.upload_id, f.contended, "
    "f.resource FROM executions e JOIN runs r ON r.id = e.run_id "
    "LEFT JOIN execution_facts f ON f.execution_id = e.id ";

TestExecution ReadExecution(const Statement& s) {
  TestExecution e;
  e.id = s.Int64(0);
  e.run = s.Text(1);
  e.job = s.Text(2);
  e.test_id = s.Text(3);
  e.suite = s.Text(4);
  e.classname = s.Text(5);
  e.name = s.Text(6);
  e.file = s.Text(7);
  if (!s.IsNull(8)) e.line = static_cast<int>(s.Int64(8));
  e.attempt = static_cast<int>(s.Int64(9));
  e.outcome = ParseOutcomeName(s.TextView(10)).value_or(Outcome::kPassed);
  e.start_ns = s.OptInt64(11);
  e.duration_s = s.Double(12);
  e.timing_approximate = s.Int64(13) != 0;
  e.message = s.Text(14);
  e.details = s.Text(15);
  e.node = s.Text(16);
  e.pod_namespace = s.Text(17);
  e.pod_name = s.Text(18);
  e.final_attempt = s.Int64(19) != 0;
  e.upload_id = s.Int64(20);
  if (!s.IsNull(21)) {
    e.contended = s.Int64(21) != 0;
    e.contended_resource = s.Text(22);
  }
  return e;
}

class SqliteResultStore final : public ResultStore {
 public:
  explicit SqliteResultStore(std::shared_ptr<SqliteDb> db)
      : db_(std::move(db)), write_mu_(db_->write_mu()), writer_(&db_->writer()) {}

  Result<UploadSummary> PutResults(const ResultOrigin& origin, const ResultSet& set,
                                   const PodPlacement& placement) override;
  Result<std::vector<TestExecution>> RunExecutions(std::string_view run) override;
  Result<std::vector<TestExecution>> TestHistory(const HistoryQuery& query) override;
  Status PutJudgement(std::string_view run, const std::vector<JudgedFailureRow>& rows) override;
  Result<std::optional<StoredJudgement>> GetJudgement(std::string_view run) override;
  Result<std::vector<JudgedFailureRow>> JudgedFailures(std::string_view run, int offset,
                                                       int limit) override;
  Status SetContendedBatch(const std::vector<ContendedFact>& facts) override;
  Result<int64_t> Prune(int64_t before_ns) override;
  Result<std::vector<TestExecution>> RunExecutionsForReport(std::string_view run) override;

 private:
  Result<ReadLease> Reader() { return db_->Reader(); }
  // PutResults in its transaction: the run row (identity merged, conflicts refused), the
  // upload row, one row per attempt, then the upload's counts and the run's span.
  Result<UploadSummary> PutResultsLocked(const ResultOrigin& origin, const ResultSet& set,
                                         const PodPlacement& placement);
  // The uploads already stored for origin's (run, job, shard, attempt): the one with
  // origin.digest as a replay's answer, and how many other files there are.
  Result<UploadSummary> SameJobUploadsLocked(const ResultOrigin& origin);
  Result<int64_t> UpsertRunLocked(const ResultOrigin& origin, int64_t now);
  Result<int64_t> InsertUploadLocked(int64_t run_id, const ResultOrigin& origin,
                                     const ResultSet& set, int64_t now);
  Result<UploadSummary> InsertExecutionsLocked(int64_t run_id, int64_t upload_id,
                                               const ResultOrigin& origin, const ResultSet& set,
                                               const PodPlacement& placement, int64_t now);
  Status FinishUploadLocked(int64_t run_id, int64_t upload_id, const UploadSummary& summary);

  const std::shared_ptr<SqliteDb> db_;
  std::mutex& write_mu_;  // db_->write_mu()
  Connection* writer_;    // &db_->writer(), only with write_mu_ held
};

Result<UploadSummary> SqliteResultStore::PutResults(const ResultOrigin& origin,
                                                    const ResultSet& set,
                                                    const PodPlacement& placement) {
  if (origin.run.empty()) return Status::InvalidArgument("results upload has no run id");
  std::lock_guard<std::mutex> lock(write_mu_);
  return PutResultsLocked(origin, set, placement);
}

Result<UploadSummary> SqliteResultStore::SameJobUploadsLocked(const ResultOrigin& origin) {
  const RunIdentity& id = origin.identity;
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      writer_->Prepare("SELECT u.id, u.digest, u.tests, u.failed FROM uploads u JOIN runs r ON "
                       "r.id = u.run_id WHERE r.name = ?1 AND u.job = ?2 AND u.shard_index IS ?3 "
                       "AND u.shard_total IS ?4 AND u.attempt = ?5 ORDER BY u.id"));
  q.Bind(1, origin.run);
  q.Bind(2, origin.job);
  q.Bind(3, id.shard_index);
  q.Bind(4, id.shard_total);
  q.Bind(5, id.attempt.value_or(1));
  UploadSummary out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    if (!origin.digest.empty() && q.TextView(1) == origin.digest) {
      out.already_stored = true;
      out.upload_id = q.Int64(0);
      out.tests = static_cast<int>(q.Int64(2));
      out.failed = static_cast<int>(q.Int64(3));
    } else {
      ++out.other_files;
    }
  }
  return out;
}

Result<int64_t> SqliteResultStore::UpsertRunLocked(const ResultOrigin& origin, int64_t now) {
  const RunIdentity& given = origin.identity;
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      writer_->Prepare("INSERT INTO runs(name, first_upload_ns, last_upload_ns) "
                       "VALUES(?1, ?2, ?2) ON CONFLICT(name) DO UPDATE SET "
                       "last_upload_ns = max(last_upload_ns, excluded.last_upload_ns) "
                       "RETURNING id, commit_sha, branch, default_branch, on_default, pr, "
                       "provider"));
  q.Bind(1, origin.run);
  q.Bind(2, now);
  STORE_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::Internal("runs upsert returned no id");
  const int64_t run_id = q.Int64(0);
  RunIdentity stored;
  stored.commit = q.Text(1);
  stored.branch = q.Text(2);
  stored.default_branch = q.Text(3);
  if (!q.IsNull(4)) stored.on_default_branch = q.Int64(4) != 0;
  stored.pr = q.Text(5);
  stored.provider = q.Text(6);
  q.Reset();
  // A run has one commit, branch, pull request and CI: an upload naming others is refused.
  const std::pair<const char*, std::pair<const std::string*, const std::string*>> fields[] = {
      {"commit", {&stored.commit, &given.commit}},
      {"branch", {&stored.branch, &given.branch}},
      {"default_branch", {&stored.default_branch, &given.default_branch}},
      {"pr", {&stored.pr, &given.pr}},
      {"provider", {&stored.provider, &given.provider}},
  };
  for (const auto& [name, values] : fields) {
    if (!values.first->empty() && !values.second->empty() && *values.first != *values.second) {
      return Status::AlreadyExists("run '" + origin.run + "' has " + name + " '" + *values.first +
                                   "'; this upload says '" + *values.second +
                                   "'; nothing of it was stored");
    }
  }
  RunIdentity merged = MergeRunIdentityFields(stored, given);
  // What this upload says of the default branch, with the run's branch names filled in.
  RunIdentity said = given;
  if (said.branch.empty()) said.branch = merged.branch;
  if (said.default_branch.empty()) said.default_branch = merged.default_branch;
  const std::optional<bool> upload_default = said.IsDefaultBranch();
  const std::optional<bool> on_default =
      stored.on_default_branch ? stored.on_default_branch : upload_default;
  if (stored.on_default_branch && upload_default && *stored.on_default_branch != *upload_default) {
    return Status::AlreadyExists("run '" + origin.run + "' is " +
                                 (*stored.on_default_branch ? "" : "not ") +
                                 "on its default branch; this upload says otherwise; nothing of "
                                 "it was stored");
  }
  STORE_ASSIGN_OR_RETURN(Statement upd,
                         writer_->Prepare("UPDATE runs SET commit_sha = ?2, branch = ?3, "
                                          "default_branch = ?4, on_default = ?5, pr = ?6, "
                                          "provider = ?7 WHERE id = ?1"));
  upd.Bind(1, run_id);
  upd.Bind(2, merged.commit);
  upd.Bind(3, merged.branch);
  upd.Bind(4, merged.default_branch);
  upd.Bind(5, on_default);
  upd.Bind(6, merged.pr);
  upd.Bind(7, merged.provider);
  JOSTLE_RETURN_IF_ERROR(upd.Run());
  return run_id;
}

Result<int64_t> SqliteResultStore::InsertUploadLocked(int64_t run_id, const ResultOrigin& origin,
                                                      const ResultSet& set, int64_t now) {
  nlohmann::json warnings = set.warnings;
  const std::string warnings_json =
      warnings.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const RunIdentity& id = origin.identity;
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      writer_->Prepare("INSERT INTO uploads(run_id, job, pod_namespace, pod_name, node, "
                       "source, format, producer, warnings, received_ns, tests, failed, "
                       "shard_index, shard_total, attempt, url, exit_code, digest) "
                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, 0, ?11, ?12, ?13, "
                       "?14, ?15, ?16)"));
  q.Bind(1, run_id);
  q.Bind(2, origin.job);
  q.Bind(3, origin.pod_namespace);
  q.Bind(4, origin.pod_name);
  q.Bind(5, origin.node);
  q.Bind(6, origin.source);
  q.Bind(7, set.format);
  q.Bind(8, set.producer);
  q.Bind(9, warnings_json);
  q.Bind(10, now);
  q.Bind(11, id.shard_index);
  q.Bind(12, id.shard_total);
  q.Bind(13, id.attempt.value_or(1));
  q.Bind(14, id.url);
  q.Bind(15, id.exit_code);
  q.Bind(16, origin.digest);
  JOSTLE_RETURN_IF_ERROR(q.Run());
  return writer_->LastInsertRowid();
}

Result<UploadSummary> SqliteResultStore::InsertExecutionsLocked(int64_t run_id, int64_t upload_id,
                                                                const ResultOrigin& origin,
                                                                const ResultSet& set,
                                                                const PodPlacement& placement,
                                                                int64_t now) {
  auto resolve_node = [&](int64_t at_ns) -> std::string {
    return origin.node.empty() ? placement.NodeAt(at_ns) : origin.node;
  };
  STORE_ASSIGN_OR_RETURN(
      Statement max_attempt,
      writer_->Prepare("SELECT max(attempt) FROM executions WHERE run_id = ?1 AND job = ?2 "
                       "AND test_id = ?3"));
  STORE_ASSIGN_OR_RETURN(
      Statement clear_final,
      writer_->Prepare("UPDATE executions SET final = 0 WHERE run_id = ?1 AND job = ?2 AND "
                       "test_id = ?3 AND final = 1"));
  STORE_ASSIGN_OR_RETURN(
      Statement ins,
      writer_->Prepare("INSERT INTO executions(upload_id, run_id, job, test_id, suite, "
                       "classname, name, file, line, attempt, outcome, start_ns, duration_s, "
                       "timing_approximate, message, details, node, pod_namespace, pod_name, "
                       "final, time_ns) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                       "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"));
  std::unordered_map<std::string, bool> last_failed;  // test id -> last attempt failed
  for (size_t t = 0; t < set.tests.size(); ++t) {
    const TestCase& tc = set.tests[t];
    if (tc.id.empty()) {
      return Status::InvalidArgument("test #" + std::to_string(t + 1) + " ('" + tc.name +
                                     "') has no id; nothing of this upload was stored");
    }
    if (tc.attempts.empty()) {
      return Status::InvalidArgument("test '" + tc.id +
                                     "' has no attempts; nothing of this upload was stored");
    }
    max_attempt.Bind(1, run_id);
    max_attempt.Bind(2, origin.job);
    max_attempt.Bind(3, tc.id);
    STORE_ASSIGN_OR_RETURN(bool row, max_attempt.Step());
    int next = (row && !max_attempt.IsNull(0)) ? static_cast<int>(max_attempt.Int64(0)) + 1 : 0;
    max_attempt.Reset();
    if (next > 0) {
      clear_final.Bind(1, run_id);
      clear_final.Bind(2, origin.job);
      clear_final.Bind(3, tc.id);
      JOSTLE_RETURN_IF_ERROR(clear_final.Run());
      clear_final.Reset();
    }
    for (size_t a = 0; a < tc.attempts.size(); ++a) {
      const TestAttempt& at = tc.attempts[a];
      const int64_t time_ns = at.start_ns.value_or(now);
      const std::string node = resolve_node(time_ns);
      ins.Bind(1, upload_id);
      ins.Bind(2, run_id);
      ins.Bind(3, origin.job);
      ins.Bind(4, tc.id);
      ins.Bind(5, tc.suite);
      ins.Bind(6, tc.classname);
      ins.Bind(7, tc.name);
      ins.Bind(8, tc.file);
      ins.Bind(9, tc.line);
      ins.Bind(10, next + static_cast<int>(a));
      ins.Bind(11, OutcomeName(at.outcome));
      ins.Bind(12, at.start_ns);
      ins.Bind(13, at.duration_s);
      ins.Bind(14, at.timing_approximate);
      ins.Bind(15, at.message);
      ins.Bind(16, at.details);
      ins.Bind(17, node);
      ins.Bind(18, origin.pod_namespace);
      ins.Bind(19, origin.pod_name);
      ins.Bind(20, a + 1 == tc.attempts.size());
      ins.Bind(21, time_ns);
      JOSTLE_RETURN_IF_ERROR(ins.Run());
      ins.Reset();
    }
    last_failed[tc.id] = IsFailure(tc.attempts.back().outcome);
  }
  UploadSummary summary;
  summary.tests = static_cast<int>(last_failed.size());
  for (const auto& [id, failed] : last_failed) summary.failed += failed ? 1 : 0;
  return summary;
}

Status SqliteResultStore::FinishUploadLocked(int64_t run_id, int64_t upload_id,
                                             const UploadSummary& summary) {
  STORE_ASSIGN_OR_RETURN(
      Statement q, writer_->Prepare("UPDATE uploads SET tests = ?2, failed = ?3 WHERE id = ?1"));
  q.Bind(1, upload_id);
  q.Bind(2, summary.tests);
  q.Bind(3, summary.failed);
  JOSTLE_RETURN_IF_ERROR(q.Run());
  // Widens the run's span to the upload's tests with a start time.
  STORE_ASSIGN_OR_RETURN(
      Statement widen,
      writer_->Prepare("UPDATE runs SET first_start_ns = min(coalesce(first_start_ns, u.s), u.s), "
                       "last_end_ns = max(coalesce(last_end_ns, u.e), u.e) FROM (SELECT "
                       "min(start_ns) AS s, max(start_ns + CAST(duration_s * 1e9 AS INTEGER)) "
                       "AS e FROM executions WHERE upload_id = ?2 AND start_ns IS NOT NULL) u "
                       "WHERE runs.id = ?1 AND u.s IS NOT NULL"));
  widen.Bind(1, run_id);
  widen.Bind(2, upload_id);
  return widen.Run();
}

Result<UploadSummary> SqliteResultStore::PutResultsLocked(const ResultOrigin& origin,
                                                          const ResultSet& set,
                                                          const PodPlacement& placement) {
  STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*writer_, /*immediate=*/true));
  STORE_ASSIGN_OR_RETURN(UploadSummary same_job, SameJobUploadsLocked(origin));
  if (same_job.already_stored) return same_job;  // a replay: the transaction wrote nothing
  const int64_t now = NowNs();
  STORE_ASSIGN_OR_RETURN(int64_t run_id, UpsertRunLocked(origin, now));
  STORE_ASSIGN_OR_RETURN(int64_t upload_id, InsertUploadLocked(run_id, origin, set, now));
  STORE_ASSIGN_OR_RETURN(UploadSummary summary,
                         InsertExecutionsLocked(run_id, upload_id, origin, set, placement, now));
  JOSTLE_RETURN_IF_ERROR(FinishUploadLocked(run_id, upload_id, summary));
  JOSTLE_RETURN_IF_ERROR(txn.Commit());
  summary.upload_id = upload_id;
  summary.other_files = same_job.other_files;
  return summary;
}

Result<std::vector<TestExecution>> SqliteResultStore::RunExecutions(std::string_view run) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(Statement q, lease.conn().Prepare(std::string(kExecutionColumns) +
                                                           "WHERE r.name = ?1 ORDER BY e.id"));
  q.Bind(1, run);
  std::vector<TestExecution> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadExecution(q));
  }
  return out;
}

Result<std::vector<TestExecution>> SqliteResultStore::RunExecutionsForReport(std::string_view run) {
  std::string columns(kExecutionColumns);
  constexpr std::string_view kDetails = "e.details";
  columns.replace(columns.find(kDetails), kDetails.size(), "''");
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  // One snapshot for the count and the rows.
  JOSTLE_RETURN_IF_ERROR(lease.conn().Exec("BEGIN"));
  auto rows = [&]() -> Result<std::vector<TestExecution>> {
    STORE_ASSIGN_OR_RETURN(Statement count,
                           lease.conn().Prepare("SELECT count(*) FROM executions e JOIN runs r "
                                                "ON r.id = e.run_id WHERE r.name = ?1"));
    count.Bind(1, run);
    STORE_ASSIGN_OR_RETURN(bool counted, count.Step());
    std::vector<TestExecution> out;
    if (counted) out.reserve(static_cast<size_t>(count.Int64(0)));
    STORE_ASSIGN_OR_RETURN(Statement q,
                           lease.conn().Prepare(columns + "WHERE r.name = ?1 ORDER BY e.id"));
    q.Bind(1, run);
    for (;;) {
      STORE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      out.push_back(ReadExecution(q));
    }
    return out;
  }();
  Status ended = lease.conn().Exec("COMMIT");
  if (!rows.ok()) return rows;
  JOSTLE_RETURN_IF_ERROR(ended);
  return rows;
}

// The runs a history query takes, as SQL over `r` (the earlier run) and `me` (the judged
// run: branch, default_branch, start). ?2 the judged run's name.
std::string HistoryRunsCondition(const HistoryQuery& q) {
  std::string where;
  if (q.as_of_run) {
    where +=
        " AND coalesce(r.last_end_ns, r.last_upload_ns) < "
        "(SELECT coalesce(first_start_ns, first_upload_ns) FROM runs WHERE name = ?2)";
  }
  using Branches = HistoryQuery::Branches;
  if (q.branches != Branches::kAny) {
    std::string same = "r.branch = me.branch";
    if (q.branches == Branches::kBranchAndDefault) {
      same += " OR r.on_default = 1 OR (me.default_branch <> '' AND r.branch = me.default_branch)";
    }
    where += " AND EXISTS (SELECT 1 FROM runs me WHERE me.name = ?2 AND (me.branch = '' OR " +
             same + "))";
  }
  return where;
}

Result<std::vector<TestExecution>> SqliteResultStore::TestHistory(const HistoryQuery& query) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      lease.conn().Prepare(std::string(kExecutionColumns) +
                           "WHERE e.test_id = ?1 AND r.name <> ?2 AND e.time_ns >= ?3" +
                           HistoryRunsCondition(query) +
                           " ORDER BY e.time_ns DESC, e.id DESC LIMIT ?4"));
  q.Bind(1, query.test_id);
  q.Bind(2, query.run);
  q.Bind(3, query.since_ns.value_or(std::numeric_limits<int64_t>::min()));
  q.Bind(4, query.limit);
  std::vector<TestExecution> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadExecution(q));
  }
  return out;
}

Status SqliteResultStore::PutJudgement(std::string_view run,
                                       const std::vector<JudgedFailureRow>& rows) {
  std::lock_guard<std::mutex> lock(write_mu_);
  STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*writer_, /*immediate=*/true));
  STORE_ASSIGN_OR_RETURN(Statement find,
                         writer_->Prepare("SELECT id, last_upload_ns FROM runs WHERE name = ?1"));
  find.Bind(1, run);
  STORE_ASSIGN_OR_RETURN(bool found, find.Step());
  if (!found) return Status::NotFound("run '" + std::string(run) + "' has no uploads");
  const int64_t run_id = find.Int64(0);
  const int64_t last_upload_ns = find.Int64(1);
  find.Reset();
  for (const char* table : {"judged_failures", "judgements"}) {
    STORE_ASSIGN_OR_RETURN(Statement del, writer_->Prepare(std::string("DELETE FROM ") + table +
                                                           " WHERE run_id = ?1"));
    del.Bind(1, run_id);
    JOSTLE_RETURN_IF_ERROR(del.Run());
  }
  STORE_ASSIGN_OR_RETURN(Statement head,
                         writer_->Prepare("INSERT INTO judgements(run_id, judged_ns, "
                                          "last_upload_ns, failures) VALUES(?1, ?2, ?3, ?4)"));
  head.Bind(1, run_id);
  head.Bind(2, NowNs());
  head.Bind(3, last_upload_ns);
  head.Bind(4, static_cast<int64_t>(rows.size()));
  JOSTLE_RETURN_IF_ERROR(head.Run());
  STORE_ASSIGN_OR_RETURN(
      Statement ins,
      writer_->Prepare("INSERT INTO judged_failures(run_id, ord, kind, job, test_id, attempt, "
                       "verdict, reason, failed_contended, passed_contended, failed_clear, "
                       "passed_clear, no_data, rerun_passed, rate_contended, rate_clear, "
                       "fisher_p) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                       "?14, ?15, ?16, ?17)"));
  for (size_t k = 0; k < rows.size(); ++k) {
    const JudgedFailureRow& r = rows[k];
    ins.Reset();
    ins.Bind(1, run_id);
    ins.Bind(2, static_cast<int64_t>(k));
    ins.Bind(3, r.kind);
    ins.Bind(4, r.job);
    ins.Bind(5, r.test_id);
    ins.Bind(6, r.attempt);
    ins.Bind(7, r.verdict);
    ins.Bind(8, r.reason);
    ins.Bind(9, r.failed_contended);
    ins.Bind(10, r.passed_contended);
    ins.Bind(11, r.failed_clear);
    ins.Bind(12, r.passed_clear);
    ins.Bind(13, r.no_data);
    ins.Bind(14, r.rerun_passed);
    ins.Bind(15, r.rate_contended);
    ins.Bind(16, r.rate_clear);
    ins.Bind(17, r.fisher_p);
    JOSTLE_RETURN_IF_ERROR(ins.Run());
  }
  return txn.Commit();
}

Result<std::optional<StoredJudgement>> SqliteResultStore::GetJudgement(std::string_view run) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      lease.conn().Prepare("SELECT j.judged_ns, j.last_upload_ns, j.failures, r.last_upload_ns "
                           "FROM judgements j JOIN runs r ON r.id = j.run_id WHERE r.name = ?1"));
  q.Bind(1, run);
  STORE_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<StoredJudgement>();
  StoredJudgement j;
  j.judged_ns = q.Int64(0);
  j.last_upload_ns = q.Int64(1);
  j.failures = static_cast<int>(q.Int64(2));
  j.stale = q.Int64(3) > j.last_upload_ns;
  return std::optional<StoredJudgement>(j);
}

Result<std::vector<JudgedFailureRow>> SqliteResultStore::JudgedFailures(std::string_view run,
                                                                        int offset, int limit) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      lease.conn().Prepare("SELECT kind, job, test_id, attempt, verdict, reason, "
                           "failed_contended, passed_contended, failed_clear, passed_clear, "
                           "no_data, rerun_passed, rate_contended, rate_clear, fisher_p FROM "
                           "judged_failures WHERE run_id = (SELECT id FROM runs WHERE name = ?1) "
                           "AND ord >= ?2 ORDER BY ord LIMIT ?3"));
  q.Bind(1, run);
  q.Bind(2, offset);
  q.Bind(3, limit);
  std::vector<JudgedFailureRow> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    JudgedFailureRow r;
    r.kind = q.Text(0);
    r.job = q.Text(1);
    r.test_id = q.Text(2);
    r.attempt = static_cast<int>(q.Int64(3));
    r.verdict = q.Text(4);
    r.reason = q.Text(5);
    r.failed_contended = static_cast<int>(q.Int64(6));
    r.passed_contended = static_cast<int>(q.Int64(7));
    r.failed_clear = static_cast<int>(q.Int64(8));
    r.passed_clear = static_cast<int>(q.Int64(9));
    r.no_data = static_cast<int>(q.Int64(10));
    r.rerun_passed = q.Int64(11) != 0;
    if (!q.IsNull(12)) r.rate_contended = q.Double(12);
    if (!q.IsNull(13)) r.rate_clear = q.Double(13);
    if (!q.IsNull(14)) r.fisher_p = q.Double(14);
    out.push_back(std::move(r));
  }
  return out;
}

Status SqliteResultStore::SetContendedBatch(const std::vector<ContendedFact>& facts) {
  if (facts.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(write_mu_);
  STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*writer_, true));
  STORE_ASSIGN_OR_RETURN(Statement exists,
                         writer_->Prepare("SELECT 1 FROM executions WHERE id = ?1"));
  STORE_ASSIGN_OR_RETURN(Statement clear,
                         writer_->Prepare("DELETE FROM execution_facts WHERE execution_id = ?1"));
  STORE_ASSIGN_OR_RETURN(
      Statement put,
      writer_->Prepare("INSERT INTO execution_facts(execution_id, contended, resource, set_ns) "
                       "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(execution_id) DO UPDATE SET "
                       "contended = excluded.contended, resource = excluded.resource, "
                       "set_ns = excluded.set_ns"));
  const int64_t now = NowNs();
  for (const ContendedFact& f : facts) {
    exists.Reset();
    exists.Bind(1, f.execution_id);
    STORE_ASSIGN_OR_RETURN(bool row, exists.Step());
    if (!row) {
      return Status::NotFound("no test execution with id " + std::to_string(f.execution_id));
    }
    if (!f.contended) {
      clear.Reset();
      clear.Bind(1, f.execution_id);
      JOSTLE_RETURN_IF_ERROR(clear.Run());
    } else {
      put.Reset();
      put.Bind(1, f.execution_id);
      put.Bind(2, *f.contended);
      put.Bind(3, f.resource);
      put.Bind(4, now);
      JOSTLE_RETURN_IF_ERROR(put.Run());
    }
  }
  return txn.Commit();
}

Result<int64_t> SqliteResultStore::Prune(int64_t before_ns) {
  int64_t deleted = 0;
  // Runs whose last upload is older than before_ns, with everything that hangs off them.
  for (;;) {
    std::vector<int64_t> runs;
    {
      STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
      STORE_ASSIGN_OR_RETURN(
          Statement q,
          lease.conn().Prepare("SELECT id FROM runs WHERE last_upload_ns < ?1 LIMIT 100"));
      q.Bind(1, before_ns);
      for (;;) {
        STORE_ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        runs.push_back(q.Int64(0));
      }
    }
    if (runs.empty()) break;
    for (int64_t run_id : runs) {
      for (;;) {
        STORE_ASSIGN_OR_RETURN(
            int64_t n,
            db_->WriteStep("DELETE FROM executions WHERE id IN (SELECT id FROM executions "
                           "WHERE run_id = ?1 LIMIT ?2)",
                           {run_id, kPruneChunkRows}));
        deleted += n;
        if (n == 0) break;
        std::this_thread::yield();
      }
      for (const char* judged : {"DELETE FROM judged_failures WHERE run_id = ?1",
                                 "DELETE FROM judgements WHERE run_id = ?1"}) {
        STORE_ASSIGN_OR_RETURN(int64_t j, db_->WriteStep(judged, {run_id}));
        deleted += j;
      }
      STORE_ASSIGN_OR_RETURN(int64_t u,
                             db_->WriteStep("DELETE FROM uploads WHERE run_id = ?1", {run_id}));
      STORE_ASSIGN_OR_RETURN(int64_t r, db_->WriteStep("DELETE FROM runs WHERE id = ?1", {run_id}));
      deleted += u + r;
    }
  }
  return deleted;
}

}  // namespace

std::unique_ptr<ResultStore> NewSqliteResultStore(std::shared_ptr<sqlite::SqliteDb> db) {
  return std::make_unique<SqliteResultStore>(std::move(db));
}

}  // namespace jostle::collector
