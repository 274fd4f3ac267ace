// Parser for /proc/stat (the aggregate "cpu" line and the per-CPU "cpuN" lines).
#pragma once

#include <cstdint>
#include <string_view>

#include "jostle/status.h"

namespace jostle::agent {

struct CpuStat {
  // cumulative, microseconds, "cpu" line: user+nice+system+irq+softirq+steal. guest and
  // guest_nice are already inside user and nice and are not added again.
  uint64_t busy_us = 0;
  // cumulative, microseconds: busy + idle + iowait.
  uint64_t total_us = 0;
  // Number of "cpuN" lines: the online CPUs.
  uint32_t cpus = 0;
  bool operator==(const CpuStat&) const = default;
};

// Parses the text of /proc/stat. `clk_tck` is USER_HZ (sysconf(_SC_CLK_TCK)), the unit of
// the tick counts; it must be positive. Kernels older than 2.6.11 print fewer than eight
// columns: at least user, nice, system and idle are required and missing later columns
// count as 0. Extra columns (guest, guest_nice, future ones) are ignored. `source` names
// the file in error messages ("/proc/stat:1: ...").
Result<CpuStat> ParseCpuStat(std::string_view text, long clk_tck,
                             std::string_view source = "/proc/stat");

}  // namespace jostle::agent
