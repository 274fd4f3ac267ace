// A pod's network: the counters of its own network namespace, or host_network when it
// shares the node's.
//
// The process is the first pid in cgroup.procs of the pod's or its containers' cgroups,
// else of the containers' children (ProcDir::children), never deeper. When <proc>/<pid>/ns/net
// and <proc>/1/ns/net name the same namespace the pod is hostNetwork: host_network = true and
// net stays nullopt; otherwise net is <proc>/<pid>/net/dev summed over interfaces except lo,
// kept open through the budget. A process that left is replaced once per read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/cgroup/cgroup_tree.h"
#include "agent/cgroup/once_warnings.h"
#include "agent/procfs/kept_file.h"
#include "jostle/sample.h"

namespace jostle::agent {

// What every pod's lookup shares, owned by the sampler.
struct PodNetworkContext {
  const std::string& proc;                       // HostPaths::proc
  const std::optional<std::string>& host_netns;  // readlink <proc>/1/ns/net
  KeptFileBudget& budget;
  std::string& read_buf;
  OnceWarnings& warnings;
};

// <proc>/1/ns/net, read only when there is a pod (outside Kubernetes there is nothing to
// tell apart: no reading, no warning); warned once when unreadable.
std::optional<std::string> ReadHostNetns(const std::string& proc, bool any_pod,
                                         OnceWarnings& warnings);

class PodNetwork {
 public:
  // Looks for the pod's process again at the next Read (its cgroups were listed again).
  void Forget() { resolved_ = false; }
  // Fills out.host_network and out.net.
  void Read(const PodNetworkContext& ctx, const std::vector<ProcDir>& dirs, CgroupSample& out);
  void Close(KeptFileBudget& budget);

 private:
  bool ResolveFrom(const PodNetworkContext& ctx, const std::string& dir);
  void Resolve(const PodNetworkContext& ctx, const std::vector<ProcDir>& dirs);

  bool resolved_ = false;
  bool host_network_ = false;
  std::optional<KeptFile> net_dev_;
  std::string net_path_;  // <proc>/<pid>/net/dev
};

}  // namespace jostle::agent
