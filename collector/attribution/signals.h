// Rates from cumulative counters, and the signals of one test window. Pure functions over
// samples: no store, no clock, no I/O.
//
// A rate is taken between two consecutive samples of the same series (the node; a cgroup by
// its CgroupSample::id, even when the series' other identity fields changed). A pair is not turned
// into a rate when CLOCK_MONOTONIC went backwards (reboot), when the wall clock did not advance, or
// when the samples are further apart than WindowConfig::max_gap_intervals; a counter that decreased
// (reset) gives no value for that pair. Rates are therefore never negative.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/attribution/config.h"
#include "collector/samples/sample_frame.h"
#include "jostle/sample.h"

namespace jostle::collector {

// The node between two consecutive samples [from_ns, to_ns] (wall clock, ns).
struct NodeRate {
  int64_t from_ns = 0;
  int64_t to_ns = 0;
  size_t sample_index = 0;                 // index of the later sample (SampleFrame::ticks)
  std::optional<double> cpu_busy;          // Δbusy / Δtotal (/proc/stat), fraction
  std::optional<double> cpu_busy_us;       // Δbusy, CPU-µs (all CPUs together)
  std::optional<double> cpu_total_us;      // Δtotal, CPU-µs; set with cpu_busy
  std::optional<double> psi_cpu_some;      // Δstall µs / Δwall µs (/proc/pressure/cpu)
  std::optional<double> psi_memory_some;   // /proc/pressure/memory "some"
  std::optional<double> psi_memory_full;   // /proc/pressure/memory "full"
  std::optional<double> psi_io_some;       // /proc/pressure/io "some"
  std::optional<double> mem_used_ratio;    // 1 − MemAvailable/MemTotal at the later sample
  std::optional<double> net_utilisation;   // max over interfaces with a known speed of
                                           // Δ(rx+tx bytes)·8 / Δt / (speed Mbps·1e6)
  std::optional<double> net_bytes;         // Δ(rx+tx bytes) summed over interfaces
  std::optional<double> net_drops;         // Δ(rx+tx drops) summed over interfaces
  std::optional<double> tcp_out_segs;      // Δ Tcp OutSegs (/proc/net/snmp)
  std::optional<double> tcp_retrans_segs;  // Δ Tcp RetransSegs
};

// One cgroup between two consecutive samples of its series.
struct CgroupRate {
  int64_t from_ns = 0;
  int64_t to_ns = 0;
  size_t sample_index = 0;  // the later sample: frame.ticks[sample_index].cgroups[cgroup_index]
  size_t cgroup_index = 0;
  std::optional<double> cpu_us;             // Δ cpu usage, CPU-µs
  std::optional<double> periods;            // Δ nr_periods
  std::optional<double> throttled_periods;  // Δ nr_throttled
  std::optional<double> psi_cpu_some;       // fractions of wall time, cgroup v2 *.pressure
  std::optional<double> psi_memory_some;
  std::optional<double> psi_memory_full;
  std::optional<double> psi_io_some;
  std::optional<double> io_stall_us;        // Δ io.pressure "some" µs (io culprit ranking)
  std::optional<double> working_set_bytes;  // gauge at the later sample
  std::optional<double> mem_usage_bytes;    // gauge at the later sample (memory.current /
                                            // usage_in_bytes: anon and page cache charged)
  std::optional<double> memory_stall_us;    // Δ memory.pressure "some" µs (memory culprits)
  std::optional<double> working_set_ratio;  // working set / memory limit (when limited)
  std::optional<double> oom_kills;          // Δ OOM kills
  std::optional<double> net_bytes;          // Δ(rx+tx bytes) of the pod's network namespace
  std::optional<double> net_drops;          // Δ(rx+tx drops)
  // Reclaim (cgroup v2 memory.stat, memory.events; absent on v1): Δ pgscan pages, Δ
  // workingset refaults (anon + file) pages, Δ memory.events high + max.
  std::optional<double> mem_pgscan;
  std::optional<double> mem_refaults;
  std::optional<double> mem_limit_events;
};

// Every rate of one node's samples. Indexes `frame` (shared, so the rates keep it alive).
struct NodeRates {
  std::shared_ptr<const SampleFrame> frame;
  int64_t interval_ns = 0;          // median spacing of the samples (default_interval_s if < 2)
  int64_t max_gap_ns = 0;           // longest pair turned into a rate
  std::vector<NodeRate> node;       // ordered by to_ns
  std::vector<CgroupRate> cgroups;  // ordered by to_ns
  // Per frame series, the key its rates are paired by (frame series sharing a
  // CgroupSample::id share a key); keys are 0 .. number of distinct ids - 1.
  std::vector<uint32_t> key_of_series;
};

// The identity and the later reading of a cgroup rate's series.
inline const CgroupSample& SeriesOf(const NodeRates& rates, const CgroupRate& r) {
  const SampleFrame& f = *rates.frame;
  return f.series[f.ticks[r.sample_index].cgroups[r.cgroup_index].series];
}
inline const CgroupCounters& CountersOf(const NodeRates& rates, const CgroupRate& r) {
  return rates.frame->ticks[r.sample_index].cgroups[r.cgroup_index];
}

// `frame` must be one node's samples in wall-clock order (as SampleSource::SampleCounters returns
// them); must not be null.
NodeRates ComputeRates(std::shared_ptr<const SampleFrame> frame, const WindowConfig& config);
// The same over samples (as SampleSource::Samples returns them), converted to a frame first.
NodeRates ComputeRates(const std::vector<Sample>& samples, const WindowConfig& config);

// What to look at: one test execution on one node.
struct WindowQuery {
  int64_t start_ns = 0;  // test start, wall clock ns
  int64_t end_ns = 0;    // test end
  // Padding on each side; < 0: WindowConfig::padding_intervals sampling intervals.
  int64_t padding_ns = -1;
  // The test's own pod (namespace/name or uid) and, for `jostle run`, the cgroup of the test
  // command (CgroupSample::id or path). These, their containers, their ancestors and their
  // descendants are never culprits.
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  std::string self_cgroup;
  // Ancestors of the own cgroup up to the root, in every hierarchy (CgroupSample::id or
  // path; `jostle run` names them, since one cgroup sits at different paths in different v1
  // hierarchies). With the series whose path is a proper prefix of an own series' path,
  // these are the own cgroup's ancestors: their CPU throttling is the test's own limit
  // (`own-limit`, naming the ancestor), and they are never culprits.
  std::vector<std::string> own_ancestors;
  // With self_cgroup empty: an execution of an earlier `jostle run`, whose command cgroup had
  // a name of its own; its own cgroup is the one plain cgroup in the window whose id starts
  // with this prefix (none when there are several).
  std::string self_cgroup_prefix;
};

struct SignalStat {
  double peak = 0;
  double mean = 0;
  int points = 0;
  bool operator==(const SignalStat&) const = default;
};

// Signal names (keys of Signals::values). Fractions unless stated.
inline constexpr const char* kNodeCpuBusy = "node.cpu.busy";
// Node CPU busy without the test's own pod (or, for `jostle run`, its cgroup): per interval
// (Δbusy − Δown CPU usage) / Δtotal, clamped at 0; an interval without a rate of the own
// series counts whole. Present only when the own series has a CPU rate in the window; the
// node-busy threshold is then compared with it instead of node.cpu.busy.
inline constexpr const char* kNodeCpuBusyOthers = "node.cpu.busy_others";
inline constexpr const char* kNodeCpuPsiSome = "node.cpu.psi_some";
inline constexpr const char* kNodeMemoryPsiSome = "node.memory.psi_some";
inline constexpr const char* kNodeMemoryPsiFull = "node.memory.psi_full";
inline constexpr const char* kNodeMemoryUsed = "node.memory.used_ratio";  // informational
inline constexpr const char* kNodeIoPsiSome = "node.io.psi_some";
inline constexpr const char* kNodeNetUtilisation = "node.network.utilisation";
inline constexpr const char* kNodeNetDrops = "node.network.drops";  // count in the window
inline constexpr const char* kNodeTcpRetrans = "node.network.retrans_ratio";
inline constexpr const char* kPodCpuPsiSome = "pod.cpu.psi_some";
// Of the own pod, its most throttled container, or its most throttled ancestor cgroup.
inline constexpr const char* kPodThrottle = "pod.cpu.throttle_ratio";
inline constexpr const char* kPodCpuCores = "pod.cpu.cores";  // informational, cores used
inline constexpr const char* kPodMemoryPsiSome = "pod.memory.psi_some";
inline constexpr const char* kPodMemoryPsiFull = "pod.memory.psi_full";
inline constexpr const char* kPodWorkingSet = "pod.memory.working_set_ratio";
inline constexpr const char* kPodOomKills = "pod.memory.oom_kills";  // count in the window
// Informational counts in the window (cgroup v2), used by the memory `felt` rule: memory.events
// high + max increments, and workingset refaults (anon + file) in pages.
inline constexpr const char* kPodMemoryLimitEvents = "pod.memory.limit_events";
inline constexpr const char* kPodMemoryRefaults = "pod.memory.refaults";
inline constexpr const char* kPodIoPsiSome = "pod.io.psi_some";
inline constexpr const char* kPodNetDrops = "pod.network.drops";  // count in the window

// One other series on the node and what it used in the window (for culprit ranking).
struct NeighbourUsage {
  Scope scope = Scope::kCgroup;
  std::string id;                // CgroupSample::id
  std::string name;              // "namespace/pod" for pods, the cgroup path otherwise
  std::string namespace_name;    // pods only
  double cpu_us = 0;             // CPU-µs used in the window, excluding sampled child cgroups
  double working_set_bytes = 0;  // peak working set in the window, excluding sampled children
  // Memory culprit ranking (what causes pressure), excluding sampled children: the peak
  // charge (anon + page cache), its growth over the window (last − first reading, at least
  // 0), and the time it stalled on memory (reclaiming, refaulting) in the window.
  double mem_usage_peak_bytes = 0;
  double mem_growth_bytes = 0;
  double memory_stall_us = 0;
  double io_stall_us = 0;  // io PSI "some" stall µs in the window
  double net_bytes = 0;    // rx+tx bytes in the window (own network namespace)
  // What drives reclaim, in the window (cgroup v2; 0 where not sampled): pages scanned by
  // reclaim (memory.stat pgscan), pages refaulted (workingset_refault anon + file) and
  // memory.events high + max increments.
  double mem_pgscan_pages = 0;
  double mem_refault_pages = 0;
  double mem_limit_events = 0;
};

struct Signals {
  int64_t window_start_ns = 0;  // the padded window
  int64_t window_end_ns = 0;
  int64_t interval_ns = 0;
  int node_points = 0;     // node rate intervals overlapping the window
  bool pod_found = false;  // a series of the test's pod/cgroup was in the samples
  std::map<std::string, SignalStat> values;
  std::optional<double> pod_cpu_limit_cores;  // of throttled_container when that is set
  std::string throttled_container;  // the own container throttled most, when more than the pod
  // The ancestor cgroup (its id) throttled most, when more than the own series; its limit is
  // then pod_cpu_limit_cores.
  std::string throttled_ancestor;
  std::optional<double> pod_mem_limit_bytes;
  std::string pod_label;  // "namespace/name" or the self cgroup, for own-limit culprits
  // Totals over the window, for shares.
  double node_cpu_busy_us = 0;
  double node_net_bytes = 0;
  double node_mem_total_bytes = 0;
  std::vector<NeighbourUsage> neighbours;
};

Signals WindowSignalsFromRates(const NodeRates& rates, const WindowQuery& q,
                               const WindowConfig& config);

// Whether WindowSignalsFromRates(rates, q, config) is the same over any other frame of the
// node that holds every sample with read_from_ns <= wall_ns <= read_to_ns (as `rates`' frame
// must) and gives the same interval_ns: true when no rate overlapping the window can pair a
// sample inside that range with one outside it. Checked per series (and the node): its
// first sample in the range is at or before the window start, or at least max_gap_ns after
// read_from_ns; its last is at or after the window end, or at least max_gap_ns before
// read_to_ns; and the range spans at least max_gap_ns, so a series absent from it cannot
// pair across it. False when the range holds no sample. Lets a report read a narrow range
// around a window and fall back to a wider read only when this is false.
bool WindowCoveredBy(const NodeRates& rates, const WindowQuery& q, const WindowConfig& config,
                     int64_t read_from_ns, int64_t read_to_ns);
// ComputeRates + WindowSignalsFromRates with the default WindowConfig.
Signals ComputeWindowSignals(const std::vector<Sample>& samples, const WindowQuery& q);

}  // namespace jostle::collector
