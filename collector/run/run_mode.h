// How `jostle run` tells the command's own use of the machine from its neighbours', chosen
// from what this machine's cgroup filesystem allows (kernel rules from
// Documentation/admin-guide/cgroup-v2.rst: "no internal processes", cgroup.type,
// cgroup.controllers / cgroup.subtree_control, delegation by file ownership):
//
//   v1/hybrid-root    v1 controllers (a v1 or hybrid host) and their directories writable:
//                     the command gets a cgroup beside jostle in every sampled hierarchy.
//   v2-root           pure v2, root, not under a usable systemd: jostle moves itself into
//                     <own>/jostle-self, enables the controllers in <own>/cgroup.subtree_control
//                     and gives the command <own>/jostle-run-PID beside it.
//   v2-systemd-scope  pure v2 and systemd usable: jostle re-runs itself in a transient scope
//                     (systemd-run --scope -p Delegate=yes, --user when not root) and then
//                     does what v2-root does inside that delegated scope.
//   v2-delegated      pure v2, not root, and <own> delegated to this user (its directory,
//                     cgroup.procs and cgroup.subtree_control owned by the user): as v2-root.
//   process-tree      no writable cgroupfs (not root and nothing delegated; a container's
//                     read-only cgroupfs): the command's process tree is followed through
//                     /proc and neighbours are named as processes (process_tree.h).
//
// The decision is a pure function over RunModeFacts; ReadRunModeFacts is the thin reader.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "jostle/status.h"

namespace jostle::collector {

enum class RunMode { kV1HybridRoot, kV2Root, kV2SystemdScope, kV2Delegated, kProcessTree };
// "v1/hybrid-root", "v2-root", "v2-systemd-scope", "v2-delegated", "process-tree"
const char* RunModeName(RunMode mode);
std::optional<RunMode> ParseRunMode(const std::string& name);

enum class CgroupLayout { kNone, kV1, kHybrid, kV2 };

// This process's cgroup in the v2 hierarchy (pure v2 hosts only).
struct OwnV2Cgroup {
  std::string path;  // relative to the v2 root, "/a/b"; "/" for the root
  std::string dir;   // absolute directory
  bool is_root = false;
  std::string type;                          // cgroup.type; "" at the root (no such file)
  std::vector<std::string> controllers;      // cgroup.controllers
  std::vector<std::string> subtree_control;  // cgroup.subtree_control
  std::vector<pid_t> procs;                  // cgroup.procs
  // Delegation (cgroup-v2.rst "Delegation Containment"): the directory, cgroup.procs and
  // cgroup.subtree_control are owned by the user.
  bool delegated_to_user = false;
  bool systemd_delegate = false;  // trusted.delegate / user.delegate xattr set by systemd
};

// Where a container shows itself, and the limits it sees at its cgroup root.
struct ContainerFacts {
  bool in_container = false;
  std::vector<std::string> evidence;        // "/.dockerenv", "/proc/1/cgroup: /docker/<id>", ...
  std::optional<double> cpu_limit_cores;    // cpu.max (v1: cfs_quota_us / cfs_period_us)
  std::optional<uint64_t> mem_limit_bytes;  // memory.max (v1: memory.limit_in_bytes)
  bool host_proc = false;  // --proc-root is not this process's own /proc (the host's mounted)
};

struct RunModeFacts {
  CgroupLayout layout = CgroupLayout::kNone;
  bool cgroupfs_read_only = false;  // the cgroup mount is "ro" in /proc/self/mountinfo
  bool root = false;                // euid 0
  uid_t uid = 0;                    // effective uid
  // v1/hybrid: every sampled v1 hierarchy (cpu, cpuacct, memory) has this process's cgroup
  // directory, and it may create cgroups there (root, or cgroup.procs owned by uid).
  bool v1_writable = false;
  OwnV2Cgroup v2;                     // layout kV2 only
  bool systemd_running = false;       // /run/systemd/system exists
  bool systemd_scope_usable = false;  // a probe scope started (only probed when it matters)
  bool in_jostle_scope = false;       // already re-run in the scope (JOSTLE_RUN_SCOPE set)
  ContainerFacts container;
};

struct RunModePlan {
  RunMode mode = RunMode::kProcessTree;
  std::string reason;      // why this mode, for the log and the report
  std::string cannot_see;  // what the report cannot see in this mode
  // v2 modes: controllers to enable for <own>'s children (cpu, memory, io available here).
  std::vector<std::string> controllers;
  // v2 modes: pids other than jostle's that sit in <own> and go into jostle-self with it
  // ("no internal processes": <own> must be empty before its subtree_control is written).
  bool moves_other_processes = false;
  bool systemd_user = false;  // v2-systemd-scope: systemd-run --user
};

// The pure decision. `self` is this process's pid (to tell it from other pids in <own>).
// `forced` (jostle run --mode) replaces the mode the facts suggest; the reason says both.
RunModePlan DecideRunMode(const RunModeFacts& facts, pid_t self,
                          std::optional<RunMode> forced = std::nullopt);

// Where the reader looks: the cgroup mount, this process's /proc entries, and the root of
// the filesystem this process sees (for /.dockerenv, /run/.containerenv, /run/systemd).
struct RunModePaths {
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string self_proc = "/proc/self";  // cgroup, mountinfo, ns/cgroup
  std::string init_proc = "/proc/1";     // cgroup, ns/cgroup
  std::string fs_root = "";              // "" is "/"; fixtures pass their tree
  std::string proc_root = "/proc";       // jostle run --proc-root
};

// Reads the facts. `probe_scope(user)` starts a throwaway systemd scope and says whether it
// ran; called only on a pure v2 host with systemd running and not yet in a jostle scope.
RunModeFacts ReadRunModeFacts(const RunModePaths& paths, uid_t uid, bool root, bool in_jostle_scope,
                              const std::function<bool(bool user)>& probe_scope);

// Parsers, exposed for tests.
// cpu.max "200000 100000" → 2 cores; "max 100000" → nullopt.
std::optional<double> ParseCpuMax(const std::string& text);
// The container id (64 hex digits, or the 12-digit prefix docker shows) in one cgroup path
// ("/docker/<id>", "/system.slice/docker-<id>.scope", "cri-containerd-<id>.scope",
// "crio-<id>", "libpod-<id>", "/kubepods/.../<id>"); "" when there is none.
std::string ContainerIdInCgroupPath(const std::string& path);
// The container id in a /proc/PID/cgroup text (first line holding one); "" when none.
std::string ContainerIdInProcCgroup(const std::string& text);

}  // namespace jostle::collector
