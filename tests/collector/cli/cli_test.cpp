// The `jostle` command line as users run it: build/bin/jostle as a child process over real
// SQLite files, and `jostle upload` against a real jostle-collector on loopback. Checks what
// each subcommand prints, its exit code, and what it stored (read back through `jostle
// report` or the collector's report route), including --tz for timestamps written without an
// offset, and clear errors that store nothing for bad flags and bad files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "e2e/child_process.h"
#include "jostle_test/test_paths.h"
#include "support/loopback_port.h"
#include "support/shell_files.h"

namespace jostle {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using testing::ReadFile;
using testing::ShellQuote;

// pytest's JUnit: local time without an offset; test_pay starts with the suite, test_ok 1.5 s
// later. 2026-11-23T12:00:00 at +02:00 is 10:00:00Z = 1795428000 s since the epoch.
constexpr const char* kJunit =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites><testsuite name=\"pytest\" "
    "errors=\"0\" failures=\"1\" skipped=\"0\" tests=\"2\" time=\"2.0\" "
    "timestamp=\"2026-11-23T12:00:00.000000\" hostname=\"ci\"><testcase classname=\"test_shop\" "
    "name=\"test_pay\" time=\"1.5\"><failure message=\"assert 1 == 2\">def test_pay():\n&gt; "
    "assert 1 == 2\nE assert 1 == 2</failure></testcase><testcase classname=\"test_shop\" "
    "name=\"test_ok\" time=\"0.5\"/></testsuite></testsuites>";
constexpr int64_t kPayStartNs = 1795428000LL * 1000000000LL;

struct Ran {
  int code = -1;    // exit code, 128+N for signal N
  std::string out;  // stdout
  std::string err;  // stderr
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "junit.xml") << kJunit;
    db_ = (dir_ / "jostle.db").string();
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // build/bin/jostle with `args` (each shell-quoted), in dir_, with `env` prefixed.
  Ran Jostle(const std::vector<std::string>& args, const std::string& env = "") {
    std::string cmd = "cd " + ShellQuote(dir_.string()) + " && " + env + " " +
                      ShellQuote(std::string(testing::kBinDir) + "/jostle");
    for (const auto& a : args) cmd += " " + ShellQuote(a);
    cmd += " >" + ShellQuote((dir_ / "out").string()) + " 2>" + ShellQuote((dir_ / "err").string());
    int status = std::system(cmd.c_str());
    Ran r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadFile(dir_ / "out");
    r.err = ReadFile(dir_ / "err");
    return r;
  }

  json JsonReport(const std::string& run) {
    Ran r = Jostle({"report", "--db", db_, "--run", run, "--format", "json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  fs::path dir_;
  std::string db_;
};

TEST_F(CliTest, IngestStoresTheFileAndReportReadsItBack) {
  Ran r = Jostle({"ingest", "--db", db_, "--run", "r1", "--job", "unit", "--node", "ci-1", "--pod",
                  "ci/runner-1", "--tz", "+02:00", "junit.xml"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "junit.xml: 2 tests, 1 failed (junit, pytest)\n");

  json report = JsonReport("r1");
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["summary"]["tests"], 2);
  EXPECT_EQ(report["summary"]["failed"], 1);
  ASSERT_EQ(report["failures"].size(), 1u);
  const json& f = report["failures"][0];
  EXPECT_EQ(f["name"], "test_pay");
  EXPECT_EQ(f["job"], "unit");
  EXPECT_EQ(f["node"], "ci-1");
  EXPECT_EQ(f["pod"], "ci/runner-1");
  EXPECT_EQ(f["message"], "assert 1 == 2");
  // 12:00:00 written without an offset, read at --tz +02:00.
  EXPECT_EQ(f["start_ns"], kPayStartNs);
  EXPECT_EQ(f["end_ns"], kPayStartNs + 1500000000LL);
  EXPECT_EQ(f["timing"], "approximate");
  // No agent ever sampled ci-1.
  EXPECT_EQ(f["verdict"], "no-data");

  // The same file at the default --tz (UTC) is two hours later.
  ASSERT_EQ(Jostle({"ingest", "--db", db_, "--run", "r2", "junit.xml"}).code, 0);
  json utc = JsonReport("r2");
  ASSERT_EQ(utc["failures"].size(), 1u);
  EXPECT_EQ(utc["failures"][0]["start_ns"], kPayStartNs + 7200LL * 1000000000LL);
}

TEST_F(CliTest, ReportWritesEachFormatToAFile) {
  ASSERT_EQ(Jostle({"ingest", "--db", db_, "--run", "r1", "junit.xml"}).code, 0);
  for (const char* format : {"md", "html", "json"}) {
    SCOPED_TRACE(format);
    const std::string out = (dir_ / (std::string("report.") + format)).string();
    Ran r = Jostle({"report", "--db", db_, "--run", "r1", "--format", format, "-o", out});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    const std::string body = ReadFile(out);
    // Markdown escapes the underscore.
    const std::string name = std::string(format) == "md" ? "test\\_pay" : "test_pay";
    EXPECT_NE(body.find(name), std::string::npos) << body.substr(0, 2000);
    if (std::string(format) == "html") {
      EXPECT_EQ(body.rfind("<!DOCTYPE html>", 0), 0u);
    }
    if (std::string(format) == "json") {
      EXPECT_EQ(json::parse(body, nullptr, false)["schema"], "jostle.report/1");
    }
  }
}

TEST_F(CliTest, BadFlagsAndFilesAreRefusedWithTheirReasonAndStoreNothing) {
  // A pod that is not NAMESPACE/NAME, and a malformed --tz: usage errors (2), nothing stored.
  Ran r = Jostle({"ingest", "--db", db_, "--run", "r1", "--pod", "runner-1", "junit.xml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--pod 'runner-1': expected NAMESPACE/NAME"), std::string::npos) << r.err;
  r = Jostle({"ingest", "--db", db_, "--run", "r1", "--tz", "+25:00", "junit.xml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--tz"), std::string::npos) << r.err;
  r = Jostle({"report", "--db", db_, "--run", "r1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("run r1"), std::string::npos) << r.err;

  // A missing file and a malformed one are named; the good file beside them is stored.
  std::ofstream(dir_ / "broken.xml") << "<testsuite><testcase name=\"x\">";
  r = Jostle({"ingest", "--db", db_, "--run", "r1", "missing.xml", "broken.xml", "junit.xml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing.xml"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("broken.xml"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "junit.xml: 2 tests, 1 failed (junit, pytest)\n");
  json report = JsonReport("r1");
  EXPECT_EQ(report["summary"]["tests"], 2);

  r = Jostle({"report", "--db", db_, "--run", "r1", "--format", "pdf"});
  EXPECT_EQ(r.code, 105) << r.err;  // CLI11's validation error
  EXPECT_NE(r.err.find("pdf"), std::string::npos) << r.err;
}

// jostle upload to a real collector on loopback: the token from --token-file or
// $JOSTLE_TOKEN, --tz carried to the collector, the collector's refusal passed on.
class CliUploadTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    std::ofstream(dir_ / "tokens") << "ci,read cli-test-token-1\n";
    std::ofstream(dir_ / "ci-token") << "cli-test-token-1\n";
    port_ = testing::FreeLoopbackPort();
    base_ = "http://127.0.0.1:" + std::to_string(port_);
    collector_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(testing::kBinDir) + "/jostle-collector", "serve",
                                 "--db", (dir_ / "collector.db").string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "--token-file",
                                 (dir_ / "tokens").string()},
        (dir_ / "collector.log").string());
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (Curl("/healthz", nullptr) != 200 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_EQ(Curl("/healthz", nullptr), 200) << collector_->Log();
  }
  void TearDown() override {
    collector_->Signal(SIGTERM);
    collector_->Wait(milliseconds(10000));
    CliTest::TearDown();
  }
  int Curl(const std::string& path, std::string* body) {
    const fs::path out = dir_ / "curl.out";
    std::string cmd = "curl -s -o " + ShellQuote(out.string()) +
                      " -w '%{http_code}' -H 'Authorization: Bearer cli-test-token-1' " +
                      ShellQuote(base_ + path) + " >" + ShellQuote((dir_ / "curl.code").string());
    std::system(cmd.c_str());
    if (body != nullptr) *body = ReadFile(out);
    return std::atoi(ReadFile(dir_ / "curl.code").c_str());
  }

  uint16_t port_ = 0;
  std::string base_;
  std::unique_ptr<testing::ChildProcess> collector_;
};

TEST_F(CliUploadTest, UploadsWithTheTokenAndTheOffsetGiven) {
  Ran r = Jostle({"upload", "--collector", base_ + "/", "--run", "r-up", "--job", "unit", "--node",
                  "ci-1", "--token-file", "ci-token", "--tz", "+02:00", "junit.xml"});
  ASSERT_EQ(r.code, 0) << r.err << collector_->Log();
  ASSERT_EQ(r.out.rfind("junit.xml: ", 0), 0u) << r.out;
  json answer = json::parse(r.out.substr(11), nullptr, false);
  EXPECT_EQ(answer["tests"], 2) << r.out;
  EXPECT_EQ(answer["failed"], 1) << r.out;

  std::string body;
  ASSERT_EQ(Curl("/api/v1/runs/r-up/report?format=json", &body), 200) << body;
  json report = json::parse(body, nullptr, false);
  ASSERT_EQ(report["failures"].size(), 1u) << body;
  EXPECT_EQ(report["failures"][0]["start_ns"], kPayStartNs);
  EXPECT_EQ(report["failures"][0]["job"], "unit");
  EXPECT_EQ(report["failures"][0]["node"], "ci-1");

  // $JOSTLE_TOKEN instead of --token-file; no --tz: this machine's offset.
  r = Jostle({"upload", "--collector", base_, "--run", "r-env", "junit.xml"},
             "JOSTLE_TOKEN=cli-test-token-1 TZ=UTC");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(Curl("/api/v1/runs/r-env/report?format=json", &body), 200) << body;
  report = json::parse(body, nullptr, false);
  ASSERT_EQ(report["failures"].size(), 1u) << body;
  EXPECT_EQ(report["failures"][0]["start_ns"], kPayStartNs + 7200LL * 1000000000LL);
}

TEST_F(CliUploadTest, RefusalsArePassedOnAndStoreNothing) {
  std::ofstream(dir_ / "wrong-token") << "not-a-token\n";
  Ran r = Jostle({"upload", "--collector", base_, "--run", "r-bad", "--token-file", "wrong-token",
                  "junit.xml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("collector answered 401"), std::string::npos) << r.err;

  std::ofstream(dir_ / "notes.txt") << "these are not test results\n";
  r = Jostle(
      {"upload", "--collector", base_, "--run", "r-bad", "--token-file", "ci-token", "notes.txt"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("notes.txt: collector answered 415"), std::string::npos) << r.err;
  std::string body;
  EXPECT_EQ(Curl("/api/v1/runs/r-bad/report?format=json", &body), 404) << body;

  // Nobody listening: the connection error is named.
  const uint16_t closed = testing::FreeLoopbackPort();
  r = Jostle({"upload", "--collector", "http://127.0.0.1:" + std::to_string(closed), "--run", "r",
              "--token-file", "ci-token", "junit.xml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("junit.xml"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace jostle
