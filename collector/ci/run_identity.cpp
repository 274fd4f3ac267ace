#include "collector/ci/run_identity.h"

#include <charconv>
#include <optional>

namespace jostle::collector {
namespace {

Status Bad(std::string_view field, std::string_view value, std::string_view expected) {
  std::string shown(value.substr(0, 80));
  if (value.size() > 80) shown += "...";
  return Status::InvalidArgument(std::string(field) + " '" + shown + "': expected " +
                                 std::string(expected));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

template <typename Pred>
bool AllOf(std::string_view s, size_t min, size_t max, Pred ok) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

Status CheckBranch(std::string_view field, const std::string& b) {
  if (b.empty()) return Status::Ok();
  const bool chars_ok = AllOf(b, 1, 255, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f && c != '~' && c != '^' && c != ':' && c != '?' && c != '*' &&
           c != '[' && c != '\\';
  });
  if (!chars_ok || !IsUtf8(b) || b.find("..") != std::string::npos || b.front() == '-') {
    return Bad(field, b,
               "a branch name: 1..255 bytes of UTF-8, no spaces, control characters, '..' or "
               "any of ~ ^ : ? * [ \\, not starting with '-'");
  }
  return Status::Ok();
}

Result<int> IntInRange(std::string_view field, std::string_view text, int min, int max) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return Bad(field, text, "an integer " + std::to_string(min) + ".." + std::to_string(max));
  }
  return v;
}

}  // namespace

std::string NormalizeCommit(std::string commit) {
  for (char& c : commit) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return commit;
}

const std::vector<std::string>& RunIdentityParams() {
  static const std::vector<std::string> kParams = {
      "commit",   "branch", "default_branch", "on_default_branch", "pr", "shard", "attempt", "url",
      "provider", "exit"};
  return kParams;
}

Status ParseShard(std::string_view text, int* index, int* total) {
  const size_t slash = text.find('/');
  auto i = IntInRange("shard", text.substr(0, slash), 1, 10000);
  auto n = slash == std::string_view::npos ? Result<int>(Status::InvalidArgument(""))
                                           : IntInRange("shard", text.substr(slash + 1), 1, 10000);
  if (!i.ok() || !n.ok() || *i > *n) {
    return Bad("shard", text, "I/N with 1 <= I <= N <= 10000 (this job's shard of N)");
  }
  *index = *i;
  *total = *n;
  return Status::Ok();
}

Status ValidateRunIdentity(const RunIdentity& id) {
  if (!id.commit.empty() && !AllOf(id.commit, 4, 64, IsHex)) {
    return Bad("commit", id.commit, "4..64 hex digits (a commit id)");
  }
  JOSTLE_RETURN_IF_ERROR(CheckBranch("branch", id.branch));
  JOSTLE_RETURN_IF_ERROR(CheckBranch("default_branch", id.default_branch));
  if (!id.pr.empty() && !AllOf(id.pr, 1, 10, IsDigit)) {
    return Bad("pr", id.pr, "1..10 digits (a pull or merge request number)");
  }
  if (!id.provider.empty() && !AllOf(id.provider, 1, 32, [](char c) {
        return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '.' || c == '_' || c == '-';
      })) {
    return Bad("provider", id.provider, "1..32 characters of a-z 0-9 . _ -");
  }
  if (id.shard_index.has_value() != id.shard_total.has_value() ||
      (id.shard_index &&
       (*id.shard_index < 1 || *id.shard_index > *id.shard_total || *id.shard_total > 10000))) {
    return Status::InvalidArgument("shard: expected I/N with 1 <= I <= N <= 10000");
  }
  if (id.attempt && (*id.attempt < 1 || *id.attempt > 1000)) {
    return Bad("attempt", std::to_string(*id.attempt), "an integer 1..1000");
  }
  if (!id.url.empty()) {
    const bool scheme = id.url.rfind("http://", 0) == 0 || id.url.rfind("https://", 0) == 0;
    const bool chars = AllOf(id.url, 1, 2048, [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u > 0x20 && u != 0x7f;
    });
    if (!scheme || !chars) {
      return Bad("url", id.url,
                 "an http:// or https:// URL of at most 2048 characters without spaces");
    }
  }
  if (id.exit_code && (*id.exit_code < 0 || *id.exit_code > 255)) {
    return Bad("exit", std::to_string(*id.exit_code), "an integer 0..255");
  }
  return Status::Ok();
}

Result<RunIdentity> RunIdentityFromQuery(const std::map<std::string, std::string>& query) {
  RunIdentity id;
  auto get = [&](const char* name) -> const std::string* {
    auto it = query.find(name);
    return it == query.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (const std::string* v = get("commit")) id.commit = NormalizeCommit(*v);
  if (const std::string* v = get("branch")) id.branch = *v;
  if (const std::string* v = get("default_branch")) id.default_branch = *v;
  if (const std::string* v = get("on_default_branch")) {
    if (*v == "true" || *v == "1") {
      id.on_default_branch = true;
    } else if (*v == "false" || *v == "0") {
      id.on_default_branch = false;
    } else {
      return Bad("on_default_branch", *v, "true, false, 1 or 0");
    }
  }
  if (const std::string* v = get("pr")) id.pr = *v;
  if (const std::string* v = get("provider")) id.provider = *v;
  if (const std::string* v = get("shard")) {
    int i = 0, n = 0;
    JOSTLE_RETURN_IF_ERROR(ParseShard(*v, &i, &n));
    id.shard_index = i;
    id.shard_total = n;
  }
  if (const std::string* v = get("attempt")) {
    auto a = IntInRange("attempt", *v, 1, 1000);
    if (!a.ok()) return a.status();
    id.attempt = *a;
  }
  if (const std::string* v = get("url")) id.url = *v;
  if (const std::string* v = get("exit")) {
    auto e = IntInRange("exit", *v, 0, 255);
    if (!e.ok()) return e.status();
    id.exit_code = *e;
  }
  JOSTLE_RETURN_IF_ERROR(ValidateRunIdentity(id));
  return id;
}

std::vector<std::pair<std::string, std::string>> RunIdentityQuery(const RunIdentity& id) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const char* name, const std::string& v) {
    if (!v.empty()) out.emplace_back(name, v);
  };
  add("commit", id.commit);
  add("branch", id.branch);
  add("default_branch", id.default_branch);
  if (id.on_default_branch)
    out.emplace_back("on_default_branch", *id.on_default_branch ? "true" : "false");
  add("pr", id.pr);
  if (id.shard_index && id.shard_total) {
    out.emplace_back("shard",
                     std::to_string(*id.shard_index) + "/" + std::to_string(*id.shard_total));
  }
  if (id.attempt) out.emplace_back("attempt", std::to_string(*id.attempt));
  add("url", id.url);
  add("provider", id.provider);
  if (id.exit_code) out.emplace_back("exit", std::to_string(*id.exit_code));
  return out;
}

RunIdentity MergeRunIdentity(const RunIdentity& given, const RunIdentity& fallback) {
  RunIdentity out = given;
  auto str = [](std::string& to, const std::string& from) {
    if (to.empty()) to = from;
  };
  str(out.commit, fallback.commit);
  str(out.branch, fallback.branch);
  str(out.default_branch, fallback.default_branch);
  if (!out.on_default_branch) out.on_default_branch = fallback.on_default_branch;
  str(out.pr, fallback.pr);
  str(out.provider, fallback.provider);
  if (!out.shard_index) {
    out.shard_index = fallback.shard_index;
    out.shard_total = fallback.shard_total;
  }
  if (!out.attempt) out.attempt = fallback.attempt;
  str(out.url, fallback.url);
  if (!out.exit_code) out.exit_code = fallback.exit_code;
  return out;
}

std::vector<std::string> DescribeRunIdentity(const RunIdentity& id) {
  std::vector<std::string> out;
  for (const auto& [name, value] : RunIdentityQuery(id)) out.push_back(name + "=" + value);
  return out;
}

}  // namespace jostle::collector
