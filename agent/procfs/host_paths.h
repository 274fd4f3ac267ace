// Where the host's /proc, /sys and cgroup trees are. Built once at start-up from flags
// (--proc-root, --sys-root, --cgroup-root) and passed in; never a global.
#pragma once

#include <string>

namespace jostle::agent {

struct HostPaths {
  std::string proc = "/proc";             // the host's procfs (in a pod: a hostPath mount)
  std::string sys = "/sys";               // the host's sysfs
  std::string cgroup = "/sys/fs/cgroup";  // the cgroup mount point (v2 root or v1 parent)

  // A fixture tree laid out like a host: <root>/proc, <root>/sys, <root>/sys/fs/cgroup.
  static HostPaths UnderRoot(const std::string& root) {
    return {root + "/proc", root + "/sys", root + "/sys/fs/cgroup"};
  }
};

}  // namespace jostle::agent
