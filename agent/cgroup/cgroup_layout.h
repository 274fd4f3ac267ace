// Which cgroup hierarchies a host has under its cgroup root, detected once at start-up:
//   v2      the root holds cgroup.controllers: one hierarchy gives cpu, memory and PSI.
//   v1      the root holds one directory per controller mount ("cpu", "cpuacct",
//           "cpu,cpuacct", "memory", ...; symlinks to a combined mount are followed and
//           deduplicated); cpu, cpuacct and memory are read.
//   hybrid  v1 as above plus "unified/" holding a v2 hierarchy, read for PSI only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/cgroup/once_warnings.h"
#include "jostle/status.h"

namespace jostle::agent {

// One cgroup hierarchy (a v2 tree, or one v1 controller mount).
struct Hierarchy {
  std::string mount;  // absolute directory
  bool v2 = false;
  bool psi_only = false;        // hybrid hosts: the unified/ tree carries no controllers
  bool cpu = false;             // v1 cpu controller
  bool cpuacct = false;         // v1 cpuacct controller
  bool memory = false;          // v1 memory controller
  std::string self_path = "/";  // this process's cgroup in the hierarchy
};

struct CgroupLayout {
  std::vector<Hierarchy> hierarchies;
  // "cgroup" = "v2" | "v1" | "hybrid"; "cgroup_psi" = "available" | "disabled" | "absent";
  // "cgroup_driver" = "none" (the tree walk sets it once it finds kubepods).
  std::map<std::string, std::string> facts;
  bool psi_disabled = false;  // compiled in, off at boot: reads fail with EOPNOTSUPP
};

// Detects the hierarchies under `root`. `self_cgroup_file` (/proc/self/cgroup; empty: none)
// gives this process's cgroup in each. Errors: NotFound when root is not a directory,
// Unsupported when it holds no hierarchy.
Result<CgroupLayout> DetectLayout(const std::string& root, const std::string& self_cgroup_file,
                                  OnceWarnings& warnings);

}  // namespace jostle::agent
