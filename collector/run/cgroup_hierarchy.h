// Which mounted cgroup hierarchy a /proc/PID/cgroup line refers to.
#pragma once

#include <string>

namespace jostle::collector {

// The mount directory under `root` of the hierarchy with `controllers` (the middle field of a
// /proc/self/cgroup line: "" for v2, "cpu,cpuacct", "memory", ...), or "" when it is not one
// jostle samples (v1 cpu, cpuacct and memory; the v2 hierarchy, pure or the `unified` mount
// of a hybrid host).
std::string CgroupHierarchyDir(const std::string& root, const std::string& controllers);

}  // namespace jostle::collector
