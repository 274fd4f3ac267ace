// The collector API end to end in one process: a real SQLite file, the real HTTP server on
// loopback, and libcurl (jostle_http_client) or the curl CLI as the client.
#include "collector/api/collector_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "collector/api/test_batches.h"
#include "collector/results/parse_results.h"
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
constexpr const char* kBoundToken = "bound-agent-token-4";  // agent:node=ci-pool-*
constexpr size_t kMaxBody = 1u << 20;                       // 1 MiB, inflated or not

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
                                   << "read " << kReadToken << "\n"
                                   << "agent:node=ci-pool-* " << kBoundToken << "\n";
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

// A CI retry after a lost answer sends the same file again: acknowledged with the same
// counts, said to be already stored, and nothing changes; another file of the same job,
// shard and attempt is stored and the answer says how many came before it.
TEST_F(CollectorApiTest, SameResultFileAgainIsAcknowledgedAndStoredOnce) {
  const std::string target =
      "/api/v1/runs/run-1/results?job=unit&shard=1/2&attempt=1&commit=abc1234";
  auto first = Send("POST", target, kJunit, kCiToken);
  ASSERT_EQ(first.status, 200) << first.body;
  auto j1 = Json::parse(first.body);
  EXPECT_EQ(j1["already_stored"], false);
  EXPECT_EQ(j1["other_files"], 0);
  EXPECT_EQ(j1["digest"], ContentDigest(kJunit));
  Snapshot stored = Take();
  ASSERT_EQ(stored.executions, 3u);
  auto runs_before = store_->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(runs_before.ok());

  auto replay = Send("POST", target, kJunit, kCiToken);
  ASSERT_EQ(replay.status, 200) << replay.body;
  auto j2 = Json::parse(replay.body);
  EXPECT_EQ(j2["already_stored"], true);
  EXPECT_EQ(j2["tests"], j1["tests"]);
  EXPECT_EQ(j2["failed"], j1["failed"]);
  EXPECT_EQ(j2["upload"], j1["upload"]);
  EXPECT_EQ(Take(), stored);
  auto runs_after = store_->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(runs_after.ok());
  ASSERT_EQ(runs_after->size(), 1u);
  EXPECT_EQ(runs_after->front().uploads, 1);
  EXPECT_EQ(runs_after->front().last_upload_ns, runs_before->front().last_upload_ns);

  std::string other = kJunit;
  other.replace(other.find("test_ok2"), 8, "test_ok3");
  auto second = Send("POST", target, other, kCiToken);
  ASSERT_EQ(second.status, 200) << second.body;
  auto j3 = Json::parse(second.body);
  EXPECT_EQ(j3["already_stored"], false);
  EXPECT_EQ(j3["other_files"], 1);
  EXPECT_EQ(Take().executions, 6u);
  // The next CI attempt of the job uploading the same file is a new upload.
  auto retry =
      Send("POST", "/api/v1/runs/run-1/results?job=unit&shard=1/2&attempt=2", kJunit, kCiToken);
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(Json::parse(retry.body)["already_stored"], false);
  EXPECT_EQ(Take().executions, 9u);
}

// The digest is SHA-256 (FIPS 180-2 appendix B vectors).
TEST(ContentDigestTest, IsSha256OfTheBytes) {
  EXPECT_EQ(ContentDigest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ContentDigest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(ContentDigest(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
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

TEST_F(CollectorApiTest, IdentitiesAndTimestampsAreCheckedNamingTheField) {
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-a", 0)).status, 200);
  const Snapshot before = Take();
  struct Case {
    const char* name;
    std::function<void(SampleBatch&)> spoil;
    const char* detail;
  };
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const Case cases[] = {
      {"NUL in the node", [](SampleBatch& b) { b.node = std::string("node-a\0x", 8); },
       "batch.node"},
      {"100 000 character node", [](SampleBatch& b) { b.node = std::string(100000, 'n'); },
       "batch.node"},
      {"wall_ns INT64_MAX",
       [](SampleBatch& b) { b.samples[1].wall_ns = std::numeric_limits<int64_t>::max(); },
       "samples[1].wall_ns"},
      {"a tick an hour ahead",
       [now](SampleBatch& b) { b.samples[0].wall_ns = now + 3600LL * 1000000000; },
       "samples[0].wall_ns"},
      {"negative wall clock", [](SampleBatch& b) { b.samples[0].wall_ns = -5; },
       "samples[0].wall_ns"},
      {"agent started in the future",
       [now](SampleBatch& b) { b.agent_start_ns = now + 3600LL * 1000000000; },
       "batch.agent_start_ns"},
      {"upper-case namespace",
       [](SampleBatch& b) { b.samples[0].cgroups[1].namespace_name = "CI"; },
       "samples[0].cgroups[1].namespace"},
      {"pod name with a space", [](SampleBatch& b) { b.samples[1].cgroups[2].pod_name = "a b"; },
       "samples[1].cgroups[2].pod"},
      {"control character in a cgroup id",
       [](SampleBatch& b) { b.samples[0].cgroups[0].id = "uid\x01"; }, "samples[0].cgroups[0].id"},
      {"cgroup path of 5000 bytes",
       [](SampleBatch& b) { b.samples[0].cgroups[0].path = "/" + std::string(5000, 'p'); },
       "samples[0].cgroups[0].path"},
      {"pod uid with a slash", [](SampleBatch& b) { b.samples[0].cgroups[0].pod_uid = "a/b"; },
       "samples[0].cgroups[0].pod_uid"},
      {"label value of 64 characters",
       [](SampleBatch& b) { b.samples[0].cgroups[0].labels["app"] = std::string(64, 'v'); },
       "samples[0].cgroups[0].labels.app"},
      {"unknown qos", [](SampleBatch& b) { b.samples[0].cgroups[0].qos = "gold"; },
       "samples[0].cgroups[0].qos"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    SampleBatch b = testing::MakeTestBatch("node-a", 5);
    c.spoil(b);
    auto r = PostBatch(b, /*gzip=*/true);
    EXPECT_EQ(r.status, 400) << r.body;
    Json j = Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_NE(j["detail"].get<std::string>().find(c.detail), std::string::npos) << r.body;
    EXPECT_LT(r.body.size(), 1000u);  // the value is shown cut short
    EXPECT_EQ(Take(), before);
  }
  // The same batch unspoilt is stored.
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-a", 5)).status, 200);
  EXPECT_EQ(Take().samples_a, before.samples_a + 2);
}

TEST_F(CollectorApiTest, NodeBoundTokenWritesOnlyItsNodes) {
  auto mine = PostBatch(testing::MakeTestBatch("ci-pool-7", 0), false, kBoundToken);
  EXPECT_EQ(mine.status, 200) << mine.body;
  auto other = PostBatch(testing::MakeTestBatch("node-a", 0), false, kBoundToken);
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_NE(other.body.find("ci-pool-*"), std::string::npos) << other.body;
  EXPECT_NE(other.body.find("'node-a'"), std::string::npos) << other.body;
  auto prefix_only = PostBatch(testing::MakeTestBatch("ci-pool", 0), false, kBoundToken);
  EXPECT_EQ(prefix_only.status, 403) << prefix_only.body;
  EXPECT_EQ(Take().samples_a, 0u);
  auto stored = store_->samples().Samples("ci-pool-7", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 2u);
  // An unbound agent token writes any node.
  EXPECT_EQ(PostBatch(testing::MakeTestBatch("node-a", 1)).status, 200);
  auto m = Send("GET", "/metrics", "", kReadToken);
  EXPECT_NE(m.body.find("reason=\"node\"} 2"), std::string::npos) << m.body;
}

TEST(CollectorApiRetentionTest, TicksOlderThanTheRetentionAreRefused) {
  auto store = OpenSqliteStores(":memory:");
  ASSERT_TRUE(store.ok());
  ApiOptions options;
  options.sample_max_age = std::chrono::hours(24 * 14);
  auto api = CollectorApi::Create(**store, options);
  ASSERT_TRUE(api.ok());
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto post = [&](const SampleBatch& b) {
    HttpServerRequest r;
    r.method = "POST";
    r.path = r.target = "/api/v1/samples";
    r.body = EncodeBatch(b);
    return (*api)->Handle(r);
  };
  const int64_t day = 86400LL * 1000000000;
  auto old = post(testing::MakeTestBatch("node-a", 0, 2, 1, now - 15 * day, now - 15 * day));
  EXPECT_EQ(old.status, 400) << old.body;
  EXPECT_NE(old.body.find("samples[0].wall_ns"), std::string::npos) << old.body;
  EXPECT_NE(old.body.find("retention"), std::string::npos) << old.body;
  auto recent = post(testing::MakeTestBatch("node-a", 1, 2, 1, now - day, now - day));
  EXPECT_EQ(recent.status, 200) << recent.body;
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

// The CI and health series: outcomes per job from the uploaded file (counted by hand from
// kJunit and the rerun document below), refused and failed requests by reason, and each
// node's newest stored sample as the batch's last tick.
TEST_F(CollectorApiTest, MetricsCountTestsByJobAndOutcomeErrorsAndNodeSampleTimes) {
  const char* rerun = R"(<testsuite name="s" tests="2">
<testcase classname="c" name="flaky" time="0.2"><failure message="x">x</failure></testcase>
<testcase classname="c" name="flaky" time="0.3"/>
<testcase classname="c" name="skip" time="0"><skipped/></testcase>
</testsuite>)";
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-a", 0, 2, 1)).status, 200);
  ASSERT_EQ(PostBatch(testing::MakeTestBatch("node-b", 4, 3, 1)).status, 200);
  ASSERT_EQ(Send("POST", "/api/v1/runs/r1/results?job=unit", kJunit, kCiToken).status, 200);
  ASSERT_EQ(Send("POST", "/api/v1/runs/r1/results?job=lint", rerun, kCiToken).status, 200);
  ASSERT_EQ(Send("POST", "/api/v1/runs/r1/results?job=unit", "<nope", kCiToken).status, 400);
  ASSERT_EQ(Send("POST", "/api/v1/runs/r1/results?job=unit", "", kCiToken).status, 400);
  auto m = Send("GET", "/metrics", "", kReadToken);
  ASSERT_EQ(m.status, 200);
  // node-a: seq 0, 2 ticks -> last tick 1 s after the epoch; node-b: seq 4, 3 ticks -> 14 s.
  const double a_s = static_cast<double>(testing::TestWallNs(0, 1, 2)) / 1e9;
  const double b_s = static_cast<double>(testing::TestWallNs(4, 2, 3)) / 1e9;
  std::ostringstream a_line, b_line;
  a_line.precision(17);
  b_line.precision(17);
  a_line << "jostle_collector_node_last_sample_timestamp_seconds{node=\"node-a\"} " << a_s;
  b_line << "jostle_collector_node_last_sample_timestamp_seconds{node=\"node-b\"} " << b_s;
  for (const std::string& line : {
           std::string("jostle_ci_tests_total{ci_job=\"unit\",outcome=\"passed\"} 2"),
           std::string("jostle_ci_tests_total{ci_job=\"unit\",outcome=\"failed\"} 1"),
           std::string("jostle_ci_tests_total{ci_job=\"lint\",outcome=\"passed\"} 1"),
           std::string("jostle_ci_tests_total{ci_job=\"lint\",outcome=\"skipped\"} 1"),
           std::string("jostle_ci_flaky_tests_total{ci_job=\"lint\"} 1"),
           std::string("jostle_ci_flaky_tests_total{ci_job=\"unit\"} 0"),
           // Last attempts: 1.0, 1.0, 1.0 (unit), 0.3 passed and 0 skipped (lint).
           std::string("jostle_ci_test_duration_seconds_count{outcome=\"passed\"} 3"),
           std::string("jostle_ci_test_duration_seconds_sum{outcome=\"passed\"} 2.3"),
           std::string("jostle_ci_test_duration_seconds_bucket{outcome=\"passed\",le=\"0.5\"} 1"),
           std::string("jostle_ci_test_duration_seconds_bucket{outcome=\"passed\",le=\"1\"} 3"),
           std::string("jostle_ci_test_duration_seconds_count{outcome=\"failed\"} 1"),
           std::string(
               "jostle_collector_ingest_errors_total{kind=\"results\",reason=\"invalid\"} 2"),
           std::string("jostle_collector_ingest_errors_total{kind=\"samples\",reason=\"store\"} 0"),
           std::string("jostle_collector_result_uploads_total{result=\"rejected\"} 2"),
           std::string("jostle_collector_store_ready 1"),
           a_line.str(),
           b_line.str(),
       }) {
    EXPECT_NE(m.body.find(line + "\n"), std::string::npos) << line << "\n" << m.body;
  }
}

// Each failure of a run counts once however often the run is judged; webhook targets get
// both result series from their first delivery.
TEST(ApiMetricsTest, JudgedFailuresCountOncePerRunAndDeliveriesByResult) {
  ApiMetrics metrics;
  metrics.CountJudgedFailures(
      "r1", {{"unit\na", "contention", "cpu", "n1"}, {"unit\nb", "fails-regardless", "", "n1"}});
  // Judged again after another job's upload: a is not counted twice, c is new.
  metrics.CountJudgedFailures(
      "r1", {{"unit\na", "contention", "cpu", "n1"}, {"e2e\nc", "contention", "cpu", "n1"}});
  metrics.CountJudgedFailures("r2", {{"unit\na", "contention", "cpu", "n1"}});
  metrics.CountWebhookDelivery("https://hooks.slack.com/...", true);
  metrics.CountWebhookDelivery("https://hooks.slack.com/...", true);
  std::string text = metrics.Render(StoreScrape{});
  for (const char* line : {
           "jostle_ci_failures_total{verdict=\"contention\",resource=\"cpu\",node=\"n1\"} 3\n",
           "jostle_ci_failures_total{verdict=\"fails-regardless\",resource=\"\",node=\"n1\"} 1\n",
           "jostle_collector_webhook_deliveries_total{target=\"https://hooks.slack.com/...\","
           "result=\"delivered\"} 2\n",
           "jostle_collector_webhook_deliveries_total{target=\"https://hooks.slack.com/...\","
           "result=\"failed\"} 0\n",
           "jostle_collector_store_ready 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

// Job names beyond kMaxJobs, and names that are not UTF-8, share ci_job="_other".
TEST(ApiMetricsTest, JobLabelsAreBounded) {
  ApiMetrics metrics;
  ResultSet set;
  TestCase t;
  t.id = "c::t";
  t.attempts.push_back(TestAttempt{});
  set.tests.push_back(t);
  for (size_t i = 0; i < ApiMetrics::kMaxJobs + 5; ++i) {
    metrics.CountTests("job-" + std::to_string(i), set);
  }
  metrics.CountTests("bad-\xff", set);
  std::string text = metrics.Render(StoreScrape{});
  EXPECT_NE(text.find("jostle_ci_tests_total{ci_job=\"_other\",outcome=\"passed\"} 6\n"),
            std::string::npos)
      << text;
  size_t series = 0;
  for (size_t at = 0; (at = text.find("\njostle_ci_tests_total{", at)) != std::string::npos; ++at) {
    ++series;
  }
  EXPECT_EQ(series, ApiMetrics::kMaxJobs + 1);
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
