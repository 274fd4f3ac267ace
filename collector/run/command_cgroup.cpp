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

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

// The mount directory under cgroup_root of one /proc/self/cgroup line's hierarchy, or ""
// when it is not one jostle samples.
std::string HierarchyDir(const std::string& root, const std::string& controllers) {
  if (controllers.empty()) {  // the v2 hierarchy
    if (fs::exists(root + "/cgroup.controllers")) return root;
    if (fs::exists(root + "/unified/cgroup.controllers")) return root + "/unified";
    return "";
  }
  std::stringstream list(controllers);
  std::string controller;
  bool wanted = false;
  while (std::getline(list, controller, ',')) {
    if (controller == "cpu" || controller == "cpuacct" || controller == "memory") wanted = true;
  }
  if (!wanted) return "";
  if (fs::is_directory(root + "/" + controllers)) return root + "/" + controllers;
  std::stringstream again(controllers);
  while (std::getline(again, controller, ',')) {
    if (fs::is_directory(root + "/" + controller)) return root + "/" + controller;
  }
  return "";
}

Status WritePid(const std::string& dir, pid_t pid) {
  std::ofstream procs(dir + "/cgroup.procs");
  procs << pid << '\n';
  procs.flush();
  if (!procs) return Status::FromErrno(errno, dir + "/cgroup.procs");
  return Status::Ok();
}

}  // namespace

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
    std::string dir = HierarchyDir(cgroup_root, line.substr(first + 1, second - first - 1));
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
  for (const auto& dir : dirs_) {
    // Processes the command left behind go back to the parent so the directory can go.
    std::ifstream procs(dir + "/cgroup.procs");
    std::string pid;
    std::string parent = fs::path(dir).parent_path().string();
    while (std::getline(procs, pid)) {
      std::ofstream(parent + "/cgroup.procs") << pid << '\n';
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("cgroup {}: not removed: {}", dir, std::strerror(errno));
    }
  }
  dirs_.clear();
}

CommandCgroup::CommandCgroup(CommandCgroup&& other) noexcept
    : name_(std::move(other.name_)), dirs_(std::move(other.dirs_)) {
  other.dirs_.clear();
}

CommandCgroup& CommandCgroup::operator=(CommandCgroup&& other) noexcept {
  if (this != &other) {
    Remove();
    name_ = std::move(other.name_);
    dirs_ = std::move(other.dirs_);
    other.dirs_.clear();
  }
  return *this;
}

CommandCgroup::~CommandCgroup() { Remove(); }

}  // namespace jostle::collector
