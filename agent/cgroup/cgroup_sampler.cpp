#include "agent/cgroup/cgroup_sampler.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "agent/cgroup/cgroup_parsers.h"
#include "agent/cgroup/kube_path.h"
#include "agent/procfs/net_dev.h"
#include "agent/procfs/open_file.h"
#include "agent/procfs/pressure.h"

namespace jostle::agent {
namespace {

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

enum class FileKind : uint8_t {
  // v2
  kCpuStat,
  kCpuMax,
  kMemCurrent,
  kMemMax,
  kMemStat,
  kMemEvents,
  kCpuPressure,
  kMemPressure,
  kIoPressure,
  // v1
  kCpuStatV1,
  kCfsQuota,
  kCfsPeriod,
  kCpuacctUsage,
  kCpuacctUser,
  kCpuacctSys,
  kMemUsageV1,
  kMemLimitV1,
  kMemStatV1,
  kOomControl,
  // /proc/<pid>/net/dev of a pod's process
  kNetDev,
};
constexpr size_t kFileKinds = static_cast<size_t>(FileKind::kNetDev) + 1;

const char* FileName(FileKind kind) {
  switch (kind) {
    case FileKind::kCpuStat:
      return "cpu.stat";
    case FileKind::kCpuMax:
      return "cpu.max";
    case FileKind::kMemCurrent:
      return "memory.current";
    case FileKind::kMemMax:
      return "memory.max";
    case FileKind::kMemStat:
      return "memory.stat";
    case FileKind::kMemEvents:
      return "memory.events";
    case FileKind::kCpuPressure:
      return "cpu.pressure";
    case FileKind::kMemPressure:
      return "memory.pressure";
    case FileKind::kIoPressure:
      return "io.pressure";
    case FileKind::kCpuStatV1:
      return "cpu.stat";
    case FileKind::kCfsQuota:
      return "cpu.cfs_quota_us";
    case FileKind::kCfsPeriod:
      return "cpu.cfs_period_us";
    case FileKind::kCpuacctUsage:
      return "cpuacct.usage";
    case FileKind::kCpuacctUser:
      return "cpuacct.usage_user";
    case FileKind::kCpuacctSys:
      return "cpuacct.usage_sys";
    case FileKind::kMemUsageV1:
      return "memory.usage_in_bytes";
    case FileKind::kMemLimitV1:
      return "memory.limit_in_bytes";
    case FileKind::kMemStatV1:
      return "memory.stat";
    case FileKind::kOomControl:
      return "memory.oom_control";
    case FileKind::kNetDev:
      return "net/dev";
  }
  return "?";
}

bool IsPsi(FileKind kind) {
  return kind == FileKind::kCpuPressure || kind == FileKind::kMemPressure ||
         kind == FileKind::kIoPressure;
}

// How often a file is read, which decides whether it gets a kept descriptor.
enum class Rate : uint8_t {
  kEveryTick,  // kept open while the budget allows
  kPeriodic,   // every few ticks: kept within 3/4 of the budget less the kEveryTick files
  kRare,       // limits: opened, read and closed each time
};

// True when containers' memory and PSI files are read every few ticks, not every tick.
bool ContainerDetailDeferred(Scope scope, const CgroupOptions& options) {
  return scope == Scope::kContainer && options.container_detail_every_ticks > 1;
}

// True when containers' CPU files are read every few ticks (not the default).
bool ContainerCpuDeferred(Scope scope, const CgroupOptions& options) {
  return scope == Scope::kContainer && options.container_cpu_every_ticks > 1;
}

Rate RateOf(FileKind kind, Scope scope, const CgroupOptions& options) {
  switch (kind) {
    case FileKind::kCpuStat:
    case FileKind::kCpuStatV1:
    case FileKind::kCpuacctUsage:
    case FileKind::kCpuacctUser:
    case FileKind::kCpuacctSys:
      return ContainerCpuDeferred(scope, options) ? Rate::kPeriodic : Rate::kEveryTick;
    case FileKind::kNetDev:
      return Rate::kEveryTick;
    case FileKind::kMemCurrent:
    case FileKind::kMemUsageV1:
    case FileKind::kCpuPressure:
    case FileKind::kMemPressure:
    case FileKind::kIoPressure:
      return ContainerDetailDeferred(scope, options) ? Rate::kPeriodic : Rate::kEveryTick;
    case FileKind::kMemStat:
    case FileKind::kMemEvents:
    case FileKind::kMemStatV1:
    case FileKind::kOomControl:
      return Rate::kPeriodic;
    case FileKind::kCpuMax:
    case FileKind::kMemMax:
    case FileKind::kCfsQuota:
    case FileKind::kCfsPeriod:
    case FileKind::kMemLimitV1:
      return Rate::kRare;
  }
  return Rate::kRare;
}

// One file of one cgroup.
struct Slot {
  enum class State : uint8_t { kUnopened, kOpen, kTransient, kMissing };
  FileKind kind;
  uint8_t hierarchy;  // index into State::hierarchies_; unused for kNetDev
  State state = State::kUnopened;
  Rate rate = Rate::kRare;
  OpenFile file;
};

enum class Outcome { kOk, kAbsent, kVanished };

using Key = std::pair<Scope, std::string>;

// A cgroup whose processes belong to a pod.
struct ProcDir {
  std::string dir;
  // Also look in its children (containers: crun under a systemd manager puts a container's
  // processes in a "container" child of its scope; Docker-in-Docker on v2 moves its own
  // processes to an "init" child). Not deeper: grandchildren are where nested runtimes put
  // their containers, in network namespaces of their own.
  bool children = false;
};

// Where one series lives, as found by a scan.
struct Found {
  std::string path;  // relative to the root of the first hierarchy holding it
  std::string pod_uid, container_id, qos;
  std::vector<std::string> dirs;  // per hierarchy; empty where absent
  // Pods: cgroups whose cgroup.procs may name a process of the pod, in the order tried: the
  // pod's own directories, then its containers' (not CRI-O's conmon, which is in the
  // host's network namespace).
  std::vector<ProcDir> proc_dirs;
};

struct Entity {
  Scope scope = Scope::kCgroup;
  std::string id;
  Found where;
  std::vector<Slot> slots;
  // Index into slots by FileKind; -1 when the cgroup has no such file (e.g. v1 files on v2).
  std::array<int8_t, kFileKinds> slot_of;
  size_t ordinal = 0;  // creation order, spreads containers' periodic reads over ticks
  // Carried between ticks. Each countdown is decremented per tick; its files are read
  // when it is 0 (so at once for a new cgroup).
  int memstat_countdown = 0;  // memory.stat, memory.events / memory.oom_control (and for
                              // deferred containers: memory usage and PSI)
  bool memstat_read = false;  // memstat_countdown has run out once
  std::optional<uint64_t> working_set;
  std::optional<uint64_t> oom_kills;
  std::optional<uint64_t> mem_usage;  // deferred containers only
  int limits_countdown = 0;           // cpu.max, memory.max / cfs quota+period, limit_in_bytes
  std::optional<uint64_t> last_throttled;  // nr_throttled at the previous tick
  std::optional<double> cpu_limit_cores;
  std::optional<uint64_t> mem_limit_bytes;
  std::optional<PsiTotals> psi_cpu, psi_memory, psi_io;  // deferred containers only
  // Containers' CPU when CgroupOptions::container_cpu_every_ticks > 1.
  int cpu_countdown = 0;
  bool cpu_read = false;
  std::optional<uint64_t> cpu_usage_us, cpu_periods, cpu_throttled_periods, cpu_throttled_us;
  // Pods' network.
  bool net_resolved = false;
  bool host_network = false;
  std::optional<Slot> net_dev;
  std::string net_path;  // <proc>/<pid>/net/dev
};

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string JoinPath(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

// Subdirectory names of `dir`, sorted; empty when it cannot be listed.
std::vector<std::string> ListSubdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) is_dir = IsDir(JoinPath(dir, name));
    if (is_dir) out.emplace_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> ReadLink(const std::string& path) {
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  if (n <= 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

// How many files the sampler may keep open: options.max_open_files, within half of the
// soft RLIMIT_NOFILE (the other half is left to the rest of the process). When that is too
// low and options.raise_open_file_limit is set, the soft limit is raised toward the hard
// limit first, to 2 * max_open_files at most.
size_t OpenFileBudget(const CgroupOptions& options) {
  size_t want = options.max_open_files;
  if (want == 0) return 0;
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return std::min<size_t>(want, 256);
  auto half = [](rlim_t v) { return v == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(v / 2); };
  if (half(rl.rlim_cur) < want && options.raise_open_file_limit && rl.rlim_cur != rl.rlim_max) {
    rlim_t target = static_cast<rlim_t>(want) * 2;
    if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max) target = rl.rlim_max;
    if (target > rl.rlim_cur) {
      struct rlimit raised = {target, rl.rlim_max};
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
        spdlog::info(
            "cgroup sampler: raised the soft RLIMIT_NOFILE from {} to {} to keep up "
            "to {} cgroup files open",
            static_cast<uint64_t>(rl.rlim_cur), static_cast<uint64_t>(target), want);
        rl.rlim_cur = target;
      }
    }
  }
  return std::min(want, half(rl.rlim_cur));
}

}  // namespace

struct CgroupSampler::State {
  HostPaths paths;
  CgroupOptions options;
  std::vector<Hierarchy> hierarchies;
  std::map<std::string, std::string> facts;
  CgroupSamplerStats stats;
  std::map<Key, Entity> entities;
  std::set<std::string> warned;
  // Per file kind: a read failure / a parse failure was logged.
  std::array<bool, kFileKinds> warned_read{}, warned_parse{};
  bool psi_disabled = false;
  bool open_budget_exhausted = false;
  size_t open_budget = 0;
  // Files read every few ticks are kept while fewer than this many of them are open: 3/4
  // of open_budget, less what the files read every tick need, so that those come first.
  size_t periodic_budget = 0;
  size_t next_ordinal = 0;  // min(options.max_open_files, what RLIMIT_NOFILE leaves us)
  // The one buffer every file is read into; it grows to the largest file and stays there.
  std::string read_buf;
  std::string path_buf;
  std::optional<std::string> host_netns;  // readlink <proc>/1/ns/net, at each scan

  void WarnOnce(const std::string& kind, const std::string& message) {
    if (warned.insert(kind).second) spdlog::warn("cgroup sampler: {}", message);
  }

  // --- Layout -----------------------------------------------------------------------------

  Status DetectLayout() {
    const std::string& root = paths.cgroup;
    if (!IsDir(root)) return Status::NotFound(root + ": cgroup root is not a directory");
    std::map<std::string, std::string> self;
    if (!options.self_cgroup_file.empty()) {
      auto text = OpenFile::ReadOnce(options.self_cgroup_file);
      if (text.ok()) {
        auto parsed = ParseProcCgroup(*text, options.self_cgroup_file);
        if (parsed.ok())
          self = std::move(*parsed);
        else
          WarnOnce("self_cgroup", parsed.status().ToString());
      } else {
        WarnOnce("self_cgroup", text.status().ToString() +
                                    "; relative cgroup names resolve against hierarchy roots");
      }
    }
    auto self_of = [&](const std::string& controller) -> std::string {
      auto it = self.find(controller);
      return it == self.end() || it->second.empty() ? "/" : it->second;
    };

    if (Exists(JoinPath(root, "cgroup.controllers"))) {
      Hierarchy h;
      h.mount = root;
      h.v2 = true;
      h.self_path = self_of("");
      hierarchies.push_back(h);
      facts["cgroup"] = "v2";
    } else {
      std::vector<std::pair<dev_t, ino_t>> seen;
      for (const std::string& name : ListSubdirs(root)) {
        if (name == "unified") continue;
        std::string dir = JoinPath(root, name);
        struct stat st;
        if (::stat(dir.c_str(), &st) != 0 || !Exists(JoinPath(dir, "cgroup.procs"))) continue;
        Hierarchy h;
        h.mount = dir;
        std::string_view rest = name;
        std::string self_controller;
        while (!rest.empty()) {
          size_t comma = rest.find(',');
          std::string_view c = rest.substr(0, comma);
          rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
          if (c == "cpu")
            h.cpu = true;
          else if (c == "cpuacct")
            h.cpuacct = true;
          else if (c == "memory")
            h.memory = true;
          else
            continue;
          self_controller = std::string(c);
        }
        if (!h.cpu && !h.cpuacct && !h.memory) continue;
        h.self_path = self_of(self_controller);
        auto id = std::make_pair(st.st_dev, st.st_ino);
        auto it = std::find(seen.begin(), seen.end(), id);
        if (it != seen.end()) {
          // "cpu" and "cpuacct" as symlinks to "cpu,cpuacct": one hierarchy.
          Hierarchy& same = hierarchies[static_cast<size_t>(it - seen.begin())];
          same.cpu |= h.cpu;
          same.cpuacct |= h.cpuacct;
          same.memory |= h.memory;
          continue;
        }
        seen.push_back(id);
        hierarchies.push_back(h);
      }
      if (hierarchies.empty()) {
        return Status::Unsupported(root +
                                   ": neither cgroup.controllers (v2) nor cpu, cpuacct or "
                                   "memory controller directories (v1) found");
      }
      std::string unified = JoinPath(root, "unified");
      if (Exists(JoinPath(unified, "cgroup.controllers"))) {
        Hierarchy h;
        h.mount = unified;
        h.v2 = true;
        h.psi_only = true;
        h.self_path = self_of("");
        hierarchies.push_back(h);
        facts["cgroup"] = "hybrid";
      } else {
        facts["cgroup"] = "v1";
      }
    }
    // PSI: present and readable at the root of the v2 tree?
    facts["cgroup_psi"] = "absent";
    for (const Hierarchy& h : hierarchies) {
      if (!h.v2) continue;
      std::string file = JoinPath(h.mount, "cpu.pressure");
      auto f = OpenFile::Open(file);
      if (!f.ok()) break;
      auto text = f->Read();
      if (text.ok()) {
        facts["cgroup_psi"] = "available";
      } else if (f->last_errno() == EOPNOTSUPP) {
        facts["cgroup_psi"] = "disabled";
        psi_disabled = true;
        WarnOnce("psi_disabled", file +
                                     ": PSI is compiled in but disabled at boot (psi=0); "
                                     "cgroup PSI fields stay absent");
      }
    }
    facts["cgroup_driver"] = "none";
    return Status::Ok();
  }

  // --- Scan -------------------------------------------------------------------------------

  struct ScanState {
    std::map<Key, Found> found;
    CgroupDriver driver = CgroupDriver::kNone;
    // Plain cgroups below plain_cgroup_depth: (depth, relative path, hierarchy, directory).
    std::vector<std::tuple<int, std::string, size_t, std::string>> deeper;
  };

  Found& Record(ScanState& scan, Scope scope, std::string id, size_t h, const std::string& dir,
                const std::string& rel) {
    Found& f = scan.found[{scope, std::move(id)}];
    if (f.dirs.empty()) f.dirs.resize(hierarchies.size());
    if (f.path.empty()) f.path = rel;
    if (f.dirs[h].empty()) f.dirs[h] = dir;
    return f;
  }

  void Walk(ScanState& scan, size_t h, const std::string& dir, const std::string& rel, int depth,
            bool in_kube, std::string_view parent_name) {
    for (const std::string& name : ListSubdirs(dir)) {
      std::string child = JoinPath(dir, name);
      std::string child_rel = rel + "/" + name;
      if (in_kube || IsKubepodsName(parent_name)) {
        if (auto pod = ParsePodDirName(name)) {
          Found& p = Record(scan, Scope::kPod, pod->uid, h, child, child_rel);
          p.pod_uid = pod->uid;
          if (p.qos.empty()) p.qos = QosFromParentName(parent_name);
          p.proc_dirs.push_back({child, false});
          scan.driver = pod->driver;
          for (const std::string& cname : ListSubdirs(child)) {
            auto cid = ParseContainerDirName(cname);
            if (!cid) continue;
            std::string cdir = JoinPath(child, cname);
            Found& c = Record(scan, Scope::kContainer, pod->uid + "/" + *cid, h, cdir,
                              child_rel + "/" + cname);
            c.pod_uid = pod->uid;
            c.container_id = *cid;
            c.qos = p.qos;
            p.proc_dirs.push_back({cdir, true});
          }
          continue;
        }
      }
      bool kube = in_kube || IsKubepodsName(name);
      if (IsKubepodsName(name) && scan.driver == CgroupDriver::kNone) {
        scan.driver = name.ends_with(".slice") ? CgroupDriver::kSystemd : CgroupDriver::kCgroupfs;
      }
      if (!kube && depth + 1 <= options.plain_cgroup_depth) {
        Record(scan, Scope::kCgroup, child_rel, h, child, child_rel);
      } else if (!kube && options.plain_cgroup_depth > 0 && options.deeper_plain_cgroups > 0) {
        scan.deeper.emplace_back(depth + 1, child_rel, h, child);
      }
      if (depth + 1 < options.kube_search_depth) {
        Walk(scan, h, child, child_rel, depth + 1, kube, name);
      }
    }
  }

  void Scan() {
    ++stats.scans;
    ScanState scan;
    for (size_t h = 0; h < hierarchies.size(); ++h) {
      Walk(scan, h, hierarchies[h].mount, "", 0, false, "");
    }
    // Deeper plain cgroups, shallowest first, within the budget (counted by path: one
    // cgroup in several hierarchies is one).
    std::sort(scan.deeper.begin(), scan.deeper.end());
    std::set<std::string> deeper_taken;
    for (const auto& [depth, rel, h, dir] : scan.deeper) {
      if (!deeper_taken.count(rel)) {
        if (deeper_taken.size() >= options.deeper_plain_cgroups) break;
        deeper_taken.insert(rel);
      }
      Record(scan, Scope::kCgroup, rel, h, dir, rel);
    }
    // Cgroups named by the user.
    std::set<std::string> named_dirs;
    for (const std::string& name : options.extra_cgroups) {
      if (name.empty()) continue;
      bool any = false;
      for (size_t h = 0; h < hierarchies.size(); ++h) {
        std::string rel;
        if (name.front() == '/') {
          rel = name;
        } else {
          rel =
              hierarchies[h].self_path == "/" ? "/" + name : hierarchies[h].self_path + "/" + name;
        }
        while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
        std::string dir = hierarchies[h].mount + rel;
        if (!IsDir(dir)) continue;
        Record(scan, Scope::kCgroup, name, h, dir, rel);
        named_dirs.insert(dir);
        any = true;
      }
      if (!any) {
        WarnOnce("named:" + name, "cgroup '" + name +
                                      "' named in the options exists in no "
                                      "hierarchy under " +
                                      paths.cgroup + "; looking again at each scan");
      }
    }
    if (!named_dirs.empty()) {
      std::set<std::string> named(options.extra_cgroups.begin(), options.extra_cgroups.end());
      for (auto it = scan.found.begin(); it != scan.found.end();) {
        bool shadowed = false;
        if (it->first.first == Scope::kCgroup && !named.count(it->first.second)) {
          for (const std::string& d : it->second.dirs) shadowed |= named_dirs.count(d) > 0;
        }
        it = shadowed ? scan.found.erase(it) : std::next(it);
      }
    }
    // Merge into the known entities, keeping open files of unchanged cgroups.
    for (auto it = entities.begin(); it != entities.end();) {
      auto f = scan.found.find(it->first);
      if (f == scan.found.end() || f->second.dirs != it->second.where.dirs) {
        CloseAll(it->second);
        it = entities.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [key, found] : scan.found) {
      auto it = entities.find(key);
      if (it != entities.end()) {
        Entity& e = it->second;
        e.where.proc_dirs = std::move(found.proc_dirs);
        for (Slot& s : e.slots) {
          if (s.state == Slot::State::kMissing) s.state = Slot::State::kUnopened;
        }
        e.net_resolved = false;
        continue;
      }
      Entity e;
      e.scope = key.first;
      e.id = key.second;
      e.ordinal = next_ordinal++;
      e.where = std::move(found);
      BuildSlots(e);
      entities.emplace(key, std::move(e));
    }
    stats.cgroups = entities.size();
    size_t every_tick = 0;
    for (const auto& [key, e] : entities) {
      every_tick +=
          static_cast<size_t>(std::count_if(e.slots.begin(), e.slots.end(), [](const Slot& x) {
            return x.rate == Rate::kEveryTick;
          }));
      if (e.scope == Scope::kPod) ++every_tick;  // its net/dev
    }
    periodic_budget =
        std::min(open_budget / 4 * 3, open_budget > every_tick ? open_budget - every_tick : 0);
    if (scan.driver != CgroupDriver::kNone) facts["cgroup_driver"] = CgroupDriverName(scan.driver);
    bool any_pod = std::any_of(entities.begin(), entities.end(),
                               [](const auto& kv) { return kv.first.first == Scope::kPod; });
    // Outside Kubernetes there is no pod to tell apart: no reading, no warning.
    host_netns = any_pod ? ReadLink(JoinPath(paths.proc, "1/ns/net")) : std::nullopt;
    if (any_pod && !host_netns) {
      WarnOnce("host_netns", JoinPath(paths.proc, "1/ns/net") +
                                 " is unreadable: hostNetwork pods cannot be told apart and "
                                 "carry the node's network counters");
    }
  }

  void BuildSlots(Entity& e) {
    e.slot_of.fill(-1);
    auto add = [&](FileKind k, size_t h) {
      e.slot_of[static_cast<size_t>(k)] = static_cast<int8_t>(e.slots.size());
      e.slots.push_back(Slot{k, static_cast<uint8_t>(h), Slot::State::kUnopened,
                             RateOf(k, e.scope, options), OpenFile()});
    };
    for (size_t h = 0; h < hierarchies.size(); ++h) {
      if (e.where.dirs[h].empty()) continue;
      const Hierarchy& hi = hierarchies[h];
      if (hi.v2 && !hi.psi_only) {
        for (FileKind k : {FileKind::kCpuStat, FileKind::kCpuMax, FileKind::kMemCurrent,
                           FileKind::kMemMax, FileKind::kMemStat, FileKind::kMemEvents}) {
          add(k, h);
        }
      }
      if (hi.v2) {
        for (FileKind k : {FileKind::kCpuPressure, FileKind::kMemPressure, FileKind::kIoPressure}) {
          add(k, h);
        }
      }
      if (hi.cpu) {
        for (FileKind k : {FileKind::kCpuStatV1, FileKind::kCfsQuota, FileKind::kCfsPeriod}) {
          add(k, h);
        }
      }
      if (hi.cpuacct) {
        for (FileKind k :
             {FileKind::kCpuacctUsage, FileKind::kCpuacctUser, FileKind::kCpuacctSys}) {
          add(k, h);
        }
      }
      if (hi.memory) {
        for (FileKind k : {FileKind::kMemUsageV1, FileKind::kMemLimitV1, FileKind::kMemStatV1,
                           FileKind::kOomControl}) {
          add(k, h);
        }
      }
    }
  }

  void Close(Slot& s) {
    if (s.state == Slot::State::kOpen) {
      s.file = OpenFile();
      --stats.open_files;
      if (s.rate == Rate::kPeriodic) --stats.open_periodic_files;
    }
    s.state = Slot::State::kUnopened;
  }

  void CloseAll(Entity& e) {
    for (Slot& s : e.slots) Close(s);
    if (e.net_dev) Close(*e.net_dev);
  }

  // --- Reading ----------------------------------------------------------------------------

  // <dir of the slot's hierarchy>/<file name> in path_buf; built only when a file is opened
  // or an error names it, never for a read through a kept descriptor.
  const std::string& SlotPath(const Entity& e, const Slot& s) {
    path_buf.assign(e.where.dirs[s.hierarchy]);
    path_buf += '/';
    path_buf += FileName(s.kind);
    return path_buf;
  }

  // Reads one file into read_buf; NotFound when it (or its cgroup) does not exist.
  // `path` is called for the file's path when it has to be opened.
  template <typename PathFn>
  Result<std::string_view> ReadSlot(Slot& s, PathFn&& path) {
    if (s.state == Slot::State::kOpen) {
      auto r = s.file.Read(read_buf);
      if (!r.ok()) Close(s);
      return r;
    }
    bool room = stats.open_files < open_budget &&
                (s.rate == Rate::kEveryTick ||
                 (s.rate == Rate::kPeriodic && stats.open_periodic_files < periodic_budget));
    if (s.state == Slot::State::kUnopened && !open_budget_exhausted && room) {
      auto f = OpenFile::Open(path());
      if (f.ok()) {
        s.file = std::move(*f);
        s.state = Slot::State::kOpen;
        ++stats.open_files;
        if (s.rate == Rate::kPeriodic) ++stats.open_periodic_files;
        auto r = s.file.Read(read_buf);
        if (!r.ok()) Close(s);
        return r;
      }
      if (f.status().code() == Status::Code::kResourceExhausted) {
        open_budget_exhausted = true;
        WarnOnce("emfile", f.status().ToString() +
                               "; further cgroup files are read by "
                               "open/read/close on each tick");
      } else {
        if (f.status().IsNotFound()) s.state = Slot::State::kMissing;
        return f.status();
      }
    }
    if (s.state == Slot::State::kUnopened) s.state = Slot::State::kTransient;
    auto r = OpenFile::ReadOnce(path(), read_buf);
    if (!r.ok() && r.status().IsNotFound()) s.state = Slot::State::kMissing;
    return r;
  }

  // Reads the slot of `kind` of `e`, if it has one. kAbsent: no such slot, or the file is
  // missing, unreadable or failed to parse (warned once per kind); kVanished: the cgroup's
  // directory is gone. `parse` gets the text and the file's path and returns a Status.
  template <typename Parse>
  Outcome ReadKind(Entity& e, FileKind kind, Parse&& parse) {
    int8_t index = e.slot_of[static_cast<size_t>(kind)];
    if (index < 0) return Outcome::kAbsent;
    if (IsPsi(kind) && psi_disabled) return Outcome::kAbsent;
    Slot& s = e.slots[static_cast<size_t>(index)];
    // Known missing since the last scan (e.g. no PSI files on this kernel): warned already.
    if (s.state == Slot::State::kMissing) return Outcome::kAbsent;
    auto text = ReadSlot(s, [&]() -> const std::string& { return SlotPath(e, s); });
    const size_t k = static_cast<size_t>(kind);
    if (!text.ok()) {
      const std::string& dir = e.where.dirs[s.hierarchy];
      if (text.status().IsNotFound()) {
        if (!Exists(dir)) return Outcome::kVanished;
        // Old kernels lack cpuacct.usage_user/_sys; new ones may lack nothing. The
        // fallback pair is only read when cpuacct.usage is missing: no warning for it.
        if (kind == FileKind::kCpuacctUsage) return Outcome::kAbsent;
      }
      if (text.status().code() == Status::Code::kUnsupported && IsPsi(kind)) {
        psi_disabled = true;
        facts["cgroup_psi"] = "disabled";
        WarnOnce("psi_disabled", SlotPath(e, s) +
                                     ": PSI is disabled at boot (psi=0); cgroup PSI "
                                     "fields stay absent");
        return Outcome::kAbsent;
      }
      if (!warned_read[k]) {
        warned_read[k] = true;
        spdlog::warn("cgroup sampler: {} (warned once for every {}; those fields stay absent)",
                     text.status().ToString(), FileName(kind));
      }
      return Outcome::kAbsent;
    }
    // Parsed without the file's path first: building it for every read costs more than
    // the parse. A failed parse runs again with the path, for the message.
    Status st = parse(*text, std::string_view());
    if (!st.ok()) st = parse(*text, std::string_view(SlotPath(e, s)));
    if (!st.ok()) {
      if (!warned_parse[k]) {
        warned_parse[k] = true;
        spdlog::warn("cgroup sampler: {} (warned once for every {}; those fields stay absent)",
                     st.ToString(), FileName(kind));
      }
      return Outcome::kAbsent;
    }
    return Outcome::kOk;
  }

  // Fills `out` from the files of `e`; false when the cgroup vanished.
  bool ReadEntity(Entity& e, CgroupSample& out) {
    bool vanished = false;
    // `parse(text, source)`: source is empty, or the file's path when an error is reported.
    auto read = [&](FileKind kind, auto&& parse) {
      if (vanished) return false;
      Outcome o = ReadKind(e, kind, parse);
      vanished = o == Outcome::kVanished;
      return o == Outcome::kOk;
    };
    auto single = [](std::optional<uint64_t>& dest) {
      return [&dest](std::string_view t, std::string_view src) {
        auto v = ParseSingleValue(t, src);
        if (!v.ok()) return v.status();
        dest = *v;
        return Status::Ok();
      };
    };
    // CPU: every tick, or for containers every container_cpu_every_ticks (carried between).
    const bool cpu_deferred = ContainerCpuDeferred(e.scope, options);
    if (!cpu_deferred || e.cpu_countdown <= 0) {
      read(FileKind::kCpuStat, [&](std::string_view t, std::string_view src) {
        auto v = ParseCpuStatV2(t, src);
        if (!v.ok()) return v.status();
        out.cpu_usage_us = v->usage_usec;
        out.cpu_periods = v->nr_periods;
        out.cpu_throttled_periods = v->nr_throttled;
        out.cpu_throttled_us = v->throttled_usec;
        return Status::Ok();
      });
      read(FileKind::kCpuStatV1, [&](std::string_view t, std::string_view src) {
        auto v = ParseCpuStatV1(t, src);
        if (!v.ok()) return v.status();
        out.cpu_periods = v->nr_periods;
        out.cpu_throttled_periods = v->nr_throttled;
        out.cpu_throttled_us = v->throttled_time_ns / 1000;
        return Status::Ok();
      });
      std::optional<uint64_t> usage_ns;
      read(FileKind::kCpuacctUsage, single(usage_ns));
      if (!usage_ns && !vanished && HasMissingOrNone(e, FileKind::kCpuacctUsage)) {
        std::optional<uint64_t> user_ns, sys_ns;
        if (read(FileKind::kCpuacctUser, single(user_ns)) &&
            read(FileKind::kCpuacctSys, single(sys_ns))) {
          usage_ns = *user_ns + *sys_ns;
        }
      }
      if (usage_ns) out.cpu_usage_us = *usage_ns / 1000;
      if (cpu_deferred) {
        // A new container's first round comes after 1..every ticks, by creation order.
        const int every = options.container_cpu_every_ticks;
        e.cpu_countdown =
            e.cpu_read ? every : 1 + static_cast<int>(e.ordinal % static_cast<size_t>(every));
        e.cpu_read = true;
        e.cpu_usage_us = out.cpu_usage_us;
        e.cpu_periods = out.cpu_periods;
        e.cpu_throttled_periods = out.cpu_throttled_periods;
        e.cpu_throttled_us = out.cpu_throttled_us;
      }
    } else {
      out.cpu_usage_us = e.cpu_usage_us;
      out.cpu_periods = e.cpu_periods;
      out.cpu_throttled_periods = e.cpu_throttled_periods;
      out.cpu_throttled_us = e.cpu_throttled_us;
    }
    if (cpu_deferred) --e.cpu_countdown;
    // Memory (and PSI of deferred containers).
    const bool deferred = ContainerDetailDeferred(e.scope, options);
    auto read_usage = [&](std::optional<uint64_t>& usage) {
      read(FileKind::kMemCurrent, single(usage));
      read(FileKind::kMemUsageV1, single(usage));
    };
    auto psi = [](std::optional<PsiTotals>& dest) {
      return [&dest](std::string_view t, std::string_view src) {
        auto v = ParsePressure(t, src);
        if (!v.ok()) return v.status();
        dest = *v;
        return Status::Ok();
      };
    };
    std::optional<uint64_t> usage;
    if (!deferred) read_usage(usage);
    if (e.memstat_countdown <= 0 && !vanished) {
      int every = deferred ? options.container_detail_every_ticks
                           : std::max(1, options.memory_stat_every_ticks);
      // A new container's next round comes after 1..every ticks, by creation order, so
      // that containers do not all take their round on the same tick.
      e.memstat_countdown = deferred && !e.memstat_read
                                ? 1 + static_cast<int>(e.ordinal % static_cast<size_t>(every))
                                : every;
      e.memstat_read = true;
      if (deferred) {
        e.mem_usage.reset();
        read_usage(e.mem_usage);
        usage = e.mem_usage;
        e.psi_cpu.reset();
        e.psi_memory.reset();
        e.psi_io.reset();
        read(FileKind::kCpuPressure, psi(e.psi_cpu));
        read(FileKind::kMemPressure, psi(e.psi_memory));
        read(FileKind::kIoPressure, psi(e.psi_io));
      }
      e.working_set.reset();
      e.oom_kills.reset();
      auto oom = [&](std::string_view t, std::string_view src) {
        auto v = FindKeyedValue(t, "oom_kill", src);
        if (!v.ok()) return v.status();
        e.oom_kills = *v;
        return Status::Ok();
      };
      read(FileKind::kMemEvents, oom);
      read(FileKind::kOomControl, oom);
      auto memstat = [&](std::string_view key) {
        return [&, key](std::string_view t, std::string_view src) {
          auto v = FindKeyedValue(t, key, src);
          if (!v.ok()) return v.status();
          if (!*v) {
            return Status::InvalidArgument(std::string(src) + ": no '" + std::string(key) +
                                           "' line");
          }
          if (usage) e.working_set = *usage > **v ? *usage - **v : 0;
          return Status::Ok();
        };
      };
      read(FileKind::kMemStat, memstat("inactive_file"));
      read(FileKind::kMemStatV1, memstat("total_inactive_file"));
    }
    --e.memstat_countdown;
    out.mem_usage_bytes = deferred ? e.mem_usage : usage;
    out.mem_working_set_bytes = e.working_set;
    out.oom_kills = e.oom_kills;
    // Limits, carried between reads. Throttling that moved since the last tick may be a
    // limit set or changed since they were read: read them again now (at most every other
    // tick), not at the next round.
    if (out.cpu_throttled_periods && e.last_throttled &&
        *out.cpu_throttled_periods > *e.last_throttled &&
        std::max(1, options.limits_every_ticks) - e.limits_countdown >= 2) {
      e.limits_countdown = 0;
    }
    e.last_throttled = out.cpu_throttled_periods;
    if (e.limits_countdown <= 0 && !vanished) {
      e.limits_countdown = std::max(1, options.limits_every_ticks);
      e.cpu_limit_cores.reset();
      e.mem_limit_bytes.reset();
      read(FileKind::kCpuMax, [&](std::string_view t, std::string_view src) {
        auto v = ParseCpuMax(t, src);
        if (!v.ok()) return v.status();
        e.cpu_limit_cores = *v;
        return Status::Ok();
      });
      std::string quota;
      if (read(FileKind::kCfsQuota, [&](std::string_view t, std::string_view) {
            quota = std::string(t);
            return Status::Ok();
          })) {
        read(FileKind::kCfsPeriod, [&](std::string_view t, std::string_view src) {
          auto v = ParseCfsQuota(quota, t, src);
          if (!v.ok()) return v.status();
          e.cpu_limit_cores = *v;
          return Status::Ok();
        });
      }
      read(FileKind::kMemMax, [&](std::string_view t, std::string_view src) {
        auto v = ParseMemoryMax(t, src);
        if (!v.ok()) return v.status();
        e.mem_limit_bytes = *v;
        return Status::Ok();
      });
      read(FileKind::kMemLimitV1, [&](std::string_view t, std::string_view src) {
        auto v = ParseV1MemoryLimit(t, src);
        if (!v.ok()) return v.status();
        e.mem_limit_bytes = *v;
        return Status::Ok();
      });
    }
    --e.limits_countdown;
    out.cpu_limit_cores = e.cpu_limit_cores;
    out.mem_limit_bytes = e.mem_limit_bytes;
    if (deferred) {
      out.psi_cpu = e.psi_cpu;
      out.psi_memory = e.psi_memory;
      out.psi_io = e.psi_io;
    } else {
      read(FileKind::kCpuPressure, psi(out.psi_cpu));
      read(FileKind::kMemPressure, psi(out.psi_memory));
      read(FileKind::kIoPressure, psi(out.psi_io));
    }
    if (vanished) return false;
    if (e.scope == Scope::kPod) ReadNet(e, out);
    return true;
  }

  // True when `e` has no slot of `kind` or its file is missing.
  static bool HasMissingOrNone(const Entity& e, FileKind kind) {
    int8_t index = e.slot_of[static_cast<size_t>(kind)];
    return index < 0 || e.slots[static_cast<size_t>(index)].state == Slot::State::kMissing;
  }

  // Looks at the first pid in cgroup.procs of `dir`: true when it names a visible process,
  // whose network namespace then decides e.host_network or e.net_path.
  bool ResolveNetFrom(Entity& e, const std::string& dir) {
    auto procs = OpenFile::ReadOnce(JoinPath(dir, "cgroup.procs"), read_buf);
    if (!procs.ok()) return false;
    auto pid = FirstPid(*procs);
    if (!pid) return false;
    std::string pid_dir = JoinPath(paths.proc, std::to_string(*pid));
    auto netns = ReadLink(JoinPath(pid_dir, "ns/net"));
    if (!netns) return false;  // exited, or not visible from this proc root
    if (host_netns && *netns == *host_netns) {
      e.host_network = true;
    } else {
      e.net_path = JoinPath(pid_dir, "net/dev");
    }
    return true;
  }

  // Finds a process of pod `e` and its network namespace: in the pod's and its containers'
  // own cgroups first, then in the containers' children. Keeps the kept net/dev file when
  // the process found is the same as before.
  void ResolveNet(Entity& e) {
    e.net_resolved = true;
    e.host_network = false;
    std::string old_path = std::move(e.net_path);
    e.net_path.clear();
    bool resolved = false;
    for (const ProcDir& dir : e.where.proc_dirs) {
      if ((resolved = ResolveNetFrom(e, dir.dir))) break;
    }
    for (size_t i = 0; !resolved && i < e.where.proc_dirs.size(); ++i) {
      const ProcDir& dir = e.where.proc_dirs[i];
      if (!dir.children) continue;
      for (const std::string& child : ListSubdirs(dir.dir)) {
        if ((resolved = ResolveNetFrom(e, JoinPath(dir.dir, child)))) break;
      }
    }
    if (e.net_dev && (e.net_path.empty() || e.net_path != old_path)) {
      Close(*e.net_dev);
      e.net_dev.reset();
    }
    if (!e.net_path.empty() && !e.net_dev) {
      e.net_dev = Slot{FileKind::kNetDev, 0, Slot::State::kUnopened, Rate::kEveryTick, OpenFile()};
    }
  }

  void ReadNet(Entity& e, CgroupSample& out) {
    if (!e.net_resolved) ResolveNet(e);
    out.host_network = e.host_network;
    if (!e.net_dev) return;
    for (int attempt = 0; attempt < 2 && e.net_dev; ++attempt) {
      auto text = ReadSlot(*e.net_dev, [&]() -> const std::string& { return e.net_path; });
      if (text.ok()) {
        auto ifs = ParseNetDev(*text, e.net_path);
        if (ifs.ok()) {
          out.net = SumExceptLoopback(*ifs);
          return;
        }
        WarnOnce("parse:net/dev", ifs.status().ToString() +
                                      " (warned once; pod network "
                                      "counters stay absent)");
        return;
      }
      // The process left: pick another one of the pod once.
      Close(*e.net_dev);
      e.net_dev.reset();
      ResolveNet(e);
      out.host_network = e.host_network;
    }
  }
};

CgroupSampler::CgroupSampler(std::unique_ptr<State> state) : state_(std::move(state)) {}
CgroupSampler::CgroupSampler(CgroupSampler&&) noexcept = default;
CgroupSampler& CgroupSampler::operator=(CgroupSampler&&) noexcept = default;
CgroupSampler::~CgroupSampler() = default;

Result<CgroupSampler> CgroupSampler::Open(const HostPaths& paths, CgroupOptions options) {
  auto state = std::make_unique<State>();
  state->paths = paths;
  state->options = std::move(options);
  if (state->options.rescan_every_ticks < 1) state->options.rescan_every_ticks = 1;
  state->open_budget = OpenFileBudget(state->options);
  JOSTLE_RETURN_IF_ERROR(state->DetectLayout());
  state->Scan();
  return CgroupSampler(std::move(state));
}

namespace {

// Ordering of samples and entities: (scope, id), as the entity map is keyed.
bool SampleBefore(const CgroupSample& s, Scope scope, const std::string& id) {
  return s.scope != scope ? s.scope < scope : s.id < id;
}

void AssignIfChanged(std::string& dest, const std::string& src) {
  if (dest != src) dest = src;
}

// Makes `s` what a fresh CgroupSample is, keeping its strings' contents where the caller
// sets them again (id, path, pod uid, container id, qos) and their capacity elsewhere.
void ResetKeepingStrings(CgroupSample& s) {
  CgroupSample fresh;
  fresh.id.swap(s.id);
  fresh.path.swap(s.path);
  fresh.pod_uid.swap(s.pod_uid);
  fresh.container_id.swap(s.container_id);
  fresh.qos.swap(s.qos);
  fresh.namespace_name.swap(s.namespace_name);
  fresh.pod_name.swap(s.pod_name);
  fresh.container_name.swap(s.container_name);
  fresh.namespace_name.clear();
  fresh.pod_name.clear();
  fresh.container_name.clear();
  s = std::move(fresh);
}

}  // namespace

std::vector<CgroupSample> CgroupSampler::Read() {
  std::vector<CgroupSample> out;
  Read(out);
  return out;
}

void CgroupSampler::Read(std::vector<CgroupSample>& out) {
  State& s = *state_;
  // Open listed the trees; the first Read reads what it found.
  if (s.stats.ticks > 0 &&
      s.stats.ticks % static_cast<uint64_t>(s.options.rescan_every_ticks) == 0) {
    s.Scan();
  }
  ++s.stats.ticks;
  // `out`'s samples are reused in place where their (scope, id) is still known: both `out`
  // (when it came from Read) and the entities are ordered by (scope, id), so one merge pass
  // moves each kept sample to its new position; samples of cgroups gone are dropped. Any
  // other content of `out` is only slower.
  const bool ordered = std::is_sorted(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return SampleBefore(a, b.scope, b.id);
  });
  if (!ordered) out.clear();
  // out[0, kept): this tick's samples; out[kept, next): spent (last tick's samples of
  // cgroups gone, or of one that vanished this tick), reused for new series; out[next, end):
  // last tick's samples not reached yet, in order.
  size_t kept = 0;
  size_t next = 0;
  for (auto it = s.entities.begin(); it != s.entities.end();) {
    Entity& e = it->second;
    while (next < out.size() && SampleBefore(out[next], e.scope, e.id)) ++next;
    if (next < out.size() && out[next].scope == e.scope && out[next].id == e.id) {
      if (next != kept) std::swap(out[kept], out[next]);
      ++next;
    } else if (kept == next) {
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(kept), CgroupSample{});
      ++next;
    }
    CgroupSample& sample = out[kept];
    ResetKeepingStrings(sample);
    sample.scope = e.scope;
    AssignIfChanged(sample.id, e.id);
    AssignIfChanged(sample.path, e.where.path);
    AssignIfChanged(sample.pod_uid, e.where.pod_uid);
    AssignIfChanged(sample.container_id, e.where.container_id);
    AssignIfChanged(sample.qos, e.where.qos);
    if (!s.ReadEntity(e, sample)) {
      // out[kept] is spent: kept does not move.
      ++s.stats.vanished;
      spdlog::debug("cgroup sampler: {} went away between listing and reading", e.id);
      s.CloseAll(e);
      it = s.entities.erase(it);
      continue;
    }
    ++kept;
    ++it;
  }
  out.resize(kept);
  s.stats.cgroups = s.entities.size();
}

const std::map<std::string, std::string>& CgroupSampler::host_facts() const {
  return state_->facts;
}

const CgroupSamplerStats& CgroupSampler::stats() const { return state_->stats; }

}  // namespace jostle::agent
