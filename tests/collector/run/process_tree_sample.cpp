// A GoogleTest program for the process-tree mode of `jostle run`: its one test burns CPU in
// two children and in a daemon (double fork + setsid, so it leaves the test's session and
// is reparented), writes their pids and its own to $PT_PIDS, one per line, waits for the
// children and fails ("over budget"). Built, not registered with CTest.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

void Burn(std::chrono::milliseconds how_long) {
  auto until = std::chrono::steady_clock::now() + how_long;
  volatile unsigned long spin = 0;
  while (std::chrono::steady_clock::now() < until) spin = spin + 1;
}

void Record(pid_t pid) {
  const char* file = std::getenv("PT_PIDS");
  if (file != nullptr) std::ofstream(file, std::ios::app) << pid << "\n";
}

TEST(ProcessTreeSample, BurnsWithItsChildrenAndGoesOverBudget) {
  constexpr std::chrono::milliseconds kBurn(3000);
  Record(::getpid());
  pid_t children[2];
  for (pid_t& c : children) {
    c = ::fork();
    if (c == 0) {
      Burn(kBurn);
      ::_exit(0);
    }
    Record(c);
  }
  // The daemon: its parent exits at once, it leaves the session and burns on its own.
  pid_t parent = ::fork();
  if (parent == 0) {
    ::setsid();
    if (::fork() == 0) {
      Record(::getpid());
      Burn(kBurn);
      ::_exit(0);
    }
    ::_exit(0);
  }
  ::waitpid(parent, nullptr, 0);
  for (pid_t c : children) ::waitpid(c, nullptr, 0);
  FAIL() << "over budget: the checkout took more than its 1 s budget";
}

}  // namespace
