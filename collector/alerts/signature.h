// Webhook signing per the Standard Webhooks specification, version 1.0.0
// (https://www.standardwebhooks.com, spec/standard-webhooks.md, "Signature scheme" and
// "Webhook headers"), symmetric scheme `v1` (HMAC-SHA256).
//
// Every delivery carries three headers:
//   webhook-id:        msg_<24 random base62 characters>; the same for every retry of one
//                      message, so receivers can use it as an idempotency key.
//   webhook-timestamp: unix time in whole seconds of the attempt (a retry gets a new one).
//   webhook-signature: "v1," + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")), where
//                      <body> is the exact bytes of the request body and base64 is the
//                      standard alphabet with padding (RFC 4648 section 4).
// The key is derived from the configured secret:
//   - "whsec_<base64>": the bytes that <base64> decodes to (the spec's serialisation);
//   - anything else: the secret's own bytes, used as given.
// A receiver recomputes the signature from the raw body and the two other headers, compares
// it in constant time with each space-separated entry of webhook-signature whose version is
// "v1", and should reject timestamps outside a tolerance (the spec suggests minutes) to stop
// replays. VerifySignature below does exactly that comparison; the timestamp tolerance is
// checked by TimestampWithinTolerance.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "jostle/status.h"

namespace jostle::collector::alerts {

inline constexpr std::string_view kWebhookIdHeader = "webhook-id";
inline constexpr std::string_view kWebhookTimestampHeader = "webhook-timestamp";
inline constexpr std::string_view kWebhookSignatureHeader = "webhook-signature";
inline constexpr std::string_view kSecretPrefix = "whsec_";

// Standard base64 (RFC 4648 section 4) with padding.
std::string Base64Encode(std::string_view bytes);
// Strict decoding of standard base64; padding optional. InvalidArgument names the offset.
Result<std::string> Base64Decode(std::string_view text);

// The HMAC key for a configured secret (see the header comment). InvalidArgument for an
// empty secret or a "whsec_" secret whose remainder is not base64.
Result<std::string> DecodeSecret(std::string_view secret);

// "msg_" followed by 24 characters of [0-9A-Za-z] from the OpenSSL CSPRNG.
std::string NewMessageId();

// The webhook-signature header value "v1,<base64 HMAC-SHA256>" for one attempt.
Result<std::string> SignPayload(std::string_view secret, std::string_view id, int64_t timestamp_s,
                                std::string_view body);

// Ok when one "v1,<sig>" entry of `header` (space-separated list; other versions ignored)
// matches the signature of (id, timestamp, body) under `secret`, compared in constant time.
// `timestamp` is the webhook-timestamp header as received (decimal unix seconds).
// InvalidArgument for malformed input, PermissionDenied when no signature matches.
Status VerifySignature(std::string_view secret, std::string_view id, std::string_view timestamp,
                       std::string_view body, std::string_view header);

// True when |now_s - timestamp_s| <= tolerance_s.
bool TimestampWithinTolerance(int64_t timestamp_s, int64_t now_s, int64_t tolerance_s);

}  // namespace jostle::collector::alerts
