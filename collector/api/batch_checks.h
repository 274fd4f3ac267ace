// What POST /api/v1/samples checks in a decoded batch before it is stored: every identity
// (node, pod, container, cgroup, labels, host facts) within its length and character set,
// and every timestamp within what the collector keeps and not in the future. A batch that
// fails is refused whole (400) with the field named, e.g.
//   samples[3].cgroups[2].namespace 'Bad NS': expected 1..63 characters of a-z 0-9 -
#pragma once

#include <cstdint>

#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::collector {

struct BatchLimits {
  int64_t now_ns = 0;  // the collector's wall clock, ns since the Unix epoch
  // A tick older than now_ns - max_age_ns is refused (it would be pruned at once);
  // 0: no lower bound.
  int64_t max_age_ns = 0;
  // A tick (or agent start) later than now_ns + max_ahead_ns is refused.
  int64_t max_ahead_ns = 10LL * 60 * 1000000000;
};

// InvalidArgument naming the first field that is wrong; Ok otherwise.
Status CheckBatch(const SampleBatch& batch, const BatchLimits& limits);

}  // namespace jostle::collector
