// Parser for /proc/loadavg.
#pragma once

#include <string_view>

#include "jostle/status.h"

namespace jostle::agent {

struct LoadAvg {
  double load1 = 0;   // 1-minute load average
  double load5 = 0;   // 5-minute
  double load15 = 0;  // 15-minute
  bool operator==(const LoadAvg&) const = default;
};

// Parses "1.23 0.75 0.35 2/99 9453": the first three fields; the rest is ignored.
Result<LoadAvg> ParseLoadAvg(std::string_view text, std::string_view source = "/proc/loadavg");

}  // namespace jostle::agent
