#include "agent/sampler/sampler.h"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "jostle_test/test_paths.h"

namespace jostle::agent {
namespace {

// A PodDirectory answering from a fixed map (the real ones are tested in tests/agent/kube).
class FixedPods : public PodDirectory {
 public:
  std::map<std::string, PodMeta, std::less<>> pods;
  std::optional<PodMeta> Find(std::string_view uid) const override {
    auto it = pods.find(uid);
    if (it == pods.end()) return std::nullopt;
    return it->second;
  }
};

TEST(ApplyPodNamesTest, NamesKnownPodsAndContainersOnly) {
  FixedPods pods;
  PodMeta meta;
  meta.uid = "u1";
  meta.namespace_name = "ci";
  meta.name = "runner-1";
  meta.qos = "burstable";
  meta.labels = {{"app", "runner"}};
  meta.container_names = {{"c0ffee", "build"}};
  pods.pods["u1"] = meta;

  std::vector<CgroupSample> samples(4);
  samples[0].scope = Scope::kPod;
  samples[0].pod_uid = "u1";
  samples[1].scope = Scope::kContainer;
  samples[1].pod_uid = "u1";
  samples[1].container_id = "c0ffee";
  samples[1].qos = "guaranteed";  // from the cgroup path: kept
  samples[2].scope = Scope::kPod;
  samples[2].pod_uid = "unknown";
  samples[3].scope = Scope::kCgroup;
  samples[3].id = "/system.slice/docker.service";

  ApplyPodNames(pods, samples);
  EXPECT_EQ(samples[0].namespace_name, "ci");
  EXPECT_EQ(samples[0].pod_name, "runner-1");
  EXPECT_EQ(samples[0].qos, "burstable");
  EXPECT_EQ(samples[0].labels.at("app"), "runner");
  EXPECT_EQ(samples[1].container_name, "build");
  EXPECT_EQ(samples[1].qos, "guaranteed");
  EXPECT_TRUE(samples[2].pod_name.empty());
  EXPECT_TRUE(samples[3].pod_name.empty());
}

TEST(BatchAssemblerTest, SequenceCountsFromZeroWithStableIdentity) {
  BatchAssembler batches("node-a", "boot-1", 1234, 1'000'000'000);
  SampleBatch first = batches.Make({Sample{}}, {{"cgroup", "v2"}});
  SampleBatch second = batches.Make({Sample{}, Sample{}}, {});
  EXPECT_EQ(first.seq, 0u);
  EXPECT_EQ(second.seq, 1u);
  EXPECT_EQ(second.node, "node-a");
  EXPECT_EQ(second.boot_id, "boot-1");
  EXPECT_EQ(second.agent_start_ns, 1234);
  EXPECT_EQ(second.samples.size(), 2u);
  EXPECT_EQ(first.host.at("cgroup"), "v2");
}

TEST(TickLoopTest, TicksUntilStoppedAndStopsPromptly) {
  std::atomic<int> ticks{0};
  TickLoop loop(std::chrono::milliseconds(10), [&ticks] { ticks++; });
  loop.Start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ticks.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  loop.Stop();
  int after_stop = ticks.load();
  EXPECT_GE(after_stop, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ticks.load(), after_stop);
}

// A host from fixtures: procfs/normal_host's /proc and /sys, cgroup_v2_systemd's cgroup tree.
// Every value below is the fixture files' own.
TEST(SamplerTest, FixtureHostGivesTheFixturesValues) {
  const std::string node = std::string(testing::kFixtureDir) + "/procfs/normal_host";
  const std::string cgroups = std::string(testing::kFixtureDir) + "/hosts/cgroup_v2_systemd";
  HostPaths paths{node + "/proc", node + "/sys", cgroups + "/sys/fs/cgroup"};
  CgroupOptions options;
  options.self_cgroup_file = cgroups + "/proc/self/cgroup";
  FixedPods pods;
  PodMeta meta;
  meta.uid = "0b5c1d2e-1111-4a4a-8b8b-000000000001";
  meta.namespace_name = "ci";
  meta.name = "runner-1";
  pods.pods[meta.uid] = meta;
  auto sampler = Sampler::Open(paths, options, &pods);
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  Sample s = (*sampler)->Tick();

  // procfs/normal_host/proc/stat's cpu line, USER_HZ 100: 10 000 µs per tick.
  EXPECT_EQ(s.node.cpu_busy_us, (4705 + 356 + 5845 + 209 + 12) * 10000ULL);
  EXPECT_EQ(s.node.cpu_total_us, (4705 + 356 + 5845 + 209 + 12 + 1016582 + 4352) * 10000ULL);
  EXPECT_EQ(s.node.cpus, 2u);
  EXPECT_EQ(s.node.mem_total_bytes, 8029288ULL * 1024);
  EXPECT_EQ(s.node.mem_available_bytes, 5741236ULL * 1024);
  EXPECT_EQ(s.node.psi_cpu, (PsiTotals{83451000, 0}));
  EXPECT_EQ(s.node.tcp_retrans_segs, 4321u);

  // 3 pods, 4 containers (crio-conmon is none), 5 plain cgroups to depth 2 and the one
  // below (user-1000.slice/session-1.scope).
  std::map<Scope, int> by_scope;
  const CgroupSample* pod = nullptr;
  for (const CgroupSample& c : s.cgroups) {
    ++by_scope[c.scope];
    if (c.scope == Scope::kPod && c.pod_uid == meta.uid) pod = &c;
  }
  EXPECT_EQ(by_scope[Scope::kPod], 3);
  EXPECT_EQ(by_scope[Scope::kContainer], 4);
  EXPECT_EQ(by_scope[Scope::kCgroup], 6);
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->namespace_name, "ci");  // from the pod directory
  EXPECT_EQ(pod->pod_name, "runner-1");
  EXPECT_EQ(pod->cpu_usage_us, 1000123u);  // its cpu.stat usage_usec
  EXPECT_EQ(pod->cpu_throttled_periods, 10u);
  EXPECT_EQ(pod->cpu_limit_cores, 2.0);  // cpu.max "200000 100000"
  EXPECT_EQ(pod->mem_usage_bytes, 1052672u);

  auto facts = (*sampler)->HostFacts();
  EXPECT_EQ(facts.at("cgroup"), "v2");
  EXPECT_EQ(facts.at("psi"), "enabled");
  EXPECT_EQ((*sampler)->read_errors(), 0u);
}

// This machine: the node's CPU time is /proc/stat's, read here beside the sampler, and the
// clocks are now.
TEST(SamplerTest, ReadsThisHost) {
  auto sampler = Sampler::Open(HostPaths{}, CgroupOptions{}, nullptr);
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  auto total_us = [] {
    std::ifstream in("/proc/stat");
    std::string cpu;
    in >> cpu;
    double ticks = 0;
    for (int i = 0; i < 8; ++i) {
      double v = 0;
      in >> v;
      ticks += v;
    }
    return ticks * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  };
  const double before_us = total_us();
  const auto wall0 = std::chrono::system_clock::now();
  Sample s = (*sampler)->Tick();
  const auto wall1 = std::chrono::system_clock::now();
  const double after_us = total_us();
  ASSERT_TRUE(s.node.cpu_total_us.has_value());
  EXPECT_GE(static_cast<double>(*s.node.cpu_total_us), before_us);
  EXPECT_LE(static_cast<double>(*s.node.cpu_total_us), after_us);
  EXPECT_LE(*s.node.cpu_busy_us, *s.node.cpu_total_us);
  EXPECT_EQ(s.node.cpus, std::thread::hardware_concurrency());
  auto ns = [](auto tp) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
  };
  EXPECT_GE(s.wall_ns, ns(wall0));
  EXPECT_LE(s.wall_ns, ns(wall1));
  timespec mono{};
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  EXPECT_LE(s.mono_ns, mono.tv_sec * 1000000000LL + mono.tv_nsec);
  EXPECT_GT(s.mono_ns, 0);
  auto facts = (*sampler)->HostFacts();
  EXPECT_TRUE(facts.count("cgroup")) << "cgroup layout fact missing";
}

}  // namespace
}  // namespace jostle::agent
