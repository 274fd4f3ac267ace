// Small filesystem helpers of the cgroup sampler: directory listings, existence checks and
// symlinks under the cgroup and proc roots. Errors are "absent": a cgroup that vanished
// mid-listing is normal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jostle::agent {

bool IsDir(const std::string& path);
bool Exists(const std::string& path);
// dir + '/' + name (no doubled '/').
std::string JoinPath(const std::string& dir, std::string_view name);
// Subdirectory names of `dir`, sorted; empty when it cannot be listed.
std::vector<std::string> ListSubdirs(const std::string& dir);
// The target of a symlink (e.g. <proc>/PID/ns/net), nullopt when unreadable.
std::optional<std::string> ReadLink(const std::string& path);

}  // namespace jostle::agent
