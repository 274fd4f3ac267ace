#include "agent/shipper/retry_policy.h"

#include <algorithm>
#include <charconv>

namespace jostle::agent {

SendVerdict ClassifyStatus(long http_status) {
  if (http_status >= 200 && http_status < 300) return SendVerdict::kDelivered;
  if (http_status == 408 || http_status == 429 || http_status >= 500) return SendVerdict::kRetry;
  if (http_status == 401 || http_status == 403) return SendVerdict::kUnauthorized;
  return SendVerdict::kDrop;
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(seconds);
}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      rng_(seed) {}

std::chrono::milliseconds Backoff::Next() {
  int64_t d = initial_.count();
  for (int i = 0; i < failures_ && d < max_.count(); ++i) d *= 2;
  d = std::min<int64_t>(d, max_.count());
  ++failures_;
  std::uniform_int_distribution<int64_t> jitter(d / 2, d);
  return std::chrono::milliseconds(jitter(rng_));
}

}  // namespace jostle::agent
