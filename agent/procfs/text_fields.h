// Private to agent/procfs: splitting kernel text files into lines and fields, and strict
// number parsing. Parsers use these so that every error names the source file and line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/status.h"

namespace jostle::agent::text {

// Iterates the lines of `text` (without '\n'), numbering them from 1.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : rest_(text) {}
  // False when there is no line left. A trailing '\n' does not start an empty line.
  bool Next(std::string_view& line) {
    if (rest_.empty()) return false;
    size_t nl = rest_.find('\n');
    line = rest_.substr(0, nl);
    rest_ = nl == std::string_view::npos ? std::string_view() : rest_.substr(nl + 1);
    ++number_;
    return true;
  }
  int number() const { return number_; }

 private:
  std::string_view rest_;
  int number_ = 0;
};

// Iterates the fields of one line, separated by runs of spaces, tabs or '\r', without
// allocating (for files read on every tick).
class FieldCursor {
 public:
  explicit FieldCursor(std::string_view line) : rest_(line) {}
  // False when there is no field left.
  bool Next(std::string_view& field) {
    size_t i = 0;
    while (i < rest_.size() && IsSpace(rest_[i])) ++i;
    size_t end = i;
    while (end < rest_.size() && !IsSpace(rest_[end])) ++end;
    field = rest_.substr(i, end - i);
    rest_ = rest_.substr(end);
    return end > i;
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }
  std::string_view rest_;
};

// Fields separated by runs of spaces, tabs or '\r' (FieldCursor's).
std::vector<std::string_view> SplitFields(std::string_view line);

// Strips spaces, tabs and newlines at both ends.
std::string_view Trim(std::string_view s);

// A decimal unsigned integer with nothing else; nullopt on anything else or overflow.
std::optional<uint64_t> ParseUint64(std::string_view s);
// A decimal signed integer with nothing else.
std::optional<int64_t> ParseInt64(std::string_view s);
// A decimal floating-point number ("0.74") with nothing else.
std::optional<double> ParseDouble(std::string_view s);

// "<source>:<line>: <what>" as an InvalidArgument status.
Status Malformed(std::string_view source, int line, std::string_view what);
// "<source>: <what>" as an InvalidArgument status, for errors not tied to one line.
Status Malformed(std::string_view source, std::string_view what);

// Quotes a field for an error message, shortened to a readable length.
std::string Quote(std::string_view s);

}  // namespace jostle::agent::text
