// Parsers for the value syntaxes jostle's command-line flags and config files share:
// durations ("1s", "500ms", "14d", "2w") and byte sizes ("20MiB", "512k").
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "jostle/status.h"

namespace jostle::flags {

// "250ms", "1s", "1.5s", "2m", "3h", "14d", "2w"; a bare number is seconds. Must be > 0 unless
// allow_zero. InvalidArgument names the text.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text, bool allow_zero = false);

// "1048576", "512k"/"512KiB", "20M"/"20MiB", "1G"/"1GiB" (powers of 1024; "KB"/"MB"/"GB"
// are powers of 1000). InvalidArgument names the text.
Result<uint64_t> ParseByteSize(std::string_view text);

}  // namespace jostle::flags
