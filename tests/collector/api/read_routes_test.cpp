// The collector's GET routes (read_routes.h) and its alert path (RunAlertScheduler) end to
// end in one process: a real SQLite file, the real HTTP server on loopback, libcurl as the
// client, and a real HTTP receiver for the webhook.
#include "collector/api/read_routes.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "collector/alerts/run_alert_scheduler.h"
#include "collector/alerts/signature.h"
#include "collector/api/collector_api.h"
#include "collector/attribution/judgement.h"
#include "collector/store/sqlite_db.h"
#include "http_client/http_client.h"
#include "jostle/wire.h"
#include "tests/collector/alerts/loopback_receiver.h"
#include "tests/collector/attribution/test_scenario.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using alerts::testing::Answer;
using alerts::testing::LoopbackReceiver;
using jostle::testing::Cgroup;
using jostle::testing::kSecond;
using jostle::testing::NodeScenario;
using jostle::testing::OwnPod;
using jostle::testing::Pod;
using jostle::testing::Tick;
using std::chrono::milliseconds;

constexpr const char* kAgentToken = "agent-token-0001";
constexpr const char* kCiToken = "ci-token-00000002";
constexpr const char* kReadToken = "read-token-000003";
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kNode = "node-a";

// Ten minutes ago, whole seconds: recent enough for the since= windows of the analytics.
int64_t RecentT0() {
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return (now_s - 600) * kSecond;
}

std::string Rfc3339(int64_t ns) {
  time_t s = static_cast<time_t>(ns / kSecond);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// 40 one-second samples of kNode from t0: quiet, then ticks 10..25 saturated by a
// neighbour pod (node CPU busy 1.0, felt by the own pod as CPU pressure), then quiet again.
SampleBatch ContendedNodeBatch(int64_t t0) {
  NodeScenario node(t0);
  Tick quiet;
  quiet.busy = 0.1;
  quiet.cgroups = {OwnPod(0.3), Pod("load", "burner", 0.05)};
  Tick busy;
  busy.busy = 1.0;
  busy.psi_cpu = 0.6;
  jostle::testing::CgroupTick own_felt = OwnPod(0.3);
  own_felt.psi_cpu = 0.4;
  busy.cgroups = {own_felt, Pod("load", "burner", 3.6)};
  node.Repeat(10, quiet).Repeat(16, busy).Repeat(14, quiet);
  SampleBatch b;
  b.node = kNode;
  b.boot_id = "0e4f6c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6";
  b.agent_start_ns = t0 - 100 * kSecond;
  b.seq = 0;
  b.agent_version = "test";
  b.interval_ns = kSecond;
  b.samples = node.samples();
  return b;
}

// jostle JSON results: test_deadline fails inside the saturated ticks, test_quick passes in
// a quiet stretch, test_retry fails and then passes on a rerun (flaky).
std::string ContendedResults(int64_t t0) {
  Json tests = Json::array();
  tests.push_back({{"id", "tests/test_timing.py::test_deadline"},
                   {"attempts",
                    {{{"outcome", "failed"},
                      {"start", Rfc3339(t0 + 15 * kSecond)},
                      {"duration_s", 3.0},
                      {"message", "deadline exceeded"}}}}});
  tests.push_back(
      {{"id", "tests/test_timing.py::test_quick"},
       {"attempts",
        {{{"outcome", "passed"}, {"start", Rfc3339(t0 + 30 * kSecond)}, {"duration_s", 1.5}}}}});
  tests.push_back(
      {{"id", "tests/test_net.py::test_retry"},
       {"attempts",
        {{{"outcome", "failed"}, {"start", Rfc3339(t0 + 2 * kSecond)}, {"duration_s", 1.0}},
         {{"outcome", "passed"}, {"start", Rfc3339(t0 + 4 * kSecond)}, {"duration_s", 0.5}}}}});
  return Json{{"format", "jostle-results/v1"}, {"producer", "read-routes-test"}, {"tests", tests}}
      .dump();
}

// A run where every test passes, in a quiet stretch.
std::string GreenResults(int64_t t0) {
  Json tests = Json::array();
  tests.push_back(
      {{"id", "tests/test_timing.py::test_quick"},
       {"attempts",
        {{{"outcome", "passed"}, {"start", Rfc3339(t0 + 32 * kSecond)}, {"duration_s", 2.5}}}}});
  return Json{{"format", "jostle-results/v1"}, {"tests", tests}}.dump();
}

class ReadRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-read-routes-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "agent " << kAgentToken << "\n"
                                   << "ci " << kCiToken << "\n"
                                   << "read " << kReadToken << "\n";
    auto store = OpenSqliteStores((dir_ / "jostle.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store.value());
    ApiOptions options;
    options.token_file = (dir_ / "tokens").string();
    options.on_results = [this](const ResultOrigin& origin, const UploadSummary&) {
      if (RunAlertScheduler* s = scheduler_.load()) s->OnResults(origin.run);
    };
    auto api = CollectorApi::Create(*store_, options);
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(api.value());
    AddReadRoutes(*api_, AttributionConfig{}, report_slots_);
    auto server = HttpServer::Start(HttpServerOptions{}, api_->AsHandler());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server.value());
    base_ = "http://" + server_->address();
    t0_ = RecentT0();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    StopAlerts();
    server_.reset();
    api_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void StartAlerts(std::vector<alerts::WebhookTarget> targets, alerts::DeliveryPolicy policy,
                   milliseconds max_wait = milliseconds(30000)) {
    RunAlertSchedulerOptions options;
    options.targets = std::move(targets);
    options.public_url = "https://jostle.ci.example/";
    options.min_delay = milliseconds(50);
    options.max_wait = max_wait;
    options.recheck = milliseconds(50);
    options.policy = policy;
    auto scheduler = RunAlertScheduler::Create(*store_, options);
    ASSERT_TRUE(scheduler.ok()) << scheduler.status().ToString();
    owned_scheduler_ = std::move(scheduler.value());
    scheduler_.store(owned_scheduler_.get());
  }

  void StopAlerts() {
    scheduler_.store(nullptr);
    if (owned_scheduler_) owned_scheduler_->Stop(milliseconds(0));
    owned_scheduler_.reset();
  }

  http::HttpResponse Send(const std::string& method, const std::string& target,
                          const std::string& token, std::string body = "",
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::HttpRequest r;
    r.method = method;
    r.url = base_ + target;
    r.body = std::move(body);
    r.bearer_token = token;
    r.headers = std::move(headers);
    auto resp = client_.Send(r);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? resp.value() : http::HttpResponse{};
  }

  Json GetJson(const std::string& target, int want_status = 200) {
    auto r = Send("GET", target, kReadToken);
    EXPECT_EQ(r.status, want_status) << target << ": " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/json") << target;
    Json j = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << target << ": " << r.body;
    return j;
  }

  // Samples [from, to) of ContendedNodeBatch, as batch `seq`.
  void UploadSamples(size_t from = 0, size_t to = 40, uint64_t seq = 0) {
    SampleBatch b = ContendedNodeBatch(t0_);
    b.samples = std::vector<Sample>(b.samples.begin() + static_cast<ptrdiff_t>(from),
                                    b.samples.begin() + static_cast<ptrdiff_t>(to));
    b.seq = seq;
    auto r = Send("POST", "/api/v1/samples", kAgentToken, EncodeBatch(b),
                  {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  void UploadResults(const std::string& run, const std::string& job, const std::string& body) {
    auto r = Send("POST",
                  "/api/v1/runs/" + run + "/results?job=" + job + "&pod=ci/runner-1&node=" + kNode,
                  kCiToken, body, {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  fs::path dir_;
  std::unique_ptr<Stores> store_;
  ReportSlots report_slots_{2};
  std::unique_ptr<CollectorApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<RunAlertScheduler> owned_scheduler_;
  std::atomic<RunAlertScheduler*> scheduler_{nullptr};
  std::string base_;
  http::HttpClient client_;
  int64_t t0_ = 0;
};

TEST_F(ReadRoutesTest, ReportInEveryFormatWithItsContentType) {
  UploadSamples();
  UploadResults("r-100", "unit", ContendedResults(t0_));

  Json report = GetJson("/api/v1/runs/r-100/report?format=json");
  EXPECT_EQ(report["run"], "r-100");
  ASSERT_EQ(report["failures"].size(), 1u) << report.dump();
  const Json& failure = report["failures"][0];
  EXPECT_EQ(failure["test"], "tests/test_timing.py::test_deadline");
  EXPECT_EQ(failure["verdict"], "contention-possible");
  EXPECT_EQ(failure["resource"], "cpu");
  // Without format= the report is JSON too.
  EXPECT_EQ(GetJson("/api/v1/runs/r-100/report")["run"], "r-100");

  auto md = Send("GET", "/api/v1/runs/r-100/report?format=md", kReadToken);
  ASSERT_EQ(md.status, 200) << md.body;
  EXPECT_EQ(md.Header("content-type"), "text/markdown; charset=utf-8");
  EXPECT_NE(md.body.find("test\\_deadline"), std::string::npos) << md.body;  // escaped
  EXPECT_NE(md.body.find("contention-possible"), std::string::npos) << md.body;

  auto html = Send("GET", "/api/v1/runs/r-100/report?format=html", kReadToken);
  ASSERT_EQ(html.status, 200) << html.body.substr(0, 200);
  EXPECT_EQ(html.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(html.body.find("<svg"), std::string::npos);
  EXPECT_NE(html.body.find("test_deadline"), std::string::npos);
}

// Rows a report read must never write: window classifications and judgements.
int64_t WrittenByJudging(const std::string& db) {
  auto conn = sqlite::Connection::Open(db, false);
  EXPECT_TRUE(conn.ok());
  if (!conn.ok()) return -1;
  return (*conn)
      ->QueryInt(
          "SELECT (SELECT count(*) FROM execution_facts) * 1000000 + "
          "(SELECT count(*) FROM judgements) * 1000 + (SELECT count(*) FROM "
          "judged_failures)")
      .value_or(-1);
}

// A run's verdicts as of the run: a read before it is judged computes them and stores
// nothing; once judged (the writer path) they are stored and a later read renders the same
// verdicts and evidence though a later run would change them; rejudge=1 takes today's
// history and says so. No read writes.
TEST_F(ReadRoutesTest, VerdictsAreThoseOfTheirRunAndReadsNeverWrite) {
  UploadSamples();
  UploadResults("r-1", "unit", ContendedResults(t0_));
  const std::string db = (dir_ / "jostle.db").string();
  const int64_t nothing = WrittenByJudging(db);
  ASSERT_EQ(nothing, 0);

  Json live = GetJson("/api/v1/runs/r-1/report");
  ASSERT_EQ(live["failures"].size(), 1u) << live.dump();
  EXPECT_EQ(live["failures"][0]["verdict"], "contention-possible");
  EXPECT_NE(live.dump().find("not judged yet"), std::string::npos) << live["warnings"];
  EXPECT_EQ(WrittenByJudging(db), nothing);

  // The writer path: judged once the samples are in, stored with the run.
  auto judged = BuildRunReport(store_->samples(), store_->results(), "r-1", AttributionConfig{});
  ASSERT_TRUE(judged.ok()) << judged.status().ToString();
  ASSERT_TRUE(StoreJudgement(store_->results(), *judged).ok());
  auto stored = store_->results().GetJudgement("r-1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->failures, 2);  // test_deadline, and test_retry as a flaky test
  EXPECT_FALSE((*stored)->stale);
  const int64_t after_judging = WrittenByJudging(db);
  Json as_judged = GetJson("/api/v1/runs/r-1/report");
  EXPECT_EQ(as_judged["failures"], live["failures"]);
  EXPECT_EQ(as_judged["warnings"].dump().find("judged"), std::string::npos);

  // A later run on the same branch passes test_deadline in a clear window: today's history
  // would count that pass in r-1's evidence (one clear pass is not yet discriminating).
  Json later = {{"format", "jostle-results/v1"},
                {"tests",
                 {{{"id", "tests/test_timing.py::test_deadline"},
                   {"attempts",
                    {{{"outcome", "passed"},
                      {"start", Rfc3339(t0_ + 30 * kSecond)},
                      {"duration_s", 2.0}}}}}}}};
  UploadResults("r-2", "unit", later.dump());
  Json again = GetJson("/api/v1/runs/r-1/report");
  EXPECT_EQ(again["failures"], as_judged["failures"]);
  EXPECT_EQ(again["failures"][0]["verdict"], "contention-possible");
  EXPECT_EQ(again["failures"][0]["evidence"]["history"]["passed_clear"], 0) << again["failures"];

  Json rejudged = GetJson("/api/v1/runs/r-1/report?rejudge=1");
  ASSERT_EQ(rejudged["failures"].size(), 1u);
  EXPECT_EQ(rejudged["failures"][0]["verdict"], "contention-possible") << rejudged["failures"];
  EXPECT_EQ(rejudged["failures"][0]["evidence"]["history"]["passed_clear"], 1);
  EXPECT_NE(rejudged["failures"][0]["evidence"], again["failures"][0]["evidence"]);
  EXPECT_NE(rejudged["warnings"].dump().find("rejudged with today's history"), std::string::npos);
  auto html = Send("GET", "/api/v1/runs/r-1/report?format=html&rejudge=1", kReadToken);
  EXPECT_NE(html.body.find("rejudged with today"), std::string::npos);
  auto md = Send("GET", "/api/v1/runs/r-1/report?format=md&rejudge=1", kReadToken);
  EXPECT_NE(md.body.find("> **Warning:** rejudged with today"), std::string::npos) << md.body;
  EXPECT_EQ(GetJson("/api/v1/runs/r-1/report?rejudge=yes", 400)["detail"],
            "rejudge='yes': expected 0 or 1");
  EXPECT_EQ(WrittenByJudging(db), after_judging);

  // An upload to r-1 after its judgement: reads compute as of the run again until the
  // writer path judges it anew.
  UploadResults("r-1", "e2e", GreenResults(t0_));
  auto stale = store_->results().GetJudgement("r-1");
  ASSERT_TRUE(stale.ok() && stale->has_value());
  EXPECT_TRUE((*stale)->stale);
  Json recomputed = GetJson("/api/v1/runs/r-1/report");
  EXPECT_NE(recomputed.dump().find("uploads after it was judged"), std::string::npos);
  EXPECT_EQ(recomputed["failures"][0]["verdict"], "contention-possible");
  EXPECT_EQ(WrittenByJudging(db), after_judging);
}

TEST_F(ReadRoutesTest, ReportErrorsAndAccess) {
  UploadResults("r-1", "unit", GreenResults(t0_));
  struct Case {
    const char* target;
    const char* token;
    int status;
    const char* detail;
  };
  const Case cases[] = {
      {"/api/v1/runs/nope/report", kReadToken, 404, "run 'nope' has no stored results"},
      {"/api/v1/runs/r-1/report?format=pdf", kReadToken, 400, "format='pdf'"},
      {"/api/v1/runs/r$1/report", kReadToken, 400, "run id 'r$1'"},
      {"/api/v1/runs/r-1/report", "", 401, "missing"},
      {"/api/v1/runs/r-1/report", "wrong-token-0000", 401, "unknown token"},
      {"/api/v1/runs/r-1/report", kAgentToken, 403, "needs 'read'"},
      {"/api/v1/runs/r-1/report", kCiToken, 403, "needs 'read'"},
      {"/api/v1/runs", kAgentToken, 403, "needs 'read'"},
      {"/api/v1/runs?limit=0", kReadToken, 400, "limit='0'"},
      {"/api/v1/runs?limit=12x", kReadToken, 400, "limit='12x'"},
      {"/api/v1/tests/durations", "", 401, "missing"},
      {"/api/v1/tests/durations?per_test=-1", kReadToken, 400, "per_test"},
      {"/api/v1/tests/flaky", kCiToken, 403, "needs 'read'"},
      {"/api/v1/tests/flaky?since=soon", kReadToken, 400, "since"},
      {"/api/v1/ci-metrics?since=0s", kReadToken, 400, "since"},
      {"/api/v1/ci-metrics", kAgentToken, 403, "needs 'read'"},
      {"/api/v1/alerts", "", 401, "missing"},
      {"/api/v1/alerts?limit=5000", kReadToken, 400, "limit"},
  };
  for (const Case& c : cases) {
    auto r = Send("GET", c.target, c.token);
    EXPECT_EQ(r.status, c.status) << c.target << " " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/json") << c.target;
    Json j = Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << c.target << " " << r.body;
    EXPECT_TRUE(j.contains("error")) << c.target;
    EXPECT_NE(j.value("detail", "").find(c.detail), std::string::npos)
        << c.target << " " << j.dump();
  }
  // POST on a GET route: 405.
  EXPECT_EQ(Send("POST", "/api/v1/runs/r-1/report", kReadToken, "{}").status, 405);
}

TEST_F(ReadRoutesTest, ListsRunsNewestFirst) {
  UploadResults("r-older", "unit", GreenResults(t0_));
  UploadResults("r-newer", "unit", ContendedResults(t0_));
  UploadResults("r-newer", "lint", GreenResults(t0_));
  Json j = GetJson("/api/v1/runs");
  ASSERT_EQ(j["runs"].size(), 2u) << j.dump();
  const Json& newer = j["runs"][0];
  EXPECT_EQ(newer["run"], "r-newer");
  EXPECT_EQ(newer["uploads"], 2);
  EXPECT_EQ(newer["tests"], 4);  // 3 of job unit, 1 of job lint
  EXPECT_EQ(newer["failed"], 1);
  EXPECT_EQ(newer["flaky"], 1);
  EXPECT_EQ(newer["report"], "/api/v1/runs/r-newer/report");
  EXPECT_EQ(newer["start"], Rfc3339(t0_ + 2 * kSecond).substr(0, 19) + ".000Z");
  EXPECT_TRUE(newer["first_upload"].is_string());
  EXPECT_EQ(j["runs"][1]["run"], "r-older");
  EXPECT_EQ(GetJson("/api/v1/runs?limit=1")["runs"].size(), 1u);
}

TEST_F(ReadRoutesTest, RunIdentityFromTheResultsRouteIsShownAndFiltered) {
  auto post = [&](const std::string& run, const std::string& query, const std::string& body) {
    return Send("POST", "/api/v1/runs/" + run + "/results?" + query, kCiToken, body,
                {{"Content-Type", "application/json"}});
  };
  auto r = post("gh-81",
                "job=unit&commit=9A65FE9D&branch=feature%2Fcart&default_branch=main"
                "&pr=42&shard=1/2&attempt=2&url=https%3A%2F%2Fci.example%2Fj%2F1"
                "&provider=github-actions&exit=1",
                ContendedResults(t0_));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(post("gh-82", "job=lint&commit=00ff00ff&branch=main&on_default_branch=true",
                 GreenResults(t0_))
                .status,
            200);
  Json runs = GetJson("/api/v1/runs?branch=feature/cart");
  ASSERT_EQ(runs["runs"].size(), 1u) << runs.dump();
  const Json& run = runs["runs"][0];
  EXPECT_EQ(run["run"], "gh-81");
  EXPECT_EQ(run["commit"], "9a65fe9d");
  EXPECT_EQ(run["branch"], "feature/cart");
  EXPECT_EQ(run["default_branch"], "main");
  EXPECT_EQ(run["on_default_branch"], false);
  EXPECT_EQ(run["pr"], "42");
  EXPECT_EQ(run["provider"], "github-actions");
  ASSERT_EQ(run["jobs"].size(), 1u);
  EXPECT_EQ(run["jobs"][0], Json({{"job", "unit"},
                                  {"shard", "1/2"},
                                  {"attempt", 2},
                                  {"url", "https://ci.example/j/1"},
                                  {"exit", 1},
                                  {"uploads", 1},
                                  {"tests", 3},
                                  {"failed", 1}}));
  Json main = GetJson("/api/v1/runs?branch=main")["runs"];
  ASSERT_EQ(main.size(), 1u);
  EXPECT_EQ(main[0]["on_default_branch"], true);
  EXPECT_EQ(main[0]["pr"], nullptr);
  EXPECT_EQ(main[0]["jobs"][0]["shard"], nullptr);
  EXPECT_EQ(GetJson("/api/v1/runs?job=lint")["runs"].size(), 1u);
  EXPECT_EQ(GetJson("/api/v1/runs?commit=9a65")["runs"][0]["run"], "gh-81");
  EXPECT_EQ(GetJson("/api/v1/runs?since=2w")["runs"].size(), 2u);
  EXPECT_EQ(GetJson("/api/v1/runs?since=1m")["runs"].size(), 0u);  // tests started 10 min ago
  EXPECT_EQ(GetJson("/api/v1/tests/flaky?since=2w")["tests"].size(), 1u);
  // Another commit for the same run: 409, nothing stored.
  auto conflict = post("gh-81", "job=unit&commit=abcdabcd", GreenResults(t0_));
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_NE(conflict.body.find("commit '9a65fe9d'"), std::string::npos) << conflict.body;
  EXPECT_EQ(GetJson("/api/v1/runs?commit=9a65")["runs"][0]["uploads"], 1);
  // Bad values: 400 naming the parameter.
  for (std::string bad : {"commit=xyz", "branch=a%20b", "shard=3/2", "attempt=0", "url=ftp://x",
                          "pr=1a", "provider=A", "exit=300", "on_default_branch=maybe"}) {
    auto resp = post("gh-90", "job=unit&" + bad, GreenResults(t0_));
    EXPECT_EQ(resp.status, 400) << bad << " " << resp.body;
    EXPECT_NE(resp.body.find(bad.substr(0, bad.find('='))), std::string::npos) << resp.body;
  }
  for (std::string bad : {"branch=a..b", "commit=zz", "job=%01", "since=3y"}) {
    auto resp = Send("GET", "/api/v1/runs?" + bad, kReadToken);
    EXPECT_EQ(resp.status, 400) << bad << " " << resp.body;
  }
  EXPECT_EQ(GetJson("/api/v1/runs?commit=9a65")["runs"].size(), 1u);
  EXPECT_EQ(GetJson("/api/v1/runs")["runs"].size(), 2u);  // gh-90 was never stored
}

TEST_F(ReadRoutesTest, AnUnknownQueryParameterIsA400NamingItOnEveryRoute) {
  UploadResults("r-1", "unit", GreenResults(t0_));
  struct Case {
    const char* method;
    const char* target;
    const char* token;
    const char* named;
  };
  const Case cases[] = {
      {"GET", "/healthz?verbose=1", "", "'verbose'"},
      {"GET", "/readyz?x=1", kReadToken, "'x'"},
      {"GET", "/metrics?name=up", kReadToken, "'name'"},
      {"POST", "/api/v1/samples?node=a", kAgentToken, "'node'"},
      {"POST", "/api/v1/runs/r-1/results?job=unit&sha=abc", kCiToken, "'sha'"},
      {"GET", "/api/v1/runs?limt=5", kReadToken, "'limt'"},
      {"GET", "/api/v1/runs/r-1/report?fromat=md", kReadToken, "'fromat'"},
      {"GET", "/api/v1/tests/durations?x=1&y=2", kReadToken, "s 'x', 'y'"},
      {"GET", "/api/v1/tests/flaky?limt=5", kReadToken, "'limt'"},
      {"GET", "/api/v1/ci-metrics?branchh=main", kReadToken, "'branchh'"},
      {"GET", "/api/v1/alerts?since=1d", kReadToken, "'since'"},
  };
  for (const Case& c : cases) {
    auto r = Send(c.method, c.target, c.token, std::string(c.method) == "POST" ? "{}" : "",
                  {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 400) << c.target << " " << r.body;
    EXPECT_NE(r.body.find("unknown query parameter" + std::string(c.named[0] == 's' ? "" : " ") +
                          c.named),
              std::string::npos)
        << c.target << " " << r.body;
  }
  // Nothing was stored by the refused upload; the parameters a route takes are accepted.
  EXPECT_EQ(GetJson("/api/v1/runs")["runs"][0]["uploads"], 1);
  EXPECT_EQ(GetJson("/api/v1/alerts?limit=5")["alerts"].size(), 0u);
}

TEST_F(ReadRoutesTest, TestDurationsInPytestSplitFormat) {
  UploadResults("r-1", "unit", ContendedResults(t0_));
  UploadResults("r-2", "unit", GreenResults(t0_));
  Json j = GetJson("/api/v1/tests/durations");
  ASSERT_TRUE(j.is_object()) << j.dump();
  // pytest-split reads {"<node id>": seconds}: a flat object of numbers.
  for (const auto& [id, seconds] : j.items()) {
    EXPECT_TRUE(seconds.is_number()) << id;
  }
  // test_quick passed in 1.5 s and 2.5 s; test_retry passed once in 0.5 s; test_deadline
  // never passed.
  EXPECT_DOUBLE_EQ(j.at("tests/test_timing.py::test_quick").get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j.at("tests/test_net.py::test_retry").get<double>(), 0.5);
  EXPECT_FALSE(j.contains("tests/test_timing.py::test_deadline"));
  EXPECT_DOUBLE_EQ(
      GetJson("/api/v1/tests/durations?per_test=1").at("tests/test_timing.py::test_quick"), 2.5);
  // Filters: the job's executions, attempts since D (the tests ran ten minutes ago).
  EXPECT_EQ(GetJson("/api/v1/tests/durations?job=unit").size(), 2u);
  EXPECT_TRUE(GetJson("/api/v1/tests/durations?job=e2e").empty());
  EXPECT_TRUE(GetJson("/api/v1/tests/durations?since=1m").empty());
  EXPECT_EQ(GetJson("/api/v1/tests/durations?since=1h").size(), 2u);
  EXPECT_TRUE(GetJson("/api/v1/tests/durations?branch=main").empty());  // no branch given
  EXPECT_EQ(GetJson("/api/v1/tests/durations?branch=a..b", 400)["error"], "malformed");
}

TEST_F(ReadRoutesTest, FlakyTestsAndCiMetrics) {
  UploadResults("r-1", "unit", ContendedResults(t0_));
  UploadResults("r-2", "unit", GreenResults(t0_));
  UploadResults("r-2", "e2e", ContendedResults(t0_));

  Json flaky = GetJson("/api/v1/tests/flaky?since=7d");
  EXPECT_TRUE(flaky["since"].is_string());
  ASSERT_FALSE(flaky["tests"].empty()) << flaky.dump();
  const Json& retry = flaky["tests"][0];
  EXPECT_EQ(retry["test"], "tests/test_net.py::test_retry");
  EXPECT_EQ(retry["runs"], 2);
  EXPECT_EQ(retry["passed_on_retry"], 2);
  EXPECT_TRUE(retry["last_seen"].is_string());
  // The tests ran ten minutes ago: a one-minute window sees none of them.
  EXPECT_TRUE(GetJson("/api/v1/tests/flaky?since=1m")["tests"].empty());

  Json m = GetJson("/api/v1/ci-metrics?since=7d");
  EXPECT_EQ(m["runs"], 2);
  EXPECT_EQ(m["jobs"], 3);
  EXPECT_EQ(m["test_runs"], 7);
  ASSERT_FALSE(m["test_failure_rate"].empty());
  EXPECT_EQ(m["test_failure_rate"][0]["test"], "tests/test_timing.py::test_deadline");
  EXPECT_DOUBLE_EQ(m["test_failure_rate"][0]["rate"].get<double>(), 1.0);
  // Jobs with a failed test over jobs: unit (r-1 failed, r-2 passed), e2e (r-2 failed).
  std::map<std::string, double> job_rates;
  for (const Json& j : m["job_failure_rate"]) job_rates[j["job"]] = j["rate"].get<double>();
  ASSERT_EQ(job_rates.size(), 2u) << m.dump();
  EXPECT_DOUBLE_EQ(job_rates["unit"], 0.5);
  EXPECT_DOUBLE_EQ(job_rates["e2e"], 1.0);
  for (const char* name : {"pipeline_duration", "pain_level", "job_duration", "test_duration",
                           "last_jobs", "slowest", "flaky", "contention_share"}) {
    EXPECT_TRUE(m[name].is_array()) << name;
  }
  ASSERT_FALSE(m["slowest"].empty());
  EXPECT_TRUE(m["slowest"][0].contains("mean_s"));
  EXPECT_EQ(m["bucket"], "day");
  EXPECT_EQ(GetJson("/api/v1/ci-metrics?since=7d&bucket=week")["bucket"], "week");
  EXPECT_EQ(GetJson("/api/v1/ci-metrics?since=7d&job=e2e")["jobs"], 1);
  EXPECT_EQ(GetJson("/api/v1/ci-metrics?since=7d&bucket=month", 400)["detail"],
            "bucket='month': expected day or week");
  EXPECT_EQ(GetJson("/api/v1/ci-metrics?since=1m")["test_runs"], 0);
  EXPECT_EQ(GetJson("/api/v1/tests/flaky?since=7d&limit=1")["tests"].size(), 1u);
}

alerts::DeliveryPolicy QuickPolicy() {
  alerts::DeliveryPolicy p;
  p.connect_timeout = milliseconds(1000);
  p.request_timeout = milliseconds(2000);
  p.max_attempts = 2;
  p.deadline = milliseconds(5000);
  p.initial_backoff = milliseconds(20);
  p.max_backoff = milliseconds(50);
  return p;
}

TEST_F(ReadRoutesTest, ContentionRunAlertsOnceSignedAndLogged) {
  LoopbackReceiver receiver;
  ASSERT_TRUE(receiver.listening());
  StartAlerts({{receiver.Url(), kSecret, alerts::PayloadFormat::kAuto}}, QuickPolicy());
  UploadSamples();
  UploadResults("r-alert", "unit", ContendedResults(t0_));
  // A green run alerts nobody.
  UploadResults("r-green", "unit", GreenResults(t0_));

  ASSERT_TRUE(receiver.WaitForRequests(1, milliseconds(30000)));
  ASSERT_TRUE(owned_scheduler_->WaitIdle(milliseconds(30000)));
  ASSERT_EQ(receiver.RequestCount(), 1u);
  const alerts::testing::ReceivedRequest request = receiver.Requests()[0];
  EXPECT_EQ(request.method, "POST");
  Status verified = alerts::VerifySignature(kSecret, request.headers.at("webhook-id"),
                                            request.headers.at("webhook-timestamp"), request.body,
                                            request.headers.at("webhook-signature"));
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  Json body = Json::parse(request.body);
  EXPECT_EQ(body["type"], "jostle.contention");
  EXPECT_EQ(body["run"], "r-alert");
  EXPECT_EQ(body["job"], "unit");
  EXPECT_EQ(body["report_url"], "https://jostle.ci.example/api/v1/runs/r-alert/report?format=html");
  EXPECT_EQ(body["counts"]["failed"], 1);
  ASSERT_EQ(body["failures"].size(), 1u) << body.dump();
  EXPECT_EQ(body["failures"][0]["test"], "tests/test_timing.py::test_deadline");
  EXPECT_EQ(body["failures"][0]["verdict"], "contention-possible");
  EXPECT_EQ(body["failures"][0]["resource"], "cpu");
  EXPECT_EQ(body["failures"][0]["culprit"], "load/burner");
  EXPECT_EQ(body["failures"][0]["node"], kNode);
  EXPECT_EQ(body["failures"][0]["pod"], "ci/runner-1");

  Json log = GetJson("/api/v1/alerts");
  ASSERT_EQ(log["alerts"].size(), 1u) << log.dump();
  const Json& entry = log["alerts"][0];
  EXPECT_EQ(entry["run"], "r-alert");
  EXPECT_EQ(entry["job"], "unit");
  EXPECT_EQ(entry["delivered"], true);
  EXPECT_EQ(entry["status"], 200);
  EXPECT_EQ(entry["attempts"], 1);
  EXPECT_EQ(entry["error"], nullptr);
  EXPECT_EQ(entry["target"], alerts::MaskUrl(receiver.Url()));

  // Another job of the same run uploads: the run is judged again, nothing more is sent.
  UploadResults("r-alert", "unit-2", ContendedResults(t0_));
  ASSERT_TRUE(owned_scheduler_->WaitIdle(milliseconds(30000)));
  EXPECT_EQ(receiver.RequestCount(), 1u);

  // Nor after a restart: "once per run" is kept in the store.
  StopAlerts();
  StartAlerts({{receiver.Url(), kSecret, alerts::PayloadFormat::kAuto}}, QuickPolicy());
  UploadResults("r-alert", "unit", ContendedResults(t0_));
  ASSERT_TRUE(owned_scheduler_->WaitIdle(milliseconds(30000)));
  EXPECT_EQ(receiver.RequestCount(), 1u);
  EXPECT_EQ(GetJson("/api/v1/alerts")["alerts"].size(), 1u);
}

TEST_F(ReadRoutesTest, WaitsUntilSamplesCoverTheRun) {
  LoopbackReceiver receiver;
  StartAlerts({{receiver.Url(), kSecret, alerts::PayloadFormat::kAuto}}, QuickPolicy());
  // Samples up to t0+25 s: the failure's window is covered, the run's last test (ending at
  // t0+31.5 s) is not.
  UploadSamples(0, 26, 0);
  UploadResults("r-wait", "unit", ContendedResults(t0_));
  // The scheduler looks at the run (min_delay 50 ms) and finds it waiting, twice: it did not
  // judge it.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (owned_scheduler_->WaitingChecks() < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_GE(owned_scheduler_->WaitingChecks(), 2u);
  EXPECT_EQ(receiver.RequestCount(), 0u);
  EXPECT_TRUE(GetJson("/api/v1/alerts")["alerts"].empty());
  // The agent's next batch arrives: the run is judged and alerts.
  UploadSamples(26, 40, 1);
  ASSERT_TRUE(receiver.WaitForRequests(1, milliseconds(30000)));
  EXPECT_EQ(Json::parse(receiver.Requests()[0].body)["run"], "r-wait");
}

TEST_F(ReadRoutesTest, JudgesAfterMaxWaitWhenSamplesLag) {
  LoopbackReceiver receiver;
  StartAlerts({{receiver.Url(), "", alerts::PayloadFormat::kAuto}}, QuickPolicy(),
              /*max_wait=*/milliseconds(500));
  UploadSamples(0, 26, 0);  // the agent never catches up
  UploadResults("r-lag", "unit", ContendedResults(t0_));
  ASSERT_TRUE(receiver.WaitForRequests(1, milliseconds(30000)));
  Json body = Json::parse(receiver.Requests()[0].body);
  EXPECT_EQ(body["run"], "r-lag");
  EXPECT_EQ(body["failures"][0]["verdict"], "contention-possible");
}

// Without webhooks the collector still judges runs, for its failure metrics: on_judged gets
// the report once the samples cover the run, and nothing is sent.
TEST_F(ReadRoutesTest, WithoutTargetsRunsAreJudgedForOnJudgedOnly) {
  RunAlertSchedulerOptions options;
  options.min_delay = milliseconds(50);
  options.recheck = milliseconds(50);
  EXPECT_FALSE(RunAlertScheduler::Create(*store_, options).ok())
      << "neither targets nor on_judged: nothing to do";
  std::mutex mu;
  std::vector<RunReport> judged;  // guarded by mu
  options.on_judged = [&](const RunReport& report) {
    std::lock_guard lock(mu);
    judged.push_back(report);
  };
  auto scheduler = RunAlertScheduler::Create(*store_, options);
  ASSERT_TRUE(scheduler.ok()) << scheduler.status().ToString();
  owned_scheduler_ = std::move(scheduler.value());
  scheduler_.store(owned_scheduler_.get());
  UploadSamples();
  UploadResults("r-metrics", "unit", ContendedResults(t0_));
  UploadResults("r-green", "unit", GreenResults(t0_));
  ASSERT_TRUE(owned_scheduler_->WaitIdle(milliseconds(30000)));
  std::lock_guard lock(mu);
  ASSERT_EQ(judged.size(), 1u) << "only the run with a failure is judged";
  EXPECT_EQ(judged[0].run, "r-metrics");
  ASSERT_EQ(judged[0].failures.size(), 1u);
  EXPECT_EQ(judged[0].failures[0].verdict, Verdict::kContentionPossible);
  EXPECT_TRUE(GetJson("/api/v1/alerts")["alerts"].empty());
}

TEST_F(ReadRoutesTest, FailingWebhookNeverHoldsUpAnUpload) {
  // Answers 500 forever; the sender retries with long waits in between.
  LoopbackReceiver receiver({}, Answer(500));
  alerts::DeliveryPolicy slow;
  slow.max_attempts = 5;
  slow.initial_backoff = milliseconds(20000);
  slow.max_backoff = milliseconds(20000);
  slow.deadline = milliseconds(120000);
  StartAlerts({{receiver.Url(), "", alerts::PayloadFormat::kGeneric}}, slow);
  UploadSamples();
  UploadResults("r-a", "unit", ContendedResults(t0_));
  // The first attempt was answered 500; the delivery now waits 20 s before its retry.
  ASSERT_TRUE(receiver.WaitForRequests(1, milliseconds(30000)));
  // Uploads are still answered while that delivery is unfinished: nothing in the log yet.
  for (const char* run : {"r-a", "r-b", "r-c"}) {
    UploadResults(run, "unit", ContendedResults(t0_));
  }
  EXPECT_TRUE(GetJson("/api/v1/alerts")["alerts"].empty());
  EXPECT_EQ(receiver.RequestCount(), 1u);
  // Stopping cancels the wait; the failed delivery is logged.
  StopAlerts();
  Json log = GetJson("/api/v1/alerts");
  ASSERT_EQ(log["alerts"].size(), 1u) << log.dump();
  EXPECT_EQ(log["alerts"][0]["delivered"], false);
  EXPECT_EQ(log["alerts"][0]["status"], 500);
  EXPECT_TRUE(log["alerts"][0]["error"].is_string());
}

}  // namespace
}  // namespace jostle::collector
