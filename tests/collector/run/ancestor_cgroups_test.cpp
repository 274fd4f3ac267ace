#include "collector/run/ancestor_cgroups.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace jostle::collector {
namespace {

using Names = std::vector<std::string>;

struct AncestorCase {
  const char* name;
  const char* proc_self_cgroup;
  Names want;
};

class Ancestors : public ::testing::TestWithParam<AncestorCase> {};

TEST_P(Ancestors, EveryHierarchyUpToTheRoot) {
  auto got = AncestorCgroupNames(GetParam().proc_self_cgroup, "/proc/self/cgroup");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Table, Ancestors,
    ::testing::Values(
        AncestorCase{"pure_v2_runner_slice",
                     "0::/system.slice/gitlab-runner.service/job-7\n",
                     {"/system.slice/gitlab-runner.service/job-7",
                      "/system.slice/gitlab-runner.service", "/system.slice"}},
        // A hybrid host where memory places this process elsewhere than cpu does: both
        // lines of ancestors, each path once; pids, blkio and name=systemd are not read.
        AncestorCase{"hybrid_memory_elsewhere",
                     "9:name=systemd:/\n8:pids:/job\n4:memory:/box/abc/job\n"
                     "2:cpu,cpuacct:/job\n0::/job\n",
                     {"/job", "/box/abc/job", "/box/abc", "/box"}},
        AncestorCase{"every_root", "4:memory:/\n1:cpu,cpuacct:/\n0::/\n", {}},
        AncestorCase{"trailing_slash", "0::/a/b/\n", {"/a/b", "/a"}}),
    [](const auto& info) { return std::string(info.param.name); });

// A container's cgroup namespace root has a cpu.max (its limit); the host's root has none.
TEST(Ancestors, NamespaceRootWithACpuLimitIsAnAncestor) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/jostle-nsroot-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  std::ofstream(root + "/cgroup.procs") << "1\n";
  EXPECT_EQ(LimitedNamespaceRoot(root), std::nullopt) << "a host root: no cpu.max";
  std::ofstream(root + "/cpu.max") << "50000 100000\n";
  EXPECT_EQ(LimitedNamespaceRoot(root), std::optional<std::string>("/"));
  fs::remove_all(root);
}

TEST(Ancestors, MalformedLineIsRefusedWithWhere) {
  auto got = AncestorCgroupNames("0::/ok\nnonsense\n", "/proc/self/cgroup");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("/proc/self/cgroup"), std::string::npos)
      << got.status().message();
}

}  // namespace
}  // namespace jostle::collector
