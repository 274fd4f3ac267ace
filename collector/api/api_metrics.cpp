#include "collector/api/api_metrics.h"

#include <charconv>
#include <cmath>
#include <initializer_list>
#include <utility>

#include "collector/results/text_scan.h"
#include "jostle/version.h"

namespace jostle::collector {
namespace {

using Label = std::pair<std::string_view, std::string_view>;

// Label value escaping of the text format: backslash, double quote, line feed.
void AppendEscaped(std::string& out, std::string_view v) {
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
}

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

void AppendNumber(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// "# HELP name help\n# TYPE name type\n".
void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  out.append(name).append(" ").append(type).append("\n");
}

// One sample line: name{k="v",...} value.
template <typename V>
void Line(std::string& out, std::string_view name, std::initializer_list<Label> labels, V value) {
  out += name;
  if (labels.size() > 0) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out.append(k).append("=\"");
      AppendEscaped(out, v);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendNumber(out, value);
  out += '\n';
}

// The _bucket, _sum and _count lines of one histogram series with one extra label (or none
// when label_name is empty).
template <size_t N>
void HistogramLines(std::string& out, std::string_view name, const std::array<double, N>& bounds,
                    const std::array<uint64_t, N>& buckets, uint64_t count, double sum,
                    std::string_view label_name = {}, std::string_view label_value = {}) {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= N; ++i) {
    std::string le;
    if (i < N) {
      cumulative += buckets[i];
      AppendNumber(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    uint64_t v = i < N ? cumulative : count;
    if (label_name.empty()) {
      Line(out, bucket, {{"le", le}}, v);
    } else {
      Line(out, bucket, {{label_name, label_value}, {"le", le}}, v);
    }
  }
  const std::string sum_name = std::string(name) + "_sum";
  const std::string count_name = std::string(name) + "_count";
  if (label_name.empty()) {
    Line(out, sum_name, {}, sum);
    Line(out, count_name, {}, count);
  } else {
    Line(out, sum_name, {{label_name, label_value}}, sum);
    Line(out, count_name, {{label_name, label_value}}, count);
  }
}

template <size_t N>
size_t BucketOf(const std::array<double, N>& bounds, double v) {
  size_t i = 0;
  while (i < N && v > bounds[i]) ++i;
  return i;  // N: only +Inf
}

// The reason label of a request that was not stored, from the HTTP status answered.
const char* ErrorReason(int http_status) {
  if (http_status == 413) return "too_large";
  if (http_status == 415) return "unsupported";
  if (http_status >= 500) return "store";
  return "invalid";
}

constexpr std::string_view kTestDurations = "jostle_ci_test_duration_seconds";

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
  size_t i = BucketOf(kLatencyBuckets, seconds);
  if (i < kLatencyBuckets.size()) ++latency_.buckets[i];
  ++latency_.count;
  latency_.sum += seconds;
}

void ApiMetrics::CountSampleError(int http_status) {
  std::lock_guard lock(mu_);
  if (http_status < 500) ++batches_rejected_;
  ++ingest_errors_[{"samples", ErrorReason(http_status)}];
}

void ApiMetrics::CountResultError(int http_status) {
  std::lock_guard lock(mu_);
  if (http_status < 500) ++result_uploads_rejected_;
  ++ingest_errors_[{"results", ErrorReason(http_status)}];
}

void ApiMetrics::CountResults(int tests, int failed) {
  std::lock_guard lock(mu_);
  ++result_uploads_;
  result_tests_ += static_cast<uint64_t>(tests);
  result_failed_ += static_cast<uint64_t>(failed);
}

const std::string& ApiMetrics::JobLabel(const std::string& job) {
  static const std::string kOther = "_other";
  auto it = jobs_.find(job);
  if (it != jobs_.end()) return *it;
  if (jobs_.size() >= kMaxJobs || FindInvalidUtf8(job)) return kOther;
  return *jobs_.insert(job).first;
}

void ApiMetrics::CountTests(const std::string& job, const ResultSet& set) {
  std::lock_guard lock(mu_);
  const std::string& label = JobLabel(job);
  for (const TestCase& t : set.tests) {
    if (t.attempts.empty()) continue;
    const TestAttempt& last = t.last();
    const char* outcome = OutcomeName(last.outcome);
    ++tests_[{label, outcome}];
    if (t.flaky()) ++flaky_[label];
    auto& h = durations_[outcome];
    size_t i = BucketOf(kTestBuckets, last.duration_s);
    if (i < kTestBuckets.size()) ++h.buckets[i];
    ++h.count;
    h.sum += last.duration_s;
  }
}

void ApiMetrics::CountAuthFailure(const std::string& reason) {
  std::lock_guard lock(mu_);
  ++auth_failures_[reason];
}

void ApiMetrics::CountWebhookDelivery(const std::string& target, bool delivered) {
  std::lock_guard lock(mu_);
  ++deliveries_[{target, delivered}];
  // Both series of a target exist from its first delivery, so rate() over the failures
  // reads 0, not "no data", while deliveries succeed.
  deliveries_.try_emplace({target, !delivered}, 0);
}

void ApiMetrics::CountJudgedFailures(const std::string& run,
                                     const std::vector<JudgedFailure>& failures) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = counted_failures_.try_emplace(run);
  if (inserted) {
    counted_runs_.push_back(run);
    if (counted_runs_.size() > kRememberedRuns) {
      counted_failures_.erase(counted_runs_.front());
      counted_runs_.pop_front();
    }
  }
  std::set<std::string>& counted = it->second;
  for (const JudgedFailure& f : failures) {
    if (!counted.insert(f.key).second) continue;
    ++failures_[{f.verdict, f.resource, f.node}];
  }
}

void ApiMetrics::RenderHttp(std::string& o) const {
  Header(o, "jostle_collector_http_requests_total", "counter",
         "HTTP requests answered, by route pattern, method and status code.");
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, code] = key;
    Line(o, "jostle_collector_http_requests_total",
         {{"route", route}, {"method", method}, {"code", std::to_string(code)}}, n);
  }
  Header(o, "jostle_collector_auth_failures_total", "counter",
         "Requests refused: missing token, unknown token, or token without the scope.");
  for (const char* reason : {"missing", "unknown", "scope", "node"}) {
    auto it = auth_failures_.find(reason);
    Line(o, "jostle_collector_auth_failures_total", {{"reason", reason}},
         it == auth_failures_.end() ? uint64_t{0} : it->second);
  }
}

void ApiMetrics::RenderIngest(std::string& o) const {
  constexpr std::string_view kBatches = "jostle_collector_sample_batches_total";
  Header(o, kBatches, "counter",
         "Sample batches received: stored, replayed (already stored, acknowledged) or "
         "rejected (malformed, too large, unsupported).");
  Line(o, kBatches, {{"result", "stored"}}, batches_stored_);
  Line(o, kBatches, {{"result", "replayed"}}, batches_replayed_);
  Line(o, kBatches, {{"result", "rejected"}}, batches_rejected_);
  Header(o, "jostle_collector_sample_rows_total", "counter",
         "Sample rows stored: one per node reading plus one per cgroup reading.");
  Line(o, "jostle_collector_sample_rows_total", {}, sample_rows_);
  constexpr std::string_view kUploads = "jostle_collector_result_uploads_total";
  Header(o, kUploads, "counter", "Test result uploads: stored or rejected.");
  Line(o, kUploads, {{"result", "stored"}}, result_uploads_);
  Line(o, kUploads, {{"result", "rejected"}}, result_uploads_rejected_);
  Header(o, "jostle_collector_result_tests_total", "counter",
         "Distinct tests in stored result uploads.");
  Line(o, "jostle_collector_result_tests_total", {}, result_tests_);
  Header(o, "jostle_collector_result_failed_tests_total", "counter",
         "Failed tests (last attempt failed or errored) in stored result uploads.");
  Line(o, "jostle_collector_result_failed_tests_total", {}, result_failed_);
  constexpr std::string_view kErrors = "jostle_collector_ingest_errors_total";
  Header(o, kErrors, "counter",
         "Sample batches and result uploads not stored, by kind (samples, results) and "
         "reason (invalid, too_large, unsupported: refused; store: the store failed).");
  for (const char* kind : {"samples", "results"}) {
    for (const char* reason : {"invalid", "too_large", "unsupported", "store"}) {
      auto it = ingest_errors_.find({kind, reason});
      Line(o, kErrors, {{"kind", kind}, {"reason", reason}},
           it == ingest_errors_.end() ? uint64_t{0} : it->second);
    }
  }
  Header(o, "jostle_collector_ingest_seconds", "histogram",
         "Time to decode and durably commit one sample batch, seconds.");
  HistogramLines(o, "jostle_collector_ingest_seconds", kLatencyBuckets, latency_.buckets,
                 latency_.count, latency_.sum);
}

void ApiMetrics::RenderTests(std::string& o) const {
  constexpr std::string_view kTests = "jostle_ci_tests_total";
  Header(o, kTests, "counter",
         "Tests in stored uploads by CI job and the outcome of their last attempt (passed, "
         "failed, error, skipped).");
  for (const auto& [key, n] : tests_) {
    Line(o, kTests, {{"ci_job", key.first}, {"outcome", key.second}}, n);
  }
  Header(o, "jostle_ci_flaky_tests_total", "counter",
         "Tests in stored uploads that failed or errored and then passed on a rerun, by CI "
         "job.");
  for (const std::string& job : jobs_) {
    auto it = flaky_.find(job);
    Line(o, "jostle_ci_flaky_tests_total", {{"ci_job", job}},
         it == flaky_.end() ? uint64_t{0} : it->second);
  }
  if (auto it = flaky_.find("_other"); it != flaky_.end() && !jobs_.contains("_other")) {
    Line(o, "jostle_ci_flaky_tests_total", {{"ci_job", "_other"}}, it->second);
  }
  Header(o, kTestDurations, "histogram",
         "Duration of each test's last attempt in stored uploads, seconds, by its outcome.");
  for (const auto& [outcome, h] : durations_) {
    HistogramLines(o, kTestDurations, kTestBuckets, h.buckets, h.count, h.sum, "outcome", outcome);
  }
}

void ApiMetrics::RenderAlerts(std::string& o) const {
  constexpr std::string_view kFailures = "jostle_ci_failures_total";
  Header(o, kFailures, "counter",
         "Failed tests of judged runs by verdict, resource (\"\" when none) and node (\"\" "
         "when unknown); each failure counted once, at the first judgement that saw it.");
  for (const auto& [key, n] : failures_) {
    const auto& [verdict, resource, node] = key;
    Line(o, kFailures, {{"verdict", verdict}, {"resource", resource}, {"node", node}}, n);
  }
  constexpr std::string_view kDeliveries = "jostle_collector_webhook_deliveries_total";
  Header(o, kDeliveries, "counter",
         "Finished webhook deliveries by target (masked URL) and result (delivered: a 2xx "
         "answer; failed: retries exhausted or not retryable).");
  for (const auto& [key, n] : deliveries_) {
    Line(o, kDeliveries, {{"target", key.first}, {"result", key.second ? "delivered" : "failed"}},
         n);
  }
}

void ApiMetrics::RenderStore(const StoreScrape& store, std::string& o) {
  Header(o, "jostle_collector_store_ready", "gauge",
         "1 when the store answered a query at this scrape, else 0 (as /readyz).");
  Line(o, "jostle_collector_store_ready", {}, uint64_t{store.ready ? 1u : 0u});
  constexpr std::string_view kLatest = "jostle_collector_node_last_sample_timestamp_seconds";
  Header(o, kLatest, "gauge",
         "Wall clock of the newest stored sample of each node, seconds since the Unix epoch; "
         "time() minus it is the age of the node's newest sample.");
  for (const auto& [node, ns] : store.latest_sample_ns) {
    Line(o, kLatest, {{"node", node}}, static_cast<double>(ns) / 1e9);
  }
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

void ApiMetrics::RenderStoreFiles(std::string& o) const {
  if (have_store_files_) {
    Header(o, "jostle_collector_store_bytes", "gauge", "Size of the SQLite database file.");
    Line(o, "jostle_collector_store_bytes", {}, store_bytes_);
    Header(o, "jostle_collector_store_wal_bytes", "gauge",
           "Size of the SQLite write-ahead log (-wal file).");
    Line(o, "jostle_collector_store_wal_bytes", {}, store_wal_bytes_);
    Header(o, "jostle_collector_store_free_bytes", "gauge",
           "Space free on the database's file system for the collector.");
    Line(o, "jostle_collector_store_free_bytes", {}, store_free_bytes_);
  }
  if (ready_ >= 0) {
    Header(o, "jostle_collector_ready", "gauge",
           "1 when /readyz answers 200 (the last readiness check passed), else 0.");
    Line(o, "jostle_collector_ready", {}, uint64_t{ready_ == 1 ? 1u : 0u});
  }
}

std::string ApiMetrics::Render(const StoreScrape& store) const {
  std::string o;
  o.reserve(8192);
  Header(o, "jostle_collector_build_info", "gauge", "Always 1; version is the collector's.");
  Line(o, "jostle_collector_build_info", {{"version", kVersion}}, uint64_t{1});
  RenderStore(store, o);
  std::lock_guard lock(mu_);
  RenderHttp(o);
  RenderIngest(o);
  RenderTests(o);
  RenderAlerts(o);
  RenderStoreFiles(o);
  return o;
}

}  // namespace jostle::collector
