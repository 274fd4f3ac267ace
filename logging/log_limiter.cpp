#include "logging/log_limiter.h"

namespace jostle::logging {

namespace {
// Kinds remembered at most; beyond, the table is cleared (each kind then writes once more).
constexpr size_t kMaxKinds = 1024;
}  // namespace

bool LogLimiter::Allow(const std::string& kind, uint64_t* suppressed) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (kinds_.size() >= kMaxKinds && kinds_.find(kind) == kinds_.end()) kinds_.clear();
  auto [it, inserted] = kinds_.try_emplace(kind);
  Kind& k = it->second;
  if (!inserted && now - k.written < interval_) {
    ++k.suppressed;
    return false;
  }
  *suppressed = k.suppressed;
  k.suppressed = 0;
  k.written = now;
  return true;
}

std::string LogLimiter::Suffix(uint64_t suppressed) const {
  if (suppressed == 0) return {};
  return " (" + std::to_string(suppressed) + " more like this in the last " +
         std::to_string(interval_.count() / 1000) + " s)";
}

}  // namespace jostle::logging
