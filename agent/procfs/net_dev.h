// Parsers for network interface counters: /proc/net/dev (of the node: <proc>/1/net/dev;
// of a pod: <proc>/<pid>/net/dev of one of its processes) and /sys/class/net/IF/speed.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::agent {

// Parses the text of a net/dev file: one NetCounters per interface, in file order, lo
// included, speed_mbps left nullopt. The two header lines (those containing '|') are
// skipped; at least 16 counter columns are required per interface and extra columns are
// ignored. The interface name may be glued to the first counter ("eth0:1234").
Result<std::vector<NetCounters>> ParseNetDev(std::string_view text, std::string_view source);

// The sum over every interface except "lo", labelled interface "*"; speed_mbps nullopt.
// An empty list (or only lo) gives all-zero counters.
NetCounters SumExceptLoopback(const std::vector<NetCounters>& interfaces);

// Parses /sys/class/net/IF/speed (Mbit/s). "-1" (SPEED_UNKNOWN) and 0 give nullopt; a
// read that fails with EINVAL (interface down or virtual) also means unknown and is
// handled by the caller.
Result<std::optional<int64_t>> ParseLinkSpeed(std::string_view text, std::string_view source);

}  // namespace jostle::agent
