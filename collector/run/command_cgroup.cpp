#include "collector/run/command_cgroup.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "collector/run/cgroup_hierarchy.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

Status WritePid(const std::string& dir, pid_t pid) {
  std::ofstream procs(dir + "/cgroup.procs");
  procs << pid << '\n';
  procs.flush();
  if (!procs) return Status::FromErrno(errno, dir + "/cgroup.procs");
  return Status::Ok();
}

Status WriteControl(const std::string& dir, const std::string& change) {
  std::ofstream control(dir + "/cgroup.subtree_control");
  control << change << '\n';
  control.flush();
  if (!control)
    return Status::FromErrno(errno, "'" + change + "' > " + dir + "/cgroup.subtree_control");
  return Status::Ok();
}

std::vector<std::string> ReadWords(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// Moves every process of `from` into `to` (best effort: a process that exited is gone).
void MoveAll(const std::string& from, const std::string& to) {
  for (const std::string& pid : ReadWords(from + "/cgroup.procs")) {
    if (Status s = WritePid(to, static_cast<pid_t>(std::stol(pid))); !s.ok()) {
      spdlog::warn("cgroup {}: process {} not moved back: {}", from, pid, s.message());
    }
  }
}

void RemoveDir(const std::string& dir) {
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    spdlog::warn("cgroup {}: not removed: {}", dir, std::strerror(errno));
  }
}

}  // namespace

Result<CommandCgroup> CommandCgroup::CreateV2(const std::string& v2_root, const std::string& own,
                                              const std::string& name, pid_t self,
                                              const std::vector<std::string>& controllers,
                                              bool move_others) {
  const bool at_root = own.empty() || own == "/";
  const std::string rel = (at_root ? "" : own) + "/" + name;
  CommandCgroup cg(rel, {});
  cg.own_dir_ = v2_root + (at_root ? "" : own);
  if (!at_root) {
    std::string leaf = cg.own_dir_ + "/jostle-self";
    if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "mkdir " + leaf);
    }
    cg.self_dir_ = leaf;  // from here on, Remove() (the destructor) undoes what was done
    std::vector<pid_t> movers{self};
    if (move_others) {
      for (const std::string& pid : ReadWords(cg.own_dir_ + "/cgroup.procs")) {
        pid_t p = static_cast<pid_t>(std::stol(pid));
        if (p != self) movers.push_back(p);
      }
    }
    for (pid_t p : movers) {
      Status s = WritePid(leaf, p);
      if (!s.ok() && p == self)
        return Status::PermissionDenied("moving jostle into " + leaf + ": " + s.message());
      if (!s.ok()) spdlog::warn("process {} not moved into {}: {}", p, leaf, s.message());
    }
  }
  std::vector<std::string> on = ReadWords(cg.own_dir_ + "/cgroup.subtree_control");
  for (const std::string& c : controllers) {
    if (std::find(on.begin(), on.end(), c) != on.end()) continue;
    if (Status s = WriteControl(cg.own_dir_, "+" + c); !s.ok()) {
      return Status::PermissionDenied("controller " + c +
                                      " not enabled for the command: " + s.message());
    }
    cg.enabled_.push_back(c);
  }
  std::string dir = v2_root + rel;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "mkdir " + dir);
  }
  cg.dirs_.push_back(dir);
  return cg;
}

Result<CommandCgroup> CommandCgroup::Create(const std::string& cgroup_root, const std::string& name,
                                            const std::string& self_cgroup_file) {
  std::ifstream self(self_cgroup_file);
  if (!self) return Status::FromErrno(errno, self_cgroup_file);
  std::vector<std::string> dirs;
  Status last = Status::NotFound("no cpu, cpuacct, memory or v2 hierarchy under " + cgroup_root +
                                 " in " + self_cgroup_file);
  std::string line;
  while (std::getline(self, line)) {
    // "4:memory:/process_api/abc" or "0::/user.slice/..."
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string dir = CgroupHierarchyDir(cgroup_root, line.substr(first + 1, second - first - 1));
    if (dir.empty()) continue;
    std::string own = line.substr(second + 1);
    std::string path = dir + (own == "/" ? "" : own) + "/" + name;
    if (std::find(dirs.begin(), dirs.end(), path) != dirs.end()) continue;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      last = Status::FromErrno(errno, "mkdir " + path);
      continue;
    }
    dirs.push_back(path);
  }
  if (dirs.empty()) return last;
  return CommandCgroup(name, std::move(dirs));
}

Status CommandCgroup::Add(pid_t pid) {
  std::vector<std::string> kept;
  std::string refused;
  for (const auto& dir : dirs_) {
    Status s = WritePid(dir, pid);
    if (s.ok()) {
      kept.push_back(dir);
      continue;
    }
    refused += (refused.empty() ? "" : "; ") + s.message();
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("cgroup {}: not removed: {}", dir, std::strerror(errno));
    }
  }
  dirs_ = std::move(kept);
  if (dirs_.empty()) return Status::PermissionDenied("process not moved into a cgroup: " + refused);
  if (!refused.empty()) spdlog::warn("command cgroup: {}", refused);
  return Status::Ok();
}

void CommandCgroup::Remove() {
  // Controllers first: "no internal processes" keeps processes out of <own> while its
  // subtree_control has any.
  for (const std::string& c : enabled_) {
    if (Status s = WriteControl(own_dir_, "-" + c); !s.ok()) spdlog::warn("{}", s.message());
  }
  enabled_.clear();
  for (const auto& dir : dirs_) {
    // Processes the command left behind go back to the parent so the directory can go.
    MoveAll(dir, fs::path(dir).parent_path().string());
    RemoveDir(dir);
  }
  dirs_.clear();
  if (!self_dir_.empty()) {
    MoveAll(self_dir_, own_dir_);
    RemoveDir(self_dir_);
    self_dir_.clear();
  }
}

void CommandCgroup::TakeFrom(CommandCgroup& other) {
  name_ = std::move(other.name_);
  dirs_ = std::move(other.dirs_);
  own_dir_ = std::move(other.own_dir_);
  self_dir_ = std::move(other.self_dir_);
  enabled_ = std::move(other.enabled_);
  other.dirs_.clear();
  other.self_dir_.clear();
  other.enabled_.clear();
}

CommandCgroup::CommandCgroup(CommandCgroup&& other) noexcept { TakeFrom(other); }

CommandCgroup& CommandCgroup::operator=(CommandCgroup&& other) noexcept {
  if (this != &other) {
    Remove();
    TakeFrom(other);
  }
  return *this;
}

CommandCgroup::~CommandCgroup() { Remove(); }

}  // namespace jostle::collector
