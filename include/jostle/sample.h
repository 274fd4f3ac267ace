// The sample model shared by jostle-agent and jostle-collector.
//
// Cumulative counters are carried raw, exactly as the kernel reports them (after unit
// conversion to the unit named on the field); the collector derives rates from two
// consecutive samples of the same series. A field the host cannot provide is std::nullopt,
// never 0.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace jostle {

// Pressure stall totals from a *.pressure / /proc/pressure/* file.
struct PsiTotals {
  std::optional<uint64_t> some_us;  // cumulative, microseconds, "some ... total="
  std::optional<uint64_t> full_us;  // cumulative, microseconds, "full ... total=" (absent for
                                    // the cpu file on kernels before 5.13)
  bool operator==(const PsiTotals&) const = default;
};

// Counters of one network interface, or the sum over a pod's interfaces (lo excluded).
// Source: /proc/net/dev (of the node, or of a process in the pod's network namespace).
struct NetCounters {
  std::string interface;              // "eth0"; "*" for a sum over interfaces
  uint64_t rx_bytes = 0;              // cumulative
  uint64_t rx_packets = 0;            // cumulative
  uint64_t rx_errors = 0;             // cumulative
  uint64_t rx_drops = 0;              // cumulative
  uint64_t tx_bytes = 0;              // cumulative
  uint64_t tx_packets = 0;            // cumulative
  uint64_t tx_errors = 0;             // cumulative
  uint64_t tx_drops = 0;              // cumulative
  std::optional<int64_t> speed_mbps;  // /sys/class/net/IF/speed; absent when unknown/virtual
  bool operator==(const NetCounters&) const = default;
};

// One reading of the whole node.
struct NodeSample {
  std::optional<uint64_t> cpu_busy_us;          // cumulative, microseconds, /proc/stat "cpu" line:
                                                // user+nice+system+irq+softirq+steal
  std::optional<uint64_t> cpu_total_us;         // cumulative, microseconds, busy + idle + iowait
  std::optional<uint32_t> cpus;                 // online CPUs (count of cpuN lines in /proc/stat)
  std::optional<uint64_t> mem_total_bytes;      // /proc/meminfo MemTotal
  std::optional<uint64_t> mem_available_bytes;  // /proc/meminfo MemAvailable
  std::optional<PsiTotals> psi_cpu;             // /proc/pressure/cpu; absent when PSI is off
  std::optional<PsiTotals> psi_memory;          // /proc/pressure/memory
  std::optional<PsiTotals> psi_io;              // /proc/pressure/io
  std::vector<NetCounters> net;                 // per interface, lo excluded; from <proc>/1/net/dev
  std::optional<uint64_t> tcp_out_segs;         // cumulative, /proc/net/snmp Tcp OutSegs
  std::optional<uint64_t> tcp_retrans_segs;     // cumulative, /proc/net/snmp Tcp RetransSegs
  std::optional<double> load1, load5, load15;   // /proc/loadavg
  bool operator==(const NodeSample&) const = default;
};

enum class Scope {
  kPod,        // a Kubernetes pod's cgroup (kubepods*/...pod<uid>...)
  kContainer,  // one container of a pod
  kCgroup,     // any other cgroup (systemd service, docker scope, a user-named cgroup)
};

// Who a cgroup is: the same tick after tick, so the wire (series references), the store
// (series rows) and SampleFrame keep it once per series.
struct CgroupIdentity {
  Scope scope = Scope::kCgroup;
  // Series identity: pod UID for pods, "<pod uid>/<container id>" for containers, the
  // cgroup path (relative to the hierarchy root, leading '/') for plain cgroups.
  std::string id;
  std::string path;  // cgroup path relative to the hierarchy root, for humans
  // Kubernetes identity; empty when unknown (outside Kubernetes, or API unreachable).
  std::string pod_uid;
  std::string container_id;
  std::string namespace_name;
  std::string pod_name;
  std::string container_name;
  std::string qos;                            // "guaranteed", "burstable", "besteffort"
  std::map<std::string, std::string> labels;  // pod labels selected by --pod-labels
  bool operator==(const CgroupIdentity&) const = default;
};

// What a cgroup measured in one tick. Every scalar below is described once in
// jostle/sample_fields.h (wire name, kind, unit, Prometheus family, store bit), and the
// encoder, decoder, store and /metrics iterate that description; a new counter is a member
// here, a row there, its reader and its tests.
struct CgroupReadings {
  std::optional<uint64_t> cpu_usage_us;           // cumulative, µs, cpu.stat usage_usec /
                                                  // cpuacct.usage (ns / 1000)
  std::optional<uint64_t> cpu_periods;            // cumulative, cpu.stat nr_periods
  std::optional<uint64_t> cpu_throttled_periods;  // cumulative, cpu.stat nr_throttled
  std::optional<uint64_t> cpu_throttled_us;       // cumulative, µs, throttled_usec /
                                                  // throttled_time (ns / 1000)
  std::optional<double> cpu_limit_cores;          // cpu.max / cfs_quota_us ÷ period; absent
                                                  // when unlimited
  std::optional<uint64_t> mem_usage_bytes;        // memory.current / memory.usage_in_bytes
  std::optional<uint64_t> mem_working_set_bytes;  // usage − inactive_file (memory.stat)
  std::optional<uint64_t> mem_limit_bytes;        // memory.max / limit_in_bytes; absent when
                                                  // unlimited
  std::optional<uint64_t> oom_kills;  // cumulative, memory.events oom_kill / memory.oom_control
  std::optional<uint64_t> mem_high_events;  // cumulative, memory.events high (v2 only): times
                                            // usage went over memory.high and was reclaimed
  std::optional<uint64_t> mem_max_events;   // cumulative, memory.events max (v2 only): times
                                            // usage was about to go over memory.max
  std::optional<uint64_t> mem_pgscan;       // cumulative, pages, memory.stat pgscan (v2 only)
  std::optional<uint64_t> mem_workingset_refaults;  // cumulative, pages, memory.stat
                                                    // workingset_refault_anon + _file (5.9+),
                                                    // or workingset_refault (v2 only)
  std::optional<PsiTotals> psi_cpu;                 // cgroup v2 cpu.pressure
  std::optional<PsiTotals> psi_memory;              // cgroup v2 memory.pressure
  std::optional<PsiTotals> psi_io;                  // cgroup v2 io.pressure
  // Sum over the pod's own network namespace (lo excluded); absent for hostNetwork pods,
  // for containers (the pod carries it) and when no process of the pod could be found.
  std::optional<NetCounters> net;
  bool operator==(const CgroupReadings&) const = default;
};

// One reading of one cgroup (pod, container or plain cgroup): who it is and what it read.
struct CgroupSample : CgroupIdentity, CgroupReadings {
  bool host_network = false;  // pod shares the node's network namespace
  bool operator==(const CgroupSample&) const = default;
};

// Same identity and the same network namespace kind: one series for SampleFrame and the
// store (the wire compares CgroupIdentity alone: host_network travels with each entry).
inline bool SameSeries(const CgroupSample& a, const CgroupSample& b) {
  return static_cast<const CgroupIdentity&>(a) == static_cast<const CgroupIdentity&>(b) &&
         a.host_network == b.host_network;
}

// One sampling tick: the node and every cgroup, read together.
struct Sample {
  int64_t wall_ns = 0;  // CLOCK_REALTIME at the start of the tick, ns since the Unix epoch
  int64_t mono_ns = 0;  // CLOCK_MONOTONIC at the start of the tick, ns (since boot)
  NodeSample node;
  std::vector<CgroupSample> cgroups;
  bool operator==(const Sample&) const = default;
};

// What the agent ships: several ticks of one node. (node, boot_id, agent_start_ns, seq)
// identifies a batch; the collector acknowledges a replay without storing it twice.
//
// On the wire (JSON, members named as the fields here; jostle/wire.h) a batch is
// {"wire_version", "node", "boot_id", "agent_start_ns", "seq", "agent_version",
// "interval_ns", "host", "samples": [{"wall_ns", "mono_ns", "node": {...}, "cgroups":
// [{...}]}]}. An absent optional field is left out, never written as 0.
//
// Series references (wire_version 2): a cgroup's identity members (scope, id, path,
// pod_uid, container_id, namespace, pod, container, qos, labels) are the same tick after
// tick, so a batch writes them once. A cgroup entry may carry "s": N, a series number:
//   - with identity members, it defines series N, which must be the next number
//     (series are numbered 0, 1, 2... in document order within the batch);
//   - without identity members, it takes the identity of series N, defined earlier in the
//     same batch, and carries only readings: {"s":3,"cpu_usage_us":123,...}.
// An entry without "s" carries its identity, as in wire_version 1. When a cgroup's identity
// changes within a batch (its pod name became known), the writer defines a new series. A
// decoded batch holds every sample's identity in full either way.
struct SampleBatch {
  int wire_version = 2;        // kWireVersion (jostle/version.h)
  std::string node;            // --node-name
  std::string boot_id;         // /proc/sys/kernel/random/boot_id
  int64_t agent_start_ns = 0;  // wall clock when the agent process started
  uint64_t seq = 0;            // 0, 1, 2... per agent process
  std::string agent_version;
  int64_t interval_ns = 0;  // sampling interval
  // Facts the agent detected once, e.g. {"psi": "disabled"} or {"cgroup": "hybrid"}.
  std::map<std::string, std::string> host;
  std::vector<Sample> samples;
  bool operator==(const SampleBatch&) const = default;
};

const char* ScopeName(Scope scope);  // "pod", "container", "cgroup"

}  // namespace jostle
