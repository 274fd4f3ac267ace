// Shared by the store tests: temporary database directories and sample batches with every
// field set (or every optional field absent).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "jostle/results.h"
#include "jostle/sample.h"

namespace jostle::collector::testing {

// A fresh directory under the test temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "jostle-store-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kT0 = 1'700'000'000 * kSecond;

// A pod cgroup with every field set; `k` varies the values.
inline CgroupSample FullPod(int k, const std::string& ns, const std::string& pod) {
  CgroupSample c;
  c.scope = Scope::kPod;
  c.id = "uid-" + ns + "-" + pod;
  c.path = "/kubepods.slice/kubepods-burstable.slice/pod" + c.id;
  c.pod_uid = c.id;
  c.namespace_name = ns;
  c.pod_name = pod;
  c.qos = "burstable";
  c.labels = {{"app", pod}, {"team", "ci \"quoted\" \\ \n"}};
  c.cpu_usage_us = 1000u * k + 1;
  c.cpu_periods = 10u * k + 2;
  c.cpu_throttled_periods = k + 3u;
  c.cpu_throttled_us = 500u * k + 4;
  c.cpu_limit_cores = 1.5;
  c.mem_usage_bytes = (1ull << 40) + k;
  c.mem_working_set_bytes = (1ull << 30) + k;
  c.mem_limit_bytes = 4ull << 30;
  c.oom_kills = 0;
  c.psi_cpu = PsiTotals{100u * k, 50u * k};
  c.psi_memory = PsiTotals{7u * k, std::nullopt};
  c.psi_io = PsiTotals{std::nullopt, std::nullopt};
  c.net = NetCounters{"*", 1u * k, 2u * k, 3, 4, 5u * k, 6, 7, 8, std::nullopt};
  c.host_network = false;
  return c;
}

inline CgroupSample FullContainer(int k, const CgroupSample& pod, const std::string& name) {
  CgroupSample c = pod;
  c.scope = Scope::kContainer;
  c.container_id = "cid-" + name;
  c.id = pod.pod_uid + "/" + c.container_id;
  c.path = pod.path + "/cri-containerd-" + c.container_id + ".scope";
  c.container_name = name;
  c.labels.clear();
  c.net.reset();
  c.cpu_limit_cores.reset();
  c.cpu_usage_us = 300u * k;
  return c;
}

// Every optional field absent, strings empty.
inline CgroupSample BareCgroup(const std::string& path) {
  CgroupSample c;
  c.scope = Scope::kCgroup;
  c.id = path;
  c.path = path;
  return c;
}

inline NodeSample FullNode(int k) {
  NodeSample n;
  n.cpu_busy_us = 1'000'000u * k;
  n.cpu_total_us = 4'000'000u * k;
  n.cpus = 4;
  n.mem_total_bytes = 16ull << 30;
  n.mem_available_bytes = (8ull << 30) - k;
  n.psi_cpu = PsiTotals{11u * k, std::nullopt};
  n.psi_memory = PsiTotals{12u * k, 13u * k};
  n.psi_io = PsiTotals{14u * k, 15u * k};
  n.net = {NetCounters{"eth0", 100u * k, 10u * k, 0, 1, 200u * k, 20u * k, 0, 2, 10000},
           NetCounters{"eth1", ~0ull, 1, 2, 3, 4, 5, 6, 7, std::nullopt}};
  n.tcp_out_segs = 1000u * k;
  n.tcp_retrans_segs = k;
  n.load1 = 0.5;
  n.load5 = 1.25;
  n.load15 = 2.0;
  return n;
}

// `ticks` samples one second apart from `start_ns`, each with the node, `pods` pods of
// `containers` containers each, and one bare cgroup.
inline SampleBatch MakeBatch(const std::string& node, uint64_t seq, int64_t start_ns, int ticks,
                             int pods = 2, int containers = 2) {
  SampleBatch b;
  b.node = node;
  b.boot_id = "boot-" + node;
  b.agent_start_ns = kT0 - 60 * kSecond;
  b.seq = seq;
  b.agent_version = "0.1.0";
  b.interval_ns = kSecond;
  b.host = {{"psi", "enabled"}, {"cgroup", "v2"}};
  for (int t = 0; t < ticks; ++t) {
    Sample s;
    s.wall_ns = start_ns + t * kSecond;
    s.mono_ns = 5 * kSecond + (start_ns - kT0) + t * kSecond;
    s.node = FullNode(t + 1);
    for (int p = 0; p < pods; ++p) {
      CgroupSample pod = FullPod(t + p + 1, "ci", "runner-" + std::to_string(p));
      s.cgroups.push_back(pod);
      for (int c = 0; c < containers; ++c) {
        s.cgroups.push_back(FullContainer(t + c + 1, pod, "c" + std::to_string(c)));
      }
    }
    s.cgroups.push_back(BareCgroup("/system.slice/docker.service"));
    b.samples.push_back(std::move(s));
  }
  return b;
}

inline TestCase MakeTest(const std::string& id, std::vector<Outcome> outcomes,
                         std::optional<int64_t> start_ns = std::nullopt, double duration_s = 1.0) {
  TestCase tc;
  tc.id = id;
  tc.suite = "suite";
  tc.classname = "tests.test_x";
  tc.name = id.substr(id.rfind(':') + 1);
  tc.file = "tests/test_x.py";
  tc.line = 12;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    TestAttempt a;
    a.outcome = outcomes[i];
    if (start_ns) a.start_ns = *start_ns + static_cast<int64_t>(i) * 2 * kSecond;
    a.duration_s = duration_s;
    a.message = outcomes[i] == Outcome::kPassed ? "" : "assert 1 == 2";
    a.details = outcomes[i] == Outcome::kPassed ? "" : "Traceback...\nAssertionError";
    tc.attempts.push_back(a);
  }
  return tc;
}

}  // namespace jostle::collector::testing
