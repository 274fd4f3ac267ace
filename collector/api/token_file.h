// API tokens: the --token-file format and constant-time checking.
//
// Format: one token per line, "SCOPES TOKEN", SCOPES a comma-separated subset of agent
// (POST /api/v1/samples), ci (POST /api/v1/runs/{run}/results) and read (every GET under
// /api/); '#' starts a comment; blank lines are ignored. Example:
//   # node agents
//   agent          3f9c...e1
//   ci,read        77ab...04
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/status.h"

namespace jostle::collector {

enum TokenScope : unsigned {
  kScopeAgent = 1u << 0,
  kScopeCi = 1u << 1,
  kScopeRead = 1u << 2,
};

// "agent,read" for a scope mask.
std::string ScopeNames(unsigned scopes);

class TokenSet {
 public:
  // Parses token file text. `source` names the file in errors ("tokens.txt:3: unknown scope
  // 'admin'"). An empty set (no token lines) is InvalidArgument: it would lock everyone out.
  static Result<TokenSet> Parse(std::string_view text, std::string_view source);
  // Reads and parses a file. A file that users other than its owner and group may read
  // is loaded with a warning (warnings()).
  static Result<TokenSet> Load(const std::string& path);

  // The scopes of `token`, 0 when it is unknown. Takes the same time whichever entry
  // matches (or none): each entry's SHA-256 is compared in constant time.
  unsigned ScopesOf(std::string_view token) const;
  size_t size() const { return entries_.size(); }
  // What Load found wrong but not fatal, one sentence each, for the log.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Entry {
    std::array<uint8_t, 32> digest;  // SHA-256 of the token
    unsigned scopes;
  };
  std::vector<Entry> entries_;
  std::vector<std::string> warnings_;
};

// The token of an "Authorization: Bearer TOKEN" header value; empty when it is not one.
std::string_view BearerToken(std::string_view authorization);

}  // namespace jostle::collector
