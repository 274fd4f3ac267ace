// Run identity on the wire: the results route's query parameters that name the CI run and
// job of an upload (commit, branch, default_branch, on_default_branch, pr, shard, attempt,
// url, provider, exit), their validation, and the same parameters written by `jostle upload`.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/store/result_store.h"
#include "jostle/status.h"

namespace jostle::collector {

// The results route's identity parameters, in the order RunIdentityQuery writes them.
const std::vector<std::string>& RunIdentityParams();

// Each field's rule; InvalidArgument naming the field and what was expected:
//   commit          4..64 hex digits (stored lower-case)
//   branch, default_branch  1..255 bytes of UTF-8 without control characters, spaces or any of
//                   ~ ^ : ? * [ \ (git's ref name rules)
//   pr              1..10 digits
//   provider        1..32 characters of a-z 0-9 . _ -
//   shard           1 <= index <= total <= 10000 (both or neither)
//   attempt         1..1000
//   url             an http:// or https:// URL, 1..2048 characters without spaces or control
//                   characters
//   exit_code       0..255
Status ValidateRunIdentity(const RunIdentity& id);

// A commit id as stored: A-F lower-cased (other characters unchanged, for the validator).
std::string NormalizeCommit(std::string commit);

// "I/N" (1-based). InvalidArgument naming the text.
Status ParseShard(std::string_view text, int* index, int* total);

// The identity from query parameters (RunIdentityParams; others are ignored here), validated.
// "on_default_branch" is true|false|1|0; commit is lower-cased.
Result<RunIdentity> RunIdentityFromQuery(const std::map<std::string, std::string>& query);

// The identity as query parameters (name, value), for the results route; unset fields absent.
std::vector<std::pair<std::string, std::string>> RunIdentityQuery(const RunIdentity& id);

// `given` with every unset field taken from `fallback` (flags over the CI's environment).
RunIdentity MergeRunIdentity(const RunIdentity& given, const RunIdentity& fallback);

// "name=value" for every set field, in RunIdentityParams order (for --verbose).
std::vector<std::string> DescribeRunIdentity(const RunIdentity& id);

}  // namespace jostle::collector
