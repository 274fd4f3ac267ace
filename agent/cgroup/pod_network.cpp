#include "agent/cgroup/pod_network.h"

#include <utility>

#include "agent/cgroup/cgroup_fs.h"
#include "agent/cgroup/cgroup_parsers.h"
#include "agent/procfs/net_dev.h"
#include "agent/procfs/open_file.h"

namespace jostle::agent {

std::optional<std::string> ReadHostNetns(const std::string& proc, bool any_pod,
                                         OnceWarnings& warnings) {
  if (!any_pod) return std::nullopt;
  const std::string link = JoinPath(proc, "1/ns/net");
  auto netns = ReadLink(link);
  if (!netns) {
    warnings.Warn("host_netns", link +
                                    " is unreadable: hostNetwork pods cannot be told apart and "
                                    "carry the node's network counters");
  }
  return netns;
}

// Looks at the first pid in cgroup.procs of `dir`: true when it names a visible process,
// whose network namespace then decides host_network_ or net_path_.
bool PodNetwork::ResolveFrom(const PodNetworkContext& ctx, const std::string& dir) {
  auto procs = OpenFile::ReadOnce(JoinPath(dir, "cgroup.procs"), ctx.read_buf);
  if (!procs.ok()) return false;
  auto pid = FirstPid(*procs);
  if (!pid) return false;
  std::string pid_dir = JoinPath(ctx.proc, std::to_string(*pid));
  auto netns = ReadLink(JoinPath(pid_dir, "ns/net"));
  if (!netns) return false;  // exited, or not visible from this proc root
  if (ctx.host_netns && *netns == *ctx.host_netns) {
    host_network_ = true;
  } else {
    net_path_ = JoinPath(pid_dir, "net/dev");
  }
  return true;
}

// Finds a process of the pod and its network namespace: in the pod's and its containers'
// own cgroups first, then in the containers' children. Keeps the kept net/dev file when the
// process found is the same as before.
void PodNetwork::Resolve(const PodNetworkContext& ctx, const std::vector<ProcDir>& dirs) {
  resolved_ = true;
  host_network_ = false;
  std::string old_path = std::move(net_path_);
  net_path_.clear();
  bool resolved = false;
  for (const ProcDir& dir : dirs) {
    if ((resolved = ResolveFrom(ctx, dir.dir))) break;
  }
  for (size_t i = 0; !resolved && i < dirs.size(); ++i) {
    if (!dirs[i].children) continue;
    for (const std::string& child : ListSubdirs(dirs[i].dir)) {
      if ((resolved = ResolveFrom(ctx, JoinPath(dirs[i].dir, child)))) break;
    }
  }
  if (net_dev_ && (net_path_.empty() || net_path_ != old_path)) {
    net_dev_->Close(ctx.budget);
    net_dev_.reset();
  }
  if (!net_path_.empty() && !net_dev_) net_dev_.emplace(ReadRate::kEveryTick);
}

void PodNetwork::Read(const PodNetworkContext& ctx, const std::vector<ProcDir>& dirs,
                      CgroupSample& out) {
  if (!resolved_) Resolve(ctx, dirs);
  out.host_network = host_network_;
  for (int attempt = 0; attempt < 2 && net_dev_; ++attempt) {
    auto text = net_dev_->Read(
        ctx.budget, ctx.read_buf, [&]() -> const std::string& { return net_path_; },
        [&](const Status& st) { WarnOpenFilesExhausted(ctx.warnings, st); });
    if (text.ok()) {
      auto ifs = ParseNetDev(*text, net_path_);
      if (ifs.ok()) {
        out.net = SumExceptLoopback(*ifs);
        return;
      }
      ctx.warnings.Warn("parse:net/dev", ifs.status().ToString() +
                                             " (warned once; pod network counters stay absent)");
      return;
    }
    // The process left: pick another one of the pod once.
    Close(ctx.budget);
    Resolve(ctx, dirs);
    out.host_network = host_network_;
  }
}

void PodNetwork::Close(KeptFileBudget& budget) {
  if (net_dev_) net_dev_->Close(budget);
  net_dev_.reset();
}

}  // namespace jostle::agent
