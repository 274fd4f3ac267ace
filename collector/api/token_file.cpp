#include "collector/api/token_file.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace jostle::collector {
namespace {

std::array<uint8_t, 32> Sha256(std::string_view s) {
  std::array<uint8_t, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string ScopeNames(unsigned scopes) {
  std::string out;
  auto add = [&out](const char* name) {
    if (!out.empty()) out += ",";
    out += name;
  };
  if (scopes & kScopeAgent) add("agent");
  if (scopes & kScopeCi) add("ci");
  if (scopes & kScopeRead) add("read");
  return out;
}

bool NodePatternMatches(std::string_view pattern, std::string_view node) {
  // Greedy glob with backtracking to the last '*': linear in practice, O(n*m) at worst.
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < node.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == node[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool TokenGrant::MayWriteNode(std::string_view node) const {
  if (node_patterns.empty()) return true;
  for (const auto& p : node_patterns) {
    if (NodePatternMatches(p, node)) return true;
  }
  return false;
}

Result<TokenSet> TokenSet::Parse(std::string_view text, std::string_view source) {
  TokenSet set;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";
    size_t space = line.find_first_of(" \t");
    if (space == std::string_view::npos) {
      return Status::InvalidArgument(where + "expected 'SCOPES TOKEN'");
    }
    std::string_view scopes_text = line.substr(0, space);
    std::string_view token = Trim(line.substr(space + 1));
    if (token.find_first_of(" \t") != std::string_view::npos) {
      return Status::InvalidArgument(where + "token must not contain spaces");
    }
    if (token.size() < 8) {
      return Status::InvalidArgument(where + "token is shorter than 8 characters");
    }
    unsigned scopes = 0;
    bool any_node = false;
    std::vector<std::string> nodes;
    while (!scopes_text.empty()) {
      size_t comma = scopes_text.find(',');
      std::string_view name = scopes_text.substr(0, comma);
      scopes_text =
          comma == std::string_view::npos ? std::string_view() : scopes_text.substr(comma + 1);
      constexpr std::string_view kBound = "agent:node=";
      if (name == "agent") {
        scopes |= kScopeAgent;
        any_node = true;
      } else if (name.substr(0, kBound.size()) == kBound) {
        std::string_view pattern = name.substr(kBound.size());
        auto ok = [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                 c == '-' || c == '*';
        };
        if (pattern.empty() || pattern.size() > 253 ||
            !std::all_of(pattern.begin(), pattern.end(), ok)) {
          return Status::InvalidArgument(where + "node pattern '" + std::string(pattern) +
                                         "': expected 1..253 characters of A-Z a-z 0-9 . _ - *");
        }
        scopes |= kScopeAgent;
        nodes.emplace_back(pattern);
      } else if (name == "ci") {
        scopes |= kScopeCi;
      } else if (name == "read") {
        scopes |= kScopeRead;
      } else {
        return Status::InvalidArgument(where + "unknown scope '" + std::string(name) +
                                       "' (expected agent, agent:node=PATTERN, ci or read)");
      }
    }
    if (any_node) nodes.clear();
    set.entries_.push_back({Sha256(token), scopes, std::move(nodes)});
  }
  if (set.entries_.empty()) {
    return Status::InvalidArgument(std::string(source) + ": no tokens");
  }
  return set;
}

Result<TokenSet> TokenSet::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": read failed");
  auto set = Parse(text.str(), path);
  if (!set.ok()) return set;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    set->warnings_.push_back(path + " is readable by every user (mode " + mode +
                             "): anyone on this host can read the tokens; chmod o-r it (in "
                             "Kubernetes, defaultMode 0440 or stricter on the secret volume)");
  }
  return set;
}

TokenGrant TokenSet::Grant(std::string_view token) const {
  TokenGrant grant;
  if (token.empty()) return grant;
  auto digest = Sha256(token);
  const Entry* found = nullptr;
  for (const auto& e : entries_) {
    // No early exit: every entry is compared.
    unsigned match = CRYPTO_memcmp(digest.data(), e.digest.data(), digest.size()) == 0 ? 1 : 0;
    grant.scopes |= e.scopes & (0u - match);
    if (match != 0) found = &e;
  }
  // The same token on two lines: the last line's binding (Parse does not merge lines).
  if (found != nullptr) grant.node_patterns = found->node_patterns;
  return grant;
}

std::string_view BearerToken(std::string_view authorization) {
  authorization = Trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return {};
  }
  return Trim(authorization.substr(kScheme.size()));
}

}  // namespace jostle::collector
