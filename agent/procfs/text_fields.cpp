#include "agent/procfs/text_fields.h"

#include <charconv>

namespace jostle::agent::text {

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  FieldCursor cursor(line);
  for (std::string_view field; cursor.Next(field);) fields.push_back(field);
  return fields;
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

namespace {
template <typename T>
std::optional<T> ParseWhole(std::string_view s) {
  if (s.empty()) return std::nullopt;
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}
}  // namespace

std::optional<uint64_t> ParseUint64(std::string_view s) { return ParseWhole<uint64_t>(s); }
std::optional<int64_t> ParseInt64(std::string_view s) { return ParseWhole<int64_t>(s); }
std::optional<double> ParseDouble(std::string_view s) { return ParseWhole<double>(s); }

Status Malformed(std::string_view source, int line, std::string_view what) {
  std::string msg(source);
  msg += ':';
  msg += std::to_string(line);
  msg += ": ";
  msg += what;
  return Status::InvalidArgument(std::move(msg));
}

Status Malformed(std::string_view source, std::string_view what) {
  std::string msg(source);
  msg += ": ";
  msg += what;
  return Status::InvalidArgument(std::move(msg));
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  out += s.substr(0, kMax);
  if (s.size() > kMax) out += "...";
  out += "'";
  return out;
}

}  // namespace jostle::agent::text
