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
// Cgroups (jostle::CgroupSample). Pods, containers and plain cgroups share one set of
// families and one label set, so a query can sum containers into pods or compare a pod
// with a systemd service:
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
//   jostle_agent_last_sample_timestamp_seconds (wall clock of the rendered sample)
//
// A field that is nullopt produces no series; a family without series is left out. Label
// values are escaped (\\, \", \n) and invalid UTF-8 is replaced by U+FFFD.
#pragma once

#include <string>

#include "agent/metrics/agent_self_stats.h"
#include "jostle/sample.h"

namespace jostle::agent {

// The MIME type to send with RenderPrometheus output.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string RenderPrometheus(const jostle::Sample& latest, const std::string& node,
                             const AgentSelfStats& self);

}  // namespace jostle::agent
