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

class CommandCgroup {
 public:
  // Creates `name` beneath this process's cgroups (as listed in self_cgroup_file) under
  // cgroup_root. Hierarchies where the directory cannot be created are skipped; NotFound or
  // PermissionDenied when none could be.
  static Result<CommandCgroup> Create(const std::string& cgroup_root, const std::string& name,
                                      const std::string& self_cgroup_file = "/proc/self/cgroup");

  // Moves process `pid` into the cgroup in every hierarchy where it was created. A
  // hierarchy where the move is refused (EACCES, EBUSY, ...) is given up: its directory is
  // removed, so directories() lists only where the process is. Error (naming each refusal)
  // when no hierarchy is left.
  Status Add(pid_t pid);

  // The relative name given to Create (what the cgroup sampler is told to sample).
  const std::string& name() const { return name_; }
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
  std::string name_;
  std::vector<std::string> dirs_;  // absolute directories created, one per hierarchy
};

}  // namespace jostle::collector
