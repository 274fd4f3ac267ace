// `jostle run` (build/bin/jostle as a child process) in the run modes this machine can show
// for real (collector/run/run_mode.h):
//   - v2-root on a real cgroup v2 hierarchy: the pure v2 root of a pure v2 host, or the
//     `unified` mount of a hybrid one. jostle starts in a cgroup of its own beneath the
//     test's, moves itself into <own>/jostle-self, runs the command in <own>/jostle-run-PID
//     and leaves nothing behind, when the command fails and when jostle is sent SIGTERM;
//   - process-tree as a user the test creates (useradd; run through setpriv), with a CPU
//     hog started by root: the hog is named as a neighbour process, the command's own
//     children and its daemon are not, and the command's CPU is subtracted from the node's.
// Skipped, with the reason, without root, a v2 hierarchy, useradd/setpriv or stress-ng (a
// failure under JOSTLE_REQUIRE_REAL=1).
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/child_process.h"
#include "jostle_test/test_paths.h"
#include "support/real_parts.h"
#include "support/shell_files.h"

namespace jostle {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using testing::ReadFile;
using testing::ShellQuote;

int ExitCode(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

bool Have(const std::string& check) {
  return std::system((check + " >/dev/null 2>&1").c_str()) == 0;
}

template <typename Pred>
bool PollFor(Pred done, std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

// This process's path in the v2 hierarchy ("0::/a/b" → "/a/b").
std::string OwnV2Path() {
  std::istringstream in(ReadFile("/proc/self/cgroup"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "/";
}

std::vector<std::string> SubDirs(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory()) out.push_back(e.path().filename().string());
  }
  return out;
}

class RunModesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-modes-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "work");
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  // `prefix` (shell) and then exec `jostle run FLAGS -- COMMAND` in dir_/work.
  std::unique_ptr<testing::ChildProcess> Start(const std::string& prefix,
                                               const std::vector<std::string>& flags,
                                               const std::vector<std::string>& command) {
    std::string line = prefix + "cd " + ShellQuote((dir_ / "work").string()) + " && exec " +
                       ShellQuote(std::string(testing::kBinDir) + "/jostle") +
                       " run --quiet --interval 250ms";
    for (const auto& f : flags) line += " " + ShellQuote(f);
    line += " --";
    for (const auto& c : command) line += " " + ShellQuote(c);
    return std::make_unique<testing::ChildProcess>(std::vector<std::string>{"/bin/sh", "-c", line},
                                                   (dir_ / "jostle.log").string());
  }
  std::string Log() const { return ReadFile(dir_ / "jostle.log"); }
  json Report() const {
    json j = json::parse(ReadFile(dir_ / "work/jostle-report/report.json"), nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Log();
    return j;
  }
  fs::path dir_;
};

// A cgroup beneath this test's own in the v2 hierarchy, where jostle starts; removed at the
// end (it must be empty by then: jostle left nothing in it).
struct V2Start {
  fs::path root;  // the v2 mount
  std::string rel;
  fs::path dir;
  ~V2Start() {
    if (!dir.empty()) ::rmdir(dir.c_str());
  }
};

class V2RootTest : public RunModesTest {
 protected:
  void SetUp() override {
    RunModesTest::SetUp();
    if (::geteuid() != 0) JOSTLE_SKIP_MISSING_REAL("v2-root needs root");
    for (const char* mount : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
      if (fs::exists(std::string(mount) + "/cgroup.controllers")) {
        start_.root = mount;
        break;
      }
    }
    if (start_.root.empty()) JOSTLE_SKIP_MISSING_REAL("no cgroup v2 hierarchy on this machine");
    std::string own = OwnV2Path();
    start_.rel = (own == "/" ? "" : own) + "/jostle-modes-" + std::to_string(::getpid());
    start_.dir = start_.root.string() + start_.rel;
    if (::mkdir(start_.dir.c_str(), 0755) != 0) {
      start_.dir.clear();
      JOSTLE_SKIP_MISSING_REAL("cannot create a v2 cgroup: " << std::strerror(errno));
    }
  }
  // Moves the shell into the start cgroup before jostle is exec'd.
  std::string Enter() const {
    return "echo $$ > " + ShellQuote((start_.dir / "cgroup.procs").string()) + " && ";
  }
  std::vector<std::string> Flags() const { return {"--cgroup-root", start_.root.string()}; }
  V2Start start_;
};

TEST_F(V2RootTest, JostleMovesIntoALeafTheCommandRunsBesideItAndNothingIsLeft) {
  auto p = Start(Enter(), Flags(), {"sh", "-c", "cat /proc/self/cgroup > cgroup.txt; exit 3"});
  auto status = p->Wait(milliseconds(60000));
  ASSERT_TRUE(status.has_value()) << Log();
  EXPECT_EQ(ExitCode(*status), 3) << Log();
  json report = Report();
  EXPECT_EQ(report["run_mode"]["name"], "v2-root") << report["run_mode"].dump() << Log();
  EXPECT_NE(report["run_mode"]["reason"].get<std::string>().find(start_.rel + "/jostle-self"),
            std::string::npos)
      << report["run_mode"].dump();
  // The command ran in <own>/jostle-run-<jostle's pid>.
  std::string expected = "0::" + start_.rel + "/jostle-run-" + std::to_string(p->pid());
  EXPECT_NE(ReadFile(dir_ / "work/cgroup.txt").find(expected), std::string::npos)
      << ReadFile(dir_ / "work/cgroup.txt") << " expected " << expected;
  EXPECT_TRUE(SubDirs(start_.dir).empty()) << "left behind in " << start_.dir;
}

TEST_F(V2RootTest, ASignalToJostleStillUndoesTheLeafAndTheCommandCgroup) {
  auto p = Start(Enter(), Flags(), {"sh", "-c", "echo up > started; while :; do sleep 0.05; done"});
  ASSERT_TRUE(PollFor([&] { return fs::exists(dir_ / "work/started"); })) << Log();
  // While it runs: jostle is in jostle-self, nothing is left in <own> ("no internal
  // processes" holds), and the command is in its own cgroup beside it.
  std::string pid = std::to_string(p->pid());
  EXPECT_NE(ReadFile(start_.dir / "jostle-self/cgroup.procs").find(pid), std::string::npos);
  EXPECT_EQ(ReadFile(start_.dir / "cgroup.procs"), "");
  EXPECT_FALSE(ReadFile(start_.dir / ("jostle-run-" + pid) / "cgroup.procs").empty());
  p->Signal(SIGTERM);
  auto status = p->Wait(milliseconds(30000));
  ASSERT_TRUE(status.has_value()) << Log();
  EXPECT_EQ(ExitCode(*status), 128 + SIGTERM) << Log();
  EXPECT_TRUE(SubDirs(start_.dir).empty()) << "left behind in " << start_.dir;
}

// A system user for the test, removed on destruction.
class TestUser {
 public:
  explicit TestUser(std::string name) : name_(std::move(name)) {
    std::string cmd = "useradd --system --no-create-home --shell /usr/sbin/nologin " +
                      ShellQuote(name_) + " >/dev/null 2>&1";
    created_ = std::system(cmd.c_str()) == 0;
    if (!created_) return;
    struct passwd* pw = ::getpwnam(name_.c_str());
    created_ = pw != nullptr;
    if (created_) {
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
    }
  }
  ~TestUser() {
    if (created_) std::system(("userdel " + ShellQuote(name_) + " >/dev/null 2>&1").c_str());
  }
  bool created() const { return created_; }
  const std::string& name() const { return name_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }

 private:
  std::string name_;
  bool created_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

std::set<std::string> Lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.insert(l);
  }
  return out;
}

// v2-delegated for real: root delegates a v2 cgroup to a user it creates (the directory,
// cgroup.procs, cgroup.subtree_control and cgroup.threads chowned, cgroup-v2.rst
// "Delegation"), moves the starting shell into it and drops to the user; jostle, not root,
// splits that cgroup (jostle-self and the command's cgroup beside it) and undoes it.
TEST_F(V2RootTest, ADelegatedCgroupIsSplitByItsUserAndLeftAsItWas) {
  if (!Have("command -v useradd") || !Have("command -v setpriv")) {
    JOSTLE_SKIP_MISSING_REAL("useradd or setpriv is missing");
  }
  TestUser user("jostle-dg-" + std::to_string(::getpid()));
  if (!user.created()) JOSTLE_SKIP_MISSING_REAL("useradd " << user.name() << " failed");
  for (const char* f : {"", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads"}) {
    std::string path = start_.dir.string() + f;
    ASSERT_EQ(::chown(path.c_str(), user.uid(), user.gid()), 0) << path;
  }
  fs::permissions(dir_, fs::perms::all);
  fs::permissions(dir_ / "work", fs::perms::all);
  std::string line = Enter() + "cd " + ShellQuote((dir_ / "work").string()) +
                     " && exec setpriv --reuid=" + std::to_string(user.uid()) +
                     " --regid=" + std::to_string(user.gid()) + " --clear-groups -- " +
                     ShellQuote(std::string(testing::kBinDir) + "/jostle") +
                     " run --quiet --interval 250ms --cgroup-root " +
                     ShellQuote(start_.root.string()) +
                     " -- sh -c 'cat /proc/self/cgroup > cgroup.txt; exit 4'";
  testing::ChildProcess run({"/bin/sh", "-c", line}, (dir_ / "jostle.log").string());
  auto status = run.Wait(milliseconds(60000));
  ASSERT_TRUE(status.has_value()) << Log();
  EXPECT_EQ(ExitCode(*status), 4) << Log();
  json report = Report();
  EXPECT_EQ(report["run_mode"]["name"], "v2-delegated") << report["run_mode"].dump() << Log();
  std::string expected = "0::" + start_.rel + "/jostle-run-" + std::to_string(run.pid());
  EXPECT_NE(ReadFile(dir_ / "work/cgroup.txt").find(expected), std::string::npos)
      << ReadFile(dir_ / "work/cgroup.txt") << " expected " << expected;
  EXPECT_TRUE(SubDirs(start_.dir).empty()) << "left behind in " << start_.dir;
}

// v2-systemd-scope for real needs a pure v2 host where systemd runs (this test is ready for
// one; elsewhere it skips): jostle re-runs itself in jostle-run-PID.scope and splits it.
TEST_F(RunModesTest, UnderSystemdJostleRunsInADelegatedScope) {
  if (::geteuid() != 0) JOSTLE_SKIP_MISSING_REAL("the system scope needs root");
  if (!fs::exists("/sys/fs/cgroup/cgroup.controllers") ||
      !fs::is_directory("/run/systemd/system")) {
    // The host's shape, not a missing part: CI machines without systemd skip this too.
    GTEST_SKIP() << "needs a pure cgroup v2 host where systemd runs";
  }
  auto p = Start("", {}, {"sh", "-c", "cat /proc/self/cgroup > cgroup.txt"});
  auto status = p->Wait(milliseconds(60000));
  ASSERT_TRUE(status.has_value()) << Log();
  EXPECT_EQ(ExitCode(*status), 0) << Log();
  json report = Report();
  EXPECT_EQ(report["run_mode"]["name"], "v2-systemd-scope") << report["run_mode"].dump();
  std::string unit =
      "jostle-run-" + std::to_string(p->pid()) + ".scope/jostle-run-" + std::to_string(p->pid());
  EXPECT_NE(ReadFile(dir_ / "work/cgroup.txt").find(unit), std::string::npos)
      << ReadFile(dir_ / "work/cgroup.txt");
}

TEST_F(RunModesTest, ProcessTreeAsAnotherUserNamesRootsHogAndNotTheCommandsChildren) {
  if (::geteuid() != 0) JOSTLE_SKIP_MISSING_REAL("creating a user needs root");
  if (!Have("command -v useradd") || !Have("command -v setpriv")) {
    JOSTLE_SKIP_MISSING_REAL("useradd or setpriv is missing");
  }
  if (!Have("command -v stress-ng")) JOSTLE_SKIP_MISSING_REAL("stress-ng is not installed");
  TestUser user("jostle-pt-" + std::to_string(::getpid()));
  if (!user.created()) JOSTLE_SKIP_MISSING_REAL("useradd " << user.name() << " failed");
  fs::permissions(dir_, fs::perms::all);
  fs::permissions(dir_ / "work", fs::perms::all);

  // The neighbour: root's CPU hog, one worker at a higher priority than anything else a
  // busy machine runs (builds), so it takes a whole CPU and leads the neighbours.
  testing::ChildProcess hog(
      {"/bin/sh", "-c", "exec nice -n -10 stress-ng --cpu 1 --timeout 120s --quiet"},
      (dir_ / "hog.log").string());
  const std::string hog_children =
      "/proc/" + std::to_string(hog.pid()) + "/task/" + std::to_string(hog.pid()) + "/children";
  ASSERT_TRUE(PollFor([&] { return !ReadFile(hog_children).empty(); })) << hog.Log();

  std::string line =
      "cd " + ShellQuote((dir_ / "work").string()) +
      " && exec setpriv --reuid=" + std::to_string(user.uid()) +
      " --regid=" + std::to_string(user.gid()) +
      " --clear-groups -- env PT_PIDS=" + ShellQuote((dir_ / "work/pids.txt").string()) + " " +
      ShellQuote(std::string(testing::kBinDir) + "/jostle") + " run --quiet --interval 250ms -- " +
      ShellQuote(JOSTLE_PROCESS_TREE_SAMPLE) + " --gtest_output=xml:out/result.xml";
  testing::ChildProcess run({"/bin/sh", "-c", line}, (dir_ / "jostle.log").string());
  auto status = run.Wait(milliseconds(90000));
  hog.Signal(SIGTERM);
  hog.Wait(milliseconds(10000));
  ASSERT_TRUE(status.has_value()) << Log();
  EXPECT_EQ(ExitCode(*status), 1) << Log();

  json report = Report();
  EXPECT_EQ(report["run_mode"]["name"], "process-tree") << report["run_mode"].dump() << Log();
  ASSERT_EQ(report["failures"].size(), 1u) << report.dump(2);
  const json& f = report["failures"][0];
  EXPECT_EQ(f["name"], "BurnsWithItsChildrenAndGoesOverBudget");
  EXPECT_TRUE(f["window"]["pod_found"].get<bool>()) << "no series of the process tree";
  // Its own CPU is subtracted: the tree (three burners) used a good part of the CPUs the
  // hog left, and the others' share of the machine is below the node's by that much.
  ASSERT_TRUE(f["signals"].contains("node.cpu.busy_others")) << f["signals"].dump(2);
  double busy = f["signals"]["node.cpu.busy"]["mean"];
  double others = f["signals"]["node.cpu.busy_others"]["mean"];
  double cores = f["signals"]["pod.cpu.cores"]["mean"];
  double cpus = std::thread::hardware_concurrency();
  EXPECT_GT(cores, 0.25) << f["signals"].dump(2);
  // A quarter of the tree's share is the margin: on a loaded machine a late tick makes the
  // tree's mean rate jitter (stamped at its nominal time), which the others' share does not.
  EXPECT_LT(others, busy - 0.25 * std::min(cores, cpus) / cpus) << f["signals"].dump(2);
  EXPECT_NE(f["verdict"], "no-contention") << f.dump(2);

  std::set<std::string> own = Lines(ReadFile(dir_ / "work/pids.txt"));
  ASSERT_EQ(own.size(), 4u) << "the test, two children and the daemon";
  bool hog_named = false;
  double shares = 0;  // of the node's busy CPU time: together at most all of it
  for (const json& c : f["culprits"]) {
    if (c["kind"] != "process") continue;
    shares += c["share"].get<double>();
    std::string name = c["name"], detail = c.value("detail", "");
    EXPECT_EQ(detail.find("user " + user.name()), std::string::npos)
        << "a process of the command's user is named: " << c.dump();
    for (const std::string& pid : own) {
      EXPECT_NE(name.rfind("pid " + pid + " ", 0), 0u) << "the command's own: " << c.dump();
    }
    hog_named = hog_named || (name.find("stress-ng") != std::string::npos &&
                              detail.find("user root") != std::string::npos);
  }
  EXPECT_TRUE(hog_named) << f["culprits"].dump(2);
  EXPECT_LE(shares, 1.05) << f["culprits"].dump(2);
}

}  // namespace
}  // namespace jostle
