// The process tree of `jostle run`'s process-tree mode: the /proc parsers on table cases, and
// ProcessTree over this machine's real /proc with real processes (a command with a child and
// a daemon that left its session, and a neighbour outside the tree that burns CPU).
#include "collector/run/process_tree.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "agent/sampler/sampler.h"

namespace jostle::collector {
namespace {

TEST(ProcPidStatTest, ParsesTheFieldsTheTreeNeeds) {
  auto st = ParseProcPidStat(
      "4242 (my (odd) comm) S 17 4242 4200 0 -1 4194560 500 0 0 0 150 30 7 3 20 0 1 0 "
      "123456 10000000 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->pid, 4242);
  EXPECT_EQ(st->comm, "my (odd) comm");
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 17);
  EXPECT_EQ(st->session, 4200);
  EXPECT_EQ(st->cpu_ticks, 180u);
  EXPECT_EQ(st->child_cpu_ticks, 10u);
  EXPECT_EQ(st->start_ticks, 123456u);
  EXPECT_EQ(st->rss_pages, 2500u);
}

TEST(ProcPidStatTest, RefusesWhatIsNotAStatLine) {
  for (const char* bad : {"", "4242 no comm", "x (a) S 1 1 1", "42 (a) S 1 1 1 0 -1 0 0 0 0 0",
                          "42 (a) S 1 1 1 0 -1 0 0 0 0 0 x 0 0 0 0 0 1 0 9 9 9"}) {
    EXPECT_FALSE(ParseProcPidStat(bad).ok()) << bad;
  }
}

TEST(ProcPidStatTest, StatusUidAndIoBytes) {
  EXPECT_EQ(ParseStatusUid("Name:\tsh\nUid:\t1000\t1000\t1000\t1000\n"), 1000u);
  EXPECT_EQ(ParseStatusUid("Name:\tsh\n"), std::nullopt);
  EXPECT_EQ(ParseProcIoBytes("rchar: 9\nwchar: 9\nread_bytes: 4096\nwrite_bytes: 8192\n"), 12288u);
  EXPECT_EQ(ParseProcIoBytes("rchar: 9\n"), std::nullopt);
}

void Burn(std::chrono::milliseconds how_long) {
  auto until = std::chrono::steady_clock::now() + how_long;
  volatile unsigned long spin = 0;
  while (std::chrono::steady_clock::now() < until) spin = spin + 1;
}

// Starts a grandchild that leaves this process (its parent exits at once), runs `body` and
// exits; writes its pid into *pid. With this process a subreaper it is reparented here.
template <typename Body>
pid_t Orphan(Body body, bool new_session) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  pid_t middle = ::fork();
  if (middle == 0) {
    if (new_session) ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild == 0) {
      body();
      ::_exit(0);
    }
    (void)!::write(fds[1], &grandchild, sizeof(grandchild));
    ::_exit(0);
  }
  pid_t pid = -1;
  (void)!::read(fds[0], &pid, sizeof(pid));
  ::close(fds[0]);
  ::close(fds[1]);
  ::waitpid(middle, nullptr, 0);
  return pid;
}

TEST(ProcessTreeTest, FollowsChildrenAndDaemonsAndNamesTheNeighbourOutside) {
  // The neighbour leaves before this process becomes a subreaper: it is not ours.
  pid_t neighbour = Orphan([] { Burn(std::chrono::milliseconds(1500)); }, false);
  ASSERT_GT(neighbour, 0);
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  ProcessTree tree("/proc", ::getpid(), ContainerFacts{}, "/sys/fs/cgroup");
  ASSERT_FALSE(tree.Tick(agent::WallNowNs()).has_value()) << "no series before the command";
  // The command: a child that starts a daemon (its own session) and sleeps.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t command = ::fork();
  if (command == 0) {
    pid_t daemon = Orphan([] { ::pause(); }, true);
    (void)!::write(fds[1], &daemon, sizeof(daemon));
    Burn(std::chrono::milliseconds(300));
    ::pause();
    ::_exit(0);
  }
  tree.SetCommand(command);
  pid_t daemon = -1;
  ASSERT_EQ(::read(fds[0], &daemon, sizeof(daemon)), static_cast<ssize_t>(sizeof(daemon)));
  int64_t from = agent::WallNowNs();
  std::optional<CgroupSample> first = tree.Tick(from);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int64_t to = agent::WallNowNs();
  std::optional<CgroupSample> last = tree.Tick(to);
  ASSERT_TRUE(first && last);
  EXPECT_EQ(last->id, TreeSeriesName(::getpid()));
  std::vector<pid_t> pids = tree.TreePids();
  for (pid_t p : {command, daemon}) {
    EXPECT_NE(std::find(pids.begin(), pids.end(), p), pids.end()) << p << " not in the tree";
  }
  EXPECT_EQ(std::find(pids.begin(), pids.end(), neighbour), pids.end());
  EXPECT_GE(*last->cpu_usage_us, *first->cpu_usage_us);
  EXPECT_GT(*last->mem_usage_bytes, 0u);

  std::vector<Culprit> top = tree.TopNeighbours(from, to, Resource::kCpu, 2e6, 0, 50);
  bool named = false;
  for (const Culprit& c : top) {
    EXPECT_EQ(c.kind, CulpritKind::kProcess);
    for (pid_t p : {command, daemon}) {
      EXPECT_NE(c.name.rfind("pid " + std::to_string(p) + " ", 0), 0u) << c.name;
    }
    named = named || c.name.rfind("pid " + std::to_string(neighbour) + " ", 0) == 0;
  }
  EXPECT_TRUE(named) << "the neighbour burning CPU is not among " << top.size();
  for (pid_t p : {command, daemon, neighbour}) ::kill(p, SIGKILL);
  ::waitpid(command, nullptr, 0);
  ::waitpid(daemon, nullptr, 0);  // reparented here: this process is its subreaper
  ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace jostle::collector
