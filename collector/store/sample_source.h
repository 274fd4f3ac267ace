// SampleSource: the store's role for agent samples. It takes the agents' batches and gives
// back, per node, the counters of the windows the join reads, which node a pod ran on, and
// the newest sample time per node. The SQLite implementation (sqlite_sample_source.cpp) is
// the default; a store that keeps samples elsewhere (a Prometheus-compatible server) drops in
// behind this interface without touching the join.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/samples/sample_frame.h"
#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::collector {

// Ok when every [from, to] has from <= to and each starts after the previous one ends;
// InvalidArgument naming the first bad range otherwise.
Status CheckSampleRanges(const std::vector<std::pair<int64_t, int64_t>>& ranges);

// Which ticks of each range SampleCounters returns.
enum class RangeRead {
  kEveryTick,  // every tick with from_ns <= wall_ns <= to_ns
  kFirstTick,  // only the earliest such tick (sparse timelines: one point per step)
};

// Which cgroup counters SampleCounters fills; the others stay nullopt.
enum class CgroupFields {
  kAll,
  kCpuUsage,  // cpu_usage_us only: enough for CPU cores per series (report timelines)
};

struct FrameRead {
  RangeRead ticks = RangeRead::kEveryTick;
  CgroupFields cgroup_fields = CgroupFields::kAll;
};

// One stretch of time a pod's cgroups were sampled on a node.
struct PodSpan {
  std::string node;
  int64_t first_wall_ns = 0;  // first and last sample of the series, wall clock ns
  int64_t last_wall_ns = 0;
  bool pod_scope = false;  // the pod's own cgroup (not a container or a plain cgroup)
};

// Where one pod ran, as its samples say.
struct PodPlacement {
  std::vector<PodSpan> spans;
  // The node of the span nearest to at_ns (distance 0 inside a span), pod-scope spans before
  // containers and plain cgroups that carry the same names; "" without spans.
  std::string NodeAt(int64_t at_ns) const {
    const PodSpan* best = nullptr;
    std::pair<int, int64_t> best_key{0, 0};
    for (const PodSpan& s : spans) {
      const int64_t distance = at_ns < s.first_wall_ns  ? s.first_wall_ns - at_ns
                               : at_ns > s.last_wall_ns ? at_ns - s.last_wall_ns
                                                        : 0;
      const std::pair<int, int64_t> key{s.pod_scope ? 0 : 1, distance};
      if (best == nullptr || key < best_key) {
        best = &s;
        best_key = key;
      }
    }
    return best != nullptr ? best->node : std::string();
  }
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;

  // Stores the batch atomically and durably before returning; returns false (storing
  // nothing) when a batch with the same (node, boot_id, agent_start_ns, seq) was stored
  // before.
  virtual Result<bool> PutBatch(const SampleBatch& batch) = 0;
  // PutBatch calls that have not returned yet (waiting for or inside a commit). A store
  // without a write queue answers 0.
  virtual size_t BatchesInFlight() { return 0; }
  // Every sample of `node` with from_ns <= wall_ns <= to_ns, in time order.
  virtual Result<std::vector<Sample>> Samples(std::string_view node, int64_t from_ns,
                                              int64_t to_ns) = 0;
  // The samples of `node` in each of `ranges` ([from_ns, to_ns], inclusive; sorted and not
  // overlapping), as one frame read in one snapshot. An unknown node gives an empty frame.
  // InvalidArgument when the ranges are unsorted or overlap. The default reads Samples()
  // per range; the SQLite source reads the counter columns only and each identity once.
  virtual Result<SampleFrame> SampleCounters(std::string_view node,
                                             const std::vector<std::pair<int64_t, int64_t>>& ranges,
                                             const FrameRead& read);
  // Every span of pod ns/name's series (no spans: never seen).
  virtual Result<PodPlacement> PlacementOfPod(std::string_view ns, std::string_view pod) = 0;
  // The node where pod ns/name had samples closest to at_ns (PodPlacement::NodeAt); nullopt
  // when never seen.
  Result<std::optional<std::string>> NodeOfPod(std::string_view ns, std::string_view pod,
                                               int64_t at_ns) {
    Result<PodPlacement> placement = PlacementOfPod(ns, pod);
    if (!placement.ok()) return placement.status();
    if (placement->spans.empty()) return std::optional<std::string>();
    return std::optional<std::string>(placement->NodeAt(at_ns));
  }
  // Latest stored sample (wall clock, ns) per node: whether samples covering a window arrived.
  virtual Result<std::map<std::string, int64_t>> LatestSampleTimes() = 0;
  // Deletes samples (and batch keys) older than `before_ns`; returns rows deleted.
  virtual Result<int64_t> Prune(int64_t before_ns) = 0;
};

}  // namespace jostle::collector
