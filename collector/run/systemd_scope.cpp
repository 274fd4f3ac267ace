#include "collector/run/systemd_scope.h"

#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "collector/run/command_cgroup.h"

extern char** environ;

namespace jostle::collector {
namespace {

std::vector<std::string> ScopeArgs(bool user, const std::string& unit) {
  std::vector<std::string> args = {"systemd-run",  "--scope", "-p",
                                   "Delegate=yes", "--quiet", "--collect"};
  if (user) args.push_back("--user");
  if (!unit.empty()) {
    args.push_back("--unit");
    args.push_back(unit);
  }
  args.push_back("--");
  return args;
}

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

bool SystemdScopeUsable(bool user) {
  std::vector<std::string> args = ScopeArgs(user, "");
  args.push_back("true");
  std::vector<char*> argv = Argv(args);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, "systemd-run", nullptr, nullptr, argv.data(), environ) != 0) {
    return false;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Status ReexecInSystemdScope(bool user) {
  std::error_code ec;
  std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Status::FromErrno(ec.value(), "/proc/self/exe");
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> own;
  for (std::string arg; std::getline(in, arg, '\0');) own.push_back(arg);
  if (own.empty()) return Status::NotFound("/proc/self/cmdline is empty");
  std::string unit = kCommandCgroupPrefix + std::to_string(::getpid()) + ".scope";
  std::vector<std::string> args = ScopeArgs(user, unit);
  args.push_back(exe);
  args.insert(args.end(), own.begin() + 1, own.end());
  if (::setenv(kRunScopeEnv, unit.c_str(), 1) != 0) return Status::FromErrno(errno, "setenv");
  std::vector<char*> argv = Argv(args);
  ::execvp("systemd-run", argv.data());
  int err = errno;
  ::unsetenv(kRunScopeEnv);
  return Status::FromErrno(err, "exec systemd-run");
}

}  // namespace jostle::collector
