// Reports of a large run through the real jostle-collector binary on loopback: one JUnit
// upload of 120 000 failed tests, then the JSON report paged with limit/offset (totals
// first, pages that join up), the whole JSON streamed with every failure in it, the Markdown
// within a pull-request comment and the HTML counting what it leaves out. With
// --report-workers 1, a report being written to a client that does not read holds the only
// report slot: another report request gets 503 with Retry-After at once while /healthz and
// /readyz keep answering, and once that client goes the slot is free again.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "e2e/child_process.h"
#include "http_client/http_client.h"
#include "http_server/loopback_client.h"
#include "jostle_test/test_paths.h"
#include "support/loopback_port.h"

namespace jostle {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kToken = "report-bounded-token-1";
constexpr const char* kRun = "big-run";
constexpr int kTests = 121000;
constexpr int kFailures = 120000;

// kTests test cases, the first kTests - kFailures passing, the rest failing.
std::string LargeJUnit() {
  std::string xml =
      "<testsuites><testsuite name=\"pytest\" tests=\"" + std::to_string(kTests) + "\">\n";
  for (int i = 0; i < kTests; ++i) {
    std::string head = "<testcase classname=\"tests.load.test_m" + std::to_string(i % 300) +
                       "\" name=\"test_" + std::to_string(i) + "\" time=\"0.004\"";
    if (i < kTests - kFailures) {
      xml += head + "/>\n";
    } else {
      xml += head + "><failure message=\"assert " + std::to_string(i) +
             " == 0\">AssertionError</failure></testcase>\n";
    }
  }
  return xml + "</testsuite></testsuites>\n";
}

class ReportBoundedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("jostle-report-bounded-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    std::ofstream(*dir_ / "tokens") << "ci,read " << kToken << "\n";
    fs::permissions(*dir_ / "tokens", fs::perms::owner_read | fs::perms::owner_write);
    port_ = testing::FreeLoopbackPort();
    collector_ = new testing::ChildProcess(
        {std::string(testing::kBinDir) + "/jostle-collector", "serve", "--db",
         (*dir_ / "collector.db").string(), "--listen", "127.0.0.1:" + std::to_string(port_),
         "--token-file", (*dir_ / "tokens").string(), "--max-body", "64MiB", "--report-workers",
         "1", "--log-level", "warn"},
        (*dir_ / "collector.log").string());
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (Get("/healthz").status != 200 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    http::HttpRequest upload;
    upload.method = "POST";
    upload.url = Url("/api/v1/runs/" + std::string(kRun) + "/results?job=unit");
    upload.body = LargeJUnit();
    upload.headers = {{"Content-Type", "application/xml"}};
    upload.bearer_token = kToken;
    upload.timeout = milliseconds(300000);
    http::HttpClient client;
    auto r = client.Send(upload);
    uploaded_ = r.ok() && r->status == 200;
    upload_answer_ = r.ok() ? r->body : r.status().ToString();
  }

  static void TearDownTestSuite() {
    collector_->Signal(SIGTERM);
    collector_->Wait(milliseconds(30000));
    delete collector_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    ASSERT_EQ(Get("/healthz").status, 200) << collector_->Log();
    ASSERT_TRUE(uploaded_) << upload_answer_ << collector_->Log();
  }

  static std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  static http::HttpResponse Get(const std::string& path) {
    http::HttpRequest r;
    r.url = Url(path);
    r.bearer_token = kToken;
    r.timeout = milliseconds(300000);
    r.max_body_bytes = 16u << 20;
    http::HttpClient client;
    auto resp = client.Send(r);
    return resp.ok() ? *resp : http::HttpResponse{};
  }

  static std::string ReportPath(const std::string& query) {
    return "/api/v1/runs/" + std::string(kRun) + "/report?" + query;
  }

  static inline fs::path* dir_ = nullptr;
  static inline uint16_t port_ = 0;
  static inline testing::ChildProcess* collector_ = nullptr;
  static inline bool uploaded_ = false;
  static inline std::string upload_answer_;
};

TEST_F(ReportBoundedTest, JsonPagesGiveTheTotalsFirstAndJoinUp) {
  auto first = Get(ReportPath("format=json&limit=100"));
  ASSERT_EQ(first.status, 200) << first.body.substr(0, 500);
  json page1 = json::parse(first.body);
  EXPECT_EQ(page1["summary"]["failed"], kFailures);
  EXPECT_EQ(page1["summary"]["tests"], kTests);
  EXPECT_EQ(page1["summary"]["verdicts"]["no-data"], kFailures);
  EXPECT_EQ(page1["page"]["failures"], kFailures);
  EXPECT_EQ(page1["page"]["offset"], 0);
  EXPECT_EQ(page1["page"]["limit"], 100);
  ASSERT_EQ(page1["failures"].size(), 100u);

  json page2 = json::parse(Get(ReportPath("format=json&limit=100&offset=100")).body);
  ASSERT_EQ(page2["failures"].size(), 100u);
  std::set<std::string> ids;
  for (const json* page : {&page1, &page2}) {
    for (const json& f : (*page)["failures"]) ids.insert(f["test"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 200u) << "two pages overlap";

  json last = json::parse(Get(ReportPath("format=json&limit=100&offset=119950")).body);
  EXPECT_EQ(last["failures"].size(), 50u);
  EXPECT_EQ(last["page"]["failures"], kFailures);
  json past = json::parse(Get(ReportPath("format=json&limit=10&offset=500000")).body);
  EXPECT_TRUE(past["failures"].empty());

  auto bad = Get(ReportPath("format=md&limit=10"));
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(Get(ReportPath("format=json&limit=0")).status, 400);
}

TEST_F(ReportBoundedTest, WholeJsonIsStreamedWithEveryFailure) {
  http::HttpRequest r;
  r.url = Url(ReportPath("format=json"));
  r.bearer_token = kToken;
  r.timeout = milliseconds(300000);
  http::HttpClient client;
  size_t bytes = 0;
  int failure_lines = 0;
  std::string line;
  long status = 0;
  Status s = client.Stream(
      r,
      [&](std::string_view chunk) {
        bytes += chunk.size();
        for (char c : chunk) {
          if (c != '\n') {
            if (line.size() < 16) line += c;
            continue;
          }
          if (line.rfind("{\"test\":", 0) == 0) ++failure_lines;
          line.clear();
        }
        return true;
      },
      &status);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(failure_lines, kFailures) << bytes << " bytes";
}

TEST_F(ReportBoundedTest, MarkdownFitsAPullRequestCommentAndHtmlCountsTheRest) {
  auto md = Get(ReportPath("format=md"));
  ASSERT_EQ(md.status, 200);
  EXPECT_LE(md.body.size(), 65536u);
  EXPECT_NE(md.body.find("120000 failed"), std::string::npos) << md.body.substr(0, 400);
  EXPECT_NE(md.body.find("Not shown: 119990 tests (119990 no-data)"), std::string::npos) << md.body;
  auto html = Get(ReportPath("format=html"));
  ASSERT_EQ(html.status, 200);
  EXPECT_LT(html.body.size(), 1u << 20);
  EXPECT_NE(html.body.find("Not shown: 119900 (119900 no-data)"), std::string::npos);
}

TEST_F(ReportBoundedTest, FullReportPoolAnswers503WithRetryAfterWhileProbesAnswer) {
  // A client that asks for the whole JSON and reads only its headers: the collector writes
  // until the socket buffers are full and then holds the only report slot.
  auto reader = std::make_unique<testing::LoopbackConnection>(port_, 300);
  ASSERT_TRUE(reader->connected());
  ASSERT_TRUE(reader->Send("GET " + ReportPath("format=json") +
                           " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken + "\r\n\r\n"));
  auto head = reader->Read();
  ASSERT_TRUE(head.has_value());
  ASSERT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["transfer-encoding"], "chunked");

  for (int i = 0; i < 5; ++i) {
    auto busy = testing::RawRequest(port_, "GET " + ReportPath("format=md") +
                                               " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                               kToken + "\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(busy.has_value());
    EXPECT_EQ(busy->status, 503) << busy->body;
    EXPECT_FALSE(busy->headers["retry-after"].empty());
    EXPECT_EQ(Get("/healthz").status, 200);
    EXPECT_EQ(Get("/readyz").status, 200);
  }

  reader.reset();  // the slow reader goes: its write fails and the slot is released
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  long status = 0;
  while ((status = Get(ReportPath("format=md")).status) == 503 &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(status, 200) << collector_->Log();
}

}  // namespace
}  // namespace jostle
