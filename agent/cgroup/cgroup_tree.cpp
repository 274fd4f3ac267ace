#include "agent/cgroup/cgroup_tree.h"

#include <iterator>
#include <set>
#include <string_view>

#include "agent/cgroup/cgroup_fs.h"

namespace jostle::agent {
namespace {

class TreeWalk {
 public:
  TreeWalk(const std::vector<Hierarchy>& hierarchies, const CgroupOptions& options)
      : hierarchies_(hierarchies), options_(options) {}

  void WalkAll() {
    for (size_t h = 0; h < hierarchies_.size(); ++h) {
      Walk(h, hierarchies_[h].mount, "", 0, false, "");
    }
  }
  // Records the cgroups named in the options; false for a name no hierarchy holds.
  bool AddNamed(const std::string& name, std::set<std::string>& named_dirs);
  TreeScan& scan() { return scan_; }

 private:
  Found& Record(Scope scope, std::string id, size_t h, const std::string& dir,
                const std::string& rel) {
    Found& f = scan_.found[{scope, std::move(id)}];
    if (f.dirs.empty()) f.dirs.resize(hierarchies_.size());
    if (f.path.empty()) f.path = rel;
    if (f.dirs[h].empty()) f.dirs[h] = dir;
    return f;
  }
  void RecordPod(size_t h, const PodDirName& pod, const std::string& dir, const std::string& rel,
                 std::string_view parent_name);
  void Walk(size_t h, const std::string& dir, const std::string& rel, int depth, bool in_kube,
            std::string_view parent_name);

  const std::vector<Hierarchy>& hierarchies_;
  const CgroupOptions& options_;
  TreeScan scan_;
};

// A pod directory and the container directories directly under it.
void TreeWalk::RecordPod(size_t h, const PodDirName& pod, const std::string& dir,
                         const std::string& rel, std::string_view parent_name) {
  Found& p = Record(Scope::kPod, pod.uid, h, dir, rel);
  p.pod_uid = pod.uid;
  if (p.qos.empty()) p.qos = QosFromParentName(parent_name);
  p.proc_dirs.push_back({dir, false});
  scan_.driver = pod.driver;
  for (const std::string& cname : ListSubdirs(dir)) {
    auto cid = ParseContainerDirName(cname);
    if (!cid) continue;
    std::string cdir = JoinPath(dir, cname);
    Found& c = Record(Scope::kContainer, pod.uid + "/" + *cid, h, cdir, rel + "/" + cname);
    c.pod_uid = pod.uid;
    c.container_id = *cid;
    c.qos = p.qos;
    p.proc_dirs.push_back({cdir, true});
  }
}

void TreeWalk::Walk(size_t h, const std::string& dir, const std::string& rel, int depth,
                    bool in_kube, std::string_view parent_name) {
  for (const std::string& name : ListSubdirs(dir)) {
    std::string child = JoinPath(dir, name);
    std::string child_rel = rel + "/" + name;
    if (in_kube || IsKubepodsName(parent_name)) {
      if (auto pod = ParsePodDirName(name)) {
        RecordPod(h, *pod, child, child_rel, parent_name);
        continue;
      }
    }
    bool kube = in_kube || IsKubepodsName(name);
    if (IsKubepodsName(name) && scan_.driver == CgroupDriver::kNone) {
      scan_.driver = name.ends_with(".slice") ? CgroupDriver::kSystemd : CgroupDriver::kCgroupfs;
    }
    if (!kube && depth + 1 <= options_.plain_cgroup_depth) {
      Record(Scope::kCgroup, child_rel, h, child, child_rel);
    }
    if (depth + 1 < options_.kube_search_depth) {
      Walk(h, child, child_rel, depth + 1, kube, name);
    }
  }
}

bool TreeWalk::AddNamed(const std::string& name, std::set<std::string>& named_dirs) {
  bool any = false;
  for (size_t h = 0; h < hierarchies_.size(); ++h) {
    std::string rel;
    if (name.front() == '/') {
      rel = name;
    } else {
      const std::string& self = hierarchies_[h].self_path;
      rel = self == "/" ? "/" + name : self + "/" + name;
    }
    while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
    std::string dir = hierarchies_[h].mount + rel;
    if (!IsDir(dir)) continue;
    Record(Scope::kCgroup, name, h, dir, rel);
    named_dirs.insert(dir);
    any = true;
  }
  return any;
}

// Drops discovered plain cgroups that share a directory with a named one.
void DropShadowed(TreeScan& scan, const std::vector<std::string>& names,
                  const std::set<std::string>& named_dirs) {
  if (named_dirs.empty()) return;
  const std::set<std::string> named(names.begin(), names.end());
  for (auto it = scan.found.begin(); it != scan.found.end();) {
    bool shadowed = false;
    if (it->first.first == Scope::kCgroup && !named.count(it->first.second)) {
      for (const std::string& d : it->second.dirs) shadowed |= named_dirs.count(d) > 0;
    }
    it = shadowed ? scan.found.erase(it) : std::next(it);
  }
}

}  // namespace

TreeScan ScanTrees(const std::vector<Hierarchy>& hierarchies, const CgroupOptions& options,
                   const std::string& root, OnceWarnings& warnings) {
  TreeWalk walk(hierarchies, options);
  walk.WalkAll();
  std::set<std::string> named_dirs;
  for (const std::string& name : options.extra_cgroups) {
    if (name.empty() || walk.AddNamed(name, named_dirs)) continue;
    warnings.Warn("named:" + name, "cgroup '" + name +
                                       "' named in the options exists in no hierarchy under " +
                                       root + "; looking again at each scan");
  }
  DropShadowed(walk.scan(), options.extra_cgroups, named_dirs);
  return std::move(walk.scan());
}

}  // namespace jostle::agent
