// The process-tree mode of `jostle run` (run_mode.h): without a cgroup of its own, the
// command is followed through <proc>/PID. Each tick reads every process once:
//   - the tree: the command and every descendant, followed by parent pid (a process stays in
//     the tree once seen in it, under its (pid, start time)); jostle is a child subreaper
//     while the command runs, so daemonised descendants (double fork, setsid) are reparented
//     to jostle and stay in the tree; a process in the session the command leads is in it
//     too. Its CPU (live members' utime+stime+cutime+cstime, plus what jostle reaped:
//     RUSAGE_CHILDREN) and memory (RSS) become one series (CgroupSample, id
//     TreeSeriesName), so the attribution subtracts it from the node's CPU as it does a
//     command cgroup's;
//   - every other process: CPU, RSS and IO (read_bytes + write_bytes of <proc>/PID/io, where
//     readable) over time, to name the top neighbours of a test's window as processes.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/attribution/run_report.h"
#include "collector/attribution/verdict.h"
#include "collector/run/run_mode.h"
#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::collector {

// The fields of one <proc>/PID/stat line that the tree needs.
struct ProcStat {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  pid_t ppid = 0;
  pid_t session = 0;
  uint64_t cpu_ticks = 0;        // utime + stime, clock ticks (USER_HZ)
  uint64_t child_cpu_ticks = 0;  // cutime + cstime (reaped children), clock ticks
  uint64_t start_ticks = 0;      // starttime, clock ticks since boot
  uint64_t rss_pages = 0;
};
// Parses <proc>/PID/stat ("1234 (comm with) spaces) S 1 ..."); the comm may hold spaces and
// parentheses, so fields are counted from the last ')'.
Result<ProcStat> ParseProcPidStat(std::string_view text);
// "Uid:" (real uid) of <proc>/PID/status.
std::optional<uid_t> ParseStatusUid(std::string_view text);
// read_bytes + write_bytes of <proc>/PID/io (storage IO, bytes).
std::optional<uint64_t> ParseProcIoBytes(std::string_view text);

// The id and path of the tree's series for command pid `jostle_pid`'s run.
std::string TreeSeriesName(pid_t jostle_pid);

class ProcessTree {
 public:
  // `container` gives the own limits of a container (cpu.max, memory.max at the cgroup root
  // it sees) to the tree's series; `cgroup_root` is read for that root's cpu.stat throttling
  // when a CPU limit is set.
  ProcessTree(std::string proc_root, pid_t jostle_pid, ContainerFacts container,
              std::string cgroup_root);

  // The command started; from now on its descendants are the tree.
  void SetCommand(pid_t command);
  // Reads every process once; returns the tree's series for this tick (nullopt before
  // SetCommand). Reaps zombie children of jostle other than the command (orphans reparented
  // to it). Called by the sampling thread only.
  std::optional<CgroupSample> Tick(int64_t wall_ns);

  // The top `n` processes outside the tree by their use of `resource` over [from_ns, to_ns]
  // (cpu: CPU time / node_busy_us; memory: peak RSS / node_mem_bytes; io: IO bytes / all
  // outside processes' IO bytes), kind process, named "pid N comm", detail "user U[,
  // container ID]". None for network (not per process in /proc).
  std::vector<Culprit> TopNeighbours(int64_t from_ns, int64_t to_ns, Resource resource,
                                     double node_busy_us, double node_mem_bytes, size_t n) const;
  // Pids in the tree as of the last tick, and how many processes were ever in it.
  std::vector<pid_t> TreePids() const;

 private:
  struct Known {
    pid_t pid = 0;
    uint64_t start_ticks = 0;
    std::string comm;
    uid_t uid = 0;
    std::string container;  // 12-digit id or ""
    size_t first_tick = 0;
  };
  struct Point {
    uint32_t key = 0;
    uint64_t cpu_us = 0;
    uint64_t rss_bytes = 0;
    uint64_t io_bytes = 0;
  };
  struct TickRecord {
    int64_t wall_ns = 0;
    std::vector<Point> points;  // processes outside the tree
  };
  uint32_t KeyOf(const ProcStat& st, const std::string& dir);
  void ReapOrphans(const std::vector<ProcStat>& all, pid_t command);
  void AddOwnLimits(CgroupSample& s) const;

  std::string proc_root_;
  pid_t jostle_pid_;
  ContainerFacts container_;
  std::string cgroup_root_;
  // Set by the thread that starts the command, read by the sampling thread.
  std::atomic<pid_t> command_{0};
  std::atomic<uint64_t> reaped_base_us_{0};  // RUSAGE_CHILDREN at SetCommand, µs
  // The rest: the sampling thread only (TopNeighbours once sampling has stopped).
  double us_per_tick_;
  long page_size_;
  std::map<std::pair<pid_t, uint64_t>, uint32_t> key_of_;  // (pid, start) → index in known_
  std::vector<Known> known_;
  std::vector<bool> in_tree_;  // per key
  std::vector<pid_t> tree_pids_;
  std::vector<TickRecord> ticks_;
};

// Process-tree mode: adds the top 5 neighbour processes of each contended failure's
// resource to its culprits (after own-limit, ordered by share), and drops cgroup culprits
// that hold the command (`own_cgroups`: this process's cgroup paths and their ancestors), whose
// use is the command's as much as anyone's.
void AddProcessCulprits(const ProcessTree& tree, const std::vector<std::string>& own_cgroups,
                        std::vector<FailureReport>& failures);

}  // namespace jostle::collector
