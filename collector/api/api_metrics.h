// The collector's own Prometheus metrics (GET /metrics), in the text exposition format 0.0.4.
// Every family, its labels and how to read it: collector/api/METRICS.md (tests/monitoring
// checks that the two name the same families).
//
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "jostle/results.h"

namespace jostle::collector {

// What the store says at scrape time (read by the /metrics route, not kept here).
struct StoreScrape {
  bool ready = false;  // the store answered
  // Newest stored sample per node, wall clock ns since the Unix epoch (Store::LatestSampleTimes).
  std::map<std::string, int64_t> latest_sample_ns;
};

// One failed test of a judged run, as jostle_ci_failures_total counts it.
struct JudgedFailure {
  std::string key;       // identifies the failure within its run: "<job>\n<test id>"
  std::string verdict;   // VerdictName
  std::string resource;  // ResourceName, or "" when no threshold was crossed
  std::string node;      // "" when unknown
};

class ApiMetrics {
 public:
  // Distinct ci_job label values kept; uploads of further jobs count under ci_job="_other".
  static constexpr size_t kMaxJobs = 200;
  // Runs whose counted failures are remembered, so a run judged again (a later upload)
  // counts only failures not counted before.
  static constexpr size_t kRememberedRuns = 2000;

  // One answered request. route is the route pattern ("/api/v1/samples"), or "unmatched".
  void CountRequest(const std::string& route, const std::string& method, int status);
  // One POST /api/v1/samples that reached the store: stored (true) or replayed (false);
  // rows = samples + cgroup readings in the batch; seconds = decode + commit time.
  void CountBatch(bool stored, int64_t rows, double seconds);
  // A sample batch or result upload that was not stored, with the HTTP status answered:
  // 4xx (rejected: malformed, too large, unsupported) or 5xx (the store failed).
  void CountSampleError(int http_status);
  void CountResultError(int http_status);
  // One results upload stored, with its distinct test count (from the store's summary).
  void CountResults(int tests, int failed);
  // The tests of one stored upload of `job` ("" when none was named): each test's last
  // attempt by outcome, flaky tests, and last-attempt durations.
  void CountTests(const std::string& job, const ResultSet& set);
  // Requests refused for authentication: reason "missing", "unknown", "scope" or "node"
  // (a node-bound agent token writing another node's samples).
  void CountAuthFailure(const std::string& reason);
  // One finished webhook delivery to `target` (the masked URL).
  void CountWebhookDelivery(const std::string& target, bool delivered);
  // The failures of one judged run; those of `run` counted by an earlier call are skipped.
  void CountJudgedFailures(const std::string& run, const std::vector<JudgedFailure>& failures);

  // The whole exposition, "# HELP"/"# TYPE" lines included.
  std::string Render(const StoreScrape& store) const;
  // The store's files now (sqlite::StatStoreFiles), bytes; shown once set.
  void SetStoreFiles(uint64_t db_bytes, uint64_t wal_bytes, uint64_t free_bytes);
  // The last readiness check (/readyz).
  void SetReady(bool ready);

 private:
  static constexpr std::array<double, 12> kLatencyBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
  // Test durations, seconds; 60, 300, 900 and 3600 are the usual small/medium/large/enormous
  // time limits, so the share of tests over a limit reads straight from the buckets.
  static constexpr std::array<double, 14> kTestBuckets = {0.01, 0.05, 0.1, 0.5, 1,   2.5, 5,
                                                          10,   30,   60,  120, 300, 900, 3600};

  template <size_t N>
  struct Histogram {
    std::array<uint64_t, N> buckets{};  // non-cumulative
    uint64_t count = 0;
    double sum = 0;
  };

  void RenderHttp(std::string& out) const;
  void RenderIngest(std::string& out) const;
  void RenderTests(std::string& out) const;
  void RenderAlerts(std::string& out) const;
  static void RenderStore(const StoreScrape& store, std::string& out);
  const std::string& JobLabel(const std::string& job);  // mu_ held

  mutable std::mutex mu_;  // guards everything below
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  uint64_t batches_stored_ = 0;
  uint64_t batches_replayed_ = 0;
  uint64_t batches_rejected_ = 0;
  uint64_t sample_rows_ = 0;
  uint64_t result_uploads_ = 0;
  uint64_t result_uploads_rejected_ = 0;
  uint64_t result_tests_ = 0;
  uint64_t result_failed_ = 0;
  // (kind "samples"|"results", reason) -> requests not stored.
  std::map<std::pair<std::string, std::string>, uint64_t> ingest_errors_;
  std::map<std::string, uint64_t> auth_failures_;
  bool have_store_files_ = false;
  uint64_t store_bytes_ = 0, store_wal_bytes_ = 0, store_free_bytes_ = 0;
  int ready_ = -1;  // -1: not checked yet
  void RenderStoreFiles(std::string& out) const;  // mu_ held
  Histogram<kLatencyBuckets.size()> latency_;
  std::set<std::string> jobs_;                                       // job label values
  std::map<std::pair<std::string, std::string>, uint64_t> tests_;    // (job, outcome)
  std::map<std::string, uint64_t> flaky_;                            // job -> flaky tests
  std::map<std::string, Histogram<kTestBuckets.size()>> durations_;  // outcome
  std::map<std::pair<std::string, bool>, uint64_t> deliveries_;      // (target, delivered)
  // (verdict, resource, node) -> failures.
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> failures_;
  std::map<std::string, std::set<std::string>> counted_failures_;  // run -> keys counted
  std::deque<std::string> counted_runs_;                           // oldest first
};

}  // namespace jostle::collector
