#include "collector/api/api_metrics.h"

#include <sstream>

namespace jostle::collector {
namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Header(std::ostringstream& o, const char* name, const char* type, const char* help) {
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

}  // namespace

void ApiMetrics::CountRequest(const std::string& route, const std::string& method, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{route, method, status}];
}

void ApiMetrics::CountBatch(bool stored, int64_t rows, double seconds) {
  std::lock_guard lock(mu_);
  if (stored) {
    ++batches_stored_;
    sample_rows_ += static_cast<uint64_t>(rows);
  } else {
    ++batches_replayed_;
  }
  size_t i = 0;
  while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
  if (i < kLatencyBuckets.size()) ++latency_buckets_[i];
  ++latency_count_;
  latency_sum_ += seconds;
}

void ApiMetrics::CountRejectedBatch() {
  std::lock_guard lock(mu_);
  ++batches_rejected_;
}

void ApiMetrics::CountResults(int tests, int failed) {
  std::lock_guard lock(mu_);
  ++result_uploads_;
  result_tests_ += static_cast<uint64_t>(tests);
  result_failed_ += static_cast<uint64_t>(failed);
}

void ApiMetrics::CountRejectedResults() {
  std::lock_guard lock(mu_);
  ++result_uploads_rejected_;
}

void ApiMetrics::CountAuthFailure(const std::string& reason) {
  std::lock_guard lock(mu_);
  ++auth_failures_[reason];
}

void ApiMetrics::SetStoreFiles(uint64_t db_bytes, uint64_t wal_bytes, uint64_t free_bytes) {
  std::lock_guard lock(mu_);
  have_store_files_ = true;
  store_bytes_ = db_bytes;
  store_wal_bytes_ = wal_bytes;
  store_free_bytes_ = free_bytes;
}

void ApiMetrics::SetReady(bool ready) {
  std::lock_guard lock(mu_);
  ready_ = ready ? 1 : 0;
}

std::string ApiMetrics::Render() const {
  std::lock_guard lock(mu_);
  std::ostringstream o;
  Header(o, "jostle_collector_http_requests_total", "counter",
         "HTTP requests answered, by route pattern, method and status code.");
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, code] = key;
    o << "jostle_collector_http_requests_total{route=\"" << Escape(route) << "\",method=\""
      << Escape(method) << "\",code=\"" << code << "\"} " << n << '\n';
  }
  Header(o, "jostle_collector_sample_batches_total", "counter",
         "Sample batches received: stored, replayed (already stored, acknowledged) or "
         "rejected (malformed, too large, unsupported).");
  o << "jostle_collector_sample_batches_total{result=\"stored\"} " << batches_stored_ << '\n'
    << "jostle_collector_sample_batches_total{result=\"replayed\"} " << batches_replayed_ << '\n'
    << "jostle_collector_sample_batches_total{result=\"rejected\"} " << batches_rejected_ << '\n';
  Header(o, "jostle_collector_sample_rows_total", "counter",
         "Sample rows stored: one per node reading plus one per cgroup reading.");
  o << "jostle_collector_sample_rows_total " << sample_rows_ << '\n';
  Header(o, "jostle_collector_result_uploads_total", "counter",
         "Test result uploads: stored or rejected.");
  o << "jostle_collector_result_uploads_total{result=\"stored\"} " << result_uploads_ << '\n'
    << "jostle_collector_result_uploads_total{result=\"rejected\"} " << result_uploads_rejected_
    << '\n';
  Header(o, "jostle_collector_result_tests_total", "counter",
         "Distinct tests in stored result uploads.");
  o << "jostle_collector_result_tests_total " << result_tests_ << '\n';
  Header(o, "jostle_collector_result_failed_tests_total", "counter",
         "Failed tests (last attempt failed or errored) in stored result uploads.");
  o << "jostle_collector_result_failed_tests_total " << result_failed_ << '\n';
  Header(o, "jostle_collector_auth_failures_total", "counter",
         "Requests refused: missing token, unknown token, token without the scope, or "
         "samples for a node the token is not bound to.");
  for (const char* reason : {"missing", "unknown", "scope", "node"}) {
    auto it = auth_failures_.find(reason);
    o << "jostle_collector_auth_failures_total{reason=\"" << reason << "\"} "
      << (it == auth_failures_.end() ? 0 : it->second) << '\n';
  }
  if (have_store_files_) {
    Header(o, "jostle_collector_store_bytes", "gauge", "Size of the SQLite database file.");
    o << "jostle_collector_store_bytes " << store_bytes_ << '\n';
    Header(o, "jostle_collector_store_wal_bytes", "gauge",
           "Size of the SQLite write-ahead log (-wal file).");
    o << "jostle_collector_store_wal_bytes " << store_wal_bytes_ << '\n';
    Header(o, "jostle_collector_store_free_bytes", "gauge",
           "Space free on the database's file system for the collector.");
    o << "jostle_collector_store_free_bytes " << store_free_bytes_ << '\n';
  }
  if (ready_ >= 0) {
    Header(o, "jostle_collector_ready", "gauge",
           "1 when /readyz answers 200 (the last readiness check passed), else 0.");
    o << "jostle_collector_ready " << ready_ << '\n';
  }
  Header(o, "jostle_collector_ingest_seconds", "histogram",
         "Time to decode and durably commit one sample batch, seconds.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += latency_buckets_[i];
    o << "jostle_collector_ingest_seconds_bucket{le=\"" << kLatencyBuckets[i] << "\"} "
      << cumulative << '\n';
  }
  o << "jostle_collector_ingest_seconds_bucket{le=\"+Inf\"} " << latency_count_ << '\n'
    << "jostle_collector_ingest_seconds_sum " << latency_sum_ << '\n'
    << "jostle_collector_ingest_seconds_count " << latency_count_ << '\n';
  return o.str();
}

}  // namespace jostle::collector
