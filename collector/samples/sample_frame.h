// SampleFrame: one node's samples with each cgroup series' identity stored once, the shape
// the join reads (SampleSource::SampleCounters, attribution's ComputeRates). Header-only, so the
// attribution core uses it without linking the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "jostle/sample.h"

namespace jostle::collector {

// One reading of one cgroup series without its identity, which SampleFrame::series holds
// once. Fields, units and sources as in CgroupReadings (jostle/sample_fields.h).
struct CgroupCounters : CgroupReadings {
  uint32_t series = 0;  // index into SampleFrame::series
  bool operator==(const CgroupCounters&) const = default;
};

// One tick of a SampleFrame: the node and the counters of every cgroup read with it, in the
// agent's order.
struct FrameTick {
  int64_t wall_ns = 0;  // as Sample::wall_ns
  int64_t mono_ns = 0;  // as Sample::mono_ns
  NodeSample node;
  std::vector<CgroupCounters> cgroups;
};

// One node's samples with each cgroup series' identity stored once: what the join reads.
// Carries the same facts as the std::vector<Sample> it was made from (SamplesOfFrame).
struct SampleFrame {
  // Identity of each series (scope, id, path, pod and container names, qos, labels,
  // host_network); the counter fields are unset. Two entries may share a CgroupSample::id
  // when the identity changed over time (names learnt later, new labels).
  std::vector<CgroupSample> series;
  std::vector<FrameTick> ticks;  // wall-clock order
};

namespace frame_internal {

inline CgroupSample IdentityOf(const CgroupSample& c) {
  CgroupSample id;
  static_cast<CgroupIdentity&>(id) = c;
  id.host_network = c.host_network;
  return id;
}

inline CgroupCounters CountersOf(const CgroupSample& c, uint32_t series) {
  CgroupCounters k;
  static_cast<CgroupReadings&>(k) = c;
  k.series = series;
  return k;
}

}  // namespace frame_internal

// Builds a SampleFrame from Samples added in wall-clock order; series whose identity fields
// are all equal share one SampleFrame::series entry.
class SampleFrameBuilder {
 public:
  void Add(Sample s) {
    FrameTick tick;
    tick.wall_ns = s.wall_ns;
    tick.mono_ns = s.mono_ns;
    tick.node = std::move(s.node);
    tick.cgroups.reserve(s.cgroups.size());
    for (const CgroupSample& c : s.cgroups) {
      uint32_t index = 0;
      bool found = false;
      auto [lo, hi] = by_id_.equal_range(c.id);
      for (auto it = lo; it != hi && !found; ++it) {
        if (SameSeries(frame_.series[it->second], c)) {
          index = it->second;
          found = true;
        }
      }
      if (!found) {
        index = static_cast<uint32_t>(frame_.series.size());
        frame_.series.push_back(frame_internal::IdentityOf(c));
        by_id_.emplace(c.id, index);
      }
      tick.cgroups.push_back(frame_internal::CountersOf(c, index));
    }
    frame_.ticks.push_back(std::move(tick));
  }
  SampleFrame Take() { return std::move(frame_); }

 private:
  SampleFrame frame_;
  std::unordered_multimap<std::string, uint32_t> by_id_;  // CgroupSample::id -> series
};

inline SampleFrame FrameOfSamples(const std::vector<Sample>& samples) {
  SampleFrameBuilder builder;
  for (const Sample& s : samples) builder.Add(s);
  return builder.Take();
}

// The samples a frame was made from, each cgroup reading with its full identity.
inline std::vector<Sample> SamplesOfFrame(const SampleFrame& frame) {
  std::vector<Sample> out;
  out.reserve(frame.ticks.size());
  for (const FrameTick& tick : frame.ticks) {
    Sample s;
    s.wall_ns = tick.wall_ns;
    s.mono_ns = tick.mono_ns;
    s.node = tick.node;
    s.cgroups.reserve(tick.cgroups.size());
    for (const CgroupCounters& k : tick.cgroups) {
      CgroupSample c = frame.series[k.series];
      static_cast<CgroupReadings&>(c) = k;
      s.cgroups.push_back(std::move(c));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace jostle::collector
