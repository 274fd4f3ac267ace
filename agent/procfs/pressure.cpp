#include "agent/procfs/pressure.h"

#include <string>

#include "agent/procfs/text_fields.h"

namespace jostle::agent {

Result<PsiTotals> ParsePressure(std::string_view text, std::string_view source) {
  text::LineCursor lines(text);
  std::string_view line;
  PsiTotals totals;
  while (lines.Next(line)) {
    auto fields = text::SplitFields(line);
    if (fields.empty()) continue;
    std::optional<uint64_t>* target = nullptr;
    if (fields[0] == "some") {
      target = &totals.some_us;
    } else if (fields[0] == "full") {
      target = &totals.full_us;
    } else {
      continue;
    }
    std::string kind(fields[0]);
    if (target->has_value()) {
      return text::Malformed(source, lines.number(), "second '" + kind + "' line");
    }
    for (size_t i = 1; i < fields.size(); ++i) {
      if (!fields[i].starts_with("total=")) continue;
      auto v = text::ParseUint64(fields[i].substr(6));
      if (!v) {
        return text::Malformed(
            source, lines.number(),
            "'" + kind + "' total " + text::Quote(fields[i]) + " is not a microsecond count");
      }
      *target = *v;
    }
    if (!target->has_value()) {
      return text::Malformed(source, lines.number(), "'" + kind + "' line has no total=");
    }
  }
  if (!totals.some_us) {
    if (text::Trim(text).empty()) return text::Malformed(source, "file is empty");
    return text::Malformed(source, "no 'some' line");
  }
  return totals;
}

}  // namespace jostle::agent
