// ResultStore: the store's role for CI test results. It takes uploads of result files and
// gives back a run's test executions and a test's earlier executions (its history), with the
// cached classification of each execution's window. The SQLite implementation
// (sqlite_result_store.cpp) is the default; another database drops in behind this interface
// without touching the join.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/store/sample_source.h"
#include "jostle/results.h"
#include "jostle/status.h"

namespace jostle::collector {

// The CI run and job an upload belongs to, as the results route's parameters (or the CI's
// environment, read by `jostle upload` / `jostle run`) give them. Empty strings and nullopt:
// not given. Validated by ValidateRunIdentity (collector/ci/run_identity.h).
struct RunIdentity {
  // Per run: the first upload that gives one sets it; a later upload naming another value is
  // refused (AlreadyExists).
  std::string commit;                     // VCS revision, lower-case hex
  std::string branch;                     // the branch the run built
  std::string default_branch;             // the repository's default branch
  std::optional<bool> on_default_branch;  // said directly (instead of, or with, default_branch)
  std::string pr;                         // pull / merge request number (digits)
  std::string provider;                   // "github-actions", "gitlab-ci", "circleci", ...
  // Per job (upload).
  std::optional<int> shard_index;  // 1-based; set together with shard_total
  std::optional<int> shard_total;
  std::optional<int> attempt;    // the CI's retry number of the job, 1 = first (nullopt: 1)
  std::string url;               // the job's page
  std::optional<int> exit_code;  // the test command's exit code, where known

  // on_default_branch when given, else branch == default_branch when both are known.
  std::optional<bool> IsDefaultBranch() const {
    if (on_default_branch) return on_default_branch;
    if (branch.empty() || default_branch.empty()) return std::nullopt;
    return branch == default_branch;
  }
  bool operator==(const RunIdentity&) const = default;
};

// Where one uploaded result file came from.
struct ResultOrigin {
  std::string run;            // CI run id (required)
  std::string job;            // CI job name, may be empty
  std::string pod_namespace;  // the pod the job ran in, may be empty
  std::string pod_name;
  std::string node;    // explicit node (node= / --node); empty: resolve from pod
  std::string source;  // file name, or "upload"
  RunIdentity identity;
  // "sha256:<64 lower-case hex digits>" of the file's bytes as received (ContentDigest in
  // collector/results/parse_results.h); empty: unknown, the upload is never taken for a
  // replay. With (run, job, shard, attempt) it identifies the upload.
  std::string digest;
};

// One stored attempt of one test, with where it ran.
struct TestExecution {
  int64_t id = 0;  // store's row id
  std::string run;
  std::string job;
  std::string test_id;
  std::string suite;
  std::string classname;
  std::string name;
  std::string file;
  int attempt = 0;  // 0-based attempt index within the run
  Outcome outcome = Outcome::kPassed;
  std::optional<int64_t> start_ns;
  double duration_s = 0;
  bool timing_approximate = false;
  std::string message;
  std::string node;  // resolved or given; empty when unknown
  std::string pod_namespace;
  std::string pod_name;
  bool final_attempt = false;  // the last attempt of this test in this run
  int64_t upload_id = 0;       // the upload this attempt came in
  std::optional<int> line;     // source line, when the producer gave one
  std::string details;         // failure body / longrepr, as parsed (TestAttempt::details)
  // Cached attribution of this attempt's window (SetContendedBatch); nullopt until set.
  std::optional<bool> contended;
  std::string contended_resource;  // "cpu", "memory", "io", "network" or empty
};

struct UploadSummary {
  int tests = 0;   // distinct tests in the upload
  int failed = 0;  // tests whose last attempt failed or errored
  int64_t upload_id = 0;
  // The same file (digest) was already stored for this (run, job, shard, attempt): nothing
  // was written, the counts are those stored then.
  bool already_stored = false;
  // Other files stored for the same (run, job, shard, attempt) before this one.
  int other_files = 0;
};

// A cached window classification for ResultStore::SetContendedBatch.
struct ContendedFact {
  int64_t execution_id = 0;
  std::optional<bool> contended;  // nullopt clears the cached value
  std::string resource;           // "cpu", "memory", "io", "network" or empty
};

// Which earlier executions TestHistory returns.
struct HistoryQuery {
  std::string test_id;
  std::string run;  // the run being judged: never its own executions
  // Only runs that ended (last test end, else last upload) before `run`'s first test start
  // (else its first upload): the history as of the run. false: every other run (today's).
  bool as_of_run = true;
  // Runs of which branches count, given `run`'s branch B and default branch D:
  //   kBranchAndDefault  branch B, D, or said to be on their default branch
  //   kBranch            branch B only
  //   kAny               every branch
  // Either way a run without a known branch takes every branch's runs.
  enum class Branches { kBranchAndDefault, kBranch, kAny } branches = Branches::kBranchAndDefault;
  std::optional<int64_t> since_ns;  // executions at or after this (start, else upload time)
  int limit = 200;
};

// One judged failure of a stored judgement (SQLite: a judged_failures row).
struct JudgedFailureRow {
  std::string kind;  // "failure" (failed test) or "flaky" (judged on its failed attempt)
  std::string job;
  std::string test_id;
  int attempt = 0;
  std::string verdict;  // the verdict's name ("contention", ...)
  std::string reason;   // why no-data; empty otherwise
  int failed_contended = 0, passed_contended = 0, failed_clear = 0, passed_clear = 0;
  int no_data = 0;
  bool rerun_passed = false;
  std::optional<double> rate_contended, rate_clear, fisher_p;
  bool operator==(const JudgedFailureRow&) const = default;
};

// A run's stored judgement, without its rows (JudgedFailures reads those page by page).
struct StoredJudgement {
  int64_t judged_ns = 0;       // when it was decided
  int64_t last_upload_ns = 0;  // the run's last upload then
  int failures = 0;            // rows
  bool stale = false;          // the run had uploads after it was judged
};

class ResultStore {
 public:
  virtual ~ResultStore() = default;

  // Stores one upload atomically: all or nothing. The node of each attempt is origin.node,
  // else `placement`'s node at the attempt's start (at the upload time without a start).
  // A replay (origin.digest already stored for the same run, job, shard and attempt) writes
  // nothing and answers already_stored with the stored upload's counts.
  virtual Result<UploadSummary> PutResults(const ResultOrigin& origin, const ResultSet& set,
                                           const PodPlacement& placement) = 0;
  virtual Result<std::vector<TestExecution>> RunExecutions(std::string_view run) = 0;
  // Earlier executions of one test (other runs) as `query` selects them, newest first.
  virtual Result<std::vector<TestExecution>> TestHistory(const HistoryQuery& query) = 0;
  // Every other run's executions of `test_id`, newest first, at most `limit`.
  Result<std::vector<TestExecution>> TestHistory(std::string_view test_id,
                                                 std::string_view exclude_run, int limit);
  // Stores `run`'s judgement (replacing an earlier one) with the run's last upload time as
  // it is now; NotFound for a run without uploads. One transaction.
  virtual Status PutJudgement(std::string_view run, const std::vector<JudgedFailureRow>& rows) = 0;
  // The run's stored judgement; nullopt when it was never judged.
  virtual Result<std::optional<StoredJudgement>> GetJudgement(std::string_view run) = 0;
  // Rows [offset, offset + limit) of the run's stored judgement, in report order.
  virtual Result<std::vector<JudgedFailureRow>> JudgedFailures(std::string_view run, int offset,
                                                               int limit) = 0;
  // Caches the attribution of executions' windows: contended yes/no and its resource; nullopt
  // clears it. SQLite: one transaction (one durable commit), all or nothing; NotFound,
  // storing none, when an id names no execution.
  virtual Status SetContendedBatch(const std::vector<ContendedFact>& facts) = 0;
  // SetContendedBatch of one fact.
  Status SetContended(int64_t execution_id, std::optional<bool> contended, std::string resource);
  // Deletes runs whose last upload is older than `before_ns`, with everything of them;
  // returns rows deleted.
  virtual Result<int64_t> Prune(int64_t before_ns) = 0;
  // RunExecutions as a report reads it: TestExecution::details left empty, and the vector
  // allocated once for the run's count of executions (no regrowth while reading).
  virtual Result<std::vector<TestExecution>> RunExecutionsForReport(std::string_view run) = 0;
};

// PutResults with the pod's placement read from `samples` when the origin names a pod and no
// node (the result route, `jostle ingest`, `jostle run`).
Result<UploadSummary> StoreResults(SampleSource& samples, ResultStore& results,
                                   const ResultOrigin& origin, const ResultSet& set);

}  // namespace jostle::collector
