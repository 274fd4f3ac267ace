// Pure parsers for the cgroup v1 and v2 interface files the cgroup sampler reads. Each takes
// the text of one file and the file's path (`source`, for error messages) and never touches
// the filesystem. Units are converted to those named in jostle/sample.h by the caller.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "jostle/status.h"

namespace jostle::agent {

// cgroup v2 cpu.stat. usage_usec is required; the throttling keys exist only when the cpu
// controller is enabled for the cgroup and are nullopt otherwise.
struct CpuStatV2 {
  uint64_t usage_usec = 0;                 // cumulative, µs
  std::optional<uint64_t> nr_periods;      // cumulative
  std::optional<uint64_t> nr_throttled;    // cumulative
  std::optional<uint64_t> throttled_usec;  // cumulative, µs
  bool operator==(const CpuStatV2&) const = default;
};
Result<CpuStatV2> ParseCpuStatV2(std::string_view text, std::string_view source);

// cgroup v1 cpu.stat (cpu controller). All three keys are required.
struct CpuStatV1 {
  uint64_t nr_periods = 0;         // cumulative
  uint64_t nr_throttled = 0;       // cumulative
  uint64_t throttled_time_ns = 0;  // cumulative, ns
  bool operator==(const CpuStatV1&) const = default;
};
Result<CpuStatV1> ParseCpuStatV1(std::string_view text, std::string_view source);

// cgroup v2 cpu.max: "<quota> <period>" in µs, or "max <period>". Returns the limit in cores
// (quota ÷ period), nullopt when unlimited.
Result<std::optional<double>> ParseCpuMax(std::string_view text, std::string_view source);

// cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us (µs). A negative quota (-1) is unlimited
// (nullopt); otherwise quota ÷ period cores.
Result<std::optional<double>> ParseCfsQuota(std::string_view quota_text,
                                            std::string_view period_text, std::string_view source);

// A file holding one unsigned decimal number: memory.current, memory.usage_in_bytes,
// cpuacct.usage, cpuacct.usage_user, cpuacct.usage_sys.
Result<uint64_t> ParseSingleValue(std::string_view text, std::string_view source);

// cgroup v2 memory.max: bytes, or "max" (nullopt = unlimited).
Result<std::optional<uint64_t>> ParseMemoryMax(std::string_view text, std::string_view source);

// Values of cgroup v1 memory.limit_in_bytes at or above this are "no limit": the kernel
// reports PAGE_COUNTER_MAX pages rounded to bytes (9223372036854771712 with 4 KiB pages).
inline constexpr uint64_t kV1UnlimitedMemory = uint64_t{1} << 62;
// cgroup v1 memory.limit_in_bytes: bytes, nullopt when at or above kV1UnlimitedMemory.
Result<std::optional<uint64_t>> ParseV1MemoryLimit(std::string_view text, std::string_view source);

// The value of `key` in a flat-keyed file ("key value" per line: memory.stat,
// memory.events, memory.oom_control). Lines with other keys are ignored, so a file cut
// short only loses the keys after the cut. nullopt when the key is absent; an error when
// the key's value is not an unsigned decimal.
Result<std::optional<uint64_t>> FindKeyedValue(std::string_view text, std::string_view key,
                                               std::string_view source);

// cgroup v2 memory.events: the counters the sampler carries. A key the kernel does not
// write stays nullopt; a value that is not an unsigned decimal is an error.
struct MemoryEventsV2 {
  std::optional<uint64_t> high;      // cumulative, "high": reclaimed over memory.high
  std::optional<uint64_t> max;       // cumulative, "max": about to go over memory.max
  std::optional<uint64_t> oom_kill;  // cumulative, "oom_kill"
  bool operator==(const MemoryEventsV2&) const = default;
};
Result<MemoryEventsV2> ParseMemoryEventsV2(std::string_view text, std::string_view source);

// cgroup v2 memory.stat: inactive_file is required, the reclaim counters are optional.
struct MemoryStatV2 {
  uint64_t inactive_file = 0;      // bytes
  std::optional<uint64_t> pgscan;  // cumulative, pages
  // cumulative, pages: workingset_refault_anon + workingset_refault_file (kernel 5.9+), or
  // workingset_refault (older kernels)
  std::optional<uint64_t> workingset_refault;
  bool operator==(const MemoryStatV2&) const = default;
};
Result<MemoryStatV2> ParseMemoryStatV2(std::string_view text, std::string_view source);

// /proc/<pid>/cgroup: "hierarchy-id:controllers:path" per line. Maps each controller name
// ("cpu", "cpuacct", "memory", "name=systemd") to the path; the v2 line ("0::/x") maps
// "" to its path.
Result<std::map<std::string, std::string>> ParseProcCgroup(std::string_view text,
                                                           std::string_view source);

// The first pid listed in cgroup.procs, nullopt when the cgroup has no process.
std::optional<int> FirstPid(std::string_view cgroup_procs_text);

}  // namespace jostle::agent
