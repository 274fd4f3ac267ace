#include "collector/alerts/payload.h"

#include <ctime>
#include <nlohmann/json.hpp>

namespace jostle::collector::alerts {
namespace {

using nlohmann::json;

// Block Kit limits (api.slack.com/reference/block-kit/blocks): header text 150 characters,
// section text 3000 characters.
constexpr size_t kSlackHeaderMax = 150;
constexpr size_t kSlackSectionMax = 3000;

json NullIfEmpty(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::string Rfc3339Utc(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Cuts at a UTF-8 character boundary so the result stays valid UTF-8.
std::string Truncate(std::string s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s += "...";
  return s;
}

// Text inside `code` spans: mrkdwn-escaped, with backticks replaced so the span cannot close.
std::string Code(std::string_view text) {
  std::string escaped = EscapeSlackMrkdwn(text);
  for (char& c : escaped) {
    if (c == '`') c = '\'';
  }
  return "`" + escaped + "`";
}

std::string Plural(int n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

int ListedOrCounted(const AlertFacts& facts) {
  int n = 0;
  for (const auto& [verdict, count] : facts.verdict_counts) {
    if (verdict == kVerdictContention || verdict == kVerdictContentionPossible) n += count;
  }
  return n > 0 ? n : static_cast<int>(facts.failures.size());
}

std::string VerdictSummary(const AlertFacts& facts) {
  std::string out;
  for (const auto& [verdict, count] : facts.verdict_counts) {
    if (count <= 0) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(count) + " " + Code(verdict);
  }
  return out;
}

json MrkdwnSection(const std::string& text) {
  return {{"type", "section"},
          {"text", {{"type", "mrkdwn"}, {"text", Truncate(text, kSlackSectionMax)}}}};
}

}  // namespace

Result<PayloadFormat> ParsePayloadFormat(std::string_view name) {
  if (name == "auto" || name.empty()) return PayloadFormat::kAuto;
  if (name == "generic" || name == "json") return PayloadFormat::kGeneric;
  if (name == "slack") return PayloadFormat::kSlack;
  return Status::InvalidArgument("webhook format \"" + std::string(name) +
                                 "\" is not one of auto, generic, slack");
}

std::string_view PayloadFormatName(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::kAuto:
      return "auto";
    case PayloadFormat::kGeneric:
      return "generic";
    case PayloadFormat::kSlack:
      return "slack";
  }
  return "generic";
}

bool IsSlackWebhookUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) return false;
  url.remove_prefix(kScheme.size());
  for (std::string_view host : {"hooks.slack.com/services/", "hooks.slack-gov.com/services/"}) {
    if (url.starts_with(host)) return true;
  }
  return false;
}

PayloadFormat ResolveFormat(PayloadFormat format, std::string_view url) {
  if (format != PayloadFormat::kAuto) return format;
  return IsSlackWebhookUrl(url) ? PayloadFormat::kSlack : PayloadFormat::kGeneric;
}

std::string EscapeSlackMrkdwn(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string BuildGenericPayload(const AlertFacts& facts, int64_t now_s) {
  json counts = json::object();
  counts["failed"] = facts.failures_total;
  for (const auto& [verdict, count] : facts.verdict_counts) {
    if (verdict != "failed") counts[verdict] = count;
  }
  json failures = json::array();
  for (const auto& f : facts.failures) {
    failures.push_back({{"test", f.test},
                        {"verdict", f.verdict},
                        {"resource", NullIfEmpty(f.resource)},
                        {"culprit", NullIfEmpty(f.culprit)},
                        {"node", NullIfEmpty(f.node)},
                        {"pod", NullIfEmpty(f.pod)}});
  }
  json doc = {{"type", kAlertEventType},
              {"timestamp", Rfc3339Utc(now_s)},
              {"run", facts.run},
              {"job", NullIfEmpty(facts.job)},
              {"counts", counts},
              {"failures", failures},
              {"report_url", NullIfEmpty(facts.report_url)}};
  // Invalid UTF-8 in test names is replaced rather than thrown on.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string BuildSlackPayload(const AlertFacts& facts) {
  const int contended = ListedOrCounted(facts);
  std::string where = "run " + facts.run + (facts.job.empty() ? "" : " (job " + facts.job + ")");
  std::string fallback = "jostle: " + Plural(contended, "test failure", "test failures") + " in " +
                         where + " caused by resource contention";

  json blocks = json::array();
  blocks.push_back({{"type", "header"},
                    {"text",
                     {{"type", "plain_text"},
                      {"text", Truncate("Contention broke " + Plural(contended, "test", "tests") +
                                            " in run " + facts.run,
                                        kSlackHeaderMax)},
                      {"emoji", false}}}});

  std::string summary = "*Run* " + Code(facts.run);
  if (!facts.job.empty()) summary += "  *Job* " + Code(facts.job);
  summary += "\n*Failed:* " + std::to_string(facts.failures_total);
  std::string verdicts = VerdictSummary(facts);
  if (!verdicts.empty()) summary += " — " + verdicts;
  blocks.push_back(MrkdwnSection(summary));

  const size_t shown = std::min(facts.failures.size(), static_cast<size_t>(kSlackMaxFailures));
  for (size_t i = 0; i < shown; ++i) {
    const auto& f = facts.failures[i];
    std::string text = "*" + EscapeSlackMrkdwn(f.test) + "*\n" + Code(f.verdict);
    text += " · " + (f.resource.empty() ? std::string("resource unknown") : f.resource);
    if (!f.culprit.empty()) text += " · culprit " + Code(f.culprit);
    if (!f.node.empty()) text += " · node " + Code(f.node);
    if (!f.pod.empty()) text += " · pod " + Code(f.pod);
    blocks.push_back(MrkdwnSection(text));
  }
  if (facts.failures.size() > shown) {
    blocks.push_back(
        MrkdwnSection("_and " + std::to_string(facts.failures.size() - shown) + " more_"));
  }

  std::string link =
      facts.report_url.empty()
          ? std::string("No report link: the collector has no public URL set")
          : "<" + EscapeSlackMrkdwn(facts.report_url) + "|Open the contention report>";
  blocks.push_back(
      {{"type", "context"}, {"elements", json::array({{{"type", "mrkdwn"}, {"text", link}}})}});

  json doc = {{"text", EscapeSlackMrkdwn(fallback)}, {"blocks", blocks}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string BuildPayload(PayloadFormat format, const AlertFacts& facts, int64_t now_s) {
  return format == PayloadFormat::kSlack ? BuildSlackPayload(facts)
                                         : BuildGenericPayload(facts, now_s);
}

}  // namespace jostle::collector::alerts
