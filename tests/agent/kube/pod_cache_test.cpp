#include "agent/kube/pod_cache.h"

#include <gtest/gtest.h>

namespace jostle::agent {
namespace {

using std::chrono::seconds;

PodMeta Pod(std::string uid, std::string name) {
  PodMeta pod;
  pod.uid = std::move(uid);
  pod.namespace_name = "ci";
  pod.name = std::move(name);
  return pod;
}

TEST(PodCache, DeletedPodsStayForTheGracePeriod) {
  PodCache cache(std::chrono::milliseconds(seconds(60)));
  const auto t0 = PodCache::Clock::now();
  cache.Upsert(Pod("a", "pod-a"));
  cache.Upsert(Pod("b", "pod-b"));
  cache.MarkDeleted(Pod("a", "pod-a"), t0);
  EXPECT_EQ(cache.live_count(), 1u);
  ASSERT_TRUE(cache.Find("a", t0 + seconds(59)).has_value());
  EXPECT_FALSE(cache.Find("a", t0 + seconds(60)).has_value());
  EXPECT_EQ(cache.Purge(t0 + seconds(30)), 0u);
  EXPECT_EQ(cache.Purge(t0 + seconds(61)), 1u);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.Find("b", t0 + seconds(3600)).has_value());
}

TEST(PodCache, ReAddedPodIsLiveAgain) {
  PodCache cache(std::chrono::milliseconds(seconds(1)));
  const auto t0 = PodCache::Clock::now();
  cache.MarkDeleted(Pod("a", "first-seen-deleted"), t0);
  EXPECT_TRUE(cache.Find("a", t0).has_value());
  cache.Upsert(Pod("a", "back"));
  EXPECT_EQ(cache.Find("a", t0 + seconds(10))->name, "back");
}

TEST(PodCache, ReplaceAllMarksMissingPodsDeleted) {
  PodCache cache(std::chrono::milliseconds(seconds(10)));
  const auto t0 = PodCache::Clock::now();
  cache.Upsert(Pod("a", "old-a"));
  cache.Upsert(Pod("b", "b"));
  std::vector<PodMeta> listed = {Pod("a", "new-a"), Pod("c", "c")};
  cache.ReplaceAll(listed, t0);
  EXPECT_EQ(cache.live_count(), 2u);
  EXPECT_EQ(cache.Find("a", t0 + seconds(100))->name, "new-a");
  EXPECT_TRUE(cache.Find("b", t0 + seconds(9)).has_value());
  EXPECT_FALSE(cache.Find("b", t0 + seconds(10)).has_value());
  EXPECT_TRUE(cache.Find("c", t0 + seconds(100)).has_value());
}

}  // namespace
}  // namespace jostle::agent
