// What `jostle run` sets up, in the run mode this machine allows (run_mode.h), so the
// report can tell the command's own use of the machine from its neighbours': a cgroup of the
// command's own (CommandCgroup), or its process tree followed through /proc (ProcessTree).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/run/command_cgroup.h"
#include "collector/run/process_tree.h"
#include "collector/run/run_mode.h"
#include "jostle/status.h"

namespace jostle::collector {

struct IsolationOptions {
  std::string mode = "auto";  // jostle run --mode: "auto" or a RunModeName
  std::string proc_root = "/proc";
  std::string cgroup_root = "/sys/fs/cgroup";
  std::vector<std::string> cgroups;  // --cgroup names (relative ones: beside jostle)
};

// The mode SetUp would take here and why, without setting anything up (jostle run
// --print-mode). InvalidArgument for an unknown --mode.
Result<RunModePlan> PlanRunMode(const IsolationOptions& options);

class CommandIsolation {
 public:
  // Decides the mode and sets it up. A cgroup mode whose set-up the kernel refuses falls
  // back to process-tree (the plan's reason says why). For v2-systemd-scope outside a scope
  // this does not return: jostle is re-run in the scope (when systemd-run cannot be started,
  // the next mode is taken). InvalidArgument for an unknown --mode.
  static Result<std::unique_ptr<CommandIsolation>> SetUp(const IsolationOptions& options);

  const RunModePlan& plan() const { return plan_; }
  // The series that is the command's own (ReportOptions::self_cgroup); "" when none.
  const std::string& self_series() const { return self_series_; }
  // --cgroup names as the sampler must be given them, and the command's cgroup.
  const std::vector<std::string>& sampler_cgroups() const { return sampler_cgroups_; }
  // process-tree mode only (else null): the tree, fed by the sampling tick.
  ProcessTree* tree() const { return tree_.get(); }
  // process-tree mode: this process's cgroup paths (they hold the command too).
  const std::vector<std::string>& own_cgroups() const { return own_cgroups_; }

  // The command was forked (and waits to exec): it goes into its cgroup, or becomes the
  // tree's root. Called by the thread that forked it.
  void Started(pid_t pid);
  // Removes the command's cgroup (and jostle-self), ends the subreaper role. Idempotent; the
  // destructor calls it.
  void Finish();
  ~CommandIsolation();

 private:
  CommandIsolation() = default;
  void UseProcessTree(const RunModeFacts& facts, const IsolationOptions& options,
                      const std::string& why);
  RunModePlan plan_;
  std::optional<CommandCgroup> cgroup_;
  std::unique_ptr<ProcessTree> tree_;
  std::string self_series_;
  std::vector<std::string> sampler_cgroups_;
  std::vector<std::string> own_cgroups_;
  bool subreaper_ = false;
};

}  // namespace jostle::collector
