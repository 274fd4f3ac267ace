// Parser for the Tcp section of /proc/net/snmp (node: <proc>/1/net/snmp).
#pragma once

#include <cstdint>
#include <string_view>

#include "jostle/status.h"

namespace jostle::agent {

struct TcpCounters {
  uint64_t out_segs = 0;      // cumulative, Tcp OutSegs
  uint64_t retrans_segs = 0;  // cumulative, Tcp RetransSegs
  bool operator==(const TcpCounters&) const = default;
};

// Parses the "Tcp:" header line and the "Tcp:" value line that follows it. Both columns
// must be present; the two lines must have the same number of columns. Other protocol
// sections are ignored.
Result<TcpCounters> ParseNetSnmpTcp(std::string_view text,
                                    std::string_view source = "/proc/net/snmp");

}  // namespace jostle::agent
