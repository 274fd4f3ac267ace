// The cgroup `jostle run` puts its command in, so the report can tell the command's own CPU
// and memory use from its neighbours'. Created beneath this process's own cgroup in each
// hierarchy that matters (v1 cpu, cpuacct and memory; the v2 hierarchy, pure or the
// `unified` mount of a hybrid host), under one relative name, so the cgroup sampler's
// relative --cgroup naming finds the same logical cgroup in all of them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "jostle/status.h"

namespace jostle::collector {

// Every run's command cgroup (and its systemd scope, and its process-tree series) is this
// prefix and the pid of its jostle.
inline constexpr const char* kCommandCgroupPrefix = "jostle-run-";

class CommandCgroup {
 public:
  // Creates `name` beneath this process's cgroups (as listed in self_cgroup_file) under
  // cgroup_root. Hierarchies where the directory cannot be created are skipped; NotFound or
  // PermissionDenied when none could be.
  static Result<CommandCgroup> Create(const std::string& cgroup_root, const std::string& name,
                                      const std::string& self_cgroup_file = "/proc/self/cgroup");

  // Pure cgroup v2 (modes v2-root, v2-delegated, v2-systemd-scope; run_mode.h): this process's
  // cgroup `own` (relative to v2_root) holds processes, and "no internal processes" forbids
  // enabling controllers for its children while it does. So: <own>/jostle-self is created and
  // `self` (plus every other process of <own> when move_others) moves there, `controllers`
  // are enabled in <own>/cgroup.subtree_control (those already on are left as they are), and
  // <own>/<name> is created beside jostle-self for the command. At the v2 root (own "/"),
  // which may hold processes, nothing moves. Each step that fails undoes the ones before and
  // names what the kernel refused. Remove() undoes it all: controllers it enabled are
  // disabled, processes go back to <own>, both directories go.
  static Result<CommandCgroup> CreateV2(const std::string& v2_root, const std::string& own,
                                        const std::string& name, pid_t self,
                                        const std::vector<std::string>& controllers,
                                        bool move_others);

  // Moves process `pid` into the cgroup in every hierarchy where it was created. A
  // hierarchy where the move is refused (EACCES, EBUSY, ...) is given up: its directory is
  // removed, so directories() lists only where the process is. Error (naming each refusal)
  // when no hierarchy is left.
  Status Add(pid_t pid);

  // What the cgroup sampler is told to sample (CgroupOptions::extra_cgroups) and the report's
  // self cgroup: the relative name given to Create; for CreateV2 the path from the v2 root
  // ("/<own>/<name>"), since this process's own cgroup is jostle-self by then.
  const std::string& name() const { return name_; }
  // CreateV2: the controllers it enabled (not those that were on before).
  const std::vector<std::string>& enabled_controllers() const { return enabled_; }
  const std::vector<std::string>& directories() const { return dirs_; }

  // Removes the directories (moving any process left in them back to the parent first).
  void Remove();

  CommandCgroup(CommandCgroup&& other) noexcept;
  CommandCgroup& operator=(CommandCgroup&& other) noexcept;
  CommandCgroup(const CommandCgroup&) = delete;
  CommandCgroup& operator=(const CommandCgroup&) = delete;
  ~CommandCgroup();

 private:
  CommandCgroup(std::string name, std::vector<std::string> dirs)
      : name_(std::move(name)), dirs_(std::move(dirs)) {}
  void TakeFrom(CommandCgroup& other);
  std::string name_;
  std::vector<std::string> dirs_;  // absolute directories created, one per hierarchy
  // CreateV2 only.
  std::string own_dir_;               // <own>, whose subtree_control was written
  std::string self_dir_;              // <own>/jostle-self; "" at the v2 root
  std::vector<std::string> enabled_;  // controllers enabled in <own>/cgroup.subtree_control
};

}  // namespace jostle::collector
