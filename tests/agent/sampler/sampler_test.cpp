#include "agent/sampler/sampler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
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

TEST(SamplerTest, ReadsThisHost) {
  auto sampler = Sampler::Open(HostPaths{}, CgroupOptions{}, nullptr);
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  Sample s = (*sampler)->Tick();
  EXPECT_GT(s.wall_ns, 0);
  EXPECT_GT(s.mono_ns, 0);
  ASSERT_TRUE(s.node.cpu_total_us.has_value());
  EXPECT_GE(*s.node.cpu_total_us, s.node.cpu_busy_us.value_or(0));
  auto facts = (*sampler)->HostFacts();
  EXPECT_TRUE(facts.count("cgroup")) << "cgroup layout fact missing";
}

}  // namespace
}  // namespace jostle::agent
