// Renders the latest sample and the agent's own counters in the Prometheus text exposition
// format 0.0.4 (Content-Type: text/plain; version=0.0.4; charset=utf-8).
//
// Every series carries node="<--node-name>". Families, units and sources:
//
// Node (jostle::NodeSample):
//   jostle_node_cpu_busy_seconds_total       counter  /proc/stat busy time
//   jostle_node_cpu_seconds_total            counter  /proc/stat busy + idle + iowait
//   jostle_node_cpus                         gauge    online CPUs
//   jostle_node_memory_total_bytes           gauge    MemTotal
//   jostle_node_memory_available_bytes       gauge    MemAvailable
//   jostle_node_pressure_{cpu,memory,io}_{some,full}_seconds_total  counter  /proc/pressure
//   jostle_node_network_{receive,transmit}_{bytes,packets,drops,errors}_total{interface}
//   jostle_node_network_speed_bytes{interface}  gauge  link speed, bytes per second
//   jostle_node_tcp_out_segments_total, jostle_node_tcp_retransmitted_segments_total
//   jostle_node_load1, jostle_node_load5, jostle_node_load15   gauge
//
// Cgroups (jostle::CgroupSample; names, types and help from jostle/sample_fields.h). Pods,
// containers and plain cgroups share one set of families and one label set, so a query can
// sum containers into pods or compare a pod with a systemd service:
//   scope      "pod" | "container" | "cgroup"
//   id         the series identity: the pod UID (scope pod), "<pod uid>/<container id>"
//              (scope container), the cgroup path (scope cgroup)
//   namespace, pod   Kubernetes names; "" when unknown or outside Kubernetes
//   container  the container name; "" for a pod-level or plain-cgroup series
//   jostle_container_cpu_usage_seconds_total                    counter
//   jostle_container_cpu_cfs_periods_total                      counter
//   jostle_container_cpu_cfs_throttled_periods_total            counter
//   jostle_container_cpu_cfs_throttled_seconds_total            counter
//   jostle_container_cpu_limit_cores                            gauge (absent: unlimited)
//   jostle_container_memory_usage_bytes                         gauge
//   jostle_container_memory_working_set_bytes                   gauge
//   jostle_container_memory_limit_bytes                         gauge (absent: unlimited)
//   jostle_container_oom_kills_total                            counter
//   jostle_container_memory_high_events_total                   counter (memory.events high)
//   jostle_container_memory_max_events_total                    counter (memory.events max)
//   jostle_container_memory_pages_scanned_total                 counter (memory.stat pgscan)
//   jostle_container_memory_workingset_refaults_total           counter (memory.stat
//              workingset_refault*); these four on cgroup v2 only
//   jostle_container_pressure_{cpu,memory,io}_{some,full}_seconds_total  counter
//   jostle_pod_network_{receive,transmit}_{bytes,packets,drops,errors}_total  counter, the
//              sum over the pod's own network namespace (absent for hostNetwork pods)
//   jostle_pod_info{..., qos, label_<name>...} 1   gauge, scope pod only: QoS class and
//              the pod labels selected by --pod-labels (names sanitised to [a-zA-Z0-9_])
//
// Agent (AgentSelfStats):
//   jostle_agent_samples_total, jostle_agent_sample_duration_seconds,
//   jostle_agent_read_errors_total{kind}, jostle_agent_spool_bytes,
//   jostle_agent_batches_shipped_total, jostle_agent_batches_dropped_total,
//   jostle_agent_batches_unauthorized_total, jostle_agent_batches_recovered_total,
//   jostle_agent_last_sample_timestamp_seconds (wall clock of the rendered sample)
//
// A field that is nullopt produces no series; a family without series is left out. Label
// values are escaped (\\, \", \n) and invalid UTF-8 is replaced by U+FFFD.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/metrics/agent_self_stats.h"
#include "jostle/sample.h"

namespace jostle::agent {

// The MIME type to send with RenderPrometheus output.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// The whole exposition of one sample, from scratch (a fresh PrometheusRenderer).
std::string RenderPrometheus(const jostle::Sample& latest, const std::string& node,
                             const AgentSelfStats& self);

// Renders successive samples, keeping between calls what depends only on a series'
// identity: every cgroup series' escaped label set (node, scope, id, namespace, pod,
// container) and every pod's jostle_pod_info label set (those plus qos and label_*), built
// when the series first appears or its identity fields change, dropped after a render that
// no longer has it. A render is then the family names, those label sets and the numbers
// (std::to_chars), written straight into the caller's buffer. The text is byte for byte
// RenderPrometheus's: families in order of first use, node families first, jostle_agent_*
// last. Not thread-safe: one caller at a time.
class PrometheusRenderer {
 public:
  explicit PrometheusRenderer(std::string node);

  // Appends every node and cgroup family of `latest` to `out` (all but jostle_agent_*).
  void RenderSeries(const jostle::Sample& latest, std::string& out);
  // Appends the jostle_agent_* families; `wall_ns` is the rendered sample's Sample::wall_ns.
  void RenderSelf(const AgentSelfStats& self, int64_t wall_ns, std::string& out) const;
  // RenderSeries then RenderSelf: the whole exposition.
  void Render(const jostle::Sample& latest, const AgentSelfStats& self, std::string& out);

  // Cgroup series whose label sets are kept now (tests).
  size_t cached_series() const { return cache_.size(); }

 private:
  // Label sets of one cgroup series and the identity fields they were built from.
  struct SeriesLabels {
    Scope scope = Scope::kCgroup;
    std::string namespace_name, pod_name, container_name, qos;
    std::map<std::string, std::string> labels;
    std::string block;       // `{node="..",scope="..",...,container=".."} `
    std::string info_block;  // jostle_pod_info's, scope pod only
    uint64_t render = 0;     // last render that used it
  };
  const SeriesLabels& LabelsOf(const CgroupSample& c);
  void Build(const CgroupSample& c, SeriesLabels& e) const;

  std::string node_;
  uint64_t render_ = 0;
  std::unordered_map<std::string, SeriesLabels> cache_;  // by CgroupSample::id
  std::vector<SeriesLabels> spill_;          // this render's series whose id repeats another's
  std::vector<const SeriesLabels*> series_;  // per cgroup of the sample being rendered
};

}  // namespace jostle::agent
