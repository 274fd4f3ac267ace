// How the shipper reacts to an answer: which statuses are retried, Retry-After, and
// exponential backoff with jitter. Pure; tested with tables.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace jostle::agent {

enum class SendVerdict {
  kDelivered,  // 2xx: the collector committed (or already had) the batch
  kRetry,      // 408, 429, 5xx, or no answer at all: keep the batch, try again later
  // 401, 403: the collector refused the credentials (a token rotated on one side first,
  // a node-bound token on another node): keep the batch and try again later, loudly; the
  // batch is good, the token will change
  kUnauthorized,
  kDrop,  // any other status: the collector will never take this batch
};

SendVerdict ClassifyStatus(long http_status);

// Retry-After as delta-seconds ("120"); nullopt for anything else (HTTP-dates included).
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value);

// Exponential backoff with "equal jitter": the n-th consecutive delay is uniformly drawn
// from [d/2, d] with d = min(max, initial * 2^n).
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed);
  std::chrono::milliseconds Next();
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace jostle::agent
