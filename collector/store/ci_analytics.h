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

// Which results the analytics read (GET /api/v1/ci-metrics, /tests/flaky, `jostle stats`):
// runs whose first test start (else first upload) is at or after since_ns, of `branch` when
// given, and of those only the executions and jobs of `job` when given. Runs are bucketed by
// that start, in UTC days or ISO weeks (from Monday 00:00 UTC).
struct MetricsFilter {
  int64_t since_ns = 0;
  std::string branch;  // "" any
  std::string job;     // "" any
  enum class Bucket { kDay, kWeek } bucket = Bucket::kDay;
  int limit = 100;  // tests listed in test_duration, test_failure_rate and flaky
};

// Nearest-rank percentiles (the ceil(p n)-th smallest value) of durations, seconds.
struct DurationStats {
  int count = 0;
  double p50_s = 0, p90_s = 0, max_s = 0;
};
struct BucketDurations {
  int64_t bucket_ns = 0;  // the bucket's start, UTC
  DurationStats stats;
};
// Per bucket: the runs' failure rates (failed tests / tests, per run).
struct PainLevel {
  int64_t bucket_ns = 0;
  int runs = 0;
  int tests = 0;    // summed over the runs
  int failed = 0;   // summed over the runs
  double mean = 0;  // mean of the runs' rates
  double max = 0;   // highest run rate
};
// A job is one (run, job name, shard, CI attempt), as its uploads say.
struct JobDuration {
  std::string job;
  DurationStats all;
  std::vector<BucketDurations> buckets;
};
struct BucketRate {
  int64_t bucket_ns = 0;
  int count = 0;  // jobs (job_failure_rate) / test runs (test_failure_rate)
  int failed = 0;
  double rate = 0;
};
// Jobs with a failed test, or a non-zero exit code where known, over jobs.
struct JobFailureRate {
  std::string job;
  int jobs = 0;
  int failed = 0;
  double rate = 0;
  std::vector<BucketRate> buckets;
};
// Durations of a test's passed attempts.
struct TestDuration {
  std::string test_id;
  int runs = 0;  // passed attempts
  double mean_s = 0, max_s = 0;
  struct Point {
    int64_t bucket_ns = 0;
    int runs = 0;
    double mean_s = 0;
  };
  std::vector<Point> buckets;
};
// A "test run" is one (run, job, test id), judged by its final attempt; skipped ones are left
// out of rates.
struct TestFailureRate {
  std::string test_id;
  int runs = 0;
  int failed = 0;  // final attempt failed or errored
  double rate = 0;
};
struct JobRun {
  std::string run;
  std::string job;
  std::optional<int> shard_index, shard_total;
  int attempt = 1;
  std::optional<int64_t> start_ns, end_ns;  // its tests' span, when known
  int tests = 0, failed = 0;                // summed over its uploads
  std::optional<int> exit_code;             // the highest given, when any
  bool failed_job = false;                  // failed > 0, or a non-zero exit code
};
struct SlowTest {
  std::string test_id;
  double mean_s = 0;  // over passed attempts in the period
  double max_s = 0;
  int runs = 0;
};
// Flaky: a test run that passed on retry (final attempt passed after a failed one, across the
// test's attempts and the job's CI attempts), or whose commit also has a failed and a passed
// test run of the test (runs without a commit are their own commit).
struct FlakyTest {
  std::string test_id;
  int runs = 0;             // test runs, skipped ones left out
  int flaky_runs = 0;       // of those, flaky
  double rate = 0;          // flaky_runs / runs
  int commits = 0;          // commits with a flaky test run
  int contended = 0;        // judged failures of the test with a contention or
                            // contention-possible verdict (stored judgements)
  int passed = 0;           // test runs whose final attempt passed
  int failed = 0;           // ... failed or errored
  int passed_on_retry = 0;  // ... passed after a failed attempt
  int64_t last_seen_ns = 0;
};
// Per bucket: failed tests, and of the stored judgements' failures how many were contention.
struct ContentionShare {
  int64_t bucket_ns = 0;
  int failures = 0;             // failed tests of the bucket's runs
  int judged = 0;               // failures with a stored verdict
  int contention = 0;           // of those, contention or contention-possible
  std::optional<double> share;  // contention / judged; nullopt without judged failures
};

struct CiMetrics {
  int runs = 0;
  int jobs = 0;
  int test_runs = 0;
  std::vector<BucketDurations> pipeline_duration;  // first test start to last end, per run
  std::vector<PainLevel> pain_level;
  std::vector<JobDuration> job_duration;           // by job name
  std::vector<JobFailureRate> job_failure_rate;    // by job name
  std::vector<TestDuration> test_duration;         // the `limit` tests with most time
  std::vector<TestFailureRate> test_failure_rate;  // failing tests, highest rate first
  std::vector<JobRun> last_jobs;                   // the 100 latest, newest first
  std::vector<SlowTest> slowest;                   // the 10 slowest by mean
  std::vector<FlakyTest> flaky;                    // the `limit` most flaky
  std::vector<ContentionShare> contention_share;
};

// Which passed attempts TestDurations averages: of runs of `branch` (any when empty), of
// `job`'s executions (any when empty), at or after since_ns (start, else upload time).
struct DurationsFilter {
  std::string branch;
  std::string job;
  std::optional<int64_t> since_ns;
  int per_test = 10;  // the latest this many passed attempts per test
};

class CiAnalytics {
 public:
  virtual ~CiAnalytics() = default;

  // Runs matching `filter`, most recently uploaded first, at most filter.limit.
  virtual Result<std::vector<RunSummary>> ListRuns(const RunFilter& filter) = 0;
  // pytest-split's .test_durations: test id -> mean duration (seconds) of its last
  // filter.per_test passed attempts in the filter's runs. Tests that never passed are absent.
  virtual Result<std::map<std::string, double>> TestDurations(const DurationsFilter& filter) = 0;
  // Flaky tests of the filter's runs, most flaky test runs first, at most filter.limit.
  virtual Result<std::vector<FlakyTest>> FlakyTests(const MetricsFilter& filter) = 0;
  // The CI analytics of the filter's runs.
  virtual Result<CiMetrics> GetCiMetrics(const MetricsFilter& filter) = 0;
};

}  // namespace jostle::collector
