#include "collector/run/ancestor_cgroups.h"

#include <unistd.h>

#include <algorithm>

#include "agent/cgroup/cgroup_parsers.h"

namespace jostle::collector {

Result<std::vector<std::string>> AncestorCgroupNames(std::string_view proc_self_cgroup,
                                                     std::string_view source) {
  auto own = agent::ParseProcCgroup(proc_self_cgroup, source);
  if (!own.ok()) return own.status();
  std::vector<std::string> out;
  for (const char* controller : {"cpu", "cpuacct", "memory", ""}) {
    auto it = own->find(controller);
    if (it == own->end()) continue;
    std::string path = it->second;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    while (path.size() > 1 && path.front() == '/') {
      if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
      path.resize(path.find_last_of('/'));
    }
  }
  return out;
}

std::optional<std::string> LimitedNamespaceRoot(const std::string& cgroup_root) {
  if (::access((cgroup_root + "/cpu.max").c_str(), F_OK) != 0) return std::nullopt;
  return std::string("/");
}

}  // namespace jostle::collector
