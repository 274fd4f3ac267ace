#include "agent/procfs/pressure.h"

#include <string>

#include "agent/procfs/text_fields.h"

namespace jostle::agent {

Result<PsiTotals> ParsePressure(std::string_view text, std::string_view source) {
  text::LineCursor lines(text);
  std::string_view line;
  PsiTotals totals;
  while (lines.Next(line)) {
    text::FieldCursor fields(line);
    std::string_view kind;
    if (!fields.Next(kind)) continue;
    std::optional<uint64_t>* target = nullptr;
    if (kind == "some") {
      target = &totals.some_us;
    } else if (kind == "full") {
      target = &totals.full_us;
    } else {
      continue;
    }
    // Error text "'<kind>'..." (built by appending: GCC 12 warns, wrongly, on
    // "literal" + std::string(view) at -O3).
    auto about_kind = [kind](std::string_view what) {
      std::string msg = "'";
      msg += kind;
      msg += what;
      return msg;
    };
    if (target->has_value()) {
      return text::Malformed(source, lines.number(), "second " + about_kind("' line"));
    }
    for (std::string_view field; fields.Next(field);) {
      if (!field.starts_with("total=")) continue;
      auto v = text::ParseUint64(field.substr(6));
      if (!v) {
        return text::Malformed(
            source, lines.number(),
            about_kind("' total ") + text::Quote(field) + " is not a microsecond count");
      }
      *target = *v;
    }
    if (!target->has_value()) {
      return text::Malformed(source, lines.number(), about_kind("' line has no total="));
    }
  }
  if (!totals.some_us) {
    if (text::Trim(text).empty()) return text::Malformed(source, "file is empty");
    return text::Malformed(source, "no 'some' line");
  }
  return totals;
}

}  // namespace jostle::agent
