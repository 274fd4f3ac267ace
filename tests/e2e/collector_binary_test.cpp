// jostle-collector's own flags, through the real binary: --retention and --prune-interval
// (the pruner deletes samples once they are older than the retention, and only those; read
// back from the SQLite file with the sqlite3 CLI), and --webhook with --alert-delay and
// --alert-max-wait (a run whose samples never catch up is judged once max-wait has passed, not
// before; a covered run is judged after the delay), delivered to a real HTTP receiver.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/child_process.h"
#include "http_client/http_client.h"
#include "jostle/wire.h"
#include "jostle_test/test_paths.h"
#include "support/loopback_port.h"
#include "support/real_parts.h"
#include "support/shell_files.h"
#include "tests/collector/alerts/loopback_receiver.h"
#include "tests/collector/attribution/test_scenario.h"

namespace jostle {
namespace {

namespace fs = std::filesystem;
using collector::alerts::testing::LoopbackReceiver;
using nlohmann::json;
using std::chrono::milliseconds;
using testing::kSecond;
using testing::ReadFile;
using testing::ShellQuote;

constexpr const char* kToken = "binary-test-token-1";
constexpr const char* kNode = "node-a";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Rfc3339(int64_t ns) {
  time_t s = static_cast<time_t>(ns / kSecond);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// `ticks` one-second samples of kNode from t0, every one saturated by a neighbour pod.
SampleBatch SaturatedBatch(int64_t t0, int ticks, uint64_t seq) {
  using testing::NodeScenario;
  using testing::OwnPod;
  using testing::Pod;
  using testing::Tick;
  NodeScenario node(t0);
  Tick busy;
  busy.busy = 1.0;
  busy.psi_cpu = 0.6;
  busy.cgroups = {OwnPod(0.3), Pod("load", "burner", 3.6)};
  node.Repeat(ticks, busy);
  SampleBatch b;
  b.node = kNode;
  b.boot_id = "0e4f6c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6";
  b.agent_start_ns = t0 - 100 * kSecond;
  b.seq = seq;
  b.agent_version = "test";
  b.interval_ns = kSecond;
  b.samples = node.samples();
  return b;
}

// A failed test of 3 s starting at `failure_ns` and, when `passed_ns` is given, a passed one of
// 3 s starting then (jostle JSON results).
std::string Results(int64_t failure_ns, std::optional<int64_t> passed_ns = std::nullopt) {
  json tests = json::array();
  tests.push_back({{"id", "tests/test_timing.py::test_deadline"},
                   {"attempts",
                    {{{"outcome", "failed"},
                      {"start", Rfc3339(failure_ns)},
                      {"duration_s", 3.0},
                      {"message", "deadline exceeded"}}}}});
  if (passed_ns) {
    tests.push_back(
        {{"id", "tests/test_timing.py::test_quick"},
         {"attempts",
          {{{"outcome", "passed"}, {"start", Rfc3339(*passed_ns)}, {"duration_s", 3.0}}}}});
  }
  return json{{"format", "jostle-results/v1"}, {"tests", tests}}.dump();
}

class CollectorBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-collector-binary-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "agent,ci,read " << kToken << "\n";
    port_ = testing::FreeLoopbackPort();
    base_ = "http://127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    if (collector_) {
      collector_->Signal(SIGTERM);
      collector_->Wait(milliseconds(10000));
    }
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void Start(std::vector<std::string> extra) {
    std::vector<std::string> argv = {std::string(testing::kBinDir) + "/jostle-collector",
                                     "serve",
                                     "--db",
                                     db(),
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(port_),
                                     "--token-file",
                                     (dir_ / "tokens").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    collector_ = std::make_unique<testing::ChildProcess>(argv, (dir_ / "collector.log").string());
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (Send("GET", "/healthz", "").status != 200 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_EQ(Send("GET", "/healthz", "").status, 200) << collector_->Log();
  }

  http::HttpResponse Send(const std::string& method, const std::string& path, std::string body) {
    http::HttpRequest r;
    r.method = method;
    r.url = base_ + path;
    r.body = std::move(body);
    r.bearer_token = kToken;
    r.headers = {{"Content-Type", "application/json"}};
    r.timeout = milliseconds(10000);
    auto resp = client_.Send(r);
    return resp.ok() ? *resp : http::HttpResponse{};
  }

  // SELECT count(*) FROM `table` with the sqlite3 CLI; -1 when it fails.
  int Count(const std::string& table) {
    const fs::path out = dir_ / "count.out";
    std::string cmd = "sqlite3 " + ShellQuote(db()) + " 'SELECT count(*) FROM " + table + "' >" +
                      ShellQuote(out.string()) + " 2>&1";
    if (std::system(cmd.c_str()) != 0) return -1;
    return std::atoi(ReadFile(out).c_str());
  }

  std::string db() const { return (dir_ / "collector.db").string(); }

  fs::path dir_;
  uint16_t port_ = 0;
  std::string base_;
  http::HttpClient client_;
  std::unique_ptr<testing::ChildProcess> collector_;
};

TEST_F(CollectorBinaryTest, PrunerDeletesSamplesOnceOlderThanTheRetention) {
  if (std::system("command -v sqlite3 >/dev/null 2>&1") != 0) {
    JOSTLE_SKIP_MISSING_REAL("the sqlite3 CLI is not installed (Debian package sqlite3)");
  }
  Start({"--retention", "3s", "--prune-interval", "200ms"});
  // Two samples a second ago: within the retention when stored.
  const int64_t t0 = (NowNs() / kSecond - 2) * kSecond;
  auto r = Send("POST", "/api/v1/samples", EncodeBatch(SaturatedBatch(t0, 2, 0)));
  ASSERT_EQ(r.status, 200) << r.body;
  const int stored = Count("node_samples");
  ASSERT_EQ(stored, 2) << collector_->Log();

  // They age past 3 s and the pruner takes them.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Count("node_samples") != 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(Count("node_samples"), 0) << collector_->Log();
  EXPECT_LT(NowNs() - t0, 30 * kSecond);
  // Fresh samples stay: age, not everything.
  const int64_t t1 = (NowNs() / kSecond) * kSecond;
  r = Send("POST", "/api/v1/samples", EncodeBatch(SaturatedBatch(t1, 2, 1)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Count("node_samples"), 2);
}

TEST_F(CollectorBinaryTest, AlertWaitsForSamplesUntilMaxWaitThenJudges) {
  LoopbackReceiver receiver;
  ASSERT_TRUE(receiver.listening());
  Start({"--webhook", receiver.Url(), "--alert-delay", "100ms", "--alert-max-wait", "2s"});
  const int64_t t0 = (NowNs() / kSecond - 120) * kSecond;
  ASSERT_EQ(Send("POST", "/api/v1/samples", EncodeBatch(SaturatedBatch(t0, 20, 0))).status, 200);

  // 1. The run's last test ends at t0+23 s, past the last sample (t0+19 s): the run waits for
  // samples that never come, and is judged once --alert-max-wait has passed. Its failure
  // (t0+5..8 s) is covered, so the judgement alerts.
  auto uploaded = std::chrono::steady_clock::now();
  auto r = Send("POST", std::string("/api/v1/runs/r-lag/results?node=") + kNode,
                Results(t0 + 5 * kSecond, t0 + 20 * kSecond));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(receiver.WaitForRequests(1, milliseconds(30000))) << collector_->Log();
  EXPECT_GE(std::chrono::steady_clock::now() - uploaded, milliseconds(2000))
      << "judged before --alert-max-wait although its samples never covered it";
  json lag = json::parse(receiver.Requests()[0].body, nullptr, false);
  EXPECT_EQ(lag["run"], "r-lag") << receiver.Requests()[0].body;
  ASSERT_FALSE(lag["failures"].empty()) << receiver.Requests()[0].body;
  EXPECT_EQ(lag["failures"][0]["verdict"], "contention-possible");

  // 2. A run inside the samples (t0+5..8 s): judged after --alert-delay, with contention.
  r = Send("POST", std::string("/api/v1/runs/r-covered/results?node=") + kNode,
           Results(t0 + 5 * kSecond));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(receiver.WaitForRequests(2, milliseconds(30000))) << collector_->Log();
  json covered = json::parse(receiver.Requests()[1].body, nullptr, false);
  EXPECT_EQ(covered["run"], "r-covered") << receiver.Requests()[1].body;
  ASSERT_FALSE(covered["failures"].empty()) << receiver.Requests()[1].body;
  EXPECT_EQ(covered["failures"][0]["verdict"], "contention-possible");
  EXPECT_EQ(covered["failures"][0]["resource"], "cpu");
}

}  // namespace
}  // namespace jostle
