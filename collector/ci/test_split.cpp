#include "collector/ci/test_split.h"

#include <algorithm>
#include <numeric>

namespace jostle::collector {

std::string SplitItemOf(std::string_view test_id, SplitBy by) {
  switch (by) {
    case SplitBy::kFile:
      return std::string(test_id.substr(0, test_id.find("::")));
    case SplitBy::kClassname: {
      const size_t last = test_id.rfind("::");
      return std::string(last == std::string_view::npos ? test_id : test_id.substr(0, last));
    }
    case SplitBy::kTest:
      break;
  }
  return std::string(test_id);
}

SplitPlan PlanSplit(const std::vector<std::string>& items,
                    const std::map<std::string, double>& durations, SplitBy by, int total) {
  std::map<std::string, double> by_item;
  for (const auto& [test, seconds] : durations) by_item[SplitItemOf(test, by)] += seconds;
  SplitPlan plan;
  plan.seconds.resize(items.size());
  plan.known.resize(items.size());
  double known_sum = 0;
  int known_count = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    auto it = by_item.find(items[k]);
    if (it == by_item.end()) continue;
    plan.known[k] = true;
    plan.seconds[k] = it->second;
    known_sum += it->second;
    ++known_count;
  }
  const double mean = known_count > 0 ? known_sum / known_count : 1.0;
  for (size_t k = 0; k < items.size(); ++k) {
    if (!plan.known[k]) plan.seconds[k] = mean;
  }
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return plan.seconds[a] > plan.seconds[b]; });
  const auto shards = static_cast<size_t>(std::max(total, 1));
  plan.shards.assign(shards, {});
  plan.shard_seconds.assign(shards, 0);
  for (size_t k : order) {
    const size_t to =
        static_cast<size_t>(std::min_element(plan.shard_seconds.begin(), plan.shard_seconds.end()) -
                            plan.shard_seconds.begin());
    plan.shards[to].push_back(k);
    plan.shard_seconds[to] += plan.seconds[k];
  }
  for (auto& shard : plan.shards) std::sort(shard.begin(), shard.end());
  return plan;
}

}  // namespace jostle::collector
