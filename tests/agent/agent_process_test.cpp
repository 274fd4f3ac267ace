// build/bin/jostle-agent as a child process on a fixture host (procfs/normal_host's /proc and
// /sys, cgroup_v2_systemd's cgroup tree, copied to a scratch directory), naming pods through
// a local Kubernetes API server that speaks the real API's JSON (tests/agent/kube/
// fake_kube_api.py, requiring a bearer token), and serving /metrics and /healthz over HTTP:
// the scraped exposition passes the real `promtool check metrics`, carries the fixture's
// exact counters under the names the API gave, and the API saw the agent's token and its
// node's field selector.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
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
#include "support/real_parts.h"
#include "support/shell_files.h"

namespace jostle {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using testing::ReadFile;
using testing::ShellQuote;

constexpr const char* kNode = "fixture-node";
constexpr const char* kKubeToken = "kube-token-for-the-agent";
constexpr const char* kPodUid = "0b5c1d2e-1111-4a4a-8b8b-000000000001";

// GET http://127.0.0.1:port/path with curl; the status, and the body in *body.
int Get(uint16_t port, const std::string& path, const fs::path& scratch, std::string* body) {
  const fs::path out = scratch / "get.out";
  fs::remove(out);
  std::string cmd = "curl -s -o " + ShellQuote(out.string()) + " -w '%{http_code}' " +
                    ShellQuote("http://127.0.0.1:" + std::to_string(port) + path) + " >" +
                    ShellQuote((scratch / "get.code").string()) + " 2>/dev/null";
  std::system(cmd.c_str());
  if (body != nullptr) *body = ReadFile(out);
  return std::atoi(ReadFile(scratch / "get.code").c_str());
}

// The line of `series` (name and labels as the renderer writes them, in order) in an
// exposition, or "".
std::string SeriesLine(const std::string& exposition, const std::string& name,
                       const std::vector<std::string>& must_contain) {
  size_t at = 0;
  while ((at = exposition.find(name + "{", at)) != std::string::npos) {
    if (at > 0 && exposition[at - 1] != '\n') {
      ++at;
      continue;
    }
    const size_t end = exposition.find('\n', at);
    std::string line = exposition.substr(at, end - at);
    bool all = true;
    for (const auto& part : must_contain) all = all && line.find(part) != std::string::npos;
    if (all) return line;
    at = end;
  }
  return "";
}

double ValueOf(const std::string& line) {
  return line.empty() ? -1 : std::atof(line.c_str() + line.rfind(' ') + 1);
}

class AgentProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jostle-agent-process-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    host_ = dir_ / "host";
    fs::create_directories(host_);
    const std::string fixtures = testing::kFixtureDir;
    std::string cp = "cp -r " + ShellQuote(fixtures + "/procfs/normal_host/.") + " " +
                     ShellQuote(host_.string()) + " && cp -r " +
                     ShellQuote(fixtures + "/hosts/cgroup_v2_systemd/.") + " " +
                     ShellQuote(host_.string());
    ASSERT_EQ(std::system(cp.c_str()), 0);
    std::ofstream(dir_ / "kube-token") << kKubeToken << "\n";
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  fs::path dir_;
  fs::path host_;
};

TEST_F(AgentProcessTest, ServesMetricsOverHttpWithPodNamesFromTheKubernetesApi) {
  if (!fs::exists("/usr/bin/promtool")) {
    JOSTLE_SKIP_MISSING_REAL("/usr/bin/promtool not installed (Debian package prometheus)");
  }
  // The API server, requiring the agent's token, with the fixture's pod on this node.
  const fs::path api_out = dir_ / "api.out";
  testing::ChildProcess api(
      {"/usr/bin/python3", std::string(testing::kSourceDir) + "/tests/agent/kube/fake_kube_api.py"},
      api_out.string());
  std::string port_line;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((port_line = ReadFile(api_out)).find('\n') == std::string::npos &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_EQ(port_line.rfind("PORT ", 0), 0u) << port_line;
  const uint16_t api_port = static_cast<uint16_t>(std::atoi(port_line.c_str() + 5));
  auto control = [&](const std::string& what, const std::string& body) {
    std::ofstream(dir_ / "control.json") << body;
    std::string cmd = "curl -sf --data-binary @" + ShellQuote((dir_ / "control.json").string()) +
                      " http://127.0.0.1:" + std::to_string(api_port) + "/_control/" + what +
                      " >/dev/null";
    return std::system(cmd.c_str()) == 0;
  };
  ASSERT_TRUE(control("token", kKubeToken));
  json pod = {{"metadata",
               {{"uid", kPodUid},
                {"namespace", "ci"},
                {"name", "runner-1"},
                {"labels", {{"team", "shop"}}}}},
              {"spec", {{"nodeName", kNode}}},
              {"status", {{"qosClass", "Guaranteed"}}}};
  ASSERT_TRUE(control("event", json{{"type", "ADDED"}, {"object", pod}}.dump()));

  const uint16_t port = testing::FreeLoopbackPort();
  testing::ChildProcess agent(
      {std::string(testing::kBinDir) + "/jostle-agent", "--node-name", kNode, "--interval", "200ms",
       "--proc-root", (host_ / "proc").string(), "--sys-root", (host_ / "sys").string(),
       "--cgroup-root", (host_ / "sys/fs/cgroup").string(), "--kube",
       "http://127.0.0.1:" + std::to_string(api_port), "--kube-token-file",
       (dir_ / "kube-token").string(), "--pod-labels", "team", "--listen",
       "127.0.0.1:" + std::to_string(port)},
      (dir_ / "agent.log").string());
  ASSERT_GT(agent.pid(), 0);

  // Scrape until the pod is named (the directory lists the API in the background).
  std::string body;
  until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    if (Get(port, "/metrics", dir_, &body) == 200 &&
        !SeriesLine(body, "jostle_pod_info", {"pod=\"runner-1\""}).empty()) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_FALSE(SeriesLine(body, "jostle_pod_info", {"pod=\"runner-1\""}).empty())
      << body.substr(0, 3000) << agent.Log();
  EXPECT_EQ(Get(port, "/healthz", dir_, nullptr), 200);

  // The real promtool on what was served.
  std::ofstream(dir_ / "metrics.txt") << body;
  const std::string check = "/usr/bin/promtool check metrics < " +
                            ShellQuote((dir_ / "metrics.txt").string()) + " >" +
                            ShellQuote((dir_ / "promtool.log").string()) + " 2>&1";
  EXPECT_EQ(std::system(check.c_str()), 0) << ReadFile(dir_ / "promtool.log");

  // The fixture's counters under the names the API gave.
  const std::string info = SeriesLine(body, "jostle_pod_info", {"pod=\"runner-1\""});
  EXPECT_NE(info.find("namespace=\"ci\""), std::string::npos) << info;
  EXPECT_NE(info.find("qos=\"guaranteed\""), std::string::npos) << info;
  EXPECT_NE(info.find("label_team=\"shop\""), std::string::npos) << info;
  const std::string cpu = SeriesLine(body, "jostle_container_cpu_usage_seconds_total",
                                     {"scope=\"pod\"", "pod=\"runner-1\""});
  EXPECT_DOUBLE_EQ(ValueOf(cpu), 1.000123) << cpu;  // cpu.stat usage_usec 1000123
  const std::string limit =
      SeriesLine(body, "jostle_container_cpu_limit_cores", {"scope=\"pod\"", "pod=\"runner-1\""});
  EXPECT_DOUBLE_EQ(ValueOf(limit), 2.0) << limit;  // cpu.max "200000 100000"
  const std::string node_cpu = SeriesLine(body, "jostle_node_cpu_seconds_total", {});
  // (4705 + 356 + 5845 + 209 + 12 + 1016582 + 4352) ticks at USER_HZ 100.
  EXPECT_DOUBLE_EQ(ValueOf(node_cpu), 10320.61) << node_cpu;
  EXPECT_NE(node_cpu.find("node=\"fixture-node\""), std::string::npos) << node_cpu;

  // What the API server was asked: with the token, for this node's pods only.
  std::string requests;
  {
    const fs::path out = dir_ / "requests.json";
    std::string cmd = "curl -sf -o " + ShellQuote(out.string()) +
                      " http://127.0.0.1:" + std::to_string(api_port) + "/_control/requests";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    requests = ReadFile(out);
  }
  json asked = json::parse(requests, nullptr, false);
  ASSERT_TRUE(asked.is_array() && !asked.empty()) << requests;
  for (const json& r : asked) {
    EXPECT_EQ(r["path"], "/api/v1/pods");
    EXPECT_EQ(r["authorization"], std::string("Bearer ") + kKubeToken);
    EXPECT_EQ(r["query"]["fieldSelector"], std::string("spec.nodeName=") + kNode);
  }

  agent.Signal(SIGTERM);
  auto status = agent.Wait(milliseconds(10000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << agent.Log();
  api.Signal(SIGTERM);
}

}  // namespace
}  // namespace jostle
