// API tokens: the --token-file format and constant-time checking.
//
// Format: one token per line, "SCOPES TOKEN", SCOPES a comma-separated subset of agent
// (POST /api/v1/samples), ci (POST /api/v1/runs/{run}/results) and read (every GET under
// /api/); '#' starts a comment; blank lines are ignored. An agent scope may be bound to
// nodes: "agent:node=PATTERN" lets the token write samples only for nodes whose name
// matches PATTERN ('*' matches any run of characters); repeat it for several patterns.
// Example:
//   # node agents
//   agent                              3f9c...e1
//   agent:node=ci-pool-*               5d02...9a
//   agent:node=gpu-1,agent:node=gpu-2  c1e8...7f
//   ci,read                            77ab...04
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

// True when `node` matches `pattern`, in which '*' stands for any run of characters.
bool NodePatternMatches(std::string_view pattern, std::string_view node);

// What a token may do.
struct TokenGrant {
  unsigned scopes = 0;  // 0: unknown token
  // For an agent token bound to nodes, the patterns of the nodes it may write samples
  // for; empty: any node.
  std::vector<std::string> node_patterns;
  bool MayWriteNode(std::string_view node) const;
};

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
  unsigned ScopesOf(std::string_view token) const { return Grant(token).scopes; }
  // The scopes and node binding of `token` (scopes 0 when unknown); same timing contract.
  TokenGrant Grant(std::string_view token) const;
  size_t size() const { return entries_.size(); }
  // What Load found wrong but not fatal, one sentence each, for the log.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Entry {
    std::array<uint8_t, 32> digest;  // SHA-256 of the token
    unsigned scopes;
    std::vector<std::string> node_patterns;  // empty: any node
  };
  std::vector<Entry> entries_;
  std::vector<std::string> warnings_;
};

// The token of an "Authorization: Bearer TOKEN" header value; empty when it is not one.
std::string_view BearerToken(std::string_view authorization);

}  // namespace jostle::collector
