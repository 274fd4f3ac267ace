// Splitting a CI job's tests across N parallel shards by their historical timings, as
// `jostle split` does (like `circleci tests split --split-by=timings` and pytest-split):
// longest first, each item to the shard with the least time so far; items without history
// count as the mean of those with.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace jostle::collector {

// What an item is: a test file, a test class, or one test.
enum class SplitBy { kFile, kClassname, kTest };

// The item holding test `test_id` (a pytest node id, or "<classname>::<name>"):
//   kFile       the part before the first "::" ("tests/test_shop.py")
//   kClassname  the id without its last "::" part ("tests/test_shop.py::TestCart")
//   kTest       the id itself
std::string SplitItemOf(std::string_view test_id, SplitBy by);

struct SplitPlan {
  std::vector<double> seconds;  // per input item: its tests' summed durations, or the mean
  std::vector<bool> known;      // per input item: it had history
  std::vector<std::vector<size_t>> shards;  // per shard: input item indexes, input order
  std::vector<double> shard_seconds;        // per shard: its items' seconds
};

// Balances `items` over `total` shards (total >= 1). `durations`: test id -> seconds (the
// collector's /api/v1/tests/durations). An item's seconds are the sum over the tests
// SplitItemOf maps to it; an item with none gets the mean of the items that have some (1 s
// when none has). Deterministic: ties go to the earlier item and the lower shard.
SplitPlan PlanSplit(const std::vector<std::string>& items,
                    const std::map<std::string, double>& durations, SplitBy by, int total);

}  // namespace jostle::collector
