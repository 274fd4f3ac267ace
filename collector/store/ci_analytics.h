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

#include "jostle/status.h"

namespace jostle::collector {

// One CI run as stored (ListRuns). A "test" is one (job, test id) pair of the run.
struct RunSummary {
  std::string run;
  int64_t first_upload_ns = 0;            // wall clock when the collector received the first upload
  int64_t last_upload_ns = 0;             // ... the last upload
  std::optional<int64_t> first_start_ns;  // earliest test start in the run, when known
  std::optional<int64_t> last_end_ns;     // latest test start + duration, when known
  int uploads = 0;
  int tests = 0;   // distinct (job, test id)
  int failed = 0;  // of those, final attempt failed or errored
  int flaky = 0;   // of those, an earlier attempt failed/errored and the final one passed
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

  // Runs, most recently uploaded first, at most `limit`.
  virtual Result<std::vector<RunSummary>> ListRuns(int limit) = 0;
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
