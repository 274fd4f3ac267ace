// Reads the node-wide metrics of one host into jostle::NodeSample, keeping every file open
// and re-reading it with pread at offset 0 on each tick.
//
// Sources (all under the HostPaths passed to Open):
//   <proc>/stat, <proc>/meminfo, <proc>/loadavg, <proc>/pressure/{cpu,memory,io},
//   <proc>/1/net/dev and <proc>/1/net/snmp (the node's network namespace: inside a pod,
//   <proc>/net is the agent's own namespace; <proc>/net/* is used, with one warning, only
//   when <proc>/1/net is unreadable), <sys>/class/net/IF/speed.
//
// A missing, unreadable or malformed file degrades that one metric (its fields stay
// nullopt) with a single warning for the life of the reader, never one per tick. PSI that
// is compiled in but disabled at boot (reads fail with EOPNOTSUPP) or absent is detected
// once in Open and reported through host_facts().
//
// Not thread-safe: one thread (the sampler) calls Read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "agent/procfs/host_paths.h"
#include "agent/procfs/kept_file.h"
#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::agent {

class NodeReader {
 public:
  // Opens the node files. Fails only when <proc>/stat cannot be opened (a wrong
  // --proc-root); every other file degrades its metric instead. USER_HZ comes from
  // sysconf(_SC_CLK_TCK).
  static Result<NodeReader> Open(const HostPaths& paths);
  // As above with an explicit USER_HZ (for fixture trees recorded on another host).
  static Result<NodeReader> Open(const HostPaths& paths, long clk_tck);
  // As above, charging the files kept open to `budget` (kept_file.h), which the cgroup
  // sampler shares: the node's dozen files are kept whatever the budget holds, and the
  // cgroup files get what is left. A null budget charges nothing.
  static Result<NodeReader> Open(const HostPaths& paths, std::shared_ptr<KeptFileBudget> budget);
  static Result<NodeReader> Open(const HostPaths& paths, long clk_tck,
                                 std::shared_ptr<KeptFileBudget> budget);

  // One reading of every node metric. Fields whose source failed are nullopt.
  NodeSample Read();

  // Facts detected once in Open, for SampleBatch::host:
  //   "psi":        "enabled" | "disabled" (compiled in, off at boot: EOPNOTSUPP)
  //                 | "unavailable" (no <proc>/pressure files)
  //   "node_net":   "proc/1/net" | "proc/net" (fallback: the agent's own namespace)
  const std::map<std::string, std::string>& host_facts() const;

  // Cumulative count of failed reads and parses of node files (each tick a file fails
  // counts once; a file missing at Open counts once).
  uint64_t read_errors() const;

  NodeReader(NodeReader&&) noexcept;
  NodeReader& operator=(NodeReader&&) noexcept;
  ~NodeReader();

 private:
  struct State;
  explicit NodeReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The boot id of the host: <proc>/sys/kernel/random/boot_id, whitespace trimmed.
// NotFound when the file is missing, InvalidArgument when it is empty.
Result<std::string> ReadBootId(const HostPaths& paths);

}  // namespace jostle::agent
