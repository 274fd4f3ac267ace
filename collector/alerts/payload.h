// Alert bodies: a generic JSON document and a Slack Block Kit message, built from the same
// AlertFacts. Both are pure functions returning the exact bytes that are sent (and signed).
//
// Generic (Content-Type application/json):
//   {"type": "jostle.contention", "timestamp": "<RFC 3339 UTC of the alert>",
//    "run": "...", "job": "..." | null,
//    "counts": {"failed": <failures_total>, "<verdict>": n, ...},
//    "failures": [{"test", "verdict", "resource" | null, "culprit" | null,
//                  "node" | null, "pod" | null}, ...],
//    "report_url": "..." | null}
// Slack: {"text": fallback, "blocks": [header, summary section (mrkdwn),
//          one section per failure (first kSlackMaxFailures, then "and N more"),
//          context with the report link]}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "collector/alerts/rules.h"
#include "jostle/status.h"

namespace jostle::collector::alerts {

inline constexpr std::string_view kAlertEventType = "jostle.contention";
inline constexpr int kSlackMaxFailures = 10;

enum class PayloadFormat {
  kAuto,  // Slack for Slack incoming-webhook URLs, generic otherwise
  kGeneric,
  kSlack,
};

// "auto", "generic"/"json", "slack" -> format; InvalidArgument otherwise.
Result<PayloadFormat> ParsePayloadFormat(std::string_view name);
std::string_view PayloadFormatName(PayloadFormat format);

// True for https://hooks.slack.com/services/... (and hooks.slack-gov.com) URLs.
bool IsSlackWebhookUrl(std::string_view url);

// kAuto resolved against the URL.
PayloadFormat ResolveFormat(PayloadFormat format, std::string_view url);

// Escapes the three characters Slack mrkdwn reserves: & -> &amp;, < -> &lt;, > -> &gt;.
std::string EscapeSlackMrkdwn(std::string_view text);

// The generic JSON body; `now_s` (unix seconds) becomes "timestamp".
std::string BuildGenericPayload(const AlertFacts& facts, int64_t now_s);

// The Slack Block Kit body.
std::string BuildSlackPayload(const AlertFacts& facts);

// The body for `format` (kAuto must be resolved first; it is treated as generic).
std::string BuildPayload(PayloadFormat format, const AlertFacts& facts, int64_t now_s);

}  // namespace jostle::collector::alerts
