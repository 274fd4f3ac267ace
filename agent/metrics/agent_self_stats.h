// The agent's own counters, exported as jostle_agent_* series on /metrics. A plain value
// copied out by whoever owns the counters (sampler, shipper) before each render.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace jostle::agent {

struct AgentSelfStats {
  uint64_t samples_total = 0;  // cumulative, sampling ticks completed since start
  // Wall-clock duration of the last sampling tick, seconds; nullopt before the first tick.
  std::optional<double> sample_duration_seconds;
  // cumulative, failed reads or parses of host files by kind ("node", "cgroup", "pod_net",
  // "kube", ...); a pod that vanished mid-read is not an error and is not counted here.
  std::map<std::string, uint64_t> read_errors;  // exported as jostle_agent_read_errors_total
  uint64_t spool_bytes = 0;                     // bytes of batches waiting in the disk spool now
  uint64_t batches_shipped_total = 0;           // cumulative, batches acknowledged by the collector
  uint64_t batches_dropped_total = 0;  // cumulative, batches discarded (spool full or too old)
  // cumulative, answers 401/403 to a batch (the batch stays in the spool and is retried)
  uint64_t batches_unauthorized_total = 0;
  // cumulative, batches rebuilt at start-up from the ticks a killed agent had recorded
  uint64_t batches_recovered_total = 0;
};

}  // namespace jostle::agent
