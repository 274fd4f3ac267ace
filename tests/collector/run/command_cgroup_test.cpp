// CommandCgroup on this machine's real cgroups (created beneath this test's own cgroup in
// every hierarchy /proc/self/cgroup lists; skipped, or failed under JOSTLE_REQUIRE_REAL=1, when
// they cannot be written), and on a plain directory tree for the refusals a real cgroupfs
// cannot be made to give on demand.
#include "collector/run/command_cgroup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/real_parts.h"
#include "support/shell_files.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;

// A child that sleeps until killed; reaped on destruction.
class Sleeper {
 public:
  Sleeper() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sleep", "sleep", "300", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Sleeper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// The cgroup path of `pid` in each hierarchy line of /proc/PID/cgroup ("4:memory:/a/b").
std::vector<std::string> CgroupLines(pid_t pid) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/cgroup"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string Name() { return "jostle-cmdcg-test-" + std::to_string(::getpid()); }

TEST(CommandCgroupTest, CreatesBesideItselfMovesTheCommandAndRemovesWhatItMade) {
  if (::geteuid() != 0) JOSTLE_SKIP_MISSING_REAL("needs root to create cgroups");
  auto cg = CommandCgroup::Create("/sys/fs/cgroup", Name());
  if (!cg.ok()) JOSTLE_SKIP_MISSING_REAL("cannot create cgroups here: " << cg.status().ToString());
  ASSERT_FALSE(cg->directories().empty());
  for (const auto& dir : cg->directories()) {
    EXPECT_TRUE(fs::exists(dir + "/cgroup.procs")) << dir;
    EXPECT_EQ(fs::path(dir).filename(), Name());
  }
  Sleeper child;
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(cg->Add(child.pid()).ok());
  // In every hierarchy it was created in, the child is now in <own>/<name>.
  int moved = 0;
  for (const std::string& line : CgroupLines(child.pid())) {
    if (line.size() >= Name().size() + 1 &&
        line.compare(line.size() - Name().size() - 1, std::string::npos, "/" + Name()) == 0) {
      ++moved;
    }
  }
  EXPECT_EQ(moved, static_cast<int>(cg->directories().size()))
      << ReadFile("/proc/" + std::to_string(child.pid()) + "/cgroup");
  for (const auto& dir : cg->directories()) {
    EXPECT_NE(ReadFile(dir + "/cgroup.procs").find(std::to_string(child.pid())), std::string::npos)
        << dir;
  }

  // Remove with the child still inside: it goes back to the parent and the directories go.
  const std::vector<std::string> dirs = cg->directories();
  cg->Remove();
  EXPECT_TRUE(cg->directories().empty());
  for (const auto& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
  for (const std::string& line : CgroupLines(child.pid())) {
    EXPECT_EQ(line.find(Name()), std::string::npos) << line;
  }
  EXPECT_EQ(::kill(child.pid(), 0), 0) << "the child was not left alone";
}

TEST(CommandCgroupTest, AProcessThatIsGoneIsRefusedEverywhereAndNothingIsLeft) {
  if (::geteuid() != 0) JOSTLE_SKIP_MISSING_REAL("needs root to create cgroups");
  auto cg = CommandCgroup::Create("/sys/fs/cgroup", Name());
  if (!cg.ok()) JOSTLE_SKIP_MISSING_REAL("cannot create cgroups here: " << cg.status().ToString());
  const std::vector<std::string> dirs = cg->directories();
  pid_t gone = 0;
  {
    Sleeper s;
    gone = s.pid();
  }  // killed and reaped: writing its pid is refused with ESRCH
  Status st = cg->Add(gone);
  EXPECT_EQ(st.code(), Status::Code::kPermissionDenied) << st.ToString();
  EXPECT_NE(st.message().find("cgroup.procs"), std::string::npos) << st.message();
  EXPECT_TRUE(cg->directories().empty());
  for (const auto& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
}

// CreateV2 on a real v2 hierarchy (the pure v2 root, or a hybrid host's `unified` mount):
// beneath this test's own v2 cgroup, `own` holds a process standing in for jostle and a
// second one (the runner that shares its cgroup). The kernel refuses a controller in
// own/cgroup.subtree_control while own holds processes ("no internal processes"), so the
// controller is enabled only because both moved into own/jostle-self first. A controller this
// hierarchy offers is used (cpu, memory, io on a pure v2 host; hugetlb on this hybrid one).
class CommandCgroupV2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) JOSTLE_SKIP_MISSING_REAL("needs root to create cgroups");
    for (const char* mount : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
      if (fs::exists(std::string(mount) + "/cgroup.controllers")) {
        root_ = mount;
        break;
      }
    }
    if (root_.empty()) JOSTLE_SKIP_MISSING_REAL("no cgroup v2 hierarchy here");
    std::istringstream self(ReadFile("/proc/self/cgroup"));
    std::string base = "/";
    for (std::string line; std::getline(self, line);) {
      if (line.rfind("0::", 0) == 0) base = line.substr(3);
    }
    own_ = (base == "/" ? "" : base) + "/" + Name() + "-own";
    if (::mkdir((root_ + own_).c_str(), 0755) != 0) {
      JOSTLE_SKIP_MISSING_REAL("cannot create a v2 cgroup: " << std::strerror(errno));
    }
    controller_ = Offered(root_ + own_);
    if (controller_.empty() && base == "/") {
      // At the v2 root, which may hold processes, a controller it has can be handed down.
      std::string c = Offered(root_, "/cgroup.controllers");
      std::ofstream control(root_ + "/cgroup.subtree_control");
      control << "+" << c << "\n";
      control.flush();
      if (!c.empty() && control) root_enabled_ = c;
      controller_ = Offered(root_ + own_);
    }
  }
  // A controller jostle would enable that `dir` offers (cgroup.controllers), "" when none.
  static std::string Offered(const std::string& dir,
                             const std::string& file = "/cgroup.controllers") {
    std::istringstream offered(ReadFile(dir + file));
    std::string found;
    for (std::string c; offered >> c;) {
      if (c == "cpu" || c == "memory" || c == "io" || c == "hugetlb") found = c;
    }
    return found;
  }
  void TearDown() override {
    if (!own_.empty()) {
      for (pid_t p : {jostle_.pid(), runner_.pid()}) {
        std::ofstream(root_ + own_ + "/../cgroup.procs") << p << "\n";
      }
      ::rmdir((root_ + own_).c_str());
    }
    if (!root_enabled_.empty())
      std::ofstream(root_ + "/cgroup.subtree_control") << "-" << root_enabled_ << "\n";
  }
  bool Enter(pid_t pid) {
    std::ofstream procs(root_ + own_ + "/cgroup.procs");
    procs << pid << "\n";
    procs.flush();
    return static_cast<bool>(procs);
  }
  std::string root_, own_, controller_;
  std::string root_enabled_;  // a controller this test enabled at the v2 root (undone)
  Sleeper jostle_, runner_;
};

TEST_F(CommandCgroupV2Test, MovesOutOfTheWayBeforeEnablingAndUndoesItAll) {
  if (controller_.empty()) GTEST_SKIP() << "this v2 hierarchy offers no controller to enable";
  ASSERT_TRUE(Enter(jostle_.pid()) && Enter(runner_.pid()));
  const std::string dir = root_ + own_;
  // The kernel's rule, seen directly: not with processes in own.
  {
    std::ofstream control(dir + "/cgroup.subtree_control");
    control << "+" << controller_ << "\n";
    control.flush();
    EXPECT_FALSE(control) << "the kernel took +" << controller_ << " with processes in " << dir;
  }
  // Without moving the runner the rule still bites, and nothing is left behind.
  {
    auto refused = CommandCgroup::CreateV2(root_, own_, "cmd", jostle_.pid(), {controller_}, false);
    EXPECT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("subtree_control"), std::string::npos)
        << refused.status().ToString();
  }
  EXPECT_FALSE(fs::exists(dir + "/jostle-self"));
  EXPECT_NE(ReadFile(dir + "/cgroup.procs").find(std::to_string(jostle_.pid())), std::string::npos)
      << "jostle is back in " << dir;

  auto cg = CommandCgroup::CreateV2(root_, own_, "cmd", jostle_.pid(), {controller_}, true);
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  EXPECT_EQ(cg->name(), own_ + "/cmd");
  EXPECT_EQ(cg->enabled_controllers(), std::vector<std::string>{controller_});
  EXPECT_EQ(ReadFile(dir + "/cgroup.procs"), "");
  std::string leaf = ReadFile(dir + "/jostle-self/cgroup.procs");
  EXPECT_NE(leaf.find(std::to_string(jostle_.pid())), std::string::npos) << leaf;
  EXPECT_NE(leaf.find(std::to_string(runner_.pid())), std::string::npos) << leaf;
  EXPECT_NE(ReadFile(dir + "/cgroup.subtree_control").find(controller_), std::string::npos);
  // The controller reaches the command's cgroup.
  EXPECT_NE(ReadFile(dir + "/cmd/cgroup.controllers").find(controller_), std::string::npos);
  Sleeper command;
  ASSERT_TRUE(cg->Add(command.pid()).ok());
  EXPECT_NE(ReadFile(dir + "/cmd/cgroup.procs").find(std::to_string(command.pid())),
            std::string::npos);

  cg->Remove();
  EXPECT_FALSE(fs::exists(dir + "/cmd"));
  EXPECT_FALSE(fs::exists(dir + "/jostle-self"));
  EXPECT_EQ(ReadFile(dir + "/cgroup.subtree_control").find(controller_), std::string::npos);
  std::string back = ReadFile(dir + "/cgroup.procs");
  for (pid_t p : {jostle_.pid(), runner_.pid(), command.pid()}) {
    EXPECT_NE(back.find(std::to_string(p)), std::string::npos) << p << " not back in " << dir;
  }
}

// A plain tree laid out as a v1 host: cpu,cpuacct and memory mounts, the process in /ci/job.
class CommandCgroupTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("jostle-cmdcg-tree-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "cpu,cpuacct/ci/job");
    fs::create_directories(root_ / "memory/ci/job");
    fs::create_directories(root_ / "pids/ci/job");
    self_ = (root_ / "self-cgroup").string();
    std::ofstream(self_) << "12:pids:/ci/job\n4:cpu,cpuacct:/ci/job\n3:memory:/ci/job\n"
                            "1:name=systemd:/ci/job\n0::/ci/job\n";
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
  std::string self_;
};

TEST_F(CommandCgroupTreeTest, OnlyTheHierarchiesItSamplesAndOnlyWhereTheMoveWasTaken) {
  auto cg = CommandCgroup::Create(root_.string(), "cmd", self_);
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  // pids and name=systemd are not sampled; there is no v2 hierarchy in this tree.
  EXPECT_EQ(cg->directories(),
            (std::vector<std::string>{(root_ / "cpu,cpuacct/ci/job/cmd").string(),
                                      (root_ / "memory/ci/job/cmd").string()}));
  EXPECT_EQ(cg->name(), "cmd");
  // The memory hierarchy refuses the move (its cgroup.procs cannot be written).
  fs::create_directories(root_ / "memory/ci/job/cmd/cgroup.procs");
  ASSERT_TRUE(cg->Add(4242).ok());
  EXPECT_EQ(cg->directories(),
            (std::vector<std::string>{(root_ / "cpu,cpuacct/ci/job/cmd").string()}));
  EXPECT_EQ(ReadFile(root_ / "cpu,cpuacct/ci/job/cmd/cgroup.procs"), "4242\n");
}

TEST_F(CommandCgroupTreeTest, NoSampledHierarchyIsNotFound) {
  std::ofstream(self_) << "12:pids:/ci/job\n1:name=systemd:/ci/job\n";
  auto cg = CommandCgroup::Create(root_.string(), "cmd", self_);
  EXPECT_EQ(cg.status().code(), Status::Code::kNotFound) << cg.status().ToString();
  EXPECT_FALSE(fs::exists(root_ / "pids/ci/job/cmd"));
  auto missing = CommandCgroup::Create(root_.string(), "cmd", (root_ / "nope").string());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound) << missing.status().ToString();
}

}  // namespace
}  // namespace jostle::collector
