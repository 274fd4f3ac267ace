#include "agent/procfs/loadavg.h"

#include <cmath>
#include <string>

#include "agent/procfs/text_fields.h"

namespace jostle::agent {

Result<LoadAvg> ParseLoadAvg(std::string_view text, std::string_view source) {
  text::LineCursor lines(text);
  std::string_view line;
  if (!lines.Next(line) || text::Trim(line).empty()) {
    return text::Malformed(source, "file is empty");
  }
  auto fields = text::SplitFields(line);
  if (fields.size() < 3) {
    return text::Malformed(source, 1, "has " + std::to_string(fields.size()) + " fields, need 3");
  }
  double values[3];
  for (size_t i = 0; i < 3; ++i) {
    auto v = text::ParseDouble(fields[i]);
    if (!v || !std::isfinite(*v) || *v < 0) {
      return text::Malformed(source, 1,
                             "field " + std::to_string(i + 1) + " is " + text::Quote(fields[i]) +
                                 ", not a load average");
    }
    values[i] = *v;
  }
  return LoadAvg{values[0], values[1], values[2]};
}

}  // namespace jostle::agent
