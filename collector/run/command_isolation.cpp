#include "collector/run/command_isolation.h"

#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "collector/run/systemd_scope.h"

namespace jostle::collector {
namespace {

// The path of each /proc/self/cgroup line but the root ("4:memory:/a/b" → "/a/b").
std::vector<std::string> OwnCgroupPaths() {
  std::ifstream self("/proc/self/cgroup");
  std::vector<std::string> paths;
  for (std::string line; std::getline(self, line);) {
    auto second = line.find(':', line.find(':') + 1);
    if (second == std::string::npos) continue;
    std::string path = line.substr(second + 1);
    if (path != "/" && !path.empty()) paths.push_back(path);
  }
  return paths;
}

}  // namespace

Result<std::unique_ptr<CommandIsolation>> CommandIsolation::SetUp(const IsolationOptions& o) {
  std::optional<RunMode> forced;
  if (o.mode != "auto") {
    forced = ParseRunMode(o.mode);
    if (!forced) {
      return Status::InvalidArgument("--mode " + o.mode +
                                     ": not auto, v1/hybrid-root, v2-root, v2-systemd-scope, "
                                     "v2-delegated or process-tree");
    }
  }
  RunModePaths paths;
  paths.cgroup_root = o.cgroup_root;
  paths.proc_root = o.proc_root;
  const char* scope = std::getenv(kRunScopeEnv);
  const uid_t uid = ::geteuid();
  RunModeFacts facts = ReadRunModeFacts(paths, uid, uid == 0, scope != nullptr && *scope != '\0',
                                        SystemdScopeUsable);
  std::unique_ptr<CommandIsolation> iso(new CommandIsolation());
  iso->plan_ = DecideRunMode(facts, ::getpid(), forced);
  if (iso->plan_.mode == RunMode::kV2SystemdScope && !facts.in_jostle_scope) {
    Status s = ReexecInSystemdScope(iso->plan_.systemd_user);  // returns only on failure
    spdlog::warn("not re-run in a systemd scope: {}", s.message());
    facts.systemd_scope_usable = false;
    iso->plan_ = DecideRunMode(facts, ::getpid(), std::nullopt);
  }
  const std::string name = "jostle-run-" + std::to_string(::getpid());
  iso->sampler_cgroups_ = o.cgroups;
  Result<CommandCgroup> created = Status::NotFound("no cgroup mode");
  switch (iso->plan_.mode) {
    case RunMode::kV1HybridRoot:
      created = CommandCgroup::Create(o.cgroup_root, name);
      break;
    case RunMode::kV2Root:
    case RunMode::kV2Delegated:
    case RunMode::kV2SystemdScope: {
      // Relative --cgroup names are beside jostle where it started, not inside jostle-self.
      const std::string& own = facts.v2.path;
      for (std::string& n : iso->sampler_cgroups_) {
        if (!n.empty() && n.front() != '/') n = (own == "/" ? "" : own) + "/" + n;
      }
      created = CommandCgroup::CreateV2(o.cgroup_root, own, name, ::getpid(),
                                        iso->plan_.controllers, iso->plan_.moves_other_processes);
      break;
    }
    case RunMode::kProcessTree:
      break;
  }
  if (iso->plan_.mode == RunMode::kProcessTree) {
    iso->UseProcessTree(facts, o, "");
  } else if (!created.ok()) {
    iso->sampler_cgroups_ = o.cgroups;
    iso->UseProcessTree(facts, o,
                        std::string(RunModeName(iso->plan_.mode)) +
                            " could not be set up: " + created.status().message());
  } else {
    iso->cgroup_.emplace(std::move(created).value());
    iso->self_series_ = iso->cgroup_->name();
    iso->sampler_cgroups_.push_back(iso->cgroup_->name());
  }
  spdlog::info("run mode {}: {}", RunModeName(iso->plan_.mode), iso->plan_.reason);
  return iso;
}

void CommandIsolation::UseProcessTree(const RunModeFacts& facts, const IsolationOptions& o,
                                      const std::string& why) {
  if (!why.empty()) {
    spdlog::warn("{}; following the command's process tree instead", why);
    plan_ = DecideRunMode(facts, ::getpid(), RunMode::kProcessTree);
    plan_.reason = why;
  }
  tree_ = std::make_unique<ProcessTree>(o.proc_root, ::getpid(), facts.container, o.cgroup_root);
  self_series_ = TreeSeriesName(::getpid());
  own_cgroups_ = OwnCgroupPaths();
  // Orphaned descendants (daemons) are reparented to jostle, so they stay in the tree.
  subreaper_ = ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
  if (!subreaper_) spdlog::warn("not a child subreaper: daemons the command starts are lost");
}

void CommandIsolation::Started(pid_t pid) {
  if (tree_) tree_->SetCommand(pid);
  if (!cgroup_) return;
  if (Status s = cgroup_->Add(pid); !s.ok()) {
    spdlog::warn(
        "command not moved into a cgroup of its own ({}); its use is counted as its "
        "parent's",
        s.message());
  }
}

void CommandIsolation::Finish() {
  if (cgroup_) cgroup_->Remove();
  if (subreaper_) ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  subreaper_ = false;
}

CommandIsolation::~CommandIsolation() { Finish(); }

}  // namespace jostle::collector
