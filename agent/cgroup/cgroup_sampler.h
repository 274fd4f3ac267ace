// Per-pod, per-container and per-cgroup sampling from the cgroup filesystem, on pure
// cgroup v2, cgroup v1 and hybrid hosts (v1 controllers plus a v2 mount for PSI).
//
// Layout (detected once by Open from HostPaths::cgroup, the "cgroup root"):
//   v2      the root holds cgroup.controllers: one hierarchy gives cpu, memory and PSI.
//   v1      the root holds one directory per controller mount ("cpu", "cpuacct",
//           "cpu,cpuacct", "memory", ...; symlinks to a combined mount are followed and
//           deduplicated); cpu, cpuacct and memory are read.
//   hybrid  v1 as above plus "unified/" holding a v2 hierarchy, read for PSI only.
//
// Kubernetes pods and containers: every hierarchy is walked from its root, to
// CgroupOptions::kube_search_depth levels, looking for pod directories (see kube_path.h)
// below a directory whose name contains "kubepods", wherever that sits. The directories
// directly under a pod directory are its containers. The same pod or container found in
// several hierarchies is one series: hierarchies are joined by pod UID and container id,
// never by path. Pods give Scope::kPod samples (id = pod UID), containers Scope::kContainer
// samples (id = "<pod uid>/<container id>"). Sandbox (pause) containers cannot be told
// apart from cgroups alone and are kept; the caller drops container ids its PodDirectory
// does not name, if it wants to.
//
// Other cgroups (Scope::kCgroup), outside every kubepods subtree and never the root:
//   - discovered: every directory at most CgroupOptions::plain_cgroup_depth levels below a
//     hierarchy root (systemd services under /system.slice, docker scopes, /docker/<id>),
//     and deeper ones (to kube_search_depth) up to CgroupOptions::deeper_plain_cgroups,
//     shallowest first; id = its path relative to the hierarchy root with a leading '/';
//     joined across hierarchies by that relative path.
//   - named by the user (CgroupOptions::extra_cgroups), at any depth:
//       "/a/b" (absolute) is <hierarchy root>/a/b in every hierarchy that has it;
//       "a/b"  (relative) is <hierarchy root>/<own cgroup>/a/b in every hierarchy, where
//              <own cgroup> is this process's cgroup in that hierarchy as listed in
//              CgroupOptions::self_cgroup_file (/proc/self/cgroup). So "X" names
//              cpu:/X and memory:/ci/job7/X when this process sits in cpu:/ and
//              memory:/ci/job7 (tools that create cgroups next to themselves do this).
//     id = the name exactly as given; path = its path relative to the root of the first
//     hierarchy holding it. A discovered cgroup sharing a directory with a named one is
//     dropped in favour of the named one.
//
// Metrics, per cgroup (units and sources as in jostle/sample.h):
//   v2: cpu.stat, cpu.max, memory.current, memory.max, memory.stat (inactive_file, pgscan,
//       workingset_refault*), memory.events (oom_kill, high, max), cpu.pressure,
//       memory.pressure, io.pressure.
//   v1: cpuacct.usage (else cpuacct.usage_user + cpuacct.usage_sys), cpu.stat,
//       cpu.cfs_quota_us / cpu.cfs_period_us, memory.usage_in_bytes,
//       memory.limit_in_bytes, memory.stat (total_inactive_file), memory.oom_control
//       (oom_kill); PSI from the same cgroup under unified/ on hybrid hosts.
//   Working set = usage - inactive file, floored at 0.
//   Network (pods only): <proc>/<pid>/net/dev of one process of the pod, summed over
//   interfaces except lo. The process is the first pid in cgroup.procs of the pod's or its
//   containers' cgroups, else of the containers' children, where crun puts a container's
//   processes ("<scope>/container") and Docker-in-Docker its own ("<scope>/init"); never of
//   CRI-O's crio-conmon-<id> cgroups (host network namespace), never deeper (nested
//   runtimes keep their containers there, in network namespaces of their own). When
//   <proc>/<pid>/ns/net and <proc>/1/ns/net name the same namespace the pod is
//   hostNetwork: host_network = true and net stays nullopt. <proc>/1/ns/net is only read
//   (and only warned about when unreadable) once there is at least one pod.
//
// Sampling rates (the cost of a tick is the number of files read; see bench/BENCHMARKS.md):
//   every tick          cpu.stat / cpuacct.usage of every cgroup (containers': every
//                       container_cpu_every_ticks, default 1, and every tick while
//                       busy); memory usage and PSI of
//                       pods and plain cgroups; pods' net/dev.
//   every N ticks       memory.stat and memory.events (N = memory_stat_every_ticks,
//                       5): memory.stat forces a kernel stats flush. Containers: memory
//                       usage, memory.stat, OOM kills and PSI together every
//                       container_detail_every_ticks (10), spread over the ticks by
//                       container. Attribution reads pods and plain cgroups, whose values
//                       stay per tick; containers' CPU stays per tick.
//   every M ticks       limits (cpu.max, memory.max, cfs quota/period, limit_in_bytes;
//                       M = limits_every_ticks, 60); also on a tick where the cgroup's
//                       nr_throttled moved, at most every other tick, so a CPU limit set
//                       or lowered mid-run is seen within two ticks.
//   All of them are read at once for a new cgroup. In between, the last value read is
//   carried: for gauges (usage, working set, limits) that is a value up to N-1 ticks old;
//   for the cumulative counters of containers (PSI totals, OOM kills) it means the counter
//   moves in steps every N ticks, so a per-tick rate of a container's PSI is 0 between
//   steps and N ticks' worth on a step: derive container PSI rates over windows of at
//   least N ticks (Prometheus rate() over >= N intervals does).
//
// Files are kept open (agent/procfs/kept_file.h) and re-read with pread at offset 0 into one
// buffer shared by all files. Files read every tick may use all of max_open_files descriptors,
// files read every N ticks three quarters of it less what the every-tick files need (those come
// first), limits are never kept; the rest (or everything after an EMFILE) is opened, read and
// closed when due. The budget is also capped at half the soft RLIMIT_NOFILE, which Open raises
// toward the hard limit when raise_open_file_limit is set. Kernel memory: a kept cgroupfs (kernfs)
// file holds a page-sized seq_file buffer in the kernel from its first read until it is closed,
// besides its struct file: ~5.5 KiB per file (1.4 KiB at open, 4.1 KiB more at the first read,
// measured in memory.kmem.usage_in_bytes on this project's hybrid host; bench/BENCHMARKS.md),
// charged to this process's memory cgroup: 100 pods x 5 containers keep about 3250 files open with
// the default budget (about 17 MiB of kernel memory); lower max_open_files (jostle-agent
// --max-open-files) to trade CPU for it.
//
// A missing or malformed file leaves its fields nullopt and logs one warning per file kind
// for the life of the sampler. A cgroup whose directory disappears between listing and
// reading is dropped from that tick on and counted in CgroupSamplerStats::vanished,
// without a warning.
//
// Parts: cgroup_layout.h (hierarchies), cgroup_tree.h (the walk), read_schedule.h (file
// kinds and rates), pod_network.h (a pod's network namespace), kept_file.h (the budget).
//
// Not thread-safe: one thread calls Read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/procfs/host_paths.h"
#include "agent/procfs/kept_file.h"
#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::agent {

struct CgroupOptions {
  // Cgroups to sample as Scope::kCgroup in addition to those discovered (see above for how
  // absolute and relative names resolve).
  std::vector<std::string> extra_cgroups;
  // Directory levels below each hierarchy root searched for kubepods and pod directories.
  int kube_search_depth = 10;
  // Plain cgroups are discovered this many levels below a hierarchy root (0 = none).
  int plain_cgroup_depth = 2;
  // And deeper, down to kube_search_depth levels, at most this many more (shallowest first,
  // then by path; a cgroup present in several hierarchies counts once): the file budget of
  // neighbours that sit deep (cgroups beneath a CI job's container, v1 memory hierarchies
  // nested under a container's path). 0, or plain_cgroup_depth 0: none.
  size_t deeper_plain_cgroups = 64;
  // The cgroup trees are listed again every this many Read calls (pods come and go).
  int rescan_every_ticks = 10;
  // memory.stat and the OOM kill counter are read every this many Read calls; the working
  // set and OOM kills are carried in between.
  int memory_stat_every_ticks = 5;
  // Containers' memory usage, memory.stat, OOM kills and PSI are read every this many
  // Read calls and carried in between (1 = as for pods).
  int container_detail_every_ticks = 10;
  // Containers' CPU (cpu.stat, cpuacct.usage) is read every this many Read calls and
  // carried in between. Default 1: every tick, as for pods and plain cgroups, whose CPU is
  // always read every tick. Above 1 an idle container's CPU is read every N ticks, a busy
  // one's every tick: a container whose usage or throttled periods moved at its last read
  // is read again on the next tick (read_schedule.h CpuMoved), so a busy container's
  // counters stay per tick and an idle one's move in steps every N ticks (one that wakes is
  // seen at its next round, up to N ticks later; derive rates over windows of at least N
  // ticks). On idle containers a
  // tick reads ~45% fewer files at 5 containers per pod (jostle-agent --container-cpu-every).
  int container_cpu_every_ticks = 1;
  // Limits are read every this many Read calls (and at once for a new cgroup).
  int limits_every_ticks = 60;
  // At most this many files read on every tick are kept open between ticks (within half of
  // the soft RLIMIT_NOFILE); the rest are read by open/read/close.
  size_t max_open_files = 4096;
  // When half the soft RLIMIT_NOFILE is below max_open_files, raise the soft limit toward
  // the hard limit at Open (as Go programs, node_exporter among them, do at start-up).
  bool raise_open_file_limit = true;
  // This process's own cgroups, for relative names in extra_cgroups. Empty: treat this
  // process as being in every hierarchy's root.
  std::string self_cgroup_file = "/proc/self/cgroup";
};

// Counters about the sampler itself, for /metrics and tests.
struct CgroupSamplerStats {
  uint64_t ticks = 0;              // Read calls
  uint64_t scans = 0;              // tree listings, Open's included
  uint64_t vanished = 0;           // cgroups dropped because their directory went away mid-read
  size_t cgroups = 0;              // series known after the last scan (pods + containers + plain)
  size_t open_files = 0;           // files kept open now within the budget (by every reader
                                   // sharing it)
  size_t open_periodic_files = 0;  // of which files read every few ticks
};

class CgroupSampler {
 public:
  // Detects the layout under paths.cgroup and lists the trees once. Errors: NotFound when
  // paths.cgroup does not exist, Unsupported when it holds no cgroup hierarchy.
  // The files are kept within a budget of its own (options.max_open_files).
  static Result<CgroupSampler> Open(const HostPaths& paths, CgroupOptions options);
  // As above, keeping files open within `budget`, which other readers share (Sampler::Open
  // gives the node reader the same one); options.max_open_files is then the budget's.
  static Result<CgroupSampler> Open(const HostPaths& paths, CgroupOptions options,
                                    std::shared_ptr<KeptFileBudget> budget);

  // One sample per pod, container and plain cgroup, ordered by (scope, id). Never fails as a
  // whole: unreadable metrics are nullopt, vanished cgroups are left out. Only pod_uid,
  // container_id, qos, path and host_network are filled among the identity fields.
  std::vector<CgroupSample> Read();
  // The same samples as Read() into `out`, reusing the samples it holds: when `out` is what
  // the last call left in it, a series still present keeps its CgroupSample and identity
  // strings (rewritten only when they changed), its readings are reset and read again, and
  // a series gone is dropped. Pod names, container names and labels are cleared (capacity
  // kept) for the caller to fill again. Any other content of `out` gives the same result,
  // only slower.
  void Read(std::vector<CgroupSample>& out);

  // Facts detected at Open and updated at each scan: "cgroup" = "v2" | "v1" | "hybrid";
  // "cgroup_driver" = "systemd" | "cgroupfs" | "none" (no kubepods directory found);
  // "cgroup_psi" = "available" | "disabled" (compiled in, off at boot) | "absent".
  const std::map<std::string, std::string>& host_facts() const;

  const CgroupSamplerStats& stats() const;

  CgroupSampler(CgroupSampler&&) noexcept;
  CgroupSampler& operator=(CgroupSampler&&) noexcept;
  ~CgroupSampler();

 private:
  struct State;
  explicit CgroupSampler(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace jostle::agent
