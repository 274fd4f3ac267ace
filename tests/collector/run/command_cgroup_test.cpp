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
