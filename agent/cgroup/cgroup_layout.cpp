#include "agent/cgroup/cgroup_layout.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <utility>

#include "agent/cgroup/cgroup_fs.h"
#include "agent/cgroup/cgroup_parsers.h"
#include "agent/procfs/open_file.h"

namespace jostle::agent {
namespace {

// This process's cgroup per controller ("" for v2), from /proc/self/cgroup.
class SelfCgroups {
 public:
  SelfCgroups(const std::string& file, OnceWarnings& warnings) {
    if (file.empty()) return;
    auto text = OpenFile::ReadOnce(file);
    if (!text.ok()) {
      warnings.Warn("self_cgroup", text.status().ToString() +
                                       "; relative cgroup names resolve against hierarchy roots");
      return;
    }
    auto parsed = ParseProcCgroup(*text, file);
    if (parsed.ok()) {
      by_controller_ = std::move(*parsed);
    } else {
      warnings.Warn("self_cgroup", parsed.status().ToString());
    }
  }
  std::string Of(const std::string& controller) const {
    auto it = by_controller_.find(controller);
    return it == by_controller_.end() || it->second.empty() ? "/" : it->second;
  }

 private:
  std::map<std::string, std::string> by_controller_;
};

Hierarchy V2Hierarchy(const std::string& mount, const SelfCgroups& self, bool psi_only) {
  Hierarchy h;
  h.mount = mount;
  h.v2 = true;
  h.psi_only = psi_only;
  h.self_path = self.Of("");
  return h;
}

// The v1 controllers a mount directory's name lists ("cpu,cpuacct"); false when it has
// none of cpu, cpuacct and memory.
bool ReadControllers(std::string_view name, const SelfCgroups& self, Hierarchy& h) {
  std::string self_controller;
  while (!name.empty()) {
    size_t comma = name.find(',');
    std::string_view c = name.substr(0, comma);
    name = comma == std::string_view::npos ? std::string_view() : name.substr(comma + 1);
    if (c == "cpu") {
      h.cpu = true;
    } else if (c == "cpuacct") {
      h.cpuacct = true;
    } else if (c == "memory") {
      h.memory = true;
    } else {
      continue;
    }
    self_controller = std::string(c);
  }
  if (!h.cpu && !h.cpuacct && !h.memory) return false;
  h.self_path = self.Of(self_controller);
  return true;
}

// The v1 controller mounts under `root`, one per distinct directory: "cpu" and "cpuacct"
// as symlinks to "cpu,cpuacct" are one hierarchy.
std::vector<Hierarchy> V1Hierarchies(const std::string& root, const SelfCgroups& self) {
  std::vector<Hierarchy> out;
  std::vector<std::pair<dev_t, ino_t>> seen;
  for (const std::string& name : ListSubdirs(root)) {
    if (name == "unified") continue;
    Hierarchy h;
    h.mount = JoinPath(root, name);
    struct stat st;
    if (::stat(h.mount.c_str(), &st) != 0 || !Exists(JoinPath(h.mount, "cgroup.procs"))) continue;
    if (!ReadControllers(name, self, h)) continue;
    auto it = std::find(seen.begin(), seen.end(), std::make_pair(st.st_dev, st.st_ino));
    if (it != seen.end()) {
      Hierarchy& same = out[static_cast<size_t>(it - seen.begin())];
      same.cpu |= h.cpu;
      same.cpuacct |= h.cpuacct;
      same.memory |= h.memory;
      continue;
    }
    seen.emplace_back(st.st_dev, st.st_ino);
    out.push_back(std::move(h));
  }
  return out;
}

// PSI: present and readable at the root of the v2 tree?
void ProbePsi(CgroupLayout& layout, OnceWarnings& warnings) {
  layout.facts["cgroup_psi"] = "absent";
  for (const Hierarchy& h : layout.hierarchies) {
    if (!h.v2) continue;
    std::string file = JoinPath(h.mount, "cpu.pressure");
    auto f = OpenFile::Open(file);
    if (!f.ok()) break;
    auto text = f->Read();
    if (text.ok()) {
      layout.facts["cgroup_psi"] = "available";
    } else if (f->last_errno() == EOPNOTSUPP) {
      layout.facts["cgroup_psi"] = "disabled";
      layout.psi_disabled = true;
      warnings.Warn("psi_disabled", file +
                                        ": PSI is compiled in but disabled at boot (psi=0); "
                                        "cgroup PSI fields stay absent");
    }
  }
}

}  // namespace

Result<CgroupLayout> DetectLayout(const std::string& root, const std::string& self_cgroup_file,
                                  OnceWarnings& warnings) {
  if (!IsDir(root)) return Status::NotFound(root + ": cgroup root is not a directory");
  const SelfCgroups self(self_cgroup_file, warnings);
  CgroupLayout layout;
  if (Exists(JoinPath(root, "cgroup.controllers"))) {
    layout.hierarchies.push_back(V2Hierarchy(root, self, /*psi_only=*/false));
    layout.facts["cgroup"] = "v2";
  } else {
    layout.hierarchies = V1Hierarchies(root, self);
    if (layout.hierarchies.empty()) {
      return Status::Unsupported(root +
                                 ": neither cgroup.controllers (v2) nor cpu, cpuacct or "
                                 "memory controller directories (v1) found");
    }
    std::string unified = JoinPath(root, "unified");
    if (Exists(JoinPath(unified, "cgroup.controllers"))) {
      layout.hierarchies.push_back(V2Hierarchy(unified, self, /*psi_only=*/true));
      layout.facts["cgroup"] = "hybrid";
    } else {
      layout.facts["cgroup"] = "v1";
    }
  }
  ProbePsi(layout, warnings);
  layout.facts["cgroup_driver"] = "none";
  return layout;
}

}  // namespace jostle::agent
