#include "collector/results/text_scan.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace jostle::collector {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at text[pos]; advances pos.
bool ReadDigits(std::string_view text, size_t& pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

}  // namespace

std::optional<size_t> FindInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += len;
  }
  return std::nullopt;
}

LineIndex::LineIndex(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') newlines_.push_back(i);
  }
}

int LineIndex::LineOf(size_t offset) const {
  auto it = std::lower_bound(newlines_.begin(), newlines_.end(), offset);
  return static_cast<int>(it - newlines_.begin()) + 1;
}

std::optional<size_t> FindXmlTooDeep(std::string_view xml, int max_depth) {
  int depth = 0;
  size_t i = 0;
  const size_t n = xml.size();
  auto skip_past = [&](std::string_view end) {
    size_t at = xml.find(end, i);
    i = at == std::string_view::npos ? n : at + end.size();
  };
  while (i < n) {
    size_t lt = xml.find('<', i);
    if (lt == std::string_view::npos) break;
    i = lt;
    std::string_view rest = xml.substr(i);
    if (rest.starts_with("<!--")) {
      i += 4;
      skip_past("-->");
    } else if (rest.starts_with("<![CDATA[")) {
      i += 9;
      skip_past("]]>");
    } else if (rest.starts_with("<?")) {
      i += 2;
      skip_past("?>");
    } else if (rest.starts_with("<!")) {
      i += 2;
      skip_past(">");
    } else if (rest.starts_with("</")) {
      i += 2;
      skip_past(">");
      if (depth > 0) --depth;
    } else {
      // A start tag: find its '>' outside quoted attribute values.
      const size_t tag_start = i;
      char quote = 0;
      size_t j = i + 1;
      for (; j < n; ++j) {
        char c = xml[j];
        if (quote) {
          if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '>') {
          break;
        }
      }
      if (depth + 1 > max_depth) return tag_start;
      if (j < n && xml[j - 1] != '/') ++depth;
      i = j + 1;
    }
  }
  return std::nullopt;
}

std::optional<size_t> FindJsonTooDeep(std::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

Result<int64_t> ParseTimestamp(std::string_view text, int default_offset_s) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("timestamp \"" + Truncate(text, 64) + "\" " + std::string(why));
  };
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;  // set by ReadDigits
  if (!ReadDigits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, pos, 2, day)) {
    return bad("is not YYYY-MM-DD...");
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return bad("has no time of day (expected 'T' after the date)");
  }
  ++pos;
  if (!ReadDigits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
      !ReadDigits(text, pos, 2, minute) || pos >= text.size() || text[pos++] != ':' ||
      !ReadDigits(text, pos, 2, second)) {
    return bad("has no HH:MM:SS time");
  }
  if (year < 1970 || year >= 2200 || month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) {
    return bad("is out of range");
  }
  int64_t frac_ns = 0;
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    ++pos;
    int64_t scale = 100000000;
    size_t digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (scale > 0) {
        frac_ns += (text[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
      if (++digits > 30) return bad("has too many fraction digits");
    }
    if (digits == 0) return bad("has an empty fraction");
  }
  int offset_s = default_offset_s;
  if (pos < text.size()) {
    char c = text[pos];
    if (c == 'Z' || c == 'z') {
      offset_s = 0;
      ++pos;
    } else if (c == '+' || c == '-') {
      ++pos;
      int oh = 0, om = 0;
      if (!ReadDigits(text, pos, 2, oh)) return bad("has a malformed UTC offset");
      if (pos < text.size() && text[pos] == ':') ++pos;
      if (pos < text.size() && !ReadDigits(text, pos, 2, om)) {
        return bad("has a malformed UTC offset");
      }
      if (oh > 18 || om > 59) return bad("has a UTC offset out of range");
      offset_s = (oh * 3600 + om * 60) * (c == '-' ? -1 : 1);
    }
  }
  if (pos != text.size()) return bad("has trailing characters");
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  if (secs < 0) return bad("is before 1970");
  return secs * 1000000000 + frac_ns;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string FormatTimestamp(int64_t ns) {
  int64_t secs = ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000;
  int64_t ms = (ns - secs * 1000000000) / 1000000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t sod = secs - days * 86400;
  // civil_from_days (H. Hinnant).
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                static_cast<long long>(ms));
  return buf;
}

Result<double> ParseDurationSeconds(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("time \"" + Truncate(text, 64) + "\" " + std::string(why));
  };
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty()) return bad("is empty");
  if (text.size() > 64) return bad("is too long");
  // Thousands separators (Surefire): only in the integer part, in groups of three digits.
  std::string clean;
  size_t int_end = text.find_first_not_of("0123456789,");
  if (int_end == std::string_view::npos) int_end = text.size();
  std::string_view int_part = text.substr(0, int_end);
  if (int_part.find(',') != std::string_view::npos) {
    size_t group_start = 0;
    bool first_group = true;
    while (true) {
      size_t comma = int_part.find(',', group_start);
      size_t len = (comma == std::string_view::npos ? int_part.size() : comma) - group_start;
      if (first_group ? (len < 1 || len > 3) : len != 3) {
        return bad("has misplaced thousands separators");
      }
      if (comma == std::string_view::npos) break;
      first_group = false;
      group_start = comma + 1;
    }
  }
  for (char c : int_part) {
    if (c != ',') clean.push_back(c);
  }
  clean.append(text.substr(int_end));
  double value = 0;
  const char* begin = clean.data();
  const char* end = clean.data() + clean.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range) return bad("is out of range");
  if (ec != std::errc() || ptr != end) return bad("is not a number");
  if (!std::isfinite(value)) return bad("is not finite");
  if (value < 0) return bad("is negative");
  if (value > kMaxDurationS) return bad("is longer than 30 days");
  return value;
}

std::string Truncate(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  std::string out(text.substr(0, cut));
  out += "\xE2\x80\xA6";
  return out;
}

std::string FirstLine(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    size_t b = line.find_first_not_of(" \t\r");
    if (b != std::string_view::npos) {
      size_t e = line.find_last_not_of(" \t\r");
      return Truncate(line.substr(b, e - b + 1), kMaxMessageBytes);
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return "";
}

}  // namespace jostle::collector
