#include "agent/procfs/meminfo.h"

#include <string>

#include "agent/procfs/text_fields.h"

namespace jostle::agent {

Result<MemInfo> ParseMemInfo(std::string_view text, std::string_view source) {
  text::LineCursor lines(text);
  std::string_view line;
  std::optional<uint64_t> total;
  std::optional<uint64_t> available;
  while (lines.Next(line)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::optional<uint64_t>* target = nullptr;
    if (key == "MemTotal") {
      target = &total;
    } else if (key == "MemAvailable") {
      target = &available;
    } else {
      continue;
    }
    auto fields = text::SplitFields(line.substr(colon + 1));
    if (fields.size() != 2 || fields[1] != "kB") {
      return text::Malformed(source, lines.number(),
                             std::string(key) + " should be '<number> kB', got " +
                                 text::Quote(text::Trim(line.substr(colon + 1))));
    }
    auto kib = text::ParseUint64(fields[0]);
    if (!kib || *kib > UINT64_MAX / 1024) {
      return text::Malformed(
          source, lines.number(),
          std::string(key) + " value " + text::Quote(fields[0]) + " is not a kB count");
    }
    *target = *kib * 1024;
  }
  if (!total) {
    if (text::Trim(text).empty()) return text::Malformed(source, "file is empty");
    return text::Malformed(source, "no MemTotal line");
  }
  return MemInfo{*total, available};
}

}  // namespace jostle::agent
