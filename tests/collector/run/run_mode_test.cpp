// The run-mode decision (collector/run/run_mode.h) over fixture trees
// (tests/fixtures/runmodes/<host>: sys/fs/cgroup, proc/self, proc/1 and the root's markers as
// each kind of host has them), and over this machine's real cgroup filesystem. Ownership
// cannot be kept in a checked-out tree, so delegation is judged against the uid that owns the
// fixture files (delegated) or another uid (not delegated).
#include "collector/run/run_mode.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "jostle_test/test_paths.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

RunModePaths Fixture(const std::string& host) {
  std::string root = std::string(testing::kFixtureDir) + "/runmodes/" + host;
  RunModePaths p;
  p.cgroup_root = root + "/sys/fs/cgroup";
  p.self_proc = root + "/proc/self";
  p.init_proc = root + "/proc/1";
  p.fs_root = root;
  return p;
}

uid_t FixtureOwner(const std::string& host) {
  struct stat st {};
  std::string path = std::string(testing::kFixtureDir) + "/runmodes/" + host;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_uid;
}

// The facts of fixture `host` for `uid` (root when uid is 0); the systemd probe answers
// `scope_usable` and records that it was asked.
RunModeFacts Facts(const std::string& host, uid_t uid, bool scope_usable = false,
                   bool* probed = nullptr) {
  return ReadRunModeFacts(Fixture(host), uid, uid == 0, false, [&](bool) {
    if (probed != nullptr) *probed = true;
    return scope_usable;
  });
}

constexpr pid_t kJostle = 4242;  // the pid the fixtures' cgroup.procs list for jostle

TEST(RunModeTest, PureV2AsRootMovesIntoALeafAndTakesTheControllersItsCgroupHas) {
  bool probed = false;
  RunModeFacts f = Facts("v2_root", 0, true, &probed);
  EXPECT_FALSE(probed) << "no /run/systemd/system: systemd is not asked";
  EXPECT_EQ(f.layout, CgroupLayout::kV2);
  EXPECT_EQ(f.v2.path, "/system.slice/ci-runner.service");
  EXPECT_EQ(f.v2.type, "domain");
  EXPECT_EQ(f.v2.procs, (std::vector<pid_t>{777, kJostle}));
  EXPECT_FALSE(f.cgroupfs_read_only);
  EXPECT_FALSE(f.container.in_container);
  RunModePlan plan = DecideRunMode(f, kJostle);
  EXPECT_EQ(plan.mode, RunMode::kV2Root);
  EXPECT_STREQ(RunModeName(plan.mode), "v2-root");
  EXPECT_NE(plan.reason.find("/system.slice/ci-runner.service/jostle-self"), std::string::npos)
      << plan.reason;
  // cgroup.controllers lists cpu io memory pids: the three jostle needs, in its order.
  EXPECT_EQ(plan.controllers, (std::vector<std::string>{"cpu", "memory", "io"}));
  // The runner (777) shares the cgroup: "no internal processes" moves it into the leaf too.
  EXPECT_TRUE(plan.moves_other_processes);
  f.v2.procs = {kJostle};
  EXPECT_FALSE(DecideRunMode(f, kJostle).moves_other_processes);
  EXPECT_EQ(plan.cannot_see.find("container"), std::string::npos) << plan.cannot_see;
}

TEST(RunModeTest, UnderSystemdARootRunPrefersADelegatedScopeWhenOneStarts) {
  bool probed = false;
  RunModeFacts f = Facts("v2_systemd", 0, true, &probed);
  EXPECT_TRUE(probed);
  EXPECT_TRUE(f.systemd_running);
  RunModePlan plan = DecideRunMode(f, kJostle);
  EXPECT_EQ(plan.mode, RunMode::kV2SystemdScope);
  EXPECT_FALSE(plan.systemd_user);
  // A probe that fails (no bus, systemd-run missing): v2-root by hand.
  EXPECT_EQ(DecideRunMode(Facts("v2_systemd", 0, false), kJostle).mode, RunMode::kV2Root);
  // Once re-run in the scope: the same name, and the leaf split happens inside the scope.
  f.in_jostle_scope = true;
  plan = DecideRunMode(f, kJostle);
  EXPECT_EQ(plan.mode, RunMode::kV2SystemdScope);
  EXPECT_NE(plan.reason.find("in the transient scope"), std::string::npos) << plan.reason;
  EXPECT_FALSE(plan.controllers.empty());
}

TEST(RunModeTest, WithoutRootADelegatedCgroupIsUsedAndOneOwnedByAnotherUserIsNot) {
  // The user that owns the tree, not root (even when the checkout is root's).
  uid_t owner = FixtureOwner("v2_delegated");
  RunModeFacts mine = ReadRunModeFacts(Fixture("v2_delegated"), owner, false, false, nullptr);
  EXPECT_TRUE(mine.v2.delegated_to_user);
  RunModePlan plan = DecideRunMode(mine, kJostle);
  EXPECT_EQ(plan.mode, RunMode::kV2Delegated) << plan.reason;
  EXPECT_NE(plan.reason.find("app.slice/ci-runner.scope"), std::string::npos) << plan.reason;
  EXPECT_FALSE(plan.moves_other_processes);
  EXPECT_EQ(plan.controllers, (std::vector<std::string>{"cpu", "memory", "io"}));

  // Another user's files: not delegated; no systemd here: the process tree.
  RunModeFacts other =
      ReadRunModeFacts(Fixture("v2_delegated"), owner + 4711, false, false, nullptr);
  EXPECT_FALSE(other.v2.delegated_to_user);
  plan = DecideRunMode(other, kJostle);
  EXPECT_EQ(plan.mode, RunMode::kProcessTree);
  EXPECT_NE(plan.reason.find("not delegated to uid"), std::string::npos) << plan.reason;
  // With a usable systemd user manager: a user scope.
  other.systemd_running = other.systemd_scope_usable = true;
  plan = DecideRunMode(other, kJostle);
  EXPECT_EQ(plan.mode, RunMode::kV2SystemdScope);
  EXPECT_TRUE(plan.systemd_user);
}

TEST(RunModeTest, DelegationIsReadFromFileOwnership) {
  uid_t owner = FixtureOwner("v2_delegated");
  EXPECT_TRUE(Facts("v2_delegated", owner).v2.delegated_to_user);
  EXPECT_FALSE(Facts("v2_delegated", owner + 1).v2.delegated_to_user);
}

TEST(RunModeTest, AReadOnlyCgroupfsInAContainerFollowsTheProcessTreeAndReadsItsLimits) {
  RunModeFacts f = Facts("v2_container_ro", 0);
  EXPECT_TRUE(f.cgroupfs_read_only);
  EXPECT_TRUE(f.v2.is_root);
  ASSERT_TRUE(f.container.in_container);
  EXPECT_EQ(f.container.evidence.front(), "/.dockerenv");
  ASSERT_TRUE(f.container.cpu_limit_cores.has_value());
  EXPECT_DOUBLE_EQ(*f.container.cpu_limit_cores, 1.5);
  EXPECT_EQ(f.container.mem_limit_bytes, std::optional<uint64_t>(536870912));
  RunModePlan plan = DecideRunMode(f, kJostle);
  EXPECT_EQ(plan.mode, RunMode::kProcessTree);
  EXPECT_NE(plan.reason.find("read-only"), std::string::npos) << plan.reason;
  EXPECT_NE(plan.cannot_see.find("neighbours outside it are invisible"), std::string::npos)
      << plan.cannot_see;
  EXPECT_NE(plan.cannot_see.find("--proc-root"), std::string::npos);
  // With the host's /proc mounted and named, the container's blind spot is not claimed.
  RunModePaths host = Fixture("v2_container_ro");
  host.proc_root = "/host/proc";
  RunModeFacts seen = ReadRunModeFacts(host, 0, true, false, nullptr);
  EXPECT_EQ(DecideRunMode(seen, kJostle).cannot_see.find("invisible"), std::string::npos);
}

TEST(RunModeTest, V1AsRootGetsItsCgroupBesideAndAnotherUserFollowsTheTree) {
  RunModeFacts f = Facts("v1", 0);
  EXPECT_EQ(f.layout, CgroupLayout::kV1);
  EXPECT_TRUE(f.v1_writable);
  RunModePlan plan = DecideRunMode(f, kJostle);
  EXPECT_EQ(plan.mode, RunMode::kV1HybridRoot);
  EXPECT_STREQ(RunModeName(plan.mode), "v1/hybrid-root");
  EXPECT_TRUE(plan.controllers.empty());
  RunModeFacts user =
      ReadRunModeFacts(Fixture("v1"), FixtureOwner("v1") + 1, false, false, nullptr);
  EXPECT_FALSE(user.v1_writable);
  EXPECT_EQ(DecideRunMode(user, kJostle).mode, RunMode::kProcessTree);
}

TEST(RunModeTest, AThreadedCgroupCannotHoldTheCommandsDomainCgroup) {
  RunModePlan plan = DecideRunMode(Facts("v2_threaded", 0), kJostle);
  EXPECT_EQ(plan.mode, RunMode::kProcessTree);
  EXPECT_NE(plan.reason.find("'threaded'"), std::string::npos) << plan.reason;
}

TEST(RunModeTest, ForcedModeIsTakenAndTheReasonSaysWhatTheHostSuggested) {
  RunModePlan plan = DecideRunMode(Facts("v1", 0), kJostle, RunMode::kProcessTree);
  EXPECT_EQ(plan.mode, RunMode::kProcessTree);
  EXPECT_NE(plan.reason.find("--mode"), std::string::npos);
  EXPECT_NE(plan.reason.find("v1/hybrid-root"), std::string::npos) << plan.reason;
  for (const char* name :
       {"v1/hybrid-root", "v2-root", "v2-systemd-scope", "v2-delegated", "process-tree"}) {
    auto m = ParseRunMode(name);
    ASSERT_TRUE(m.has_value()) << name;
    EXPECT_STREQ(RunModeName(*m), name);
  }
  EXPECT_FALSE(ParseRunMode("v3").has_value());
}

TEST(RunModeTest, ParsersOfLimitsAndContainerIds) {
  EXPECT_EQ(ParseCpuMax("max 100000\n"), std::nullopt);
  EXPECT_DOUBLE_EQ(*ParseCpuMax("200000 100000\n"), 2.0);
  EXPECT_EQ(ParseCpuMax("abc 100000"), std::nullopt);
  EXPECT_EQ(ParseCpuMax("100000"), std::nullopt);
  const std::string id(64, 'a');
  const std::string hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  EXPECT_EQ(ContainerIdInCgroupPath("/docker/" + hex), hex);
  EXPECT_EQ(ContainerIdInCgroupPath("/system.slice/docker-" + hex + ".scope"), hex);
  EXPECT_EQ(ContainerIdInCgroupPath("/kubepods.slice/kubepods-burstable.slice/cri-containerd-" +
                                    hex + ".scope"),
            hex);
  EXPECT_EQ(ContainerIdInCgroupPath("/machine.slice/libpod-" + id + ".scope/container"), id);
  EXPECT_EQ(ContainerIdInCgroupPath("/user.slice/user-1000.slice/session-3.scope"), "");
  EXPECT_EQ(ContainerIdInCgroupPath("/docker/" + hex.substr(0, 63)), "");
  EXPECT_EQ(ContainerIdInProcCgroup("12:pids:/\n0::/system.slice/docker-" + hex + ".scope\n"), hex);
  EXPECT_EQ(ContainerIdInProcCgroup("0::/init.scope\n"), "");
}

// This machine, as it is: the reader on the real /sys/fs/cgroup and /proc/self.
TEST(RunModeTest, ThisMachineAsRootIsNotTheProcessTree) {
  if (::geteuid() != 0) GTEST_SKIP() << "the root branch of this machine needs root";
  RunModeFacts f = ReadRunModeFacts(RunModePaths{}, 0, true, false, nullptr);
  if (f.layout == CgroupLayout::kNone || f.cgroupfs_read_only) {
    GTEST_SKIP() << "no writable cgroup filesystem on this machine";
  }
  RunModePlan plan = DecideRunMode(f, ::getpid());
  if (f.layout == CgroupLayout::kV2) {
    EXPECT_TRUE(plan.mode == RunMode::kV2Root || plan.mode == RunMode::kV2SystemdScope)
        << RunModeName(plan.mode) << ": " << plan.reason;
  } else {
    EXPECT_EQ(plan.mode, RunMode::kV1HybridRoot) << plan.reason;
  }
}

}  // namespace
}  // namespace jostle::collector
