// The cgroups above the one `jostle run` puts its command in, for the cgroup sampler to read
// and for attribution to treat as the command's own: a CPU quota or memory limit on any of
// them (a CI runner's --cpus on the job's container, a systemd slice's CPUQuota=, a pod
// slice) limits the command too. The command cgroup is created beneath this process's own
// cgroup in every hierarchy, so its ancestors are that cgroup and every cgroup above it,
// hierarchy by hierarchy: on a v1 host the cpu and memory hierarchies may place this process
// at different paths.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/status.h"

namespace jostle::collector {

// From the text of /proc/self/cgroup (`source` names it in errors): every path from this
// process's own cgroup up to (not including) the root, in the v1 cpu, cpuacct and memory
// hierarchies and the v2 one, deepest first within a hierarchy, each path once. Absolute
// names, as CgroupOptions::extra_cgroups takes them (sampled in each hierarchy that has
// the path). Empty when this process sits in every root.
Result<std::vector<std::string>> AncestorCgroupNames(std::string_view proc_self_cgroup,
                                                     std::string_view source);

// "/" when the v2 root this process sees under `cgroup_root` has a cpu.max: the root of a
// cgroup namespace (a container's), whose limit is the container's, and which
// AncestorCgroupNames leaves out. The host's own root has no cpu.max. nullopt otherwise.
std::optional<std::string> LimitedNamespaceRoot(const std::string& cgroup_root);

}  // namespace jostle::collector
