// Parser for /proc/meminfo.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "jostle/status.h"

namespace jostle::agent {

struct MemInfo {
  uint64_t total_bytes = 0;                 // MemTotal, kB * 1024
  std::optional<uint64_t> available_bytes;  // MemAvailable, kB * 1024; absent before 3.14
  bool operator==(const MemInfo&) const = default;
};

// Parses the text of /proc/meminfo. MemTotal is required; MemAvailable may be absent
// (kernels before 3.14). Values must carry the unit "kB". Other keys are ignored.
Result<MemInfo> ParseMemInfo(std::string_view text, std::string_view source = "/proc/meminfo");

}  // namespace jostle::agent
