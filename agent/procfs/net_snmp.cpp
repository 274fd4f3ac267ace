#include "agent/procfs/net_snmp.h"

#include <optional>
#include <string>
#include <vector>

#include "agent/procfs/text_fields.h"

namespace jostle::agent {

Result<TcpCounters> ParseNetSnmpTcp(std::string_view text, std::string_view source) {
  text::LineCursor lines(text);
  std::string_view line;
  std::vector<std::string_view> header;
  int header_line = 0;
  while (lines.Next(line)) {
    if (!line.starts_with("Tcp:")) continue;
    auto fields = text::SplitFields(line);
    if (header.empty()) {
      header = std::move(fields);
      header_line = lines.number();
      continue;
    }
    if (fields.size() != header.size()) {
      return text::Malformed(source, lines.number(),
                             "Tcp value line has " + std::to_string(fields.size() - 1) +
                                 " columns, header on line " + std::to_string(header_line) +
                                 " has " + std::to_string(header.size() - 1));
    }
    std::optional<uint64_t> out_segs;
    std::optional<uint64_t> retrans_segs;
    for (size_t i = 1; i < header.size(); ++i) {
      std::optional<uint64_t>* target = nullptr;
      if (header[i] == "OutSegs") {
        target = &out_segs;
      } else if (header[i] == "RetransSegs") {
        target = &retrans_segs;
      } else {
        continue;
      }
      *target = text::ParseUint64(fields[i]);
      if (!*target) {
        return text::Malformed(
            source, lines.number(),
            "Tcp " + std::string(header[i]) + " is " + text::Quote(fields[i]) + ", not a counter");
      }
    }
    if (!out_segs || !retrans_segs) {
      return text::Malformed(source, header_line, "Tcp header lacks OutSegs or RetransSegs");
    }
    return TcpCounters{*out_segs, *retrans_segs};
  }
  if (!header.empty()) return text::Malformed(source, header_line, "Tcp header has no value line");
  if (text::Trim(text).empty()) return text::Malformed(source, "file is empty");
  return text::Malformed(source, "no Tcp section");
}

}  // namespace jostle::agent
