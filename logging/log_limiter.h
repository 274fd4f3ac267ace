// Repeated log lines cut to one per interval with a count. The first line of a kind in an
// interval is written; the rest of that interval's lines of the kind are only counted, and
// the next line written says how many were left out ("... (41 more like this in 10 s)").
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace jostle::logging {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::milliseconds interval = std::chrono::seconds(10))
      : interval_(interval) {}

  // True when a line of `kind` is to be written now; then *suppressed is the number of
  // lines of that kind left out since the last one written.
  bool Allow(const std::string& kind, uint64_t* suppressed);
  // " (N more like this in S s)" for a count from Allow; empty for 0.
  std::string Suffix(uint64_t suppressed) const;

 private:
  struct Kind {
    std::chrono::steady_clock::time_point written;
    uint64_t suppressed = 0;
  };
  const std::chrono::milliseconds interval_;
  std::mutex mu_;  // guards kinds_
  std::unordered_map<std::string, Kind> kinds_;
};

}  // namespace jostle::logging
