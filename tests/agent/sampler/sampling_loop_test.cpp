// SamplingLoop over a fixture host (real files): ticks grouped into batches for a sink.
#include "agent/sampler/sampling_loop.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jostle_test/test_paths.h"

namespace jostle::agent {
namespace {

// Keeps what the loop gives it; Begin fails while fail_begin is set.
class RecordingSink : public BatchSink {
 public:
  struct Batch {
    SampleBatch head;
    std::vector<Sample> samples;
    bool ended = false;
  };
  std::vector<Batch> batches;
  bool fail_begin = false;

  Status Begin(const SampleBatch& head) override {
    if (fail_begin) return Status::Unavailable("sink refuses batches");
    batches.push_back({head, {}, false});
    return Status::Ok();
  }
  Status Add(const Sample& sample) override {
    batches.back().samples.push_back(sample);
    return Status::Ok();
  }
  void End() override { batches.back().ended = true; }
};

std::unique_ptr<Sampler> FixtureSampler() {
  const std::string node = std::string(testing::kFixtureDir) + "/procfs/normal_host";
  const std::string cgroups = std::string(testing::kFixtureDir) + "/hosts/cgroup_v2_systemd";
  CgroupOptions options;
  options.self_cgroup_file = cgroups + "/proc/self/cgroup";
  auto sampler = Sampler::Open(HostPaths{node + "/proc", node + "/sys", cgroups + "/sys/fs/cgroup"},
                               options, nullptr);
  EXPECT_TRUE(sampler.ok()) << sampler.status().ToString();
  return sampler.ok() ? std::move(*sampler) : nullptr;
}

TEST(SamplingLoopTest, TicksGoToTheSinkInBatchesOfBatchTicks) {
  auto sampler = FixtureSampler();
  ASSERT_NE(sampler, nullptr);
  BatchAssembler batches("node-a", "boot", 1000, 1'000'000'000);
  RecordingSink sink;
  SamplingLoop loop(*sampler, batches, /*batch_ticks=*/2, &sink);
  Sample s;
  for (int i = 0; i < 5; ++i) {
    EXPECT_GE(loop.Tick(s), 0.0);
    EXPECT_FALSE(s.cgroups.empty());
  }
  EXPECT_EQ(loop.pending_samples(), 1u);
  loop.Flush();
  loop.Flush();  // nothing pending: no empty batch
  ASSERT_EQ(sink.batches.size(), 3u);
  for (size_t b = 0; b < sink.batches.size(); ++b) {
    const auto& batch = sink.batches[b];
    EXPECT_EQ(batch.head.seq, b);
    EXPECT_EQ(batch.head.node, "node-a");
    EXPECT_TRUE(batch.head.samples.empty());
    EXPECT_EQ(batch.head.host.at("cgroup"), "v2");
    EXPECT_EQ(batch.samples.size(), b < 2 ? 2u : 1u);
    EXPECT_TRUE(batch.ended);
  }
  // Samples in tick order, each read anew.
  EXPECT_LT(sink.batches[0].samples[0].mono_ns, sink.batches[0].samples[1].mono_ns);
  EXPECT_LT(sink.batches[1].samples[1].mono_ns, sink.batches[2].samples[0].mono_ns);
}

TEST(SamplingLoopTest, ABatchTheSinkRefusesIsBegunAgainOnTheNextTick) {
  auto sampler = FixtureSampler();
  ASSERT_NE(sampler, nullptr);
  BatchAssembler batches("node-a", "boot", 1000, 1'000'000'000);
  RecordingSink sink;
  sink.fail_begin = true;
  SamplingLoop loop(*sampler, batches, 3, &sink);
  Sample s;
  loop.Tick(s);  // dropped (logged)
  EXPECT_EQ(loop.pending_samples(), 0u);
  sink.fail_begin = false;
  loop.Tick(s);
  loop.Flush();
  ASSERT_EQ(sink.batches.size(), 1u);
  EXPECT_EQ(sink.batches[0].samples.size(), 1u);
  EXPECT_TRUE(sink.batches[0].ended);
}

TEST(SamplingLoopTest, WithoutASinkItOnlySamples) {
  auto sampler = FixtureSampler();
  ASSERT_NE(sampler, nullptr);
  BatchAssembler batches("node-a", "boot", 1000, 1'000'000'000);
  SamplingLoop loop(*sampler, batches, 1, nullptr);
  Sample s;
  loop.Tick(s);
  loop.Flush();
  EXPECT_EQ(loop.pending_samples(), 0u);
  EXPECT_TRUE(s.node.cpu_busy_us.has_value());
}

}  // namespace
}  // namespace jostle::agent
