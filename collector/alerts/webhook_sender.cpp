#include "collector/alerts/webhook_sender.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>

#include "collector/alerts/signature.h"
#include "http_client/http_client.h"
#include "jostle/version.h"

namespace jostle::collector::alerts {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The answer is only read for its status; larger bodies are refused by the client.
constexpr size_t kMaxResponseBodyBytes = 1u << 20;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Replaces the URL (as given, or as http_client's MaskSecrets wrote it) in a transport
// error message with its masked form, so secrets in the path stay out of the log.
std::string ScrubUrl(std::string message, const std::string& url) {
  const std::string masked = MaskUrl(url);
  for (const std::string& form : {url, http::MaskSecrets(url)}) {
    if (form.empty()) continue;
    for (size_t pos = message.find(form); pos != std::string::npos;
         pos = message.find(form, pos + masked.size())) {
      message.replace(pos, form.size(), masked);
    }
  }
  return message;
}

// One POST through `client`. Timeouts are per attempt, already clipped to the deadline.
AttemptOutcome SendAttempt(http::HttpClient& client, const std::string& url,
                           const WebhookMessage& message, HeaderList headers,
                           milliseconds connect_timeout, milliseconds request_timeout) {
  http::HttpRequest request;
  request.method = "POST";
  request.url = url;
  headers.emplace_back("Content-Type", message.content_type);
  headers.emplace_back("User-Agent", std::string("jostle/") + kVersion);
  request.headers = std::move(headers);
  request.body = message.body;
  request.connect_timeout = connect_timeout;
  request.timeout = request_timeout;
  request.max_body_bytes = kMaxResponseBodyBytes;

  AttemptOutcome outcome;
  Result<http::HttpResponse> response = client.Send(request);
  if (!response.ok()) {
    outcome.error = ScrubUrl(response.status().message(), url);
    return outcome;
  }
  outcome.status = static_cast<int>(response->status);
  std::string_view retry_after = response->Header("Retry-After");
  if (!retry_after.empty()) outcome.retry_after_s = ParseRetryAfterSeconds(retry_after);
  return outcome;
}

// Waits `duration` unless `stop` is requested first; returns false when stopped.
bool SleepUnlessStopped(milliseconds duration, const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  return !cv.wait_for(lock, stop, duration, [] { return false; }) && !stop.stop_requested();
}

int64_t UnixNowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double RandomFraction() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string DescribeStatus(int status) { return "HTTP " + std::to_string(status); }

}  // namespace

std::string MaskUrl(std::string_view url) {
  size_t scheme_end = url.find("://");
  std::string_view scheme = scheme_end == std::string_view::npos ? "" : url.substr(0, scheme_end);
  std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string masked;
  if (!scheme.empty()) masked.append(scheme).append("://");
  masked.append(authority);
  if (authority_end != std::string_view::npos && authority_end + 1 < rest.size()) {
    masked.append("/...");
  }
  return masked;
}

std::string TargetKey(std::string_view url) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(url.data(), url.size(), digest.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key = "sha256:";
  for (unsigned int i = 0; i < 8 && i < len; ++i) {
    key.push_back(kHex[digest[i] >> 4]);
    key.push_back(kHex[digest[i] & 15]);
  }
  return key;
}

std::optional<int64_t> ParseRetryAfterSeconds(std::string_view value) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || ptr != value.data() + value.size() || seconds < 0) return std::nullopt;
  return seconds;
}

bool IsRetryableStatus(int status) { return status == 0 || status == 429 || status >= 500; }

milliseconds BackoffDelay(const DeliveryPolicy& policy, int attempt, double jitter_fraction) {
  double base =
      static_cast<double>(policy.initial_backoff.count()) * std::pow(2.0, std::max(attempt - 1, 0));
  base = std::min(base, static_cast<double>(policy.max_backoff.count()));
  jitter_fraction = std::clamp(jitter_fraction, 0.0, 1.0);
  return milliseconds(static_cast<int64_t>(base / 2.0 + base / 2.0 * jitter_fraction));
}

HttpWebhookSender::HttpWebhookSender(DeliveryPolicy policy) : policy_(policy) {
  policy_.max_attempts = std::max(policy_.max_attempts, 1);
}

DeliveryResult HttpWebhookSender::Deliver(const WebhookTarget& target,
                                          const WebhookMessage& message, std::stop_token stop) {
  DeliveryResult result;
  result.target = MaskUrl(target.url);
  result.target_key = TargetKey(target.url);
  result.format = PayloadFormatName(ResolveFormat(target.format, target.url));
  result.message_id = message.id;
  result.sent_at_s = UnixNowSeconds();
  const auto start = Clock::now();
  const auto deadline = start + policy_.deadline;
  auto finish = [&](std::string error) {
    result.error = std::move(error);
    result.duration_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
    if (!result.delivered) {
      spdlog::warn("webhook {} ({}): not delivered after {} attempt(s): {}", result.target,
                   result.message_id, result.attempts, result.error);
    }
    return result;
  };

  if (target.url.rfind("http://", 0) != 0 && target.url.rfind("https://", 0) != 0) {
    return finish("webhook URL " + result.target + " is not http:// or https://");
  }
  http::HttpClient client;  // one per delivery: retries reuse its connection
  std::stop_callback cancel_on_stop(stop, [&client] { client.Cancel(); });

  for (int attempt = 1;; ++attempt) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (remaining <= milliseconds(0)) {
      return finish(result.error.empty() ? "deadline passed before the first attempt"
                                         : result.error + "; deadline reached");
    }
    HeaderList headers = message.headers;
    headers.emplace_back(kWebhookIdHeader, message.id);
    if (!target.secret.empty()) {
      const int64_t timestamp = UnixNowSeconds();
      Result<std::string> signature =
          SignPayload(target.secret, message.id, timestamp, message.body);
      if (!signature.ok()) return finish("cannot sign: " + signature.status().ToString());
      headers.emplace_back(kWebhookTimestampHeader, std::to_string(timestamp));
      headers.emplace_back(kWebhookSignatureHeader, *signature);
    } else {
      headers.emplace_back(kWebhookTimestampHeader, std::to_string(UnixNowSeconds()));
    }

    const milliseconds request_timeout = std::min(policy_.request_timeout, remaining);
    const milliseconds connect_timeout = std::min(policy_.connect_timeout, request_timeout);
    result.attempts = attempt;
    AttemptOutcome outcome = SendAttempt(client, target.url, message, std::move(headers),
                                         connect_timeout, request_timeout);
    result.status = outcome.status;
    if (outcome.status >= 200 && outcome.status < 300) {
      result.delivered = true;
      return finish("");
    }
    std::string failure = outcome.status == 0 ? outcome.error : DescribeStatus(outcome.status);
    if (stop.stop_requested()) return finish(failure + "; stopped");
    if (!IsRetryableStatus(outcome.status)) return finish(failure + " (not retried)");
    if (attempt >= policy_.max_attempts) {
      return finish(failure + "; gave up after " + std::to_string(attempt) + " attempts");
    }

    milliseconds wait = BackoffDelay(policy_, attempt, RandomFraction());
    if (outcome.retry_after_s.has_value()) {
      // Clamped before scaling so a huge header value cannot overflow.
      const int64_t capped_s =
          std::min<int64_t>(*outcome.retry_after_s, policy_.max_retry_after.count() / 1000 + 1);
      wait = std::min(milliseconds(capped_s * 1000), policy_.max_retry_after);
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (wait >= left) {
      return finish(failure + "; next attempt in " + std::to_string(wait.count()) +
                    " ms would pass the deadline");
    }
    spdlog::debug("webhook {} ({}): attempt {} failed ({}), retrying in {} ms", result.target,
                  message.id, attempt, failure, wait.count());
    result.error = failure;
    if (!SleepUnlessStopped(wait, stop)) return finish(failure + "; stopped");
  }
}

}  // namespace jostle::collector::alerts
