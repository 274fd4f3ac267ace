#include "collector/run/run_mode.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "collector/run/cgroup_hierarchy.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream body;
  body << in.rdbuf();
  return body.str();
}

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

bool Has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::optional<uid_t> OwnerOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_uid;
}

bool OwnedBy(const std::string& path, uid_t uid) {
  auto owner = OwnerOf(path);
  return owner && *owner == uid;
}

std::string LinkTarget(const std::string& path) {
  std::error_code ec;
  auto target = fs::read_symlink(path, ec);
  return ec ? "" : target.string();
}

CgroupLayout LayoutOf(const std::string& root) {
  if (fs::exists(root + "/cgroup.controllers")) return CgroupLayout::kV2;
  bool v1 = false;
  for (const char* c : {"cpu", "cpuacct", "memory", "cpu,cpuacct"}) {
    v1 = v1 || fs::is_directory(root + "/" + c);
  }
  if (!v1) return CgroupLayout::kNone;
  return fs::exists(root + "/unified/cgroup.controllers") ? CgroupLayout::kHybrid
                                                          : CgroupLayout::kV1;
}

// Whether a cgroup mount of the kind the layout uses is read-only (/proc/self/mountinfo:
// "36 35 0:30 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw").
bool CgroupMountReadOnly(const std::string& mountinfo, CgroupLayout layout) {
  std::istringstream in(mountinfo);
  for (std::string line; std::getline(in, line);) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> left = Words(line.substr(0, dash));
    std::vector<std::string> right = Words(line.substr(dash + 3));
    if (left.size() < 6 || right.empty()) continue;
    bool v2_mount = right[0] == "cgroup2";
    bool v1_mount = right[0] == "cgroup";
    if (!(layout == CgroupLayout::kV2 ? v2_mount : v1_mount)) continue;
    std::string options = "," + left[5] + ",";
    if (options.find(",ro,") != std::string::npos) return true;
  }
  return false;
}

// Each /proc/self/cgroup line as (controllers, path).
std::vector<std::pair<std::string, std::string>> CgroupLines(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto first = line.find(':');
    auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    lines.emplace_back(line.substr(first + 1, second - first - 1), line.substr(second + 1));
  }
  return lines;
}

bool V1Writable(const std::string& root, const std::string& self_cgroup, uid_t uid, bool is_root) {
  int sampled = 0;
  for (const auto& [controllers, path] : CgroupLines(self_cgroup)) {
    if (controllers.empty()) continue;
    std::string mount = CgroupHierarchyDir(root, controllers);
    if (mount.empty()) continue;
    std::string dir = mount + (path == "/" ? "" : path);
    if (!fs::is_directory(dir)) return false;
    if (!is_root && !OwnedBy(dir + "/cgroup.procs", uid)) return false;
    ++sampled;
  }
  return sampled > 0;
}

OwnV2Cgroup ReadOwnV2(const std::string& root, const std::string& self_cgroup, uid_t uid) {
  OwnV2Cgroup own;
  for (const auto& [controllers, path] : CgroupLines(self_cgroup)) {
    if (controllers.empty()) own.path = path;
  }
  if (own.path.empty()) own.path = "/";
  own.is_root = own.path == "/";
  own.dir = root + (own.is_root ? "" : own.path);
  std::string type = ReadText(own.dir + "/cgroup.type");
  own.type = type.substr(0, type.find('\n'));
  own.controllers = Words(ReadText(own.dir + "/cgroup.controllers"));
  own.subtree_control = Words(ReadText(own.dir + "/cgroup.subtree_control"));
  for (const std::string& pid : Words(ReadText(own.dir + "/cgroup.procs"))) {
    own.procs.push_back(static_cast<pid_t>(std::stol(pid)));
  }
  own.delegated_to_user = OwnedBy(own.dir, uid) && OwnedBy(own.dir + "/cgroup.procs", uid) &&
                          OwnedBy(own.dir + "/cgroup.subtree_control", uid);
  char value[8];
  own.systemd_delegate =
      ::getxattr(own.dir.c_str(), "trusted.delegate", value, sizeof(value)) > 0 ||
      ::getxattr(own.dir.c_str(), "user.delegate", value, sizeof(value)) > 0;
  return own;
}

std::optional<uint64_t> ParseMemoryLimit(const std::string& text) {
  std::vector<std::string> w = Words(text);
  if (w.empty() || w[0] == "max") return std::nullopt;
  char* end = nullptr;
  unsigned long long v = std::strtoull(w[0].c_str(), &end, 10);
  if (end == w[0].c_str() || *end != '\0') return std::nullopt;
  if (v >= (1ULL << 62)) return std::nullopt;  // v1's "unlimited" (a page-rounded LLONG_MAX)
  return v;
}

ContainerFacts ReadContainer(const RunModePaths& p, CgroupLayout layout) {
  ContainerFacts c;
  for (const char* marker : {"/.dockerenv", "/run/.containerenv"}) {
    if (fs::exists(p.fs_root + marker)) c.evidence.push_back(marker);
  }
  std::string init_cgroup = ReadText(p.init_proc + "/cgroup");
  if (std::string id = ContainerIdInProcCgroup(init_cgroup); !id.empty()) {
    c.evidence.push_back("/proc/1/cgroup names container " + id.substr(0, 12));
  } else if (init_cgroup.find("/kubepods") != std::string::npos ||
             init_cgroup.find("/lxc") != std::string::npos) {
    c.evidence.push_back("/proc/1/cgroup is a container's");
  }
  std::string own_ns = LinkTarget(p.self_proc + "/ns/cgroup");
  std::string init_ns = LinkTarget(p.init_proc + "/ns/cgroup");
  if (!own_ns.empty() && !init_ns.empty() && own_ns != init_ns) {
    c.evidence.push_back("own cgroup namespace " + own_ns + " is not init's " + init_ns);
  }
  c.in_container = !c.evidence.empty();
  // The limits at the cgroup root this process sees (a container's own, with a cgroup
  // namespace or docker's v1 bind mounts; nothing at a host's real root).
  if (layout == CgroupLayout::kV2) {
    c.cpu_limit_cores = ParseCpuMax(ReadText(p.cgroup_root + "/cpu.max"));
    c.mem_limit_bytes = ParseMemoryLimit(ReadText(p.cgroup_root + "/memory.max"));
  } else if (layout != CgroupLayout::kNone) {
    for (const char* cpu : {"/cpu", "/cpu,cpuacct"}) {
      std::vector<std::string> quota = Words(ReadText(p.cgroup_root + cpu + "/cpu.cfs_quota_us"));
      std::vector<std::string> period = Words(ReadText(p.cgroup_root + cpu + "/cpu.cfs_period_us"));
      if (quota.empty() || period.empty() || quota[0] == "-1") continue;
      c.cpu_limit_cores = ParseCpuMax(quota[0] + " " + period[0]);
      break;
    }
    c.mem_limit_bytes = ParseMemoryLimit(ReadText(p.cgroup_root + "/memory/memory.limit_in_bytes"));
  }
  c.host_proc = p.proc_root != "/proc";
  return c;
}

constexpr const char* kV2Blind =
    "neighbours are named by cgroup; processes sharing a cgroup with others are not told apart";

}  // namespace

const char* RunModeName(RunMode mode) {
  switch (mode) {
    case RunMode::kV1HybridRoot:
      return "v1/hybrid-root";
    case RunMode::kV2Root:
      return "v2-root";
    case RunMode::kV2SystemdScope:
      return "v2-systemd-scope";
    case RunMode::kV2Delegated:
      return "v2-delegated";
    case RunMode::kProcessTree:
      return "process-tree";
  }
  return "process-tree";
}

std::optional<RunMode> ParseRunMode(const std::string& name) {
  for (RunMode m : {RunMode::kV1HybridRoot, RunMode::kV2Root, RunMode::kV2SystemdScope,
                    RunMode::kV2Delegated, RunMode::kProcessTree}) {
    if (name == RunModeName(m)) return m;
  }
  return std::nullopt;
}

std::optional<double> ParseCpuMax(const std::string& text) {
  std::vector<std::string> w = Words(text);
  if (w.size() < 2 || w[0] == "max") return std::nullopt;
  char* end = nullptr;
  double quota = std::strtod(w[0].c_str(), &end);
  if (end == w[0].c_str() || *end != '\0' || quota <= 0) return std::nullopt;
  double period = std::strtod(w[1].c_str(), &end);
  if (end == w[1].c_str() || *end != '\0' || period <= 0) return std::nullopt;
  return quota / period;
}

std::string ContainerIdInCgroupPath(const std::string& path) {
  // The longest run of hex digits in the last path component that holds one of 64.
  std::string_view last = path;
  while (!last.empty()) {
    size_t slash = last.find_last_of('/');
    std::string_view part = slash == std::string_view::npos ? last : last.substr(slash + 1);
    size_t run = 0;
    for (size_t i = 0; i <= part.size(); ++i) {
      if (i < part.size() && std::isxdigit(static_cast<unsigned char>(part[i])) &&
          !std::isupper(static_cast<unsigned char>(part[i]))) {
        ++run;
        continue;
      }
      if (run == 64) return std::string(part.substr(i - 64, 64));
      run = 0;
    }
    if (slash == std::string_view::npos) break;
    last = last.substr(0, slash);
  }
  return "";
}

std::string ContainerIdInProcCgroup(const std::string& text) {
  for (const auto& line : CgroupLines(text)) {
    if (std::string id = ContainerIdInCgroupPath(line.second); !id.empty()) return id;
  }
  return "";
}

namespace {

constexpr const char* kProcessTreeBlind =
    "per-cgroup pressure and throttling of the command; node memory and IO pressure are not "
    "split per process (only CPU is subtracted); other users' IO is readable only as root";

// The mode the facts allow, with the reason.
std::pair<RunMode, std::string> ChooseMode(const RunModeFacts& f) {
  const OwnV2Cgroup& own = f.v2;
  switch (f.layout) {
    case CgroupLayout::kNone:
      return {RunMode::kProcessTree, "no cgroup hierarchy to create the command's cgroup in"};
    case CgroupLayout::kV1:
    case CgroupLayout::kHybrid:
      if (f.cgroupfs_read_only) {
        return {RunMode::kProcessTree, "the cgroup filesystem is mounted read-only"};
      }
      if (!f.v1_writable) {
        return {RunMode::kProcessTree,
                f.root ? "this process's v1 cgroup directories are missing"
                       : "not root, and the v1 cgroup directories are not this user's"};
      }
      return {RunMode::kV1HybridRoot, "v1 controllers with writable cgroup directories"};
    case CgroupLayout::kV2:
      break;
  }
  bool threaded =
      own.type == "threaded" || own.type == "domain threaded" || own.type == "domain invalid";
  bool systemd = f.systemd_running && f.systemd_scope_usable && !f.in_jostle_scope;
  if (f.cgroupfs_read_only) {
    return {RunMode::kProcessTree, "the cgroup filesystem is mounted read-only"};
  }
  if (threaded) {
    return {RunMode::kProcessTree, "own cgroup " + own.path + " is of type '" + own.type +
                                       "': it cannot hold domain controllers for the command"};
  }
  if (f.in_jostle_scope && (f.root || own.delegated_to_user)) {
    return {RunMode::kV2SystemdScope, "in the transient scope " + own.path + " (Delegate=yes)"};
  }
  if (f.root && systemd && !own.systemd_delegate) {
    return {RunMode::kV2SystemdScope, "systemd runs here: a transient scope with Delegate=yes"};
  }
  if (f.root) {
    return {RunMode::kV2Root, "pure cgroup v2 as root: jostle moves into " +
                                  (own.is_root ? std::string("(the root)") : own.path) +
                                  "/jostle-self"};
  }
  if (own.delegated_to_user && !own.is_root) {
    return {RunMode::kV2Delegated,
            "cgroup " + own.path + " is delegated to uid " + std::to_string(f.uid)};
  }
  if (systemd) {
    return {RunMode::kV2SystemdScope, "not root: a transient user scope with Delegate=yes"};
  }
  return {RunMode::kProcessTree, "not root, cgroup " + own.path + " is not delegated to uid " +
                                     std::to_string(f.uid) +
                                     " and no systemd user manager is usable"};
}

}  // namespace

RunModePlan DecideRunMode(const RunModeFacts& f, pid_t self, std::optional<RunMode> forced) {
  RunModePlan plan;
  std::tie(plan.mode, plan.reason) = ChooseMode(f);
  if (forced && *forced != plan.mode) {
    plan.reason = std::string("chosen with --mode (the host suggests ") + RunModeName(plan.mode) +
                  ": " + plan.reason + ")";
    plan.mode = *forced;
  }
  const OwnV2Cgroup& own = f.v2;
  switch (plan.mode) {
    case RunMode::kProcessTree:
      plan.cannot_see = kProcessTreeBlind;
      break;
    case RunMode::kV1HybridRoot:
      plan.cannot_see = kV2Blind;
      break;
    case RunMode::kV2Root:
    case RunMode::kV2Delegated:
    case RunMode::kV2SystemdScope:
      plan.cannot_see = kV2Blind;
      for (const char* c : {"cpu", "memory", "io"}) {
        if (Has(own.controllers, c)) plan.controllers.push_back(c);
      }
      plan.moves_other_processes =
          !own.is_root &&
          std::any_of(own.procs.begin(), own.procs.end(), [self](pid_t p) { return p != self; });
      plan.systemd_user = plan.mode == RunMode::kV2SystemdScope && !f.root;
      break;
  }
  if (f.container.in_container && !f.container.host_proc) {
    plan.cannot_see +=
        "; inside a container: neighbours outside it are invisible (mount the host's /proc and "
        "pass --proc-root to see them)";
  }
  return plan;
}

RunModeFacts ReadRunModeFacts(const RunModePaths& p, uid_t uid, bool root, bool in_jostle_scope,
                              const std::function<bool(bool user)>& probe_scope) {
  RunModeFacts f;
  f.uid = uid;
  f.root = root;
  f.in_jostle_scope = in_jostle_scope;
  f.layout = LayoutOf(p.cgroup_root);
  f.cgroupfs_read_only = CgroupMountReadOnly(ReadText(p.self_proc + "/mountinfo"), f.layout);
  std::string self_cgroup = ReadText(p.self_proc + "/cgroup");
  if (f.layout == CgroupLayout::kV1 || f.layout == CgroupLayout::kHybrid) {
    f.v1_writable = V1Writable(p.cgroup_root, self_cgroup, uid, root);
  }
  if (f.layout == CgroupLayout::kV2) f.v2 = ReadOwnV2(p.cgroup_root, self_cgroup, uid);
  f.systemd_running = fs::is_directory(p.fs_root + "/run/systemd/system");
  if (f.layout == CgroupLayout::kV2 && f.systemd_running && !in_jostle_scope && probe_scope &&
      !f.cgroupfs_read_only && !f.v2.systemd_delegate && (root || !f.v2.delegated_to_user)) {
    f.systemd_scope_usable = probe_scope(!root);
  }
  f.container = ReadContainer(p, f.layout);
  return f;
}

}  // namespace jostle::collector
