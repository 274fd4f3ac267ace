// DetectCiEnvironment over the variables each CI sets (names and value shapes as the CIs
// document them), GitHub's event file read from a real file.
#include "collector/ci/ci_environment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace jostle::collector {
namespace {

using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;

EnvLookup Lookup(const Env& env) {
  return [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

CiEnvironment Detect(const Env& env) { return DetectCiEnvironment(Lookup(env), ReadTextFile); }

TEST(CiEnvironmentTest, GitHubActionsPullRequestWithItsEventFile) {
  auto dir = std::filesystem::temp_directory_path() / ("jostle-ci-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string event = (dir / "event.json").string();
  std::ofstream(event) << R"({"action": "synchronize", "number": 42,
    "repository": {"full_name": "acme/shop", "default_branch": "trunk"}})";
  CiEnvironment ci = Detect({{"GITHUB_ACTIONS", "true"},
                             {"GITHUB_RUN_ID", "8123456789"},
                             {"GITHUB_RUN_ATTEMPT", "2"},
                             {"GITHUB_JOB", "unit-tests"},
                             {"GITHUB_SHA", "9A65FE9D1B2C3D4E5F60718293A4B5C6D7E8F901"},
                             {"GITHUB_REF", "refs/pull/42/merge"},
                             {"GITHUB_REF_NAME", "42/merge"},
                             {"GITHUB_HEAD_REF", "feature/cart"},
                             {"GITHUB_SERVER_URL", "https://github.com"},
                             {"GITHUB_REPOSITORY", "acme/shop"},
                             {"GITHUB_EVENT_PATH", event}});
  std::filesystem::remove_all(dir);
  EXPECT_EQ(ci.provider, "github-actions");
  EXPECT_EQ(ci.run_id, "8123456789");
  EXPECT_EQ(ci.job, "unit-tests");
  EXPECT_EQ(ci.identity.commit, "9a65fe9d1b2c3d4e5f60718293a4b5c6d7e8f901");
  EXPECT_EQ(ci.identity.branch, "feature/cart");
  EXPECT_EQ(ci.identity.default_branch, "trunk");
  EXPECT_EQ(ci.identity.pr, "42");
  EXPECT_EQ(ci.identity.attempt, std::optional<int>(2));
  EXPECT_EQ(ci.identity.url, "https://github.com/acme/shop/actions/runs/8123456789");
  EXPECT_EQ(ci.identity.provider, "github-actions");
  EXPECT_EQ(ci.identity.IsDefaultBranch(), std::optional<bool>(false));
  EXPECT_TRUE(ci.notes.empty());
  // The variables read are listed for --verbose, with their values.
  EXPECT_THAT(ci.variables, ::testing::Contains(std::pair<std::string, std::string>(
                                "GITHUB_HEAD_REF", "feature/cart")));
}

TEST(CiEnvironmentTest, GitHubActionsPushWithoutAnEventFileSaysWhy) {
  CiEnvironment ci = Detect({{"GITHUB_ACTIONS", "true"},
                             {"GITHUB_RUN_ID", "77"},
                             {"GITHUB_SHA", "abcdef0123"},
                             {"GITHUB_REF", "refs/heads/main"},
                             {"GITHUB_REF_NAME", "main"},
                             {"GITHUB_HEAD_REF", ""},
                             {"GITHUB_EVENT_PATH", "/nonexistent/event.json"}});
  EXPECT_EQ(ci.identity.branch, "main");
  EXPECT_EQ(ci.identity.pr, "");
  EXPECT_EQ(ci.identity.default_branch, "");
  ASSERT_EQ(ci.notes.size(), 1u);
  EXPECT_THAT(ci.notes[0], HasSubstr("GITHUB_EVENT_PATH"));
}

TEST(CiEnvironmentTest, GitLabParallelMergeRequestJob) {
  CiEnvironment ci = Detect({{"GITLAB_CI", "true"},
                             {"CI_PIPELINE_ID", "991"},
                             {"CI_JOB_NAME", "pytest 2/3"},
                             {"CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567"},
                             {"CI_COMMIT_REF_NAME", "feature-x"},
                             {"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature-x"},
                             {"CI_MERGE_REQUEST_IID", "17"},
                             {"CI_DEFAULT_BRANCH", "main"},
                             {"CI_NODE_INDEX", "2"},
                             {"CI_NODE_TOTAL", "3"},
                             {"CI_JOB_URL", "https://gitlab.example/acme/shop/-/jobs/5501"}});
  EXPECT_EQ(ci.provider, "gitlab-ci");
  EXPECT_EQ(ci.run_id, "991");
  EXPECT_EQ(ci.job, "pytest");  // GitLab's " 2/3" is the shard
  EXPECT_EQ(ci.identity.shard_index, std::optional<int>(2));
  EXPECT_EQ(ci.identity.shard_total, std::optional<int>(3));
  EXPECT_EQ(ci.identity.branch, "feature-x");
  EXPECT_EQ(ci.identity.default_branch, "main");
  EXPECT_EQ(ci.identity.pr, "17");
  EXPECT_EQ(ci.identity.attempt, std::nullopt);
  EXPECT_EQ(ci.identity.url, "https://gitlab.example/acme/shop/-/jobs/5501");
}

TEST(CiEnvironmentTest, CircleCiNodesAreZeroBased) {
  CiEnvironment ci = Detect({{"CIRCLECI", "true"},
                             {"CIRCLE_WORKFLOW_ID", "6c2c1d7e-3d22-4b43-9a9f-1f2b9c0d5e11"},
                             {"CIRCLE_JOB", "test"},
                             {"CIRCLE_SHA1", "fedcba9876543210"},
                             {"CIRCLE_BRANCH", "pull/88"},
                             {"CIRCLE_PULL_REQUEST", "https://github.com/acme/shop/pull/88"},
                             {"CIRCLE_NODE_INDEX", "0"},
                             {"CIRCLE_NODE_TOTAL", "4"},
                             {"CIRCLE_BUILD_URL", "https://circleci.com/gh/acme/shop/1234"}});
  EXPECT_EQ(ci.provider, "circleci");
  EXPECT_EQ(ci.run_id, "6c2c1d7e-3d22-4b43-9a9f-1f2b9c0d5e11");
  EXPECT_EQ(ci.identity.pr, "88");
  EXPECT_EQ(ci.identity.shard_index, std::optional<int>(1));
  EXPECT_EQ(ci.identity.shard_total, std::optional<int>(4));
}

TEST(CiEnvironmentTest, BuildkiteRetryAndParallelJob) {
  CiEnvironment ci = Detect({{"BUILDKITE", "true"},
                             {"BUILDKITE_BUILD_ID", "0190aaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
                             {"BUILDKITE_STEP_KEY", "unit"},
                             {"BUILDKITE_LABEL", ":pytest: Unit"},
                             {"BUILDKITE_COMMIT", "abcdef1234567890"},
                             {"BUILDKITE_BRANCH", "main"},
                             {"BUILDKITE_PIPELINE_DEFAULT_BRANCH", "main"},
                             {"BUILDKITE_PULL_REQUEST", "false"},
                             {"BUILDKITE_PARALLEL_JOB", "3"},
                             {"BUILDKITE_PARALLEL_JOB_COUNT", "5"},
                             {"BUILDKITE_RETRY_COUNT", "1"},
                             {"BUILDKITE_BUILD_URL", "https://buildkite.com/acme/shop/builds/12"},
                             {"BUILDKITE_JOB_ID", "0190ffff"}});
  EXPECT_EQ(ci.job, "unit");
  EXPECT_EQ(ci.identity.pr, "");
  EXPECT_EQ(ci.identity.shard_index, std::optional<int>(4));
  EXPECT_EQ(ci.identity.shard_total, std::optional<int>(5));
  EXPECT_EQ(ci.identity.attempt, std::optional<int>(2));
  EXPECT_EQ(ci.identity.IsDefaultBranch(), std::optional<bool>(true));
  EXPECT_EQ(ci.identity.url, "https://buildkite.com/acme/shop/builds/12#0190ffff");
}

TEST(CiEnvironmentTest, JenkinsMultibranchPullRequestAndARunIdMadeFit) {
  CiEnvironment ci = Detect({{"JENKINS_URL", "https://jenkins.example/"},
                             {"BUILD_TAG", "jenkins-shop/PR-7-3"},
                             {"JOB_NAME", "shop/PR-7"},
                             {"BRANCH_NAME", "PR-7"},
                             {"CHANGE_BRANCH", "fix/timeouts"},
                             {"CHANGE_ID", "7"},
                             {"GIT_COMMIT", "1234abcd1234abcd"},
                             {"BUILD_URL", "https://jenkins.example/job/shop/job/PR-7/3/"}});
  EXPECT_EQ(ci.provider, "jenkins");
  EXPECT_EQ(ci.run_id, "jenkins-shop-PR-7-3");
  EXPECT_EQ(ci.identity.branch, "fix/timeouts");
  EXPECT_EQ(ci.identity.pr, "7");
  CiEnvironment plain = Detect({{"JENKINS_URL", "https://jenkins.example/"},
                                {"BUILD_TAG", "jenkins-shop-9"},
                                {"GIT_BRANCH", "origin/main"}});
  EXPECT_EQ(plain.identity.branch, "main");
}

TEST(CiEnvironmentTest, BadValuesAreDroppedWithANoteAndNoCiGivesNothing) {
  CiEnvironment ci = Detect({{"GITLAB_CI", "true"},
                             {"CI_PIPELINE_ID", "5"},
                             {"CI_COMMIT_SHA", "not-a-sha"},
                             {"CI_COMMIT_BRANCH", "ok-branch"},
                             {"CI_NODE_INDEX", "4"},
                             {"CI_NODE_TOTAL", "3"}});
  EXPECT_EQ(ci.identity.commit, "");
  EXPECT_EQ(ci.identity.branch, "ok-branch");
  EXPECT_EQ(ci.identity.shard_index, std::nullopt);
  ASSERT_EQ(ci.notes.size(), 2u);
  EXPECT_THAT(ci.notes[0], HasSubstr("commit"));
  EXPECT_THAT(ci.notes[1], HasSubstr("shard"));
  CiEnvironment none = Detect({{"HOME", "/root"}, {"GITHUB_ACTIONS", "false"}});
  EXPECT_EQ(none.provider, "");
  EXPECT_EQ(none.run_id, "");
  EXPECT_TRUE(none.variables.empty());
}

}  // namespace
}  // namespace jostle::collector
