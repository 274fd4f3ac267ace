#include "collector/ci/test_split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace jostle::collector {
namespace {

using ::testing::ElementsAre;

TEST(SplitItemOfTest, FileClassnameOrTest) {
  const std::string id = "tests/shop/test_cart.py::TestCart::test_add[2]";
  EXPECT_EQ(SplitItemOf(id, SplitBy::kFile), "tests/shop/test_cart.py");
  EXPECT_EQ(SplitItemOf(id, SplitBy::kClassname), "tests/shop/test_cart.py::TestCart");
  EXPECT_EQ(SplitItemOf(id, SplitBy::kTest), id);
  EXPECT_EQ(SplitItemOf("test_a.py::test_b", SplitBy::kClassname), "test_a.py");
  EXPECT_EQ(SplitItemOf("Standalone", SplitBy::kFile), "Standalone");
}

TEST(PlanSplitTest, LongestFirstToTheLeastLoadedShardUnknownItemsGetTheMean) {
  const std::map<std::string, double> durations = {
      {"a.py::t1", 5}, {"a.py::t2", 3}, {"b.py::t1", 4}, {"c.py::t1", 2}, {"gone.py::t", 50}};
  // By file: a 8 s, b 4 s, c 2 s, new.py unknown -> mean (8 + 4 + 2) / 3.
  const std::vector<std::string> items = {"c.py", "new.py", "a.py", "b.py"};
  SplitPlan plan = PlanSplit(items, durations, SplitBy::kFile, 2);
  EXPECT_THAT(plan.seconds, ElementsAre(2.0, 14.0 / 3, 8.0, 4.0));
  EXPECT_THAT(plan.known, ElementsAre(true, false, true, true));
  // a (8) -> shard 0; new (4.67) -> 1; b (4) -> 1 (4.67 < 8); c (2) -> 0 (8 < 8.67).
  ASSERT_EQ(plan.shards.size(), 2u);
  EXPECT_THAT(plan.shards[0], ElementsAre(0u, 2u));
  EXPECT_THAT(plan.shards[1], ElementsAre(1u, 3u));
  EXPECT_DOUBLE_EQ(plan.shard_seconds[0], 10.0);
  EXPECT_DOUBLE_EQ(plan.shard_seconds[1], 14.0 / 3 + 4.0);
}

TEST(PlanSplitTest, WithoutAnyHistoryItemsAreSpreadByCount) {
  SplitPlan plan = PlanSplit({"x", "y", "z", "w", "v"}, {}, SplitBy::kTest, 2);
  EXPECT_THAT(plan.shards[0], ElementsAre(0u, 2u, 4u));
  EXPECT_THAT(plan.shards[1], ElementsAre(1u, 3u));
}

// Every item lands in exactly one shard, and the longest shard is within Graham's bound for
// longest-first (4/3 - 1/(3 m)) of the best split, found here by trying every assignment.
TEST(PlanSplitTest, EveryItemOnceAndWithinTheLongestFirstBoundOfTheBestSplit) {
  std::mt19937 rng(11);
  for (int round = 0; round < 30; ++round) {
    const int shards = 2 + round % 3;
    std::map<std::string, double> durations;
    std::vector<std::string> items;
    for (int k = 0; k < 7; ++k) {
      items.push_back("t" + std::to_string(k));
      durations[items.back()] = 1 + static_cast<double>(rng() % 1000) / 10;
    }
    SplitPlan plan = PlanSplit(items, durations, SplitBy::kTest, shards);
    std::vector<int> seen(items.size(), 0);
    for (const auto& shard : plan.shards) {
      for (size_t k : shard) ++seen[k];
    }
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
    double best = 1e300;
    std::vector<int> assign(items.size(), 0);
    for (;;) {
      std::vector<double> load(shards, 0);
      for (size_t k = 0; k < items.size(); ++k) load[assign[k]] += durations[items[k]];
      best = std::min(best, *std::max_element(load.begin(), load.end()));
      size_t k = 0;
      while (k < assign.size() && ++assign[k] == shards) assign[k++] = 0;
      if (k == assign.size()) break;
    }
    const double longest = *std::max_element(plan.shard_seconds.begin(), plan.shard_seconds.end());
    EXPECT_LE(longest, best * (4.0 / 3 - 1.0 / (3 * shards)) + 1e-9) << "round " << round;
  }
}

}  // namespace
}  // namespace jostle::collector
