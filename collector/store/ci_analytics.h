// CiAnalytics: the store's role for CI analytics over stored results: runs, durations for
// test splitting, flaky tests, failure rates. The SQLite implementation
// (sqlite_ci_analytics.cpp) reads the result store's tables.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collector/store/result_store.h"
#include "jostle/status.h"

namespace jostle::collector {

// One job of a run as its uploads say: (job name, shard, attempt) with what they gave.
struct JobSummary {
  std::string job;
  std::optional<int> shard_index;  // 1-based, with shard_total; nullopt: not sharded
  std::optional<int> shard_total;
  int attempt = 1;               // the CI's retry number
  std::string url;               // the job's page, "" when not given
  std::optional<int> exit_code;  // the test command's exit code, where given
  int uploads = 0;
  int tests = 0;   // tests in its uploads (summed over them)
  int failed = 0;  // of those, last attempt in their upload failed or errored
};

// Which runs ListRuns returns; empty / nullopt: no filter.
struct RunFilter {
  std::string branch;
  std::string job;                  // runs with an upload of this job
  std::string commit;               // runs of a commit starting with this (lower-case hex)
  std::optional<int64_t> since_ns;  // runs whose first test start (else first upload) >= this
  int limit = 100;

  // The `limit` latest runs, unfiltered.
  static RunFilter Latest(int limit) {
    RunFilter f;
    f.limit = limit;
    return f;
  }
};

// One CI run as stored (ListRuns). A "test" is one (job, test id) pair of the run.
struct RunSummary {
  std::string run;
  RunIdentity identity;         // per-run fields: commit, branch, default_branch, on_default_branch
                                // (as decided from them), pr, provider
  int64_t first_upload_ns = 0;  // wall clock when the collector received the first upload
  int64_t last_upload_ns = 0;   // ... the last upload
  std::optional<int64_t> first_start_ns;  // earliest test start in the run, when known
  std::optional<int64_t> last_end_ns;     // latest test start + duration, when known
  int uploads = 0;
  int tests = 0;   // distinct (job, test id)
  int failed = 0;  // of those, final attempt failed or errored
  int flaky = 0;   // of those, an earlier attempt failed/errored and the final one passed
  std::vector<JobSummary> jobs;  // by job name, shard, attempt
};

// Per test over a period (FlakyTests). A "test run" is one (run, job, test id) with its
// final attempt; times are the test's start, or the upload time when the start is unknown.
struct FlakyTest {
  std::string test_id;
  int runs = 0;             // test runs in the period
  int passed = 0;           // final attempt passed
  int failed = 0;           // final attempt failed or errored
  int passed_on_retry = 0;  // final attempt passed after an earlier one failed/errored
  int64_t last_seen_ns = 0;
};

// Failure rate of one test or one job (CiMetrics).
struct FailureRate {
  std::string key;  // test id, or job name ("" for uploads without a job)
  int runs = 0;     // test runs (per test) / test runs of the job's tests (per job)
  int failed = 0;   // final attempt failed or errored
  int flaky = 0;    // passed on retry
  double rate = 0;  // failed / runs
};

struct SlowTest {
  std::string test_id;
  double mean_s = 0;  // over passed final attempts in the period
  double max_s = 0;
  int runs = 0;
};

struct CiMetrics {
  int runs = 0;       // distinct CI runs with an upload in the period
  int test_runs = 0;  // (run, job, test id) in the period
  int failed = 0;
  int flaky = 0;
  int skipped = 0;
  std::vector<FailureRate> per_test;  // tests with failures, highest rate first, <= limit
  std::vector<FailureRate> per_job;   // every job, highest rate first
  std::vector<SlowTest> slowest;      // highest mean first, <= limit
};

class CiAnalytics {
 public:
  virtual ~CiAnalytics() = default;

  // Runs matching `filter`, most recently uploaded first, at most filter.limit.
  virtual Result<std::vector<RunSummary>> ListRuns(const RunFilter& filter) = 0;
  // pytest-split's .test_durations: test id -> mean duration (seconds) of its last
  // `per_test_limit` passed attempts. Tests that never passed are absent.
  virtual Result<std::map<std::string, double>> TestDurations(int per_test_limit = 10) = 0;
  // Tests with both passing and failing test runs, or passing on retry, since `since_ns`;
  // most passed_on_retry + failed first.
  virtual Result<std::vector<FlakyTest>> FlakyTests(int64_t since_ns) = 0;
  // Counts and failure rates since `since_ns`; per_test and slowest hold at most `limit`.
  virtual Result<CiMetrics> GetCiMetrics(int64_t since_ns, int limit = 100) = 0;
};

}  // namespace jostle::collector
