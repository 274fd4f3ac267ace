// `jostle upload`, `jostle ingest` and friends as CI jobs run them: build/bin/jostle as a child
// process with a clean environment (only the variables a test sets, as a CI would), against
// a real collector API served on loopback over a real SQLite file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "collector/api/collector_api.h"
#include "collector/api/read_routes.h"
#include "collector/store/stores.h"
#include "e2e/child_process.h"
#include "http_server/http_server.h"
#include "jostle_test/test_paths.h"
#include "support/shell_files.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr const char* kCiToken = "ci-token-00000002";

class JostleCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "ci " << kCiToken << "\nread read-token-00003\n";
    std::ofstream(dir_ / "ci-token") << kCiToken << "\n";
    auto stores = OpenSqliteStores((dir_ / "collector.db").string());
    ASSERT_TRUE(stores.ok()) << stores.status().ToString();
    stores_ = std::move(*stores);
    ApiOptions options;
    options.token_file = (dir_ / "tokens").string();
    auto api = CollectorApi::Create(*stores_, options);
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(*api);
    AddReadRoutes(*api_, AttributionConfig{}, report_slots_);
    auto server = HttpServer::Start(HttpServerOptions{}, api_->AsHandler());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    url_ = "http://" + server_->address();
    std::ofstream(dir_ / "junit.xml")
        << R"(<testsuites><testsuite name="pytest" tests="2"><testcase classname="tests.test_cart" name="test_add" time="0.5"/><testcase classname="tests.test_cart" name="test_pay" time="1.0"><failure message="boom">x</failure></testcase></testsuite></testsuites>)";
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    api_.reset();
    stores_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Runs `env -i PATH=/usr/bin:/bin <env> jostle <args>` and returns its exit code; its
  // output is in Output().
  int Jostle(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    fs::remove(dir_ / "jostle.log");
    std::vector<std::string> argv = {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin"};
    for (const auto& e : env) argv.push_back(e);
    argv.push_back(std::string(jostle::testing::kBinDir) + "/jostle");
    for (const auto& a : args) argv.push_back(a);
    jostle::testing::ChildProcess p(argv, (dir_ / "jostle.log").string());
    auto status = p.Wait(std::chrono::seconds(60));
    EXPECT_TRUE(status.has_value()) << "jostle did not finish";
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
  std::string Output() const { return jostle::testing::ReadFile(dir_ / "jostle.log"); }

  std::vector<RunSummary> Runs() {
    auto runs = stores_->analytics().ListRuns(RunFilter::Latest(100));
    EXPECT_TRUE(runs.ok()) << runs.status().ToString();
    return runs.ok() ? *runs : std::vector<RunSummary>{};
  }

  // The variables GitHub Actions sets for a pull request job (values as GitHub writes them).
  std::vector<std::string> GitHubEnv() const {
    return {"GITHUB_ACTIONS=true",
            "GITHUB_RUN_ID=9000001",
            "GITHUB_RUN_ATTEMPT=1",
            "GITHUB_JOB=pytest",
            "GITHUB_SHA=1f2e3d4c5b6a79880123456789abcdef01234567",
            "GITHUB_REF=refs/pull/12/merge",
            "GITHUB_REF_NAME=12/merge",
            "GITHUB_HEAD_REF=fix/cart",
            "GITHUB_SERVER_URL=https://github.com",
            "GITHUB_REPOSITORY=acme/shop",
            "GITHUB_EVENT_PATH=" + (dir_ / "event.json").string()};
  }

  fs::path dir_;
  std::unique_ptr<Stores> stores_;
  ReportSlots report_slots_{2};
  std::unique_ptr<CollectorApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::string url_;
};

TEST_F(JostleCliTest, UploadTakesTheRunIdentityFromGitHubActions) {
  std::ofstream(dir_ / "event.json") << R"({"repository": {"default_branch": "main"}})";
  std::vector<std::string> env = GitHubEnv();
  int rc = Jostle({"upload", "--collector", url_, "--token-file", (dir_ / "ci-token").string(),
                   "--verbose", (dir_ / "junit.xml").string()},
                  env);
  ASSERT_EQ(rc, 0) << Output();
  // --verbose shows the CI, the variables read and the identity sent.
  EXPECT_THAT(Output(), HasSubstr("CI github-actions"));
  EXPECT_THAT(Output(), HasSubstr("GITHUB_HEAD_REF=fix/cart"));
  EXPECT_THAT(Output(), HasSubstr("run 9000001, job pytest"));
  EXPECT_THAT(Output(), HasSubstr("branch=fix/cart"));
  std::vector<RunSummary> runs = Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].run, "9000001");
  EXPECT_EQ(runs[0].identity.commit, "1f2e3d4c5b6a79880123456789abcdef01234567");
  EXPECT_EQ(runs[0].identity.branch, "fix/cart");
  EXPECT_EQ(runs[0].identity.default_branch, "main");
  EXPECT_EQ(runs[0].identity.on_default_branch, std::optional<bool>(false));
  EXPECT_EQ(runs[0].identity.pr, "12");
  EXPECT_EQ(runs[0].identity.provider, "github-actions");
  ASSERT_EQ(runs[0].jobs.size(), 1u);
  EXPECT_EQ(runs[0].jobs[0].job, "pytest");
  EXPECT_EQ(runs[0].jobs[0].attempt, 1);
  EXPECT_EQ(runs[0].jobs[0].url, "https://github.com/acme/shop/actions/runs/9000001");
  EXPECT_EQ(runs[0].tests, 2);
  EXPECT_EQ(runs[0].failed, 1);

  // The re-run of the job (attempt 2): flags win over the environment.
  env[2] = "GITHUB_RUN_ATTEMPT=2";
  rc = Jostle({"upload", "--collector", url_, "--token-file", (dir_ / "ci-token").string(), "--job",
               "pytest-py312", "--shard", "2/3", "--exit-code", "1", (dir_ / "junit.xml").string()},
              env);
  ASSERT_EQ(rc, 0) << Output();
  EXPECT_THAT(Output(), Not(HasSubstr("variables read")));  // not --verbose
  runs = Runs();
  ASSERT_EQ(runs.size(), 1u);
  ASSERT_EQ(runs[0].jobs.size(), 2u);
  EXPECT_EQ(runs[0].jobs[1].job, "pytest-py312");
  EXPECT_EQ(runs[0].jobs[1].shard_index, std::optional<int>(2));
  EXPECT_EQ(runs[0].jobs[1].attempt, 2);
  EXPECT_EQ(runs[0].jobs[1].exit_code, std::optional<int>(1));
}

TEST_F(JostleCliTest, UploadOutsideACiNeedsARunAndRefusesBadFlags) {
  int rc = Jostle({"upload", "--collector", url_, "--token-file", (dir_ / "ci-token").string(),
                   (dir_ / "junit.xml").string()});
  EXPECT_EQ(rc, 2) << Output();
  EXPECT_THAT(Output(), HasSubstr("--run: required outside a recognised CI"));
  rc = Jostle({"upload", "--collector", url_, "--run", "r1", "--commit", "not-hex",
               (dir_ / "junit.xml").string()});
  EXPECT_EQ(rc, 2) << Output();
  EXPECT_THAT(Output(), HasSubstr("--commit 'not-hex'"));
  // --no-ci-env ignores the CI's variables.
  rc = Jostle({"upload", "--collector", url_, "--token-file", (dir_ / "ci-token").string(), "--run",
               "local-1", "--no-ci-env", "--verbose", (dir_ / "junit.xml").string()},
              GitHubEnv());
  ASSERT_EQ(rc, 0) << Output();
  EXPECT_THAT(Output(), HasSubstr("no CI recognised in the environment (--no-ci-env)"));
  std::vector<RunSummary> runs = Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].run, "local-1");
  EXPECT_EQ(runs[0].identity.commit, "");
}

// jostle JSON results: a.py's tests take 5 s and 3 s, b.py's 4 s, c.py's 2 s (all passed).
std::string TimedResults() {
  Json tests = Json::array();
  for (const auto& [id, seconds] : std::vector<std::pair<std::string, double>>{
           {"a.py::t1", 5}, {"a.py::t2", 3}, {"b.py::t1", 4}, {"c.py::t1", 2}}) {
    tests.push_back({{"id", id}, {"attempts", {{{"outcome", "passed"}, {"duration_s", seconds}}}}});
  }
  return Json{{"format", "jostle-results/v1"}, {"tests", tests}}.dump();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// jostle split balances by the history's timings, from a database or from the collector's
// /api/v1/tests/durations, items from the command line or stdin; shard 1 of 2 by file gets
// a.py (8 s) and c.py (2 s), shard 2 new.py (no history: the mean, 4.67 s) and b.py (4 s).
TEST_F(JostleCliTest, SplitBalancesItemsByTheirHistoryFromADatabaseOrTheCollector) {
  std::ofstream(dir_ / "timed.json") << TimedResults();
  const std::string db = (dir_ / "local.db").string();
  ASSERT_EQ(Jostle({"ingest", "--no-ci-env", "--db", db, "--run", "r1", "--job", "unit",
                    (dir_ / "timed.json").string()}),
            0)
      << Output();
  const std::vector<std::string> split = {"--log-level", "warn", "split", "--total",
                                          "2",           "--by", "file"};
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> all = split;
    all.insert(all.end(), args.begin(), args.end());
    EXPECT_EQ(Jostle(all), 0) << Output();
    return Lines(Output());
  };
  EXPECT_THAT(run({"--index", "1", "--db", db, "c.py", "new.py", "a.py", "b.py"}),
              ::testing::ElementsAre("c.py", "a.py"));
  EXPECT_THAT(run({"--index", "2", "--db", db, "c.py", "new.py", "a.py", "b.py"}),
              ::testing::ElementsAre("new.py", "b.py"));
  EXPECT_THAT(run({"--index", "1", "--order", "--db", db, "c.py", "new.py", "a.py", "b.py"}),
              ::testing::ElementsAre("a.py", "c.py"));
  EXPECT_THAT(run({"--index", "2", "--db", db, "--job", "other", "x", "y", "z"}),
              ::testing::ElementsAre("y"));  // no history for job other: by count

  // The same through the collector, items on stdin.
  ASSERT_EQ(Jostle({"upload", "--no-ci-env", "--collector", url_, "--token-file",
                    (dir_ / "ci-token").string(), "--run", "r1", "--job", "unit",
                    (dir_ / "timed.json").string()}),
            0)
      << Output();
  std::ofstream(dir_ / "read-token") << "read-token-00003\n";
  fs::remove(dir_ / "jostle.log");
  jostle::testing::ChildProcess p(
      {"/bin/sh", "-c",
       "printf 'c.py\\nnew.py\\n\\na.py\\nb.py\\n' | exec " +
           std::string(jostle::testing::kBinDir) +
           "/jostle --log-level warn split --total 2 --index 2 --by file --collector " + url_ +
           " --token-file " + (dir_ / "read-token").string()},
      (dir_ / "jostle.log").string());
  auto status = p.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 0) << Output();
  EXPECT_THAT(Lines(Output()), ::testing::ElementsAre("new.py", "b.py"));

  // Refusals name what was wrong.
  EXPECT_EQ(Jostle({"split", "--total", "2", "--index", "3", "--db", db, "a.py"}), 2);
  EXPECT_THAT(Output(), HasSubstr("--index 3: expected 1..2"));
  EXPECT_EQ(Jostle({"split", "--total", "2", "--index", "1", "a.py"}), 2);
  EXPECT_THAT(Output(), HasSubstr("give one of --collector URL or --db PATH"));
}

// jostle stats prints ci-metrics' JSON, from the collector or from a database.
TEST_F(JostleCliTest, StatsPrintsTheCiMetricsFromTheCollectorOrADatabase) {
  std::ofstream(dir_ / "read-token") << "read-token-00003\n";
  ASSERT_EQ(Jostle({"upload", "--no-ci-env", "--collector", url_, "--token-file",
                    (dir_ / "ci-token").string(), "--run", "r1", "--job", "unit",
                    (dir_ / "junit.xml").string()}),
            0)
      << Output();
  const std::string db = (dir_ / "collector.db").string();
  for (const std::vector<std::string>& source :
       {std::vector<std::string>{"--collector", url_, "--token-file",
                                 (dir_ / "read-token").string()},
        std::vector<std::string>{"--db", db}}) {
    std::vector<std::string> args = {"--log-level", "warn",  "stats", "--since",
                                     "1d",          "--job", "unit"};
    args.insert(args.end(), source.begin(), source.end());
    ASSERT_EQ(Jostle(args), 0) << Output();
    Json j = Json::parse(Output(), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << Output();
    EXPECT_EQ(j["runs"], 1) << source[0];
    EXPECT_EQ(j["jobs"], 1);
    EXPECT_EQ(j["job"], "unit");
    ASSERT_EQ(j["test_failure_rate"].size(), 1u) << j.dump();
    EXPECT_THAT(j["test_failure_rate"][0]["test"].get<std::string>(), HasSubstr("test_pay"));
  }
}

TEST_F(JostleCliTest, IngestStoresTheIdentityFromGitLab) {
  const std::string db = (dir_ / "local.db").string();
  int rc = Jostle({"ingest", "--db", db, (dir_ / "junit.xml").string()},
                  {"GITLAB_CI=true", "CI_PIPELINE_ID=4242", "CI_JOB_NAME=pytest 1/2",
                   "CI_COMMIT_SHA=abcdefabcdef", "CI_COMMIT_BRANCH=main", "CI_DEFAULT_BRANCH=main",
                   "CI_NODE_INDEX=1", "CI_NODE_TOTAL=2"});
  ASSERT_EQ(rc, 0) << Output();
  auto stores = OpenSqliteStores(db);
  ASSERT_TRUE(stores.ok());
  auto runs = (*stores)->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].run, "4242");
  EXPECT_EQ((*runs)[0].identity.on_default_branch, std::optional<bool>(true));
  ASSERT_EQ((*runs)[0].jobs.size(), 1u);
  EXPECT_EQ((*runs)[0].jobs[0].job, "pytest");
  EXPECT_EQ((*runs)[0].jobs[0].shard_index, std::optional<int>(1));
}

}  // namespace
}  // namespace jostle::collector
