#include "agent/procfs/proc_stat.h"

#include <array>
#include <optional>
#include <string>

#include "agent/procfs/text_fields.h"

namespace jostle::agent {

namespace {

// Column order of the cpu lines after the label (proc(5)).
enum Column { kUser, kNice, kSystem, kIdle, kIowait, kIrq, kSoftirq, kSteal, kColumns };

// ticks * 1e6 / hz without overflowing for any tick count the kernel can report.
uint64_t TicksToMicros(uint64_t ticks, uint64_t hz) {
  return ticks / hz * 1000000 + ticks % hz * 1000000 / hz;
}

}  // namespace

Result<CpuStat> ParseCpuStat(std::string_view text, long clk_tck, std::string_view source) {
  if (clk_tck <= 0) {
    return Status::InvalidArgument(
        std::string(source) + ": clock tick rate must be positive, got " + std::to_string(clk_tck));
  }
  text::LineCursor lines(text);
  std::string_view line;
  std::optional<CpuStat> result;
  uint32_t cpus = 0;
  while (lines.Next(line)) {
    if (!line.starts_with("cpu")) continue;
    auto fields = text::SplitFields(line);
    if (fields.empty()) continue;
    std::string_view label = fields[0];
    if (label == "cpu") {
      if (result) return text::Malformed(source, lines.number(), "second aggregate 'cpu' line");
      if (fields.size() < 1 + kIowait) {
        return text::Malformed(source, lines.number(),
                               "'cpu' line has " + std::to_string(fields.size() - 1) +
                                   " columns, need at least 4 (user nice system idle)");
      }
      std::array<uint64_t, kColumns> ticks{};
      for (size_t i = 0; i < kColumns && i + 1 < fields.size(); ++i) {
        auto v = text::ParseUint64(fields[i + 1]);
        if (!v) {
          return text::Malformed(source, lines.number(),
                                 "column " + std::to_string(i + 1) + " of 'cpu' line is " +
                                     text::Quote(fields[i + 1]) + ", not a tick count");
        }
        ticks[i] = *v;
      }
      uint64_t busy = ticks[kUser] + ticks[kNice] + ticks[kSystem] + ticks[kIrq] + ticks[kSoftirq] +
                      ticks[kSteal];
      uint64_t total = busy + ticks[kIdle] + ticks[kIowait];
      auto hz = static_cast<uint64_t>(clk_tck);
      result = CpuStat{TicksToMicros(busy, hz), TicksToMicros(total, hz), 0};
    } else if (label.size() > 3 && text::ParseUint64(label.substr(3))) {
      ++cpus;
    }
  }
  if (!result) {
    if (text::Trim(text).empty()) return text::Malformed(source, "file is empty");
    return text::Malformed(source, "no aggregate 'cpu' line");
  }
  result->cpus = cpus;
  return *result;
}

}  // namespace jostle::agent
