// The per-format parsers behind ParseResults. Each takes a body that ParseResults has
// already inflated, size-checked and UTF-8-validated.
#pragma once

#include <string_view>

#include "collector/results/parse_results.h"

namespace jostle::collector {

Result<ResultSet> ParseJUnitXml(std::string_view xml, const ParseOptions& options);
Result<ResultSet> ParseReportLog(std::string_view jsonl, const ParseOptions& options);
Result<ResultSet> ParseGoTestJson(std::string_view jsonl, const ParseOptions& options);
Result<ResultSet> ParseJostleJson(std::string_view json, const ParseOptions& options);

// "junit.xml:812: " style prefix.
std::string Where(const ParseOptions& options, int line);

}  // namespace jostle::collector
