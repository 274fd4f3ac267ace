#include "flags/flag_values.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace jostle::flags {
namespace {

// Splits "1.5s" into 1.5 and "s". False when there is no leading number.
bool SplitNumber(std::string_view text, double* number, std::string_view* unit) {
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || errno == ERANGE || !std::isfinite(v)) return false;
  *number = v;
  *unit = text.substr(static_cast<size_t>(end - s.c_str()));
  return true;
}

}  // namespace

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text, bool allow_zero) {
  double number = 0;
  std::string_view unit;
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("invalid duration '" + std::string(text) + "': " + why +
                                   " (examples: 500ms, 1s, 2m, 36h, 14d, 2w)");
  };
  if (text.empty() || !SplitNumber(text, &number, &unit)) return bad("expected a number");
  double scale;
  if (unit.empty() || unit == "s") {
    scale = 1e9;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "m") {
    scale = 60e9;
  } else if (unit == "h") {
    scale = 3600e9;
  } else if (unit == "d") {
    scale = 86400e9;
  } else if (unit == "w") {
    scale = 7 * 86400e9;
  } else {
    return bad("unknown unit");
  }
  if (number < 0) return bad("negative");
  if (number == 0 && !allow_zero) return bad("must be greater than zero");
  double ns = number * scale;
  if (ns > 9.2e18) return bad("too large");
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(ns)));
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  double number = 0;
  std::string_view unit;
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("invalid size '" + std::string(text) + "': " + why +
                                   " (examples: 512k, 20MiB, 1G)");
  };
  if (text.empty() || !SplitNumber(text, &number, &unit)) return bad("expected a number");
  double scale;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "k" || unit == "K" || unit == "KiB") {
    scale = 1024.0;
  } else if (unit == "M" || unit == "MiB") {
    scale = 1024.0 * 1024;
  } else if (unit == "G" || unit == "GiB") {
    scale = 1024.0 * 1024 * 1024;
  } else if (unit == "KB") {
    scale = 1e3;
  } else if (unit == "MB") {
    scale = 1e6;
  } else if (unit == "GB") {
    scale = 1e9;
  } else {
    return bad("unknown unit");
  }
  if (number < 0) return bad("negative");
  double bytes = number * scale;
  if (bytes > 1.8e19) return bad("too large");
  return static_cast<uint64_t>(std::llround(bytes));
}

}  // namespace jostle::flags
