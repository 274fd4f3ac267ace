#include "agent/cgroup/cgroup_parsers.h"

#include <charconv>
#include <string>

namespace jostle::agent {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<uint64_t> ToUint64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> ToInt64(std::string_view s) {
  int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict) about "'" + std::string.
  std::string out(1, '\'');
  out.append(s.substr(0, kMax));
  out.append(s.size() > kMax ? "...'" : "'");
  return out;
}

Status Malformed(std::string_view source, std::string_view what) {
  return Status::InvalidArgument(std::string(source) + ": " + std::string(what));
}

// Calls fn(key, value_text, line_number) for every "key value" line; a line without a
// space is passed with an empty value.
template <typename Fn>
void ForEachKeyed(std::string_view text, Fn&& fn) {
  int number = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    line = Trim(line);
    if (line.empty()) continue;
    // A plain loop: find_first_of(" \t") calls memchr once per character of the line.
    size_t sp = 0;
    while (sp < line.size() && line[sp] != ' ' && line[sp] != '\t') ++sp;
    if (sp == line.size()) {
      fn(line, std::string_view(), number);
    } else {
      fn(line.substr(0, sp), Trim(line.substr(sp + 1)), number);
    }
  }
}

// Reads the keys named in `wanted` (key -> destination) strictly; others are ignored.
template <size_t N>
Status ReadKeys(std::string_view text, std::string_view source,
                const std::pair<std::string_view, std::optional<uint64_t>*> (&wanted)[N]) {
  Status status;
  ForEachKeyed(text, [&](std::string_view key, std::string_view value, int line) {
    if (!status.ok()) return;
    for (const auto& [name, dest] : wanted) {
      if (key != name) continue;
      auto v = ToUint64(value);
      if (!v) {
        status = Malformed(source, std::to_string(line) + ": value of '" + std::string(key) + "' " +
                                       Quote(value) + " is not an unsigned number");
        return;
      }
      *dest = *v;
    }
  });
  return status;
}

}  // namespace

Result<CpuStatV2> ParseCpuStatV2(std::string_view text, std::string_view source) {
  std::optional<uint64_t> usage;
  CpuStatV2 out;
  const std::pair<std::string_view, std::optional<uint64_t>*> wanted[] = {
      {"usage_usec", &usage},
      {"nr_periods", &out.nr_periods},
      {"nr_throttled", &out.nr_throttled},
      {"throttled_usec", &out.throttled_usec}};
  JOSTLE_RETURN_IF_ERROR(ReadKeys(text, source, wanted));
  if (!usage) return Malformed(source, "no 'usage_usec' line");
  out.usage_usec = *usage;
  return out;
}

Result<CpuStatV1> ParseCpuStatV1(std::string_view text, std::string_view source) {
  std::optional<uint64_t> periods, throttled, time_ns;
  const std::pair<std::string_view, std::optional<uint64_t>*> wanted[] = {
      {"nr_periods", &periods}, {"nr_throttled", &throttled}, {"throttled_time", &time_ns}};
  JOSTLE_RETURN_IF_ERROR(ReadKeys(text, source, wanted));
  if (!periods || !throttled || !time_ns) {
    return Malformed(source, "needs nr_periods, nr_throttled and throttled_time lines");
  }
  return CpuStatV1{*periods, *throttled, *time_ns};
}

Result<std::optional<double>> ParseCpuMax(std::string_view text, std::string_view source) {
  std::string_view line = Trim(text);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) {
    return Malformed(source, "expected '<quota> <period>', got " + Quote(line));
  }
  std::string_view quota = line.substr(0, sp);
  auto period = ToUint64(Trim(line.substr(sp + 1)));
  if (!period || *period == 0) {
    return Malformed(source, "period " + Quote(line.substr(sp + 1)) + " is not a positive number");
  }
  if (quota == "max") return std::optional<double>();
  auto q = ToUint64(quota);
  if (!q) return Malformed(source, "quota " + Quote(quota) + " is neither 'max' nor a number");
  return std::optional<double>(static_cast<double>(*q) / static_cast<double>(*period));
}

Result<std::optional<double>> ParseCfsQuota(std::string_view quota_text,
                                            std::string_view period_text, std::string_view source) {
  auto quota = ToInt64(Trim(quota_text));
  if (!quota) return Malformed(source, "cfs quota " + Quote(Trim(quota_text)) + " is not a number");
  if (*quota < 0) return std::optional<double>();
  auto period = ToUint64(Trim(period_text));
  if (!period || *period == 0) {
    return Malformed(source,
                     "cfs period " + Quote(Trim(period_text)) + " is not a positive number");
  }
  return std::optional<double>(static_cast<double>(*quota) / static_cast<double>(*period));
}

Result<uint64_t> ParseSingleValue(std::string_view text, std::string_view source) {
  std::string_view t = Trim(text);
  if (t.empty()) return Malformed(source, "file is empty");
  auto v = ToUint64(t);
  if (!v) return Malformed(source, Quote(t) + " is not an unsigned number");
  return *v;
}

Result<std::optional<uint64_t>> ParseMemoryMax(std::string_view text, std::string_view source) {
  std::string_view t = Trim(text);
  if (t == "max") return std::optional<uint64_t>();
  auto v = ParseSingleValue(t, source);
  if (!v.ok()) return v.status();
  return std::optional<uint64_t>(*v);
}

Result<std::optional<uint64_t>> ParseV1MemoryLimit(std::string_view text, std::string_view source) {
  auto v = ParseSingleValue(text, source);
  if (!v.ok()) return v.status();
  if (*v >= kV1UnlimitedMemory) return std::optional<uint64_t>();
  return std::optional<uint64_t>(*v);
}

Result<std::optional<uint64_t>> FindKeyedValue(std::string_view text, std::string_view key,
                                               std::string_view source) {
  std::optional<uint64_t> value;
  const std::pair<std::string_view, std::optional<uint64_t>*> wanted[] = {{key, &value}};
  JOSTLE_RETURN_IF_ERROR(ReadKeys(text, source, wanted));
  return value;
}

Result<MemoryEventsV2> ParseMemoryEventsV2(std::string_view text, std::string_view source) {
  MemoryEventsV2 out;
  const std::pair<std::string_view, std::optional<uint64_t>*> wanted[] = {
      {"high", &out.high}, {"max", &out.max}, {"oom_kill", &out.oom_kill}};
  JOSTLE_RETURN_IF_ERROR(ReadKeys(text, source, wanted));
  return out;
}

Result<MemoryStatV2> ParseMemoryStatV2(std::string_view text, std::string_view source) {
  std::optional<uint64_t> inactive_file, refault, refault_anon, refault_file;
  MemoryStatV2 out;
  const std::pair<std::string_view, std::optional<uint64_t>*> wanted[] = {
      {"inactive_file", &inactive_file},
      {"pgscan", &out.pgscan},
      {"workingset_refault", &refault},
      {"workingset_refault_anon", &refault_anon},
      {"workingset_refault_file", &refault_file}};
  JOSTLE_RETURN_IF_ERROR(ReadKeys(text, source, wanted));
  if (!inactive_file) return Malformed(source, "no 'inactive_file' line");
  out.inactive_file = *inactive_file;
  if (refault_anon || refault_file) {
    out.workingset_refault = refault_anon.value_or(0) + refault_file.value_or(0);
  } else {
    out.workingset_refault = refault;
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseProcCgroup(std::string_view text,
                                                           std::string_view source) {
  std::map<std::string, std::string> out;
  int number = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    if (Trim(line).empty()) continue;
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
      return Malformed(
          source, std::to_string(number) + ": expected 'id:controllers:path', got " + Quote(line));
    }
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path(line.substr(c2 + 1));
    if (controllers.empty()) {
      out[""] = path;
      continue;
    }
    while (!controllers.empty()) {
      size_t comma = controllers.find(',');
      out[std::string(controllers.substr(0, comma))] = path;
      controllers =
          comma == std::string_view::npos ? std::string_view() : controllers.substr(comma + 1);
    }
  }
  return out;
}

std::optional<int> FirstPid(std::string_view cgroup_procs_text) {
  while (!cgroup_procs_text.empty()) {
    size_t nl = cgroup_procs_text.find('\n');
    std::string_view line = Trim(cgroup_procs_text.substr(0, nl));
    cgroup_procs_text =
        nl == std::string_view::npos ? std::string_view() : cgroup_procs_text.substr(nl + 1);
    auto v = ToInt64(line);
    if (v && *v > 0 && *v <= INT32_MAX) return static_cast<int>(*v);
  }
  return std::nullopt;
}

}  // namespace jostle::agent
