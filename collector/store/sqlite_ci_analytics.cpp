// SQLite CiAnalytics: runs, durations, flaky tests and failure rates, read from the result
// store's tables in the same database (sqlite::SqliteDb) with pooled readers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include "collector/store/sqlite_db.h"
#include "collector/store/sqlite_roles.h"

namespace jostle::collector {
namespace {

using sqlite::Connection;
using sqlite::SqliteDb;
using sqlite::Statement;
using sqlite::Transaction;
using ReadLease = SqliteDb::ReadLease;

// The runs a MetricsFilter takes (?1 since_ns, ?2 branch or ''), with their start `t`; the
// analytics' statements bind ?3 to the job or ''.
constexpr std::string_view kFilteredRunsCte =
    "WITH rr AS (SELECT id, name, commit_sha, coalesce(first_start_ns, first_upload_ns) AS t "
    "FROM runs WHERE coalesce(first_start_ns, first_upload_ns) >= ?1 AND (?2 = '' OR branch = "
    "?2)) ";

// Per test run (run, job, test id) of the filtered runs: its commit key (the commit, or the
// run for runs without one), final outcome flags and whether an earlier attempt failed.
constexpr std::string_view kTestRunsCte =
    ", t AS (SELECT e.test_id, e.run_id, e.job, "
    "CASE WHEN rr.commit_sha <> '' THEN rr.commit_sha ELSE 'run:' || rr.id END AS c, "
    "max(e.final = 1 AND e.outcome IN ('failed', 'error')) AS failed, "
    "max(e.final = 1 AND e.outcome = 'passed') AS passed, "
    "max(e.final = 0 AND e.outcome IN ('failed', 'error')) AS retried, "
    "max(e.final = 1 AND e.outcome = 'skipped') AS skipped, max(e.time_ns) AS seen "
    "FROM rr JOIN executions e ON e.run_id = rr.id WHERE (?3 = '' OR e.job = ?3) "
    "GROUP BY e.run_id, e.job, e.test_id) ";

constexpr int64_t kDayNs = 86400LL * 1000000000LL;

// SQL for the start (ns) of the bucket holding time `column`: UTC days, or ISO weeks from
// Monday (1970-01-01 was a Thursday).
std::string BucketSql(MetricsFilter::Bucket bucket, std::string_view column) {
  const std::string day = std::to_string(kDayNs);
  if (bucket == MetricsFilter::Bucket::kDay) {
    return "((" + std::string(column) + ") / " + day + " * " + day + ")";
  }
  return "(((" + std::string(column) + ") / " + day + " + 3) / 7 * 7 - 3) * " + day;
}

int64_t BucketOf(MetricsFilter::Bucket bucket, int64_t t_ns) {
  int64_t day = t_ns / kDayNs;
  if (bucket == MetricsFilter::Bucket::kWeek) day = (day + 3) / 7 * 7 - 3;
  return day * kDayNs;
}

// Nearest rank: the ceil(p n)-th smallest.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

DurationStats StatsOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  DurationStats d;
  d.count = static_cast<int>(values.size());
  d.p50_s = Percentile(values, 0.5);
  d.p90_s = Percentile(values, 0.9);
  d.max_s = values.empty() ? 0 : values.back();
  return d;
}

std::vector<BucketDurations> BucketStats(const std::map<int64_t, std::vector<double>>& by_bucket) {
  std::vector<BucketDurations> out;
  for (const auto& [bucket, values] : by_bucket) out.push_back({bucket, StatsOf(values)});
  return out;
}

void BindFilter(Statement& q, const MetricsFilter& f) {
  q.Bind(1, f.since_ns);
  q.Bind(2, f.branch);
  q.Bind(3, f.job);
}

class SqliteCiAnalytics final : public CiAnalytics {
 public:
  explicit SqliteCiAnalytics(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {}

  Result<std::vector<RunSummary>> ListRuns(const RunFilter& filter) override;
  Result<std::map<std::string, double>> TestDurations(const DurationsFilter& filter) override;
  Result<std::vector<FlakyTest>> FlakyTests(const MetricsFilter& filter) override;
  Result<CiMetrics> GetCiMetrics(const MetricsFilter& filter) override;

 private:
  Result<ReadLease> Reader() { return db_->Reader(); }
  // The jobs of run row `run_id`, read on `conn`.
  Result<std::vector<JobSummary>> JobsOfRun(Connection& conn, int64_t run_id);
  // The parts of GetCiMetrics, each one statement (or two) on `conn`.
  Status RunMetrics(Connection& conn, const MetricsFilter& f, CiMetrics* m);
  Status JobMetrics(Connection& conn, const MetricsFilter& f, CiMetrics* m);
  Status TestMetrics(Connection& conn, const MetricsFilter& f, CiMetrics* m);
  Status ContentionShares(Connection& conn, const MetricsFilter& f, CiMetrics* m);
  Status TestRunMetrics(Connection& conn, const MetricsFilter& f, CiMetrics* m);

  const std::shared_ptr<SqliteDb> db_;
};

Result<std::vector<JobSummary>> SqliteCiAnalytics::JobsOfRun(Connection& conn, int64_t run_id) {
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      conn.Prepare("SELECT job, shard_index, shard_total, attempt, max(url), max(exit_code), "
                   "count(*), sum(tests), sum(failed) FROM uploads WHERE run_id = ?1 "
                   "GROUP BY job, shard_index, shard_total, attempt "
                   "ORDER BY job, shard_index, attempt"));
  q.Bind(1, run_id);
  std::vector<JobSummary> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    JobSummary j;
    j.job = q.Text(0);
    if (!q.IsNull(1) && !q.IsNull(2)) {
      j.shard_index = static_cast<int>(q.Int64(1));
      j.shard_total = static_cast<int>(q.Int64(2));
    }
    j.attempt = static_cast<int>(q.Int64(3));
    j.url = q.Text(4);
    if (!q.IsNull(5)) j.exit_code = static_cast<int>(q.Int64(5));
    j.uploads = static_cast<int>(q.Int64(6));
    j.tests = static_cast<int>(q.Int64(7));
    j.failed = static_cast<int>(q.Int64(8));
    out.push_back(std::move(j));
  }
  return out;
}

Result<std::vector<RunSummary>> SqliteCiAnalytics::ListRuns(const RunFilter& filter) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  Connection& conn = lease.conn();
  STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(conn, /*immediate=*/false));
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      conn.Prepare(
          "SELECT r.id, r.name, r.first_upload_ns, r.last_upload_ns, "
          "(SELECT count(*) FROM uploads u WHERE u.run_id = r.id), "
          "r.first_start_ns, r.last_end_ns, "
          "(SELECT count(*) FROM executions e WHERE e.run_id = r.id AND final = 1), "
          "(SELECT count(*) FROM executions e WHERE e.run_id = r.id AND final = 1 "
          " AND outcome IN ('failed', 'error')), "
          "(SELECT count(*) FROM executions e WHERE e.run_id = r.id AND final = 1 "
          " AND outcome = 'passed' AND EXISTS (SELECT 1 FROM executions p "
          " WHERE p.run_id = e.run_id AND p.job = e.job AND p.test_id = e.test_id "
          " AND p.final = 0 AND p.outcome IN ('failed', 'error'))), "
          "r.commit_sha, r.branch, r.default_branch, r.on_default, r.pr, r.provider "
          "FROM runs r WHERE (?2 = '' OR r.branch = ?2) "
          "AND (?3 = '' OR substr(r.commit_sha, 1, length(?3)) = ?3) "
          "AND (?4 = '' OR EXISTS (SELECT 1 FROM uploads u WHERE u.job = ?4 AND u.run_id = r.id)) "
          "AND (?5 IS NULL OR coalesce(r.first_start_ns, r.first_upload_ns) >= ?5) "
          "ORDER BY r.last_upload_ns DESC, r.id DESC LIMIT ?1"));
  q.Bind(1, filter.limit);
  q.Bind(2, filter.branch);
  q.Bind(3, filter.commit);
  q.Bind(4, filter.job);
  q.Bind(5, filter.since_ns);
  std::vector<std::pair<int64_t, RunSummary>> rows;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    RunSummary r;
    r.run = q.Text(1);
    r.first_upload_ns = q.Int64(2);
    r.last_upload_ns = q.Int64(3);
    r.uploads = static_cast<int>(q.Int64(4));
    r.first_start_ns = q.OptInt64(5);
    r.last_end_ns = q.OptInt64(6);
    r.tests = static_cast<int>(q.Int64(7));
    r.failed = static_cast<int>(q.Int64(8));
    r.flaky = static_cast<int>(q.Int64(9));
    r.identity.commit = q.Text(10);
    r.identity.branch = q.Text(11);
    r.identity.default_branch = q.Text(12);
    if (!q.IsNull(13)) r.identity.on_default_branch = q.Int64(13) != 0;
    r.identity.pr = q.Text(14);
    r.identity.provider = q.Text(15);
    rows.emplace_back(q.Int64(0), std::move(r));
  }
  std::vector<RunSummary> out;
  out.reserve(rows.size());
  for (auto& [id, r] : rows) {
    STORE_ASSIGN_OR_RETURN(r.jobs, JobsOfRun(conn, id));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::map<std::string, double>> SqliteCiAnalytics::TestDurations(
    const DurationsFilter& filter) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      lease.conn().Prepare(
          "SELECT test_id, avg(duration_s) FROM (SELECT e.test_id, e.duration_s, "
          "row_number() OVER (PARTITION BY e.test_id ORDER BY e.time_ns DESC, e.id DESC) AS n "
          "FROM executions e JOIN runs r ON r.id = e.run_id WHERE e.outcome = 'passed' "
          "AND (?2 = '' OR r.branch = ?2) AND (?3 = '' OR e.job = ?3) AND e.time_ns >= ?4) "
          "WHERE n <= ?1 GROUP BY test_id"));
  q.Bind(1, filter.per_test);
  q.Bind(2, filter.branch);
  q.Bind(3, filter.job);
  q.Bind(4, filter.since_ns.value_or(std::numeric_limits<int64_t>::min()));
  std::map<std::string, double> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.emplace(q.Text(0), q.Double(1));
  }
  return out;
}

// Per test over the filter's test runs, in one pass of the test-run grouping: test_runs,
// test_failure_rate and flaky (with its failures judged contention).
Status SqliteCiAnalytics::TestRunMetrics(Connection& conn, const MetricsFilter& f, CiMetrics* m) {
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      conn.Prepare(std::string(kFilteredRunsCte) + std::string(kTestRunsCte) +
                   ", c AS (SELECT test_id, c, max(failed) AS f, max(passed) AS p FROM t "
                   "GROUP BY test_id, c), "
                   "tf AS (SELECT t.test_id, t.c, t.passed, t.failed, t.retried, t.skipped, "
                   "t.seen, (NOT t.skipped AND ((t.passed AND t.retried) OR (c.f AND c.p))) "
                   "AS flaky FROM t JOIN c ON c.test_id = t.test_id AND c.c = t.c) "
                   "SELECT test_id, count(*), sum(NOT skipped), sum(flaky), count(DISTINCT CASE "
                   "WHEN flaky THEN c END), sum(passed), sum(failed), sum(passed AND retried), "
                   "max(seen) FROM tf GROUP BY test_id"));
  BindFilter(q, f);
  std::vector<FlakyTest> flaky;
  std::vector<TestFailureRate> failing;
  m->test_runs = 0;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    m->test_runs += static_cast<int>(q.Int64(1));
    FlakyTest t;
    t.test_id = q.Text(0);
    t.runs = static_cast<int>(q.Int64(2));
    t.flaky_runs = static_cast<int>(q.Int64(3));
    t.rate = t.runs > 0 ? static_cast<double>(t.flaky_runs) / t.runs : 0;
    t.commits = static_cast<int>(q.Int64(4));
    t.passed = static_cast<int>(q.Int64(5));
    t.failed = static_cast<int>(q.Int64(6));
    t.passed_on_retry = static_cast<int>(q.Int64(7));
    t.last_seen_ns = q.Int64(8);
    if (t.failed > 0) {
      failing.push_back({t.test_id, t.runs, t.failed, static_cast<double>(t.failed) / t.runs});
    }
    if (t.flaky_runs > 0) flaky.push_back(std::move(t));
  }
  const auto limit = static_cast<size_t>(f.limit);
  std::sort(failing.begin(), failing.end(), [](const TestFailureRate& a, const TestFailureRate& b) {
    return std::tuple(-a.rate, -a.failed, a.test_id) < std::tuple(-b.rate, -b.failed, b.test_id);
  });
  failing.resize(std::min(failing.size(), limit));
  m->test_failure_rate = std::move(failing);
  std::sort(flaky.begin(), flaky.end(), [](const FlakyTest& a, const FlakyTest& b) {
    return std::tuple(-a.flaky_runs, -a.rate, a.test_id) <
           std::tuple(-b.flaky_runs, -b.rate, b.test_id);
  });
  flaky.resize(std::min(flaky.size(), limit));
  m->flaky = std::move(flaky);
  if (m->flaky.empty()) return Status::Ok();
  // Failures judged contention (stored judgements, failed tests and flaky tests' failures).
  STORE_ASSIGN_OR_RETURN(
      Statement judged,
      conn.Prepare(std::string(kFilteredRunsCte) +
                   "SELECT jf.test_id, count(*) FROM judged_failures jf JOIN rr ON "
                   "rr.id = jf.run_id WHERE (?3 = '' OR jf.job = ?3) AND jf.verdict IN "
                   "('contention', 'contention-possible') GROUP BY jf.test_id"));
  BindFilter(judged, f);
  std::map<std::string, int> contended;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, judged.Step());
    if (!row) break;
    contended.emplace(judged.Text(0), static_cast<int>(judged.Int64(1)));
  }
  for (FlakyTest& t : m->flaky) {
    auto it = contended.find(t.test_id);
    if (it != contended.end()) t.contended = it->second;
  }
  return Status::Ok();
}

Result<std::vector<FlakyTest>> SqliteCiAnalytics::FlakyTests(const MetricsFilter& filter) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(lease.conn(), /*immediate=*/false));
  CiMetrics m;
  JOSTLE_RETURN_IF_ERROR(TestRunMetrics(lease.conn(), filter, &m));
  return std::move(m.flaky);
}

// Per run: pipeline duration (first test start to last end) and pain level, by bucket.
Status SqliteCiAnalytics::RunMetrics(Connection& conn, const MetricsFilter& f, CiMetrics* m) {
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      conn.Prepare(std::string(kFilteredRunsCte) +
                   "SELECT rr.t, min(e.start_ns), max(e.start_ns + CAST(e.duration_s * 1e9 AS "
                   "INTEGER)), sum(e.final), sum(e.final = 1 AND e.outcome IN ('failed', "
                   "'error')) FROM rr JOIN executions e ON e.run_id = rr.id "
                   "WHERE (?3 = '' OR e.job = ?3) GROUP BY rr.id"));
  BindFilter(q, f);
  std::map<int64_t, std::vector<double>> durations;
  std::map<int64_t, PainLevel> pain;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    const int64_t bucket = BucketOf(f.bucket, q.Int64(0));
    ++m->runs;
    if (!q.IsNull(1) && !q.IsNull(2)) {
      durations[bucket].push_back(static_cast<double>(q.Int64(2) - q.Int64(1)) / 1e9);
    }
    const int tests = static_cast<int>(q.Int64(3));
    const int failed = static_cast<int>(q.Int64(4));
    PainLevel& p = pain[bucket];
    p.bucket_ns = bucket;
    const double rate = tests > 0 ? static_cast<double>(failed) / tests : 0;
    p.mean += rate;  // summed here, divided below
    p.max = std::max(p.max, rate);
    ++p.runs;
    p.tests += tests;
    p.failed += failed;
  }
  m->pipeline_duration = BucketStats(durations);
  for (auto& [bucket, p] : pain) {
    p.mean /= p.runs;
    m->pain_level.push_back(p);
  }
  return Status::Ok();
}

// Per job (run, job name, shard, CI attempt): duration and outcome.
Status SqliteCiAnalytics::JobMetrics(Connection& conn, const MetricsFilter& f, CiMetrics* m) {
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      conn.Prepare(std::string(kFilteredRunsCte) +
                   "SELECT rr.name, rr.t, u.job, u.shard_index, u.shard_total, u.attempt, "
                   "u.tests, u.failed, u.exit_code, (SELECT min(start_ns) FROM executions "
                   "WHERE upload_id = u.id), (SELECT max(start_ns + CAST(duration_s * 1e9 AS "
                   "INTEGER)) FROM executions WHERE upload_id = u.id) FROM rr JOIN uploads u "
                   "ON u.run_id = rr.id WHERE (?3 = '' OR u.job = ?3) ORDER BY u.id"));
  BindFilter(q, f);
  using JobKey = std::tuple<std::string, std::string, std::optional<int>, std::optional<int>, int>;
  std::map<JobKey, std::pair<int64_t, JobRun>> jobs;  // key -> (run start, job)
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    JobRun j;
    j.run = q.Text(0);
    j.job = q.Text(2);
    if (!q.IsNull(3) && !q.IsNull(4)) {
      j.shard_index = static_cast<int>(q.Int64(3));
      j.shard_total = static_cast<int>(q.Int64(4));
    }
    j.attempt = static_cast<int>(q.Int64(5));
    auto [it, inserted] = jobs.try_emplace(
        JobKey{j.run, j.job, j.shard_index, j.shard_total, j.attempt}, q.Int64(1), j);
    JobRun& job = it->second.second;
    job.tests += static_cast<int>(q.Int64(6));
    job.failed += static_cast<int>(q.Int64(7));
    if (!q.IsNull(8)) {
      const int exit_code = static_cast<int>(q.Int64(8));
      if (exit_code != 0) job.failed_job = true;
      job.exit_code = std::max(job.exit_code.value_or(exit_code), exit_code);
    }
    if (!q.IsNull(9)) job.start_ns = std::min(job.start_ns.value_or(q.Int64(9)), q.Int64(9));
    if (!q.IsNull(10)) job.end_ns = std::max(job.end_ns.value_or(q.Int64(10)), q.Int64(10));
  }
  std::map<std::string, std::map<int64_t, std::vector<double>>> durations;
  std::map<std::string, std::map<int64_t, BucketRate>> rates;
  std::vector<std::pair<int64_t, JobRun>> all;
  for (auto& [key, entry] : jobs) {
    auto& [run_start, job] = entry;
    if (job.failed > 0) job.failed_job = true;
    const int64_t bucket = BucketOf(f.bucket, run_start);
    if (job.start_ns && job.end_ns) {
      durations[job.job][bucket].push_back(static_cast<double>(*job.end_ns - *job.start_ns) / 1e9);
    }
    BucketRate& r = rates[job.job][bucket];
    r.bucket_ns = bucket;
    ++r.count;
    r.failed += job.failed_job ? 1 : 0;
    all.emplace_back(job.start_ns.value_or(run_start), std::move(job));
  }
  m->jobs = static_cast<int>(all.size());
  for (auto& [name, by_bucket] : durations) {
    std::vector<double> every;
    for (const auto& [bucket, values] : by_bucket)
      every.insert(every.end(), values.begin(), values.end());
    m->job_duration.push_back({name, StatsOf(std::move(every)), BucketStats(by_bucket)});
  }
  for (auto& [name, by_bucket] : rates) {
    JobFailureRate r;
    r.job = name;
    for (auto& [bucket, b] : by_bucket) {
      b.rate = static_cast<double>(b.failed) / b.count;
      r.jobs += b.count;
      r.failed += b.failed;
      r.buckets.push_back(b);
    }
    r.rate = static_cast<double>(r.failed) / r.jobs;
    m->job_failure_rate.push_back(std::move(r));
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  constexpr size_t kLastJobs = 100;
  for (size_t k = 0; k < std::min(all.size(), kLastJobs); ++k) {
    m->last_jobs.push_back(std::move(all[k].second));
  }
  return Status::Ok();
}

// Per test: the durations of its passed attempts (test_duration, slowest).
Status SqliteCiAnalytics::TestMetrics(Connection& conn, const MetricsFilter& f, CiMetrics* m) {
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      conn.Prepare(std::string(kFilteredRunsCte) + "SELECT e.test_id, " +
                   BucketSql(f.bucket, "rr.t") +
                   ", count(*), sum(e.duration_s), max(e.duration_s) FROM rr JOIN executions e "
                   "ON e.run_id = rr.id WHERE e.outcome = 'passed' AND (?3 = '' OR e.job = ?3) "
                   "GROUP BY e.test_id, 2 ORDER BY e.test_id, 2"));
  BindFilter(q, f);
  std::vector<TestDuration> tests;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    std::string id = q.Text(0);
    if (tests.empty() || tests.back().test_id != id) tests.push_back({std::move(id), 0, 0, 0, {}});
    TestDuration& t = tests.back();
    const int runs = static_cast<int>(q.Int64(2));
    t.runs += runs;
    t.mean_s += q.Double(3);  // the sum here, divided below
    t.max_s = std::max(t.max_s, q.Double(4));
    t.buckets.push_back({q.Int64(1), runs, q.Double(3) / runs});
  }
  for (TestDuration& t : tests) t.mean_s /= t.runs;
  auto by = [&](auto key, size_t n) {
    std::stable_sort(tests.begin(), tests.end(),
                     [&](const TestDuration& a, const TestDuration& b) { return key(a) > key(b); });
    return std::vector<TestDuration>(tests.begin(), tests.begin() + std::min(n, tests.size()));
  };
  constexpr size_t kSlowest = 10;
  for (const TestDuration& t : by([](const TestDuration& t) { return t.mean_s; }, kSlowest)) {
    m->slowest.push_back({t.test_id, t.mean_s, t.max_s, t.runs});
  }
  m->test_duration =
      by([](const TestDuration& t) { return t.mean_s * t.runs; }, static_cast<size_t>(f.limit));
  return Status::Ok();
}

// Per bucket: failed tests, and the stored judgements' share of contention among them.
Status SqliteCiAnalytics::ContentionShares(Connection& conn, const MetricsFilter& f, CiMetrics* m) {
  std::map<int64_t, ContentionShare> shares;
  for (const PainLevel& p : m->pain_level) {
    shares[p.bucket_ns].bucket_ns = p.bucket_ns;
    shares[p.bucket_ns].failures = p.failed;
  }
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      conn.Prepare(std::string(kFilteredRunsCte) + "SELECT " + BucketSql(f.bucket, "rr.t") +
                   ", count(*), sum(jf.verdict IN ('contention', 'contention-possible')) "
                   "FROM judged_failures jf JOIN rr ON rr.id = jf.run_id WHERE jf.kind = "
                   "'failure' AND (?3 = '' OR jf.job = ?3) GROUP BY 1"));
  BindFilter(q, f);
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ContentionShare& c = shares[q.Int64(0)];
    c.bucket_ns = q.Int64(0);
    c.judged = static_cast<int>(q.Int64(1));
    c.contention = static_cast<int>(q.Int64(2));
  }
  for (auto& [bucket, c] : shares) {
    if (c.judged > 0) c.share = static_cast<double>(c.contention) / c.judged;
    m->contention_share.push_back(c);
  }
  return Status::Ok();
}

Result<CiMetrics> SqliteCiAnalytics::GetCiMetrics(const MetricsFilter& filter) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  Connection& conn = lease.conn();
  STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(conn, /*immediate=*/false));
  CiMetrics m;
  JOSTLE_RETURN_IF_ERROR(RunMetrics(conn, filter, &m));
  JOSTLE_RETURN_IF_ERROR(JobMetrics(conn, filter, &m));
  JOSTLE_RETURN_IF_ERROR(TestMetrics(conn, filter, &m));
  JOSTLE_RETURN_IF_ERROR(TestRunMetrics(conn, filter, &m));
  JOSTLE_RETURN_IF_ERROR(ContentionShares(conn, filter, &m));
  return m;
}

}  // namespace

std::unique_ptr<CiAnalytics> NewSqliteCiAnalytics(std::shared_ptr<sqlite::SqliteDb> db) {
  return std::make_unique<SqliteCiAnalytics>(std::move(db));
}

}  // namespace jostle::collector
