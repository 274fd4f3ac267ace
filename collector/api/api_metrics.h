// The collector's own Prometheus metrics (GET /metrics), in the text exposition format.
//
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace jostle::collector {

class ApiMetrics {
 public:
  // One answered request. route is the route pattern ("/api/v1/samples"), or "unmatched".
  void CountRequest(const std::string& route, const std::string& method, int status);
  // One POST /api/v1/samples that reached the store: stored (true) or replayed (false);
  // rows = samples + cgroup readings in the batch; seconds = decode + commit time.
  void CountBatch(bool stored, int64_t rows, double seconds);
  // A batch refused before the store (malformed, too large, unsupported).
  void CountRejectedBatch();
  // One results upload stored, with its distinct test count.
  void CountResults(int tests, int failed);
  void CountRejectedResults();
  // Requests refused for authentication: reason "missing", "unknown", "scope" or "node"
  // (a node-bound agent token writing another node's samples).
  void CountAuthFailure(const std::string& reason);

  // The store's files now (sqlite::StatStoreFiles), bytes; shown once set.
  void SetStoreFiles(uint64_t db_bytes, uint64_t wal_bytes, uint64_t free_bytes);
  // The last readiness check (/readyz).
  void SetReady(bool ready);

  // The whole exposition, "# HELP"/"# TYPE" lines included.
  std::string Render() const;

 private:
  static constexpr std::array<double, 12> kLatencyBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

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
  std::map<std::string, uint64_t> auth_failures_;
  bool have_store_files_ = false;
  uint64_t store_bytes_ = 0, store_wal_bytes_ = 0, store_free_bytes_ = 0;
  int ready_ = -1;  // -1: not checked yet
  std::array<uint64_t, kLatencyBuckets.size()> latency_buckets_{};  // non-cumulative
  uint64_t latency_count_ = 0;
  double latency_sum_ = 0;
};

}  // namespace jostle::collector
