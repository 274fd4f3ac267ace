// Delivering one webhook message to one target: the WebhookSender interface and the HTTP
// implementation with timeouts, retries and backoff. Whatever happens, Deliver returns a
// DeliveryResult (the delivery log entry); it never throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/alerts/payload.h"
#include "jostle/status.h"

namespace jostle::collector::alerts {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct WebhookTarget {
  std::string url;                              // http:// or https://; may embed a secret
  std::string secret;                           // "whsec_<base64>" or raw; empty = unsigned
  PayloadFormat format = PayloadFormat::kAuto;  // kAuto: Slack for Slack URLs
};

// One message as sent: the same id and body on every attempt.
struct WebhookMessage {
  std::string id;    // webhook-id, e.g. from NewMessageId()
  std::string body;  // exact bytes sent and signed
  std::string content_type = "application/json";
  HeaderList headers;  // extra headers (not the webhook-* ones)
};

// The delivery log entry of one message to one target.
struct DeliveryResult {
  std::string run;          // filled by AlertDispatcher
  std::string job;          // filled by AlertDispatcher
  std::string target;       // MaskUrl(url): scheme://host[:port]/... only
  std::string target_key;   // TargetKey(url): tells targets on one host apart
  std::string format;       // "generic" or "slack"
  std::string message_id;   // webhook-id
  bool delivered = false;   // a 2xx answer was received
  int status = 0;           // last HTTP status; 0 when no answer was received
  int attempts = 0;         // requests started
  std::string error;        // empty when delivered; else the last failure and why it stopped
  int64_t sent_at_s = 0;    // unix seconds when the first attempt started
  int64_t duration_ms = 0;  // first attempt start to return, including waits
};

struct DeliveryPolicy {
  std::chrono::milliseconds connect_timeout{5000};   // per attempt, TCP + TLS connect
  std::chrono::milliseconds request_timeout{10000};  // per attempt, whole request
  int max_attempts = 4;                              // requests per message, >= 1
  std::chrono::milliseconds deadline{30000};         // all attempts and waits of one message
  std::chrono::milliseconds initial_backoff{500};    // wait before the 2nd attempt
  std::chrono::milliseconds max_backoff{8000};       // cap of the doubling backoff
  std::chrono::milliseconds max_retry_after{30000};  // cap on an honoured Retry-After
};

// scheme://host[:port]/... with user info, path, query and fragment dropped (Slack and many
// other webhook URLs carry their secret in the path).
std::string MaskUrl(std::string_view url);

// "sha256:" + first 16 hex digits of SHA-256(url): a stable, non-secret target identity.
std::string TargetKey(std::string_view url);

// The Retry-After header in its delay-seconds form; nullopt for HTTP-dates or garbage.
std::optional<int64_t> ParseRetryAfterSeconds(std::string_view value);

// Whether a failed attempt is retried: no answer (status 0), 429, and 5xx are; others not.
bool IsRetryableStatus(int status);

// Backoff before attempt `attempt` + 1 (attempt counts from 1): initial * 2^(attempt-1),
// capped at max_backoff, then scaled by jitter_fraction in [0, 1] into [half, full].
std::chrono::milliseconds BackoffDelay(const DeliveryPolicy& policy, int attempt,
                                       double jitter_fraction);

class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  // Sends `message` to `target`, signing each attempt when target.secret is set. Returns
  // within policy.deadline plus at most one connect + request timeout; returns early, with
  // an error, once `stop` is requested. Thread-safe.
  virtual DeliveryResult Deliver(const WebhookTarget& target, const WebhookMessage& message,
                                 std::stop_token stop = {}) = 0;
};

// What one HTTP attempt saw.
struct AttemptOutcome {
  int status = 0;                        // 0 when no HTTP answer arrived
  std::optional<int64_t> retry_after_s;  // Retry-After in seconds, when sent
  std::string error;                     // transport error when status == 0
};

// Sends over HTTP through jostle_http_client (libcurl): POST, no redirects followed, one
// HttpClient per Deliver call so retries reuse the connection.
class HttpWebhookSender final : public WebhookSender {
 public:
  explicit HttpWebhookSender(DeliveryPolicy policy = {});
  DeliveryResult Deliver(const WebhookTarget& target, const WebhookMessage& message,
                         std::stop_token stop = {}) override;

 private:
  DeliveryPolicy policy_;
};

}  // namespace jostle::collector::alerts
