#include "collector/api/analytics_json.h"

#include "collector/report/report.h"

namespace jostle::collector {

using Json = nlohmann::json;

Json TimeOrNull(const std::optional<int64_t>& ns) {
  return ns ? Json(FormatTime(*ns)) : Json(nullptr);
}

Json StringOrNull(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

namespace {

Json FlakyJson(const std::vector<FlakyTest>& flaky) {
  Json tests = Json::array();
  for (const FlakyTest& t : flaky) {
    tests.push_back({{"test", t.test_id},
                     {"runs", t.runs},
                     {"flaky_runs", t.flaky_runs},
                     {"rate", t.rate},
                     {"commits", t.commits},
                     {"contended", t.contended},
                     {"passed", t.passed},
                     {"failed", t.failed},
                     {"passed_on_retry", t.passed_on_retry},
                     {"last_seen", FormatTime(t.last_seen_ns)}});
  }
  return tests;
}

Json StatsJson(const DurationStats& d) {
  return {{"count", d.count}, {"p50_s", d.p50_s}, {"p90_s", d.p90_s}, {"max_s", d.max_s}};
}

Json BucketDurationsJson(const std::vector<BucketDurations>& buckets) {
  Json out = Json::array();
  for (const BucketDurations& b : buckets) {
    Json j = StatsJson(b.stats);
    j["bucket"] = FormatTime(b.bucket_ns);
    out.push_back(std::move(j));
  }
  return out;
}

Json RateJson(const BucketRate& r, const char* count_name) {
  return {{"bucket", FormatTime(r.bucket_ns)},
          {count_name, r.count},
          {"failed", r.failed},
          {"rate", r.rate}};
}

Json ShardOrNull(const std::optional<int>& index, const std::optional<int>& total) {
  return index ? Json(std::to_string(*index) + "/" + std::to_string(*total)) : Json(nullptr);
}

}  // namespace

Json CiMetricsJson(const CiMetrics& m, const MetricsFilter& filter) {
  Json pain = Json::array();
  for (const PainLevel& p : m.pain_level) {
    pain.push_back({{"bucket", FormatTime(p.bucket_ns)},
                    {"runs", p.runs},
                    {"tests", p.tests},
                    {"failed", p.failed},
                    {"mean", p.mean},
                    {"max", p.max}});
  }
  Json job_duration = Json::array();
  for (const JobDuration& j : m.job_duration) {
    Json e = StatsJson(j.all);
    e["job"] = j.job;
    e["buckets"] = BucketDurationsJson(j.buckets);
    job_duration.push_back(std::move(e));
  }
  Json job_failure = Json::array();
  for (const JobFailureRate& j : m.job_failure_rate) {
    Json buckets = Json::array();
    for (const BucketRate& b : j.buckets) buckets.push_back(RateJson(b, "jobs"));
    job_failure.push_back({{"job", j.job},
                           {"jobs", j.jobs},
                           {"failed", j.failed},
                           {"rate", j.rate},
                           {"buckets", buckets}});
  }
  Json test_duration = Json::array();
  for (const TestDuration& t : m.test_duration) {
    Json buckets = Json::array();
    for (const TestDuration::Point& p : t.buckets) {
      buckets.push_back(
          {{"bucket", FormatTime(p.bucket_ns)}, {"runs", p.runs}, {"mean_s", p.mean_s}});
    }
    test_duration.push_back({{"test", t.test_id},
                             {"runs", t.runs},
                             {"mean_s", t.mean_s},
                             {"max_s", t.max_s},
                             {"buckets", buckets}});
  }
  Json test_failure = Json::array();
  for (const TestFailureRate& t : m.test_failure_rate) {
    test_failure.push_back(
        {{"test", t.test_id}, {"runs", t.runs}, {"failed", t.failed}, {"rate", t.rate}});
  }
  Json last_jobs = Json::array();
  for (const JobRun& j : m.last_jobs) {
    Json duration = j.start_ns && j.end_ns
                        ? Json(static_cast<double>(*j.end_ns - *j.start_ns) / 1e9)
                        : Json(nullptr);
    last_jobs.push_back({{"run", j.run},
                         {"job", j.job},
                         {"shard", ShardOrNull(j.shard_index, j.shard_total)},
                         {"attempt", j.attempt},
                         {"start", TimeOrNull(j.start_ns)},
                         {"duration_s", duration},
                         {"tests", j.tests},
                         {"failed", j.failed},
                         {"exit", j.exit_code ? Json(*j.exit_code) : Json(nullptr)},
                         {"outcome", j.failed_job ? "failed" : "passed"}});
  }
  Json slowest = Json::array();
  for (const SlowTest& t : m.slowest) {
    slowest.push_back(
        {{"test", t.test_id}, {"mean_s", t.mean_s}, {"max_s", t.max_s}, {"runs", t.runs}});
  }
  Json shares = Json::array();
  for (const ContentionShare& c : m.contention_share) {
    shares.push_back({{"bucket", FormatTime(c.bucket_ns)},
                      {"failures", c.failures},
                      {"judged", c.judged},
                      {"contention", c.contention},
                      {"share", c.share ? Json(*c.share) : Json(nullptr)}});
  }
  return {{"runs", m.runs},
          {"jobs", m.jobs},
          {"test_runs", m.test_runs},
          {"pipeline_duration", BucketDurationsJson(m.pipeline_duration)},
          {"pain_level", pain},
          {"job_duration", job_duration},
          {"job_failure_rate", job_failure},
          {"test_duration", test_duration},
          {"test_failure_rate", test_failure},
          {"last_jobs", last_jobs},
          {"slowest", slowest},
          {"flaky", FlakyJson(m.flaky)},
          {"contention_share", shares},
          {"since", FormatTime(filter.since_ns)},
          {"bucket", filter.bucket == MetricsFilter::Bucket::kWeek ? "week" : "day"},
          {"branch", StringOrNull(filter.branch)},
          {"job", StringOrNull(filter.job)}};
}

Json FlakyTestsJson(const std::vector<FlakyTest>& flaky, const MetricsFilter& filter) {
  return {{"since", FormatTime(filter.since_ns)}, {"tests", FlakyJson(flaky)}};
}

}  // namespace jostle::collector
