// The Kubernetes-style path end to end, with real processes on this machine's real cgroups:
// jostle-agent samples (naming a burner cgroup and a tests cgroup, both created beneath this
// test's own cgroup) and ships every tick to jostle-collector; the bundled demo suite runs in
// the tests cgroup and its JUnit XML is uploaded with the curl CLI; the collector's report
// (GET /api/v1/runs/R/report?format=json) must give the latency-budget failures under a
// stress-ng burner `contention-possible` with the burner as culprit (one quiet run of history
// does not discriminate: one-sided Fisher p = 1/2), and the rounding bug `fails-regardless`.
//
// Skipped, with the reason, without writable cgroups, stress-ng, curl or pytest (a failure
// under JOSTLE_REQUIRE_REAL=1), or when the machine was not quiet during the quiet run. "Not
// quiet" is measured by the test itself, not taken from the report: /proc/stat's busy CPU time
// over the quiet run less the CPU time the tests cgroup used. In a quiet window every verdict
// of the quiet run must be right; a wrong one fails the test.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/child_process.h"
#include "jostle_test/test_paths.h"
#include "support/loopback_port.h"
#include "support/real_parts.h"
#include "support/shell_files.h"

namespace jostle {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

using testing::ReadFile;
using testing::ShellQuote;

constexpr const char* kToken = "pipeline-e2e-token-1";
constexpr const char* kNode = "e2e-node";
// The quiet run is a valid baseline when processes other than the tests used at most this
// fraction of the machine's CPU during it (the agent and collector use a few percent).
constexpr double kQuietOthersBusy = 0.25;

bool Have(const std::string& check) {
  return std::system((check + " >/dev/null 2>&1").c_str()) == 0;
}

// This machine's UTC offset as "+HH:MM" URL-encoded (pytest writes local time without one).
std::string LocalTzParam() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  long off = tm.tm_gmtoff;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%02ld:%02ld", off < 0 ? "-" : "%2B", std::labs(off) / 3600,
                (std::labs(off) % 3600) / 60);
  return buf;
}

// A cgroup beneath this process's own, in every hierarchy that accounts or weighs CPU
// (v1 cpu and cpuacct; the v2 hierarchy on a pure v2 host). Removed on destruction.
class TestCgroup {
 public:
  static std::unique_ptr<TestCgroup> Create(const std::string& name, std::string* why) {
    const fs::path root = "/sys/fs/cgroup";
    bool v2_only = fs::exists(root / "cgroup.controllers");
    auto cg = std::make_unique<TestCgroup>();
    cg->name_ = name;
    std::ifstream self("/proc/self/cgroup");
    for (std::string line; std::getline(self, line);) {
      auto a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
      fs::path mount;
      if (controllers.empty()) {
        if (!v2_only) continue;
        mount = root;
      } else {
        std::string list = "," + controllers + ",";
        if (list.find(",cpu,") == std::string::npos &&
            list.find(",cpuacct,") == std::string::npos) {
          continue;
        }
        mount = root / controllers;
        if (!fs::is_directory(mount)) continue;
      }
      fs::path dir = mount.string() + (path == "/" ? "" : path) + "/" + name;
      if (::mkdir(dir.c_str(), 0755) != 0) {
        *why = "cannot create cgroup " + dir.string() + ": " + std::strerror(errno);
        return nullptr;
      }
      cg->dirs_.push_back(dir);
    }
    if (cg->dirs_.empty()) *why = "no cpu cgroup hierarchy under /sys/fs/cgroup";
    return cg->dirs_.empty() ? nullptr : std::move(cg);
  }
  ~TestCgroup() {
    for (const auto& dir : dirs_) {
      std::ifstream procs(dir / "cgroup.procs");
      for (std::string pid; std::getline(procs, pid);) {
        std::ofstream(dir.parent_path() / "cgroup.procs") << pid << "\n";
      }
      ::rmdir(dir.c_str());
    }
  }
  // Ten times the default CPU weight.
  bool SetHighWeight() {
    for (const auto& dir : dirs_) {
      if (fs::exists(dir / "cpu.shares")) {
        std::ofstream(dir / "cpu.shares") << "10240\n";
        return true;
      }
      if (fs::exists(dir / "cpu.weight")) {
        std::ofstream(dir / "cpu.weight") << "1000\n";
        return true;
      }
    }
    return false;
  }
  // A shell prefix that moves the shell into this cgroup before it execs the command.
  std::string Enter() const {
    std::string s;
    for (const auto& dir : dirs_)
      s += "echo $$ > " + ShellQuote((dir / "cgroup.procs").string()) + " && ";
    return s;
  }
  // CPU time used by the cgroup's processes so far, µs (v1 cpuacct.usage, v2 cpu.stat
  // usage_usec); nullopt when neither file can be read.
  std::optional<double> CpuUsageUs() const {
    for (const auto& dir : dirs_) {
      std::ifstream v1(dir / "cpuacct.usage");
      double ns = 0;
      if (v1 >> ns) return ns / 1000;
      std::ifstream v2(dir / "cpu.stat");
      for (std::string key; v2 >> key;) {
        double us = 0;
        if (!(v2 >> us)) break;
        if (key == "usage_usec") return us;
      }
    }
    return std::nullopt;
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<fs::path> dirs_;
};

class PipelineScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jostle-pipeline-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "agent,ci,read " << kToken << "\n";
    std::ofstream(dir_ / "token") << kToken << "\n";
    base_ = "http://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort());
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Runs the demo suite in `cgroup`, writing dir_/junit-RUN.xml; returns pytest's exit code.
  int RunSuite(const TestCgroup& cgroup, const std::string& run) {
    std::string cmd = cgroup.Enter() + "cd " + ShellQuote(dir_.string()) +
                      " && exec /usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml=" +
                      ShellQuote("junit-" + run + ".xml") + " " +
                      ShellQuote(std::string(testing::kSourceDir) + "/demo/suite");
    testing::ChildProcess p({"/bin/sh", "-c", cmd}, (dir_ / ("pytest-" + run + ".log")).string());
    auto status = p.Wait(milliseconds(120000));
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

  // curl with the token; returns the HTTP status and puts the body in *body.
  int Curl(const std::string& args, std::string* body) {
    fs::path out = dir_ / "curl.out";
    fs::remove(out);
    std::string cmd = "curl -sS -o " + ShellQuote(out.string()) + " -w '%{http_code}' -H " +
                      ShellQuote(std::string("Authorization: Bearer ") + kToken) + " " + args +
                      " > " + ShellQuote((dir_ / "curl.code").string()) + " 2>" +
                      ShellQuote((dir_ / "curl.err").string());
    std::system(cmd.c_str());
    *body = ReadFile(out);
    return std::atoi(ReadFile(dir_ / "curl.code").c_str());
  }

  json Upload(const std::string& run) {
    std::string body;
    int code =
        Curl("--data-binary @" + ShellQuote((dir_ / ("junit-" + run + ".xml")).string()) + " " +
                 ShellQuote(base_ + "/api/v1/runs/" + run + "/results?node=" + kNode +
                            "&tz=" + LocalTzParam()),
             &body);
    EXPECT_EQ(code, 200) << body << ReadFile(dir_ / "curl.err");
    return json::parse(body, nullptr, false);
  }

  json Report(const std::string& run) {
    std::string body;
    int code = Curl(ShellQuote(base_ + "/api/v1/runs/" + run + "/report?format=json"), &body);
    EXPECT_EQ(code, 200) << body;
    return json::parse(body, nullptr, false);
  }

  // jostle_collector_sample_batches_total{result="stored"} from the collector's /metrics;
  // -1 when it cannot be read.
  long StoredBatches() {
    std::string body;
    if (Curl(ShellQuote(base_ + "/metrics"), &body) != 200) return -1;
    const std::string key = "jostle_collector_sample_batches_total{result=\"stored\"} ";
    auto at = body.find(key);
    return at == std::string::npos ? -1 : std::atol(body.c_str() + at + key.size());
  }
  // Waits until the collector has stored `n` more batches than when called (the agent ships
  // one tick per batch, so these hold samples taken after the call).
  bool WaitForStoredBatches(long n) {
    long from = StoredBatches();
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      long now = StoredBatches();
      if (from >= 0 && now >= from + n) return true;
      if (from < 0) from = now;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }

  fs::path dir_;
  std::string base_;
};

// /proc/stat's first line: busy and total CPU time in clock ticks (USER_HZ).
struct CpuTimes {
  double busy = 0;
  double total = 0;
};
CpuTimes ReadCpuTimes() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  CpuTimes t;
  for (int i = 0; i < 8; ++i) {
    double v = 0;
    in >> v;
    t.total += v;
    if (i != 3 && i != 4) t.busy += v;  // idle and iowait are not busy
  }
  return t;
}

json Failure(const json& report, const std::string& name) {
  for (const json& f : report["failures"]) {
    if (f["name"] == name) return f;
  }
  return json();
}

TEST_F(PipelineScenarioTest, AgentCollectorCurlUploadReportGivesContentionToTheBurner) {
  if (!Have("command -v stress-ng")) JOSTLE_SKIP_MISSING_REAL("stress-ng is not installed");
  if (!Have("command -v curl")) JOSTLE_SKIP_MISSING_REAL("curl is not installed");
  if (!Have("/usr/bin/python3 -c 'import pytest'")) JOSTLE_SKIP_MISSING_REAL("no python3-pytest");
  std::string why;
  std::string suffix = std::to_string(::getpid());
  auto burner = TestCgroup::Create("jostle-e2e-burner-" + suffix, &why);
  if (!burner) JOSTLE_SKIP_MISSING_REAL(why);
  auto tests = TestCgroup::Create("jostle-e2e-tests-" + suffix, &why);
  if (!tests) JOSTLE_SKIP_MISSING_REAL(why);
  ASSERT_TRUE(burner->SetHighWeight());
  ASSERT_TRUE(tests->CpuUsageUs().has_value()) << "no CPU accounting in the tests cgroup";

  std::string port = base_.substr(base_.rfind(':') + 1);
  testing::ChildProcess collector({std::string(testing::kBinDir) + "/jostle-collector", "serve",
                                   "--db", (dir_ / "collector.db").string(), "--listen",
                                   "127.0.0.1:" + port, "--token-file", (dir_ / "tokens").string()},
                                  (dir_ / "collector.log").string());
  std::string body;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (Curl(ShellQuote(base_ + "/healthz"), &body) != 200 &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(Curl(ShellQuote(base_ + "/healthz"), &body), 200) << collector.Log();

  testing::ChildProcess agent(
      {std::string(testing::kBinDir) + "/jostle-agent", "--node-name", kNode, "--interval", "500ms",
       "--kube", "off", "--collector", base_, "--token-file", (dir_ / "token").string(),
       "--batch-ticks", "1", "--spool-dir", (dir_ / "spool").string(), "--cgroup", burner->name(),
       "--cgroup", tests->name()},
      (dir_ / "agent.log").string());
  ASSERT_GT(agent.pid(), 0);
  // Samples before the first test: the collector has stored a few one-tick batches.
  ASSERT_TRUE(WaitForStoredBatches(3)) << agent.Log() << collector.Log();

  // 1. Quiet, measured independently of jostle: the node's busy CPU time over the run less
  // what the tests cgroup used.
  CpuTimes cpu0 = ReadCpuTimes();
  double tests_us0 = *tests->CpuUsageUs();
  ASSERT_EQ(RunSuite(*tests, "quiet"), 1) << ReadFile(dir_ / "pytest-quiet.log");
  CpuTimes cpu1 = ReadCpuTimes();
  double tests_us1 = tests->CpuUsageUs().value_or(tests_us0);
  double ticks_per_us = static_cast<double>(::sysconf(_SC_CLK_TCK)) / 1e6;
  double others_busy = (cpu1.busy - cpu0.busy - (tests_us1 - tests_us0) * ticks_per_us) /
                       std::max(1.0, cpu1.total - cpu0.total);
  if (others_busy > kQuietOthersBusy) {
    GTEST_SKIP() << "the machine was not quiet during the quiet run: others used "
                 << static_cast<int>(others_busy * 100) << "% of its CPU (limit "
                 << static_cast<int>(kQuietOthersBusy * 100) << "%)";
  }
  // Samples past the last window (the window is padded by one interval).
  ASSERT_TRUE(WaitForStoredBatches(3)) << agent.Log();
  json up = Upload("quiet");
  EXPECT_EQ(up["tests"], 5) << up.dump();
  EXPECT_EQ(up["failed"], 1) << up.dump() << ReadFile(dir_ / "pytest-quiet.log");
  json quiet = Report("quiet");
  ASSERT_TRUE(quiet.is_object()) << collector.Log();
  EXPECT_EQ(quiet["summary"]["failed"], 1) << quiet["failures"].dump(2);
  json quiet_bug = Failure(quiet, "test_price_rounding");
  EXPECT_EQ(quiet_bug["verdict"], "no-contention")
      << "others used " << others_busy << " of the CPU during the quiet run\n"
      << quiet_bug.dump(2);

  // 2. A burner with ten times the CPU weight, in a sibling cgroup of the tests'.
  double burner_us0 = burner->CpuUsageUs().value_or(0);
  testing::ChildProcess stress(
      {"/bin/sh", "-c",
       burner->Enter() + "exec stress-ng --cpu " +
           std::to_string(std::thread::hardware_concurrency()) + " --timeout 300s --quiet"},
      (dir_ / "stress.log").string());
  // The burner is burning: its cgroup used a CPU-second, and the agent sampled it since.
  until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (burner->CpuUsageUs().value_or(0) - burner_us0 < 1e6 &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_GE(burner->CpuUsageUs().value_or(0) - burner_us0, 1e6) << stress.Log();
  ASSERT_TRUE(WaitForStoredBatches(2)) << agent.Log();
  int rc = RunSuite(*tests, "noisy");
  ASSERT_TRUE(WaitForStoredBatches(3)) << agent.Log();
  stress.Signal(SIGTERM);
  stress.Wait(milliseconds(10000));
  ASSERT_EQ(rc, 1) << ReadFile(dir_ / "pytest-noisy.log");
  up = Upload("noisy");
  EXPECT_EQ(up["tests"], 5) << up.dump();
  EXPECT_EQ(up["failed"], 4) << up.dump() << ReadFile(dir_ / "pytest-noisy.log");

  json report = Report("noisy");
  ASSERT_TRUE(report.is_object());
  for (const char* name : {"test_checkout_latency_budget", "test_search_latency_budget",
                           "test_login_latency_budget"}) {
    SCOPED_TRACE(name);
    json f = Failure(report, name);
    ASSERT_TRUE(f.is_object()) << "not among the failures";
    EXPECT_EQ(f["verdict"], "contention-possible") << f.dump(2);
    EXPECT_EQ(f["evidence"]["decided_by"], "not-discriminating") << f.dump(2);
    EXPECT_EQ(f["resource"], "cpu");
    ASSERT_FALSE(f["culprits"].empty()) << f.dump(2);
    EXPECT_NE(f["culprits"][0]["name"].get<std::string>().find(burner->name()), std::string::npos)
        << f["culprits"].dump(2);
  }
  json bug = Failure(report, "test_price_rounding");
  ASSERT_TRUE(bug.is_object());
  EXPECT_EQ(bug["verdict"], "fails-regardless") << bug.dump(2);

  // Markdown of the same run, as a PR comment would take it.
  ASSERT_EQ(Curl(ShellQuote(base_ + "/api/v1/runs/noisy/report?format=md"), &body), 200);
  EXPECT_NE(body.find("contention"), std::string::npos) << body;
  EXPECT_NE(body.find(burner->name()), std::string::npos) << body;
  agent.Signal(SIGTERM);
  agent.Wait(milliseconds(10000));
  collector.Signal(SIGTERM);
  collector.Wait(milliseconds(10000));
}

}  // namespace
}  // namespace jostle
