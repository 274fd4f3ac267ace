#include "collector/results/parse_results.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

#include "collector/results/parsers.h"
#include "collector/results/text_scan.h"
#include "jostle/wire.h"

namespace jostle::collector {
namespace {

constexpr std::string_view kAccepted =
    "accepted: JUnit XML (application/xml, text/xml), pytest report-log or go test -json JSON "
    "lines (application/x-ndjson, application/jsonl) and jostle-results/v1 JSON "
    "(application/json), optionally gzip-compressed";

enum class Format { kUnknown, kJUnit, kReportLog, kGoTestJson, kJostleJson };

// The media type without parameters, lower case, trimmed.
std::string MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  return AsciiLower(t);
}

std::string_view SkipBomAndSpace(std::string_view s) {
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

// JSON lines whose first line is an object with `key`.
bool FirstLineHasKey(std::string_view first_line, std::string_view key) {
  if (first_line.find("\"" + std::string(key) + "\"") == std::string_view::npos) return false;
  nlohmann::json j = nlohmann::json::parse(first_line, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains(key);
}

// For a body starting with '{': report-log when its first line is a JSON object with a
// "$report_type" key, go test -json with an "Action" key, jostle JSON when the document has
// a top-level "format" key.
Format SniffJson(std::string_view body) {
  std::string_view first_line = body.substr(0, body.find('\n'));
  if (FirstLineHasKey(first_line, "$report_type")) return Format::kReportLog;
  if (FirstLineHasKey(first_line, "Action")) return Format::kGoTestJson;
  if (body.find("\"format\"") != std::string_view::npos) return Format::kJostleJson;
  return Format::kUnknown;
}

// go test -json with stderr merged in starts with build output: the first line that starts
// with '{' (within the first 64 KiB) has an "Action".
bool GoTestJsonAfterText(std::string_view body) {
  for (size_t pos = 0; pos < body.size() && pos < (64u << 10);) {
    size_t nl = body.find('\n', pos);
    std::string_view line = body.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (line.starts_with("{")) return FirstLineHasKey(line, "Action");
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return false;
}

}  // namespace

std::string Where(const ParseOptions& options, int line) {
  std::string out = options.source_name.empty() ? "body" : options.source_name;
  if (line > 0) out += ":" + std::to_string(line);
  return out + ": ";
}

std::string ContentDigest(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int k = 0; k < len; ++k) {
    out += kHex[digest[k] >> 4];
    out += kHex[digest[k] & 0xf];
  }
  return out;
}

Result<ResultSet> ParseResults(std::string_view body, std::string_view content_type,
                               const ParseOptions& options) {
  if (body.size() > options.max_bytes) {
    return Status::ResourceExhausted(Where(options, 0) + "body of " + std::to_string(body.size()) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(options.max_bytes) + " bytes");
  }
  std::string inflated;
  if (LooksGzipped(body)) {
    Result<std::string> plain = Gunzip(body, options.max_bytes);
    if (!plain.ok()) {
      if (plain.status().code() == Status::Code::kResourceExhausted) {
        return Status::ResourceExhausted(Where(options, 0) +
                                         "gzip body inflates to more than the limit of " +
                                         std::to_string(options.max_bytes) + " bytes");
      }
      return Status::InvalidArgument(Where(options, 0) +
                                     "bad gzip body: " + plain.status().message());
    }
    inflated = std::move(plain).value();
    body = inflated;
  }
  if (std::optional<size_t> bad = FindInvalidUtf8(body)) {
    LineIndex lines(body.substr(0, *bad));
    return Status::InvalidArgument(Where(options, lines.LineOf(*bad)) +
                                   "invalid UTF-8 at byte offset " + std::to_string(*bad));
  }

  const std::string type = MediaType(content_type);
  const std::string_view start = SkipBomAndSpace(body);
  Format format = Format::kUnknown;
  if (type == "application/xml" || type == "text/xml" || type.ends_with("+xml")) {
    format = Format::kJUnit;
  } else if (type == "application/x-ndjson" || type == "application/jsonl" ||
             type == "application/x-jsonlines" || type == "application/jsonlines") {
    format = start.starts_with("{") && SniffJson(start) == Format::kGoTestJson ? Format::kGoTestJson
                                                                               : Format::kReportLog;
  } else if (type == "application/json") {
    format = start.starts_with("{") ? SniffJson(start) : Format::kUnknown;
    if (format == Format::kUnknown) {
      return Status::Unsupported(Where(options, 0) +
                                 "JSON body is neither jostle-results/v1 (no \"format\"), "
                                 "pytest report-log (no \"$report_type\") nor go test -json "
                                 "(no \"Action\"); " +
                                 std::string(kAccepted));
    }
  } else if (start.starts_with("<")) {
    format = Format::kJUnit;
  } else if (start.starts_with("{")) {
    format = SniffJson(start);
  } else if (GoTestJsonAfterText(start)) {
    format = Format::kGoTestJson;
  }

  switch (format) {
    case Format::kJUnit:
      if (!start.starts_with("<")) {
        return Status::InvalidArgument(Where(options, 1) +
                                       "Content-Type says XML but the body does not start with "
                                       "'<'");
      }
      return ParseJUnitXml(body, options);
    case Format::kReportLog:
      return ParseReportLog(body, options);
    case Format::kGoTestJson:
      return ParseGoTestJson(body, options);
    case Format::kJostleJson:
      return ParseJostleJson(body, options);
    case Format::kUnknown:
      break;
  }
  std::string what = type.empty() ? "body" : "Content-Type \"" + Truncate(type, 100) + "\"";
  return Status::Unsupported(Where(options, 0) + "cannot tell the results format of this " + what +
                             "; " + std::string(kAccepted));
}

Result<int> ParseTzOffset(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("tz \"" + Truncate(text, 32) + "\" " + std::string(why) +
                                   "; expected UTC, Z or an offset like +02:00, -0530, +2");
  };
  const std::string lower = AsciiLower(text);
  if (lower == "utc" || lower == "z" || lower == "gmt") return 0;
  if (text.empty() || (text[0] != '+' && text[0] != '-')) return bad("is not an offset");
  const int sign = text[0] == '-' ? -1 : 1;
  std::string digits;
  size_t colon = std::string_view::npos;
  for (size_t i = 1; i < text.size(); ++i) {
    if (text[i] == ':' && colon == std::string_view::npos && !digits.empty()) {
      colon = digits.size();
    } else if (std::isdigit(static_cast<unsigned char>(text[i]))) {
      digits.push_back(text[i]);
    } else {
      return bad("has an unexpected character");
    }
  }
  int hours = 0, minutes = 0;
  if (colon != std::string_view::npos) {
    if (colon > 2 || digits.size() - colon != 2) return bad("is malformed");
    hours = std::stoi(digits.substr(0, colon));
    minutes = std::stoi(digits.substr(colon));
  } else if (digits.size() == 1 || digits.size() == 2) {
    hours = std::stoi(digits);
  } else if (digits.size() == 3 || digits.size() == 4) {
    hours = std::stoi(digits.substr(0, digits.size() - 2));
    minutes = std::stoi(digits.substr(digits.size() - 2));
  } else {
    return bad("is malformed");
  }
  if (minutes > 59) return bad("has minutes above 59");
  if (hours > 18 || (hours == 18 && minutes > 0)) return bad("is beyond +-18:00");
  return sign * (hours * 3600 + minutes * 60);
}

}  // namespace jostle::collector
