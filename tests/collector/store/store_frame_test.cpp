// Store::SampleCounters (the join's read: counters with each series identity once, many
// ranges in one snapshot) against Store::Samples, on a file database and on :memory:.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collector/store/stores.h"
#include "store_test_util.h"

namespace jostle::collector {
namespace {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::TempDir;

using Ranges = std::vector<std::pair<int64_t, int64_t>>;

class StoreFrameTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    path_ = GetParam() ? dir_.File("jostle.db") : ":memory:";
    auto opened = OpenSqliteStores(path_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    // Ticks kT0 .. kT0 + 19 s: 2 pods x 2 containers + 1 bare cgroup = 7 series per tick.
    ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 0, kT0, 10)).ok());
    ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 1, kT0 + 10 * kSecond, 10)).ok());
  }

  std::vector<Sample> SamplesIn(const Ranges& ranges) {
    std::vector<Sample> out;
    for (const auto& [from, to] : ranges) {
      auto got = store_->samples().Samples("node-a", from, to);
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (got.ok()) out.insert(out.end(), got->begin(), got->end());
    }
    return out;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Stores> store_;
};

TEST_P(StoreFrameTest, RangesCarryTheSameFactsAsSamplesWithIdentitiesOnce) {
  const Ranges ranges = {{kT0 + kSecond, kT0 + 3 * kSecond},
                         {kT0 + 8 * kSecond, kT0 + 12 * kSecond},
                         {kT0 + 30 * kSecond, kT0 + 40 * kSecond}};  // no ticks
  auto frame = store_->samples().SampleCounters("node-a", ranges, FrameRead{});
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  ASSERT_EQ(frame->ticks.size(), 3u + 5u);
  EXPECT_EQ(frame->ticks[0].wall_ns, kT0 + kSecond);
  EXPECT_EQ(frame->ticks[3].wall_ns, kT0 + 8 * kSecond);
  EXPECT_EQ(frame->series.size(), 7u) << "one identity per series, not per row";
  for (const CgroupSample& s : frame->series) {
    EXPECT_FALSE(s.cpu_usage_us.has_value()) << s.id << ": identities carry no counters";
  }
  EXPECT_EQ(SamplesOfFrame(*frame), SamplesIn(ranges));
}

TEST_P(StoreFrameTest, FirstTickOfEachRange) {
  const Ranges steps = {{kT0 - 5 * kSecond, kT0 + kSecond / 2},
                        {kT0 + 4 * kSecond, kT0 + 6 * kSecond},
                        {kT0 + 7 * kSecond + 1, kT0 + 8 * kSecond - 1},  // between ticks
                        {kT0 + 15 * kSecond, kT0 + 100 * kSecond}};
  auto frame = store_->samples().SampleCounters("node-a", steps, FrameRead{RangeRead::kFirstTick});
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  std::vector<int64_t> walls;
  for (const FrameTick& t : frame->ticks) walls.push_back(t.wall_ns);
  EXPECT_THAT(walls, ::testing::ElementsAre(kT0, kT0 + 4 * kSecond, kT0 + 15 * kSecond));
  const std::vector<Sample> all = SamplesIn({{kT0, kT0 + 20 * kSecond}});
  std::vector<Sample> expected = {all[0], all[4], all[15]};
  EXPECT_EQ(SamplesOfFrame(*frame), expected);
}

TEST_P(StoreFrameTest, CpuUsageOnlyLeavesOtherCountersAbsent) {
  const Ranges ranges = {{kT0, kT0 + 2 * kSecond}};
  auto narrow = store_->samples().SampleCounters(
      "node-a", ranges, FrameRead{RangeRead::kEveryTick, CgroupFields::kCpuUsage});
  auto full = store_->samples().SampleCounters("node-a", ranges, FrameRead{});
  ASSERT_TRUE(narrow.ok() && full.ok());
  ASSERT_EQ(narrow->ticks.size(), 3u);
  EXPECT_EQ(narrow->series, full->series);
  for (size_t i = 0; i < narrow->ticks.size(); ++i) {
    EXPECT_EQ(narrow->ticks[i].node, full->ticks[i].node);
    ASSERT_EQ(narrow->ticks[i].cgroups.size(), full->ticks[i].cgroups.size());
    for (size_t j = 0; j < narrow->ticks[i].cgroups.size(); ++j) {
      CgroupCounters expected;
      expected.series = full->ticks[i].cgroups[j].series;
      expected.cpu_usage_us = full->ticks[i].cgroups[j].cpu_usage_us;
      EXPECT_EQ(narrow->ticks[i].cgroups[j], expected) << "tick " << i << " #" << j;
    }
  }
}

TEST_P(StoreFrameTest, UnknownNodeEmptyAndBadRangesRefused) {
  auto other = store_->samples().SampleCounters("node-b", {{kT0, kT0 + 5 * kSecond}}, FrameRead{});
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->ticks.empty());
  auto none = store_->samples().SampleCounters("node-a", {}, FrameRead{});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->ticks.empty());
  auto overlap = store_->samples().SampleCounters(
      "node-a", {{kT0, kT0 + 5 * kSecond}, {kT0 + 5 * kSecond, kT0 + 6 * kSecond}}, FrameRead{});
  ASSERT_FALSE(overlap.ok());
  EXPECT_EQ(overlap.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(overlap.status().message(), HasSubstr("range 1"));
  auto inverted = store_->samples().SampleCounters("node-a", {{kT0 + kSecond, kT0}}, FrameRead{});
  ASSERT_FALSE(inverted.ok());
  EXPECT_EQ(inverted.status().code(), Status::Code::kInvalidArgument);
}

TEST_P(StoreFrameTest, IdentityChangeIsANewSeriesWithTheSameId) {
  SampleBatch relabelled = MakeBatch("node-a", 2, kT0 + 20 * kSecond, 2);
  for (Sample& s : relabelled.samples) s.cgroups[0].labels["release"] = "2";
  ASSERT_TRUE(store_->samples().PutBatch(relabelled).ok());
  const Ranges ranges = {{kT0 + 18 * kSecond, kT0 + 21 * kSecond}};
  auto frame = store_->samples().SampleCounters("node-a", ranges, FrameRead{});
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  ASSERT_EQ(frame->series.size(), 8u);
  const std::string& id = frame->series[frame->ticks.front().cgroups[0].series].id;
  EXPECT_EQ(frame->series[frame->ticks.back().cgroups[0].series].id, id);
  EXPECT_NE(frame->ticks.front().cgroups[0].series, frame->ticks.back().cgroups[0].series);
  EXPECT_EQ(SamplesOfFrame(*frame), SamplesIn(ranges));
}

INSTANTIATE_TEST_SUITE_P(FileAndMemory, StoreFrameTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "file" : "memory"; });

// The conversions on their own: a frame made from samples gives the same samples back.
TEST(SampleFrameTest, FrameOfSamplesRoundTrips) {
  SampleBatch b = MakeBatch("node-a", 0, kT0, 4);
  b.samples[2].cgroups[0].labels["new"] = "label";
  SampleFrame frame = FrameOfSamples(b.samples);
  EXPECT_EQ(frame.series.size(), 8u);
  EXPECT_EQ(SamplesOfFrame(frame), b.samples);
}

}  // namespace
}  // namespace jostle::collector
