// Checks and small readers shared by the result parsers: UTF-8 validation, line numbers
// from byte offsets, nesting depth pre-scans, timestamps and durations. All pure functions
// over text; none allocates in proportion to nesting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/status.h"

namespace jostle::collector {

// Longest duration a producer may report for one test or suite: 30 days, in seconds.
inline constexpr double kMaxDurationS = 30.0 * 24 * 3600;
// Latest instant a start may reach: 2200-01-01T00:00:00Z, ns since the epoch.
inline constexpr int64_t kLatestStartNs = 7258118400LL * 1000000000;
// Longest id, name, classname, suite or file accepted, in bytes.
inline constexpr size_t kMaxNameBytes = 4096;
// message is cut to this many bytes, details (failure body / longrepr) to kMaxDetailsBytes.
inline constexpr size_t kMaxMessageBytes = 1024;
inline constexpr size_t kMaxDetailsBytes = 4096;

// Byte offset of the first invalid UTF-8 sequence (overlong forms, surrogates and code
// points above U+10FFFF count as invalid), or nullopt when `text` is valid.
std::optional<size_t> FindInvalidUtf8(std::string_view text);

// Maps byte offsets to 1-based line numbers; built once per document.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  int LineOf(size_t offset) const;

 private:
  std::vector<size_t> newlines_;  // byte offsets of every '\n'
};

// Deepest element nesting in an XML document, by a linear scan that understands comments,
// CDATA, processing instructions, quoted attribute values and empty-element tags. Stops and
// returns the offset of the first element deeper than max_depth, or nullopt when all are
// within it.
std::optional<size_t> FindXmlTooDeep(std::string_view xml, int max_depth);

// Same for JSON arrays/objects (strings and escapes understood).
std::optional<size_t> FindJsonTooDeep(std::string_view json, int max_depth);

// An ISO 8601 / RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|+HHMM|+HH]"
// ('T' or one space between date and time). Without an offset the time is read at
// default_offset_s (seconds east of UTC). Returns ns since the Unix epoch (UTC).
// Years 1970..2199 only, so every result fits int64 ns.
Result<int64_t> ParseTimestamp(std::string_view text, int default_offset_s);

// Formats ns since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string FormatTimestamp(int64_t ns);

// `s` with ASCII letters in lower case (media types, status attributes).
std::string AsciiLower(std::string_view s);

// A duration in seconds as producers write it: "12", "0.004", "1.5e-3", Surefire's
// thousands separators "1,234.5". Refuses empty text, NaN, infinities, negative values and
// values above kMaxDurationS.
Result<double> ParseDurationSeconds(std::string_view text);

// Cuts `text` to at most max_bytes without splitting a UTF-8 sequence; appends "…" when cut.
std::string Truncate(std::string_view text, size_t max_bytes);

// First non-empty line of `text`, trimmed, cut to kMaxMessageBytes.
std::string FirstLine(std::string_view text);

}  // namespace jostle::collector
