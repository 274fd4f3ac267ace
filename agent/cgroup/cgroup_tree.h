// The tree walk: which pods, containers and plain cgroups the hierarchies hold, and where.
//
// Kubernetes pods and containers: every hierarchy is walked from its root, to
// CgroupOptions::kube_search_depth levels, looking for pod directories (kube_path.h) below a
// directory whose name contains "kubepods", wherever that sits. The directories directly
// under a pod directory are its containers. The same pod or container found in several
// hierarchies is one series: hierarchies are joined by pod UID and container id, never by
// path. Plain cgroups (Scope::kCgroup) are discovered to CgroupOptions::plain_cgroup_depth
// levels outside every kubepods subtree, or named in CgroupOptions::extra_cgroups (see
// cgroup_sampler.h for how names resolve); a discovered cgroup sharing a directory with a
// named one is dropped in favour of the named one.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/cgroup/cgroup_layout.h"
#include "agent/cgroup/cgroup_sampler.h"
#include "agent/cgroup/kube_path.h"
#include "agent/cgroup/once_warnings.h"
#include "jostle/sample.h"

namespace jostle::agent {

using SeriesKey = std::pair<Scope, std::string>;  // (scope, id), the order samples come in

// A cgroup whose processes belong to a pod.
struct ProcDir {
  std::string dir;
  // Also look in its children (containers: crun under a systemd manager puts a container's
  // processes in a "container" child of its scope; Docker-in-Docker on v2 moves its own
  // processes to an "init" child). Not deeper: grandchildren are where nested runtimes put
  // their containers, in network namespaces of their own.
  bool children = false;
};

// Where one series lives, as found by a walk.
struct Found {
  std::string path;  // relative to the root of the first hierarchy holding it
  std::string pod_uid, container_id, qos;
  std::vector<std::string> dirs;  // per hierarchy; empty where absent
  // Pods: cgroups whose cgroup.procs may name a process of the pod, in the order tried: the
  // pod's own directories, then its containers' (not CRI-O's conmon, which is in the
  // host's network namespace).
  std::vector<ProcDir> proc_dirs;
};

struct TreeScan {
  std::map<SeriesKey, Found> found;
  CgroupDriver driver = CgroupDriver::kNone;  // from the first kubepods or pod directory
};

// Walks every hierarchy of `layout`. `root` (the cgroup root) names where a missing named
// cgroup was looked for in its warning.
TreeScan ScanTrees(const std::vector<Hierarchy>& hierarchies, const CgroupOptions& options,
                   const std::string& root, OnceWarnings& warnings);

}  // namespace jostle::agent
