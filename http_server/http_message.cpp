// The Beast-free parts of the HTTP server: header lookup, target and address parsing.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http_server/http_server.h"

namespace jostle {
namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return Lower(x) < Lower(y); });
}

std::optional<std::string> HttpServerRequest::Header(std::string_view name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::string HttpServerRequest::Query(const std::string& name, std::string fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

HttpServerResponse JsonError(int status, std::string_view error, std::string_view detail) {
  nlohmann::json j = {{"error", error}, {"detail", detail}};
  HttpServerResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Result<std::pair<std::string, uint16_t>> ParseListenAddress(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("listen address '" + std::string(text) +
                                     "': expected [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("listen address '" + std::string(text) +
                                     "': expected HOST:PORT");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Status::InvalidArgument("listen address '" + std::string(text) + "': port '" +
                                   std::string(port) + "' is not a number in 0..65535");
  }
  return std::pair<std::string, uint16_t>(std::string(host), static_cast<uint16_t>(value));
}

Result<std::string> PercentDecode(std::string_view text, bool form) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("bad percent escape at offset " + std::to_string(i) +
                                       " in '" + std::string(text) + "'");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && form) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Status CheckTransferEncoding(std::string_view value) {
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  auto trim = [&](std::string_view v) {
    while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
    while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
    return v;
  };
  auto iequals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (Lower(a[i]) != Lower(b[i])) return false;
    }
    return true;
  };
  std::string shown(value.substr(0, 100));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  std::vector<std::string_view> codings;
  std::string_view rest = value;
  for (;;) {
    size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    // Empty list elements are allowed and ignored (RFC 9110 §5.6.1).
    if (!item.empty()) codings.push_back(trim(item.substr(0, item.find(';'))));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (codings.empty() || !iequals(codings.back(), "chunked")) {
    return Status::InvalidArgument("Transfer-Encoding '" + shown +
                                   "': the final transfer coding of a request must be chunked");
  }
  for (size_t i = 0; i + 1 < codings.size(); ++i) {
    if (iequals(codings[i], "chunked")) {
      return Status::InvalidArgument("Transfer-Encoding '" + shown +
                                     "': chunked is applied more than once");
    }
    if (codings[i].empty()) {
      return Status::InvalidArgument("Transfer-Encoding '" + shown + "': a coding has no name");
    }
  }
  if (codings.size() > 1) {
    return Status::Unsupported("Transfer-Encoding '" + shown +
                               "': only chunked is understood; send the body chunked alone");
  }
  return Status::Ok();
}

Status SplitTarget(std::string_view target, std::string* path,
                   std::map<std::string, std::string>* query) {
  size_t q = target.find('?');
  *path = std::string(target.substr(0, q));
  query->clear();
  if (q == std::string_view::npos) return Status::Ok();
  std::string_view rest = target.substr(q + 1);
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    if (!key.ok()) return key.status().WithContext("query");
    std::string value;
    if (eq != std::string_view::npos) {
      auto v = PercentDecode(pair.substr(eq + 1), true);
      if (!v.ok()) return v.status().WithContext("query parameter " + *key);
      value = std::move(*v);
    }
    (*query)[*key] = std::move(value);
  }
  return Status::Ok();
}

}  // namespace jostle
