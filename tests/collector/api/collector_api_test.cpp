// The collector API end to end in one process: a real SQLite file, the real HTTP server on
// loopback, and libcurl (jostle_http_client) or the curl CLI as the client.
#include "collector/api/collector_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <nlohmann/json.hpp>

#include "collector/api/test_batches.h"
#include "http_client/http_client.h"
#include "http_server/loopback_client.h"
#include "jostle/wire.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* kAgentToken = "agent-token-0001";
constexpr const char* kCiToken = "ci-token-00000002";
constexpr const char* kReadToken = "read-token-000003";
constexpr size_t kMaxBody = 1u << 20;  // 1 MiB, inflated or not

const char kJunit[] = R"(<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3" failures="1" errors="0" skipped="0"
 timestamp="2026-01-01T00:00:05+00:00" time="3.0">
<testcase classname="tests.test_a" name="test_ok" time="1.0"/>
<testcase classname="tests.test_a" name="test_bad" time="1.0"><failure message="boom">x</failure></testcase>
<testcase classname="tests.test_a" name="test_ok2" time="1.0"/>
</testsuite></testsuites>)";

class CollectorApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-api-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "# test tokens\n"
                                   << "agent " << kAgentToken << "\n"
                                   << "ci,read " << kCiToken << "\n"
                                   << "read " << kReadToken << "\n";
    auto store = OpenSqliteStores((dir_ / "jostle.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store.value());
    ApiOptions options;
    options.token_file = (dir_ / "tokens").string();
    options.max_body_bytes = kMaxBody;
    auto api = CollectorApi::Create(*store_, options);
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(api.value());
    HttpServerOptions server_options;
    server_options.max_body_bytes = kMaxBody;
    auto server = HttpServer::Start(server_options, api_->AsHandler());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server.value());
    base_ = "http://" + server_->address();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    api_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  http::HttpResponse Send(const std::string& method, const std::string& target, std::string body,
                          const std::string& token,
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

  http::HttpResponse PostBatch(const SampleBatch& b, bool gzip = false,
                               const std::string& token = kAgentToken) {
    std::vector<std::pair<std::string, std::string>> h = {{"Content-Type", "application/json"}};
    std::string body = EncodeBatch(b);
    if (gzip) {
      body = Gzip(body);
      h.emplace_back("Content-Encoding", "gzip");
    }
    return Send("POST", "/api/v1/samples", body, token, h);
  }

  // Everything stored so far that a rejected request could have touched.
  struct Snapshot {
    size_t samples_a = 0;
    size_t samples_b = 0;
    size_t executions = 0;
    bool operator==(const Snapshot&) const = default;
  };
  Snapshot Take() {
    Snapshot s;
    auto a = store_->samples().Samples("node-a", 0, std::numeric_limits<int64_t>::max());
    auto b = store_->samples().Samples("node-b", 0, std::numeric_limits<int64_t>::max());
    auto e = store_->results().RunExecutions("run-1");
    EXPECT_TRUE(a.ok() && b.ok() && e.ok());
    if (a.ok()) s.samples_a = a->size();
    if (b.ok()) s.samples_b = b->size();
    if (e.ok()) s.executions = e->size();
    return s;
  }

  fs::path dir_;
  std::unique_ptr<Stores> store_;
  std::unique_ptr<CollectorApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::string base_;
  http::HttpClient client_;
};

TEST_F(CollectorApiTest, StoresABatchAndAcknowledgesAfterCommit) {
  auto b = testing::MakeTestBatch("node-a", 0, 3, 4);
  auto r = PostBatch(b);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = Json::parse(r.body);
  EXPECT_EQ(j["stored"], true);
  EXPECT_EQ(j["rows"], 3 * (1 + 4));
  auto stored = store_->samples().Samples("node-a", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 3u);
  EXPECT_EQ((*stored)[0].wall_ns, b.samples[0].wall_ns);
  EXPECT_EQ((*stored)[0].cgroups.size(), 4u);
}

TEST_F(CollectorApiTest, AcceptsGzipAndAcknowledgesAReplayWithoutStoringTwice) {
  auto b = testing::MakeTestBatch("node-a", 7);
  auto first = PostBatch(b, /*gzip=*/true);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Json::parse(first.body)["stored"], true);
  Snapshot after_first = Take();
  EXPECT_EQ(after_first.samples_a, 2u);
  auto replay = PostBatch(b, /*gzip=*/false);
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(Json::parse(replay.body)["stored"], false);
  EXPECT_EQ(Take(), after_first);
  // Another seq of the same agent is new.
  auto next = PostBatch(testing::MakeTestBatch("node-a", 8), true);
  EXPECT_EQ(Json::parse(next.body)["stored"], true);
  EXPECT_EQ(Take().samples_a, 4u);
}

TEST_F(CollectorApiTest, StoresResultsAndCountsTests) {
  auto r = Send("POST", "/api/v1/runs/run-1/results?job=unit&pod=ci/runner-0&tz=UTC", kJunit,
                kCiToken, {{"Content-Type", "application/xml"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = Json::parse(r.body);
  EXPECT_EQ(j["tests"], 3);
  EXPECT_EQ(j["failed"], 1);
  auto executions = store_->results().RunExecutions("run-1");
  ASSERT_TRUE(executions.ok());
  EXPECT_EQ(executions->size(), 3u);
  EXPECT_EQ((*executions)[0].job, "unit");
  EXPECT_EQ((*executions)[0].pod_namespace, "ci");
  EXPECT_EQ((*executions)[0].pod_name, "runner-0");
}

struct BadInput {
  const char* name;
  std::string method;
  std::string target;
  std::string body;
  std::string token;
  std::vector<std::pair<std::string, std::string>> headers;
  int status;
  const char* detail;  // a substring of the "detail" field
};

TEST_F(CollectorApiTest, BadInputGetsItsStatusAndChangesNothing) {
  // Something stored first, so "nothing changed" is checked against non-empty state.
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-a", 0)).status, 200);
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-b", 0), true).status, 200);
  ASSERT_EQ(Send("POST", "/api/v1/runs/run-1/results?job=unit", kJunit, kCiToken).status, 200);
  const Snapshot before = Take();
  ASSERT_EQ(before.samples_a, 2u);
  ASSERT_EQ(before.executions, 3u);

  const std::string json_ct = "application/json";
  std::string good = EncodeBatch(testing::MakeTestBatch("node-a", 1));
  std::string gz = Gzip(good);
  std::string bomb = Gzip(std::string(64u << 20, ' '), 9);  // 64 MiB of spaces, ~64 KiB
  SampleBatch no_node = testing::MakeTestBatch("node-a", 2);
  no_node.node.clear();
  SampleBatch new_wire = testing::MakeTestBatch("node-a", 3);
  new_wire.wire_version = 99;
  std::vector<std::pair<std::string, std::string>> gzip_h = {{"Content-Type", json_ct},
                                                             {"Content-Encoding", "gzip"}};
  const BadInput cases[] = {
      {"malformed json",
       "POST",
       "/api/v1/samples",
       good.substr(0, good.size() / 2),
       kAgentToken,
       {},
       400,
       "not valid JSON"},
      {"json array",
       "POST",
       "/api/v1/samples",
       "[1,2]",
       kAgentToken,
       {},
       400,
       "expected a JSON object"},
      {"empty body", "POST", "/api/v1/samples", "", kAgentToken, {}, 400, "empty body"},
      {"missing node",
       "POST",
       "/api/v1/samples",
       EncodeBatch(no_node),
       kAgentToken,
       {},
       400,
       "batch.node"},
      {"wire version",
       "POST",
       "/api/v1/samples",
       EncodeBatch(new_wire),
       kAgentToken,
       {},
       415,
       "wire_version"},
      {"truncated gzip", "POST", "/api/v1/samples", gz.substr(0, gz.size() - 12), kAgentToken,
       gzip_h, 400, "gzip"},
      {"gzip header on plain body", "POST", "/api/v1/samples", good, kAgentToken, gzip_h, 400,
       "gzip"},
      {"gzip bomb", "POST", "/api/v1/samples", bomb, kAgentToken, gzip_h, 413, "inflates"},
      {"plain body over the limit",
       "POST",
       "/api/v1/samples",
       std::string(kMaxBody + 1, ' '),
       kAgentToken,
       {},
       413,
       "exceeds"},
      {"xml content type",
       "POST",
       "/api/v1/samples",
       good,
       kAgentToken,
       {{"Content-Type", "application/xml"}},
       415,
       "application/xml"},
      {"brotli",
       "POST",
       "/api/v1/samples",
       good,
       kAgentToken,
       {{"Content-Encoding", "br"}},
       415,
       "br"},
      {"no token", "POST", "/api/v1/samples", good, "", {}, 401, "Authorization"},
      {"unknown token",
       "POST",
       "/api/v1/samples",
       good,
       "agent-token-0002",
       {},
       401,
       "unknown token"},
      {"ci token posts samples", "POST", "/api/v1/samples", good, kCiToken, {}, 403, "agent"},
      {"agent token posts results",
       "POST",
       "/api/v1/runs/run-1/results",
       kJunit,
       kAgentToken,
       {},
       403,
       "ci"},
      {"read token posts results",
       "POST",
       "/api/v1/runs/run-1/results",
       kJunit,
       kReadToken,
       {},
       403,
       "ci"},
      {"unknown route", "GET", "/api/v1/nothing-here", "", kReadToken, {}, 404, "no route"},
      {"wrong method", "GET", "/api/v1/samples", "", kReadToken, {}, 405, "POST"},
      {"malformed xml",
       "POST",
       "/api/v1/runs/run-1/results",
       "<testsuite><testcase name=",
       kCiToken,
       {{"Content-Type", "application/xml"}},
       400,
       ""},
      {"doctype",
       "POST",
       "/api/v1/runs/run-1/results",
       "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><testsuite/>",
       kCiToken,
       {},
       400,
       "DOCTYPE"},
      {"unknown result format",
       "POST",
       "/api/v1/runs/run-1/results",
       "just some text",
       kCiToken,
       {{"Content-Type", "text/plain"}},
       415,
       ""},
      {"bad run id", "POST", "/api/v1/runs/run%201/results", kJunit, kCiToken, {}, 400, "run id"},
      {"bad pod",
       "POST",
       "/api/v1/runs/run-1/results?pod=runner-1",
       kJunit,
       kCiToken,
       {},
       400,
       "NAMESPACE/NAME"},
      {"bad node",
       "POST",
       "/api/v1/runs/run-1/results?node=a%20b",
       kJunit,
       kCiToken,
       {},
       400,
       "node"},
      {"bad tz", "POST", "/api/v1/runs/run-1/results?tz=Mars", kJunit, kCiToken, {}, 400, "tz"},
      {"results gzip bomb", "POST", "/api/v1/runs/run-1/results", bomb, kCiToken, {}, 413, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = Send(c.method, c.target, c.body, c.token, c.headers);
    EXPECT_EQ(r.status, c.status) << r.body;
    Json j = Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_TRUE(j.contains("error")) << r.body;
    ASSERT_TRUE(j["detail"].is_string()) << r.body;
    EXPECT_FALSE(j["detail"].get<std::string>().empty());
    EXPECT_NE(j["detail"].get<std::string>().find(c.detail), std::string::npos) << r.body;
    EXPECT_EQ(Take(), before);
  }
  // The store still works after all that.
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-a", 9)).status, 200);
  EXPECT_EQ(Take().samples_a, before.samples_a + 2);
}

TEST_F(CollectorApiTest, HundredMegabyteBodyIsRefusedWithoutBeingBuffered) {
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-a", 0)).status, 200);
  const Snapshot before = Take();
  // A 100 MB sparse file: curl announces its size, the server answers 413 at the headers.
  fs::path big = dir_ / "big.json";
  { std::ofstream(big) << ""; }
  fs::resize_file(big, 100u << 20);
  std::string cmd = "curl -sS -o " + (dir_ / "out").string() +
                    " -w '%{http_code} %{size_upload}' -X POST -H 'Authorization: Bearer " +
                    kAgentToken + "' -T " + big.string() + " " + base_ + "/api/v1/samples";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[256] = {};
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  ::pclose(p);
  std::string out(buf, n);
  ASSERT_EQ(out.substr(0, 3), "413") << out;
  // curl stopped before sending the body (Expect: 100-continue was answered with 413).
  EXPECT_LT(std::stod(out.substr(4)), 100.0 * (1 << 20)) << out;
  std::ifstream answer(dir_ / "out");
  std::string body((std::istreambuf_iterator<char>(answer)), std::istreambuf_iterator<char>());
  EXPECT_NE(body.find("too large"), std::string::npos) << body;

  // A raw client that does not wait for 100-continue gets the 413 too, without sending it.
  testing::LoopbackConnection c(server_->port());
  ASSERT_TRUE(c.Send(std::string("POST /api/v1/samples HTTP/1.1\r\nHost: x\r\n") +
                     "Authorization: Bearer " + kAgentToken +
                     "\r\nContent-Length: 104857600\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Take(), before);
}

TEST_F(CollectorApiTest, HealthNeedsNoTokenEverythingElseDoes) {
  EXPECT_EQ(Send("GET", "/healthz", "", "").status, 200);
  EXPECT_EQ(Send("GET", "/readyz", "", "").status, 401);
  EXPECT_EQ(Send("GET", "/metrics", "", "").status, 401);
  EXPECT_EQ(Send("GET", "/readyz", "", kAgentToken).status, 200);
  auto m = Send("GET", "/metrics", "", kReadToken);
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.Header("content-type").find("text/plain"), std::string::npos);
}

TEST_F(CollectorApiTest, MetricsCountRequestsBatchesAndRows) {
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-a", 0, 2, 3)).status, 200);
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-a", 0, 2, 3)).status, 200);  // replay
  ASSERT_EQ(Send("POST", "/api/v1/samples", "{", kAgentToken).status, 400);
  ASSERT_EQ(Send("POST", "/api/v1/samples", "{}", "").status, 401);
  ASSERT_EQ(Send("POST", "/api/v1/runs/run-1/results", kJunit, kCiToken).status, 200);
  auto m = Send("GET", "/metrics", "", kReadToken);
  ASSERT_EQ(m.status, 200);
  for (const char* line : {
           "jostle_collector_sample_batches_total{result=\"stored\"} 1",
           "jostle_collector_sample_batches_total{result=\"replayed\"} 1",
           "jostle_collector_sample_batches_total{result=\"rejected\"} 1",
           "jostle_collector_sample_rows_total 8",
           "jostle_collector_result_uploads_total{result=\"stored\"} 1",
           "jostle_collector_result_tests_total 3",
           "jostle_collector_auth_failures_total{reason=\"missing\"} 1",
           "jostle_collector_http_requests_total{route=\"/api/v1/samples\",method=\"POST\","
           "code=\"200\"} 2",
           "jostle_collector_http_requests_total{route=\"/api/v1/samples\",method=\"POST\","
           "code=\"400\"} 1",
           "jostle_collector_ingest_seconds_count 2",
       }) {
    EXPECT_NE(m.body.find(line), std::string::npos) << line << "\n" << m.body;
  }
}

TEST_F(CollectorApiTest, ConcurrentAgentsAllGetStored) {
  constexpr int kAgents = 8;
  constexpr int kBatches = 10;
  std::vector<std::future<int>> agents;
  for (int a = 0; a < kAgents; ++a) {
    agents.push_back(std::async(std::launch::async, [this, a] {
      http::HttpClient client;
      int ok = 0;
      for (int s = 0; s < kBatches; ++s) {
        auto b = testing::MakeTestBatch("node-a", static_cast<uint64_t>(s), 1, 2,
                                        testing::kTestEpochNs + a);
        // Distinct wall clocks per agent so every sample is a row of its own.
        b.samples[0].wall_ns += a * 1000;
        http::HttpRequest r;
        r.method = "POST";
        r.url = base_ + "/api/v1/samples";
        r.bearer_token = kAgentToken;
        r.body = Gzip(EncodeBatch(b));
        r.headers = {{"Content-Encoding", "gzip"}, {"Content-Type", "application/json"}};
        auto resp = client.Send(r);
        if (resp.ok() && resp->status == 200) ++ok;
      }
      return ok;
    }));
  }
  for (auto& f : agents) EXPECT_EQ(f.get(), kBatches);
  EXPECT_EQ(Take().samples_a, static_cast<size_t>(kAgents * kBatches));
}

TEST_F(CollectorApiTest, ExtraRoutesPlugIntoTheTable) {
  // Routes added after Create (as the report routes are) get matching, auth and metrics.
  api_->AddRoute("GET", "/api/v1/runs/{run}/echo", Access::kRead,
                 [](const HttpServerRequest&, const PathParams& p) {
                   HttpServerResponse r;
                   r.body = Json{{"run", p.at("run")}}.dump();
                   return r;
                 });
  auto r = Send("GET", "/api/v1/runs/r-9/echo", "", kReadToken);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["run"], "r-9");
  EXPECT_EQ(Send("GET", "/api/v1/runs/r-9/echo", "", kAgentToken).status, 403);
}

TEST(CollectorApiNoAuthTest, WithoutTokenFileEverythingIsAllowed) {
  auto store = OpenSqliteStores(":memory:");
  ASSERT_TRUE(store.ok());
  auto api = CollectorApi::Create(**store, {});
  ASSERT_TRUE(api.ok());
  EXPECT_FALSE((*api)->auth_enabled());
  HttpServerRequest req;
  req.method = "POST";
  req.path = "/api/v1/samples";
  req.body = EncodeBatch(testing::MakeTestBatch("node-a", 0));
  auto r = (*api)->Handle(req);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST(CollectorApiNoAuthTest, UnreadableTokenFileFailsCreate) {
  auto store = OpenSqliteStores(":memory:");
  ASSERT_TRUE(store.ok());
  ApiOptions o;
  o.token_file = "/nonexistent/tokens";
  auto api = CollectorApi::Create(**store, o);
  ASSERT_FALSE(api.ok());
  EXPECT_NE(api.status().message().find("/nonexistent/tokens"), std::string::npos);
}

}  // namespace
}  // namespace jostle::collector
