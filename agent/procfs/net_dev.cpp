#include "agent/procfs/net_dev.h"

#include <string>

#include "agent/procfs/text_fields.h"

namespace jostle::agent {

Result<std::vector<NetCounters>> ParseNetDev(std::string_view text, std::string_view source) {
  // Column order after "IF:" (net/core/net-procfs.c dev_seq_printf_stats).
  enum Column {
    kRxBytes,
    kRxPackets,
    kRxErrs,
    kRxDrop,
    kRxFifo,
    kRxFrame,
    kRxCompressed,
    kRxMulticast,
    kTxBytes,
    kTxPackets,
    kTxErrs,
    kTxDrop,
    kTxFifo,
    kTxColls,
    kTxCarrier,
    kTxCompressed,
    kColumns
  };
  text::LineCursor lines(text);
  std::string_view line;
  std::vector<NetCounters> out;
  bool saw_header = false;
  while (lines.Next(line)) {
    if (line.find('|') != std::string_view::npos) {
      saw_header = true;
      continue;
    }
    if (text::Trim(line).empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return text::Malformed(source, lines.number(),
                             "interface line has no ':' " + text::Quote(line));
    }
    std::string_view name = text::Trim(line.substr(0, colon));
    if (name.empty()) return text::Malformed(source, lines.number(), "empty interface name");
    // Extra columns are ignored, so only the first kColumns are looked at.
    std::string_view fields[kColumns];
    size_t count = 0;
    text::FieldCursor cursor(line.substr(colon + 1));
    for (std::string_view field; count < kColumns && cursor.Next(field);) fields[count++] = field;
    if (count < kColumns) {
      return text::Malformed(source, lines.number(),
                             "interface " + std::string(name) + " has " + std::to_string(count) +
                                 " counters, need 16");
    }
    uint64_t v[kColumns];
    for (size_t i = 0; i < kColumns; ++i) {
      auto parsed = text::ParseUint64(fields[i]);
      if (!parsed) {
        return text::Malformed(source, lines.number(),
                               "interface " + std::string(name) + " column " +
                                   std::to_string(i + 1) + " is " + text::Quote(fields[i]) +
                                   ", not a counter");
      }
      v[i] = *parsed;
    }
    NetCounters c;
    c.interface = std::string(name);
    c.rx_bytes = v[kRxBytes];
    c.rx_packets = v[kRxPackets];
    c.rx_errors = v[kRxErrs];
    c.rx_drops = v[kRxDrop];
    c.tx_bytes = v[kTxBytes];
    c.tx_packets = v[kTxPackets];
    c.tx_errors = v[kTxErrs];
    c.tx_drops = v[kTxDrop];
    out.push_back(std::move(c));
  }
  if (!saw_header) {
    if (text::Trim(text).empty()) return text::Malformed(source, "file is empty");
    return text::Malformed(source, "no header line (with '|')");
  }
  return out;
}

NetCounters SumExceptLoopback(const std::vector<NetCounters>& interfaces) {
  NetCounters sum;
  sum.interface = "*";
  for (const NetCounters& c : interfaces) {
    if (c.interface == "lo") continue;
    sum.rx_bytes += c.rx_bytes;
    sum.rx_packets += c.rx_packets;
    sum.rx_errors += c.rx_errors;
    sum.rx_drops += c.rx_drops;
    sum.tx_bytes += c.tx_bytes;
    sum.tx_packets += c.tx_packets;
    sum.tx_errors += c.tx_errors;
    sum.tx_drops += c.tx_drops;
  }
  return sum;
}

Result<std::optional<int64_t>> ParseLinkSpeed(std::string_view text, std::string_view source) {
  std::string_view value = text::Trim(text);
  if (value.empty()) return text::Malformed(source, "file is empty");
  auto mbps = text::ParseInt64(value);
  if (!mbps) return text::Malformed(source, 1, "speed " + text::Quote(value) + " is not a number");
  if (*mbps <= 0) return std::optional<int64_t>();
  return std::optional<int64_t>(*mbps);
}

}  // namespace jostle::agent
