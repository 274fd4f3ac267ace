#include "agent/kube/log_dir_pod_directory.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "agent/kube/chain_pod_directory.h"

namespace jostle::agent {
namespace {

namespace fs = std::filesystem;

TEST(ParsePodLogDirName, SplitsNamespaceNameAndUid) {
  struct Case {
    std::string dir;
    bool ok;
    std::string ns, name, uid;
  };
  const Case cases[] = {
      {"gitlab-ci_runner-abc-0_4f3b2a1c-8d9e-4b7a-9c6d-1e2f3a4b5c6d", true, "gitlab-ci",
       "runner-abc-0", "4f3b2a1c-8d9e-4b7a-9c6d-1e2f3a4b5c6d"},
      // Static (mirror) pods use the config hash as UID.
      {"kube-system_kube-apiserver-cp1_7d9a3c6f0b3e4c0e9a8f1e2d3c4b5a69", true, "kube-system",
       "kube-apiserver-cp1", "7d9a3c6f0b3e4c0e9a8f1e2d3c4b5a69"},
      {"ci_web.v2_1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081", true, "ci", "web.v2",
       "1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081"},
      {"no-underscores", false, "", "", ""},
      {"ns_name", false, "", "", ""},
      {"ns_name_uid_extra", false, "", "", ""},
      {"_name_1234", false, "", "", ""},
      {"ns__1234", false, "", "", ""},
      {"ns_name_", false, "", "", ""},
      {"ns_name_not-a-uid!", false, "", "", ""},
  };
  for (const Case& c : cases) {
    std::optional<PodLogDirName> parsed = ParsePodLogDirName(c.dir);
    ASSERT_EQ(parsed.has_value(), c.ok) << c.dir;
    if (!c.ok) continue;
    EXPECT_EQ(parsed->namespace_name, c.ns);
    EXPECT_EQ(parsed->name, c.name);
    EXPECT_EQ(parsed->uid, c.uid);
  }
}

class LogDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "jostle-logdir-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  void AddPodDir(const std::string& name) {
    fs::create_directories(root_ / name / "build");
    std::ofstream(root_ / name / "build" / "0.log") << "log line\n";
  }
  fs::path root_;
};

TEST_F(LogDirTest, FindsPodsByUidAndRescansOnAMiss) {
  AddPodDir("gitlab-ci_runner-0_11111111-2222-3333-4444-555555555555");
  fs::create_directories(root_ / "not-a-pod-dir");
  std::ofstream(root_ / "stray-file") << "x";
  LogDirPodDirectory directory(root_.string(), std::chrono::milliseconds(0));
  std::optional<PodMeta> pod = directory.Find("11111111-2222-3333-4444-555555555555");
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(pod->namespace_name, "gitlab-ci");
  EXPECT_EQ(pod->name, "runner-0");
  EXPECT_EQ(pod->uid, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(directory.size(), 1u);

  // A pod that starts later is found on the next miss (rescan allowed at once here).
  AddPodDir("ci_lint-1_66666666-7777-8888-9999-000000000000");
  ASSERT_TRUE(directory.Find("66666666-7777-8888-9999-000000000000").has_value());
  EXPECT_FALSE(directory.Find("ffffffff-ffff-ffff-ffff-ffffffffffff").has_value());
}

TEST_F(LogDirTest, RescansAtMostOncePerInterval) {
  LogDirPodDirectory directory(root_.string(), std::chrono::hours(1));
  EXPECT_FALSE(directory.Find("11111111-2222-3333-4444-555555555555").has_value());
  AddPodDir("ci_late_11111111-2222-3333-4444-555555555555");
  // The miss above scanned; the next scan is an hour away.
  EXPECT_FALSE(directory.Find("11111111-2222-3333-4444-555555555555").has_value());
  ASSERT_TRUE(directory.Rescan().ok());
  EXPECT_TRUE(directory.Find("11111111-2222-3333-4444-555555555555").has_value());
}

TEST_F(LogDirTest, MissingDirectoryIsNotFoundAndKeepsWhatWasKnown) {
  AddPodDir("ci_a_11111111-2222-3333-4444-555555555555");
  LogDirPodDirectory directory(root_.string(), std::chrono::milliseconds(0));
  ASSERT_TRUE(directory.Rescan().ok());
  fs::remove_all(root_);
  Status status = directory.Rescan();
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_NE(status.message().find(root_.string()), std::string::npos) << status.message();
  EXPECT_TRUE(directory.Find("11111111-2222-3333-4444-555555555555").has_value());
  LogDirPodDirectory absent((root_ / "nope").string());
  EXPECT_FALSE(absent.Find("x").has_value());
}

TEST_F(LogDirTest, ChainAnswersFromTheFirstDirectoryThatKnowsThePod) {
  AddPodDir("from-logs_a_aaaaaaaa-0000-0000-0000-000000000000");
  AddPodDir("from-logs_b_bbbbbbbb-0000-0000-0000-000000000000");
  LogDirPodDirectory logs(root_.string(), std::chrono::milliseconds(0));
  fs::path other = root_ / "other";
  fs::create_directories(other / "first_b_bbbbbbbb-0000-0000-0000-000000000000");
  LogDirPodDirectory first(other.string(), std::chrono::milliseconds(0));

  ChainPodDirectory chain({&first, nullptr, &logs});
  EXPECT_EQ(chain.Find("bbbbbbbb-0000-0000-0000-000000000000")->namespace_name, "first");
  EXPECT_EQ(chain.Find("aaaaaaaa-0000-0000-0000-000000000000")->namespace_name, "from-logs");
  EXPECT_FALSE(chain.Find("cccccccc-0000-0000-0000-000000000000").has_value());
  ChainPodDirectory empty({});
  EXPECT_FALSE(empty.Find("aaaaaaaa-0000-0000-0000-000000000000").has_value());
}

}  // namespace
}  // namespace jostle::agent
