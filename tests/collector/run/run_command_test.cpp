// `jostle run` as users run it: build/bin/jostle as a child process wrapping real commands
// (true, false, a shell killed by a signal, a real pytest suite, a real GoogleTest binary),
// in a temporary working directory. Checks the exit code passed through, signal
// forwarding, the reports written, $GITHUB_STEP_SUMMARY, and the no-results message.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

constexpr const char* kPython = "/usr/bin/python3";

bool HavePytest() {
  return std::system((std::string(kPython) + " -c 'import pytest' >/dev/null 2>&1").c_str()) == 0;
}

// Exit code of a wait status as a shell reports it.
int ExitCode(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

class RunCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-run-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "work");
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Starts `jostle run [flags] -- command` in dir_/work with `env` (NAME=VALUE ...) added;
  // output goes to dir_/jostle.log.
  std::unique_ptr<testing::ChildProcess> Start(const std::vector<std::string>& flags,
                                               const std::vector<std::string>& command,
                                               const std::vector<std::string>& env = {}) {
    std::string line = "cd " + ShellQuote((dir_ / "work").string()) + " && exec env";
    for (const auto& e : env) line += " " + ShellQuote(e);
    line += " " + ShellQuote(std::string(testing::kBinDir) + "/jostle") + " run --interval 200ms";
    for (const auto& f : flags) line += " " + ShellQuote(f);
    line += " --";
    for (const auto& c : command) line += " " + ShellQuote(c);
    // `sh -c 'exec ...'` leaves jostle itself as the child, so signals reach it directly.
    return std::make_unique<testing::ChildProcess>(std::vector<std::string>{"/bin/sh", "-c", line},
                                                   (dir_ / "jostle.log").string());
  }

  // Runs it to the end (60 s at most) and returns its exit code.
  int Run(const std::vector<std::string>& flags, const std::vector<std::string>& command,
          const std::vector<std::string>& env = {}) {
    auto p = Start(flags, command, env);
    auto status = p->Wait(milliseconds(60000));
    EXPECT_TRUE(status.has_value()) << "jostle run did not finish:\n" << Log();
    return status ? ExitCode(*status) : -1;
  }

  std::string Log() const { return ReadFile(dir_ / "jostle.log"); }
  json Report(const std::string& report_dir = "jostle-report") const {
    std::string text = ReadFile(dir_ / "work" / report_dir / "report.json");
    json j = json::parse(text, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "report.json is not JSON: " << text.substr(0, 300);
    return j;
  }

  // A small pytest suite: one passes, one fails, one is skipped.
  void WritePytestSuite() {
    std::ofstream(dir_ / "work" / "test_shop.py")
        << "import pytest\n\n"
           "def test_adds():\n    assert 1 + 1 == 2\n\n"
           "def test_rounds():\n    assert round(2.5) == 3\n\n"
           "@pytest.mark.skip(reason='not here')\n"
           "def test_ships():\n    pass\n";
  }
  // pytest as a project runs it: jostle's plugin is loaded by `jostle run` itself.
  std::vector<std::string> PytestCommand(std::vector<std::string> extra = {}) const {
    std::vector<std::string> cmd = {
        kPython, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=out/junit.xml"};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    cmd.push_back("test_shop.py");
    return cmd;
  }
  // A project's own PYTHONPATH, holding the pytest-reportlog look-alike of the fixtures.
  std::string PytestPath() const {
    return "PYTHONPATH=" + std::string(testing::kFixtureDir) + "/results/pytest_suite";
  }

  fs::path dir_;
};

TEST_F(RunCommandTest, PassesTheCommandsExitCodeThrough) {
  EXPECT_EQ(Run({}, {"true"}), 0) << Log();
  EXPECT_EQ(Run({}, {"false"}), 1) << Log();
  EXPECT_EQ(Run({}, {"sh", "-c", "exit 42"}), 42) << Log();
}

TEST_F(RunCommandTest, ACommandKilledBySignalGives128PlusTheSignal) {
  EXPECT_EQ(Run({}, {"sh", "-c", "kill -TERM $$"}), 128 + SIGTERM) << Log();
  EXPECT_EQ(Run({}, {"sh", "-c", "kill -KILL $$"}), 128 + SIGKILL) << Log();
}

TEST_F(RunCommandTest, ACommandThatCannotRunGives127) {
  EXPECT_EQ(Run({}, {"no-such-command-jostle-test"}), 127);
  EXPECT_NE(Log().find("cannot run 'no-such-command-jostle-test'"), std::string::npos) << Log();
}

TEST_F(RunCommandTest, ASignalSentToJostleReachesTheCommand) {
  auto p = Start({}, {"sh", "-c",
                      "trap 'echo term > got-term; exit 7' TERM; echo up > started; "
                      "while :; do sleep 0.05; done"});
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(dir_ / "work" / "started") && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(dir_ / "work" / "started")) << Log();
  p->Signal(SIGTERM);
  auto status = p->Wait(milliseconds(30000));
  ASSERT_TRUE(status.has_value()) << "jostle did not end after SIGTERM:\n" << Log();
  EXPECT_EQ(ExitCode(*status), 7) << Log();
  EXPECT_EQ(ReadFile(dir_ / "work" / "got-term"), "term\n");
  // jostle itself finished its work: the report is there.
  EXPECT_TRUE(fs::exists(dir_ / "work" / "jostle-report" / "report.html"));
}

TEST_F(RunCommandTest, NoResultFilesGivesAResourcesOnlyReportAndSaysSo) {
  ASSERT_EQ(Run({"--report-dir", "out"}, {"sh", "-c", "sleep 0.5"}), 0) << Log();
  std::string log = Log();
  EXPECT_NE(log.find("No result files found: the report covers resources only."), std::string::npos)
      << log;
  EXPECT_NE(log.find("Report: " + (dir_ / "work" / "out" / "report.html").string()),
            std::string::npos)
      << log;
  for (const char* name : {"report.html", "report.md", "report.json"}) {
    EXPECT_GT(fs::file_size(dir_ / "work" / "out" / name), 0u) << name;
  }
  json report = Report("out");
  EXPECT_EQ(report["summary"]["tests"], 0);
  ASSERT_TRUE(report["warnings"].is_array());
  ASSERT_FALSE(report["warnings"].empty());
  std::string warning = report["warnings"][0];
  EXPECT_NE(warning.find("no result files found"), std::string::npos) << warning;
  EXPECT_NE(warning.find("node CPU busy peak"), std::string::npos) << warning;
  // Named results that match nothing say so too.
  ASSERT_EQ(Run({"--report-dir", "out2", "--results", "*.nothing"}, {"true"}), 0);
  EXPECT_NE(Log().find("No result files found matching --results"), std::string::npos) << Log();
}

// A result file left from an earlier command of the same run, found again, is a replay: its
// tests keep one attempt. A file with other content for the same run is stored beside it.
TEST_F(RunCommandTest, AResultFileFoundAgainInTheSameRunIsStoredOnce) {
  const std::string junit =
      "<testsuite name=\"s\" tests=\"1\"><testcase classname=\"pkg.Suite\" name=\"a\" "
      "time=\"0.1\"/></testsuite>";
  const std::string write = "printf '%s' '" + junit + "' > r.xml";
  const std::string db = (dir_ / "runs.db").string();
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(Run({"--db", db, "--run-id", "same", "--results", "r.xml", "--report-dir",
                   "out" + std::to_string(i)},
                  {"sh", "-c", write}),
              0)
        << Log();
  }
  json again = Report("out1");
  ASSERT_EQ(again["summary"]["tests"], 1) << again.dump(2);
  EXPECT_EQ(again["summary"]["executions"], 1) << "the same file, stored twice";
  const std::string other = "printf '%s' '" + junit.substr(0, junit.size() - 12) +
                            "<testcase classname=\"pkg.Suite\" name=\"b\"/></testsuite>' > r.xml";
  ASSERT_EQ(Run({"--db", db, "--run-id", "same", "--results", "r.xml", "--report-dir", "out2"},
                {"sh", "-c", other}),
            0)
      << Log();
  json both = Report("out2");
  EXPECT_EQ(both["summary"]["tests"], 2) << both.dump(2);
  EXPECT_EQ(both["summary"]["executions"], 3) << both.dump(2);
}

TEST_F(RunCommandTest, AWebhookThatCannotBeReachedNeverChangesTheExitCode) {
  // Port 1 on loopback: nothing listens there.
  EXPECT_EQ(Run({"--webhook", "http://127.0.0.1:1/hooks/secret-path"}, {"sh", "-c", "exit 3"}), 3);
  std::string log = Log();
  EXPECT_NE(log.find("alert "), std::string::npos) << log;
  EXPECT_NE(log.find("http://127.0.0.1:1/"), std::string::npos) << log;
  // The URL is masked: its path may hold a secret.
  EXPECT_EQ(log.find("secret-path"), std::string::npos) << log;
}

TEST_F(RunCommandTest, WrapsARealPytestSuite) {
  if (!HavePytest())
    JOSTLE_SKIP_MISSING_REAL(kPython << " has no pytest (apt install python3-pytest)");
  WritePytestSuite();
  fs::path summary = dir_ / "step-summary.md";
  std::ofstream(summary) << "# earlier step\n";
  fs::path db = dir_ / "history.db";
  int rc = Run({"--db", db.string(), "--run-id", "pytest-1", "--job", "unit"}, PytestCommand(),
               {PytestPath(), "GITHUB_STEP_SUMMARY=" + summary.string()});
  ASSERT_EQ(rc, 1) << Log();
  ASSERT_TRUE(fs::exists(dir_ / "work" / "out" / "junit.xml"));
  EXPECT_NE(Log().find("not ingested twice"), std::string::npos) << Log();

  json report = Report();
  EXPECT_EQ(report["run"], "pytest-1");
  // jostle's report-log and the JUnit file are the same session: three tests, not six.
  EXPECT_EQ(report["summary"]["tests"], 3) << report.dump(2).substr(0, 2000);
  EXPECT_EQ(report["summary"]["failed"], 1);
  ASSERT_EQ(report["failures"].size(), 1u);
  const json& f = report["failures"][0];
  EXPECT_EQ(f["test"], "test_shop.py::test_rounds");
  EXPECT_EQ(f["job"], "unit");
  EXPECT_EQ(f["timing"], "exact");
  // Samples cover the window: a verdict from data, never no-data.
  std::set<std::string> judged{"no-contention", "contention-possible"};
  EXPECT_TRUE(judged.count(f["verdict"].get<std::string>())) << f.dump(2);
  EXPECT_GT(f["window"]["node_points"].get<int>(), 0) << f.dump(2);
  EXPECT_TRUE(f["window"]["pod_found"].get<bool>()) << "the command's own cgroup was not sampled";

  // The Markdown went to stdout and was appended to the step summary.
  std::string md = ReadFile(dir_ / "work" / "jostle-report" / "report.md");
  ASSERT_FALSE(md.empty());
  EXPECT_EQ(ReadFile(summary), "# earlier step\n" + md + "\n");
  EXPECT_NE(Log().find(md), std::string::npos);

  // --db keeps history: the second run's failure counts the first run's.
  ASSERT_EQ(Run({"--db", db.string(), "--run-id", "pytest-2"}, PytestCommand(), {PytestPath()}), 1)
      << Log();
  json second = Report();
  ASSERT_EQ(second["failures"].size(), 1u);
  const json& h = second["failures"][0]["evidence"]["history"];
  int earlier = h["failed_contended"].get<int>() + h["failed_clear"].get<int>();
  EXPECT_EQ(earlier, 1) << second["failures"][0]["evidence"].dump(2);
}

// The project loads a report-log plugin of its own through its PYTHONPATH and PYTEST_PLUGINS:
// both stay, both plugins run, and the session is stored once, with jostle's exact times.
TEST_F(RunCommandTest, ThePytestPluginKeepsTheProjectsOwnPluginsAndIsStoredOnce) {
  if (!HavePytest())
    JOSTLE_SKIP_MISSING_REAL(kPython << " has no pytest (apt install python3-pytest)");
  WritePytestSuite();
  int rc = Run({"--run-id", "own-plugins"}, PytestCommand({"--report-log=mine.jsonl"}),
               {PytestPath(), "PYTEST_PLUGINS=reportlog_lookalike"});
  ASSERT_EQ(rc, 1) << Log();
  EXPECT_TRUE(fs::exists(dir_ / "work" / "mine.jsonl")) << Log();
  EXPECT_NE(Log().find("mine.jsonl: same tests as jostle's pytest report-log"), std::string::npos)
      << Log();
  json report = Report();
  EXPECT_EQ(report["summary"]["tests"], 3) << report.dump(2).substr(0, 2000);
  ASSERT_EQ(report["failures"].size(), 1u);
  EXPECT_EQ(report["failures"][0]["timing"], "exact");
}

// --no-pytest-plugin: pytest's JUnit is what is read, with start times rebuilt from it.
TEST_F(RunCommandTest, WithoutThePytestPluginJUnitTimesAreApproximate) {
  if (!HavePytest())
    JOSTLE_SKIP_MISSING_REAL(kPython << " has no pytest (apt install python3-pytest)");
  WritePytestSuite();
  ASSERT_EQ(Run({"--no-pytest-plugin"}, PytestCommand()), 1) << Log();
  json report = Report();
  EXPECT_EQ(report["summary"]["tests"], 3);
  ASSERT_EQ(report["failures"].size(), 1u);
  EXPECT_EQ(report["failures"][0]["timing"], "approximate");
}

// Every rerun of pytest-rerunfailures is an attempt with its own exact window.
TEST_F(RunCommandTest, ThePytestPluginTimesEveryRerun) {
  if (!HavePytest())
    JOSTLE_SKIP_MISSING_REAL(kPython << " has no pytest (apt install python3-pytest)");
  if (std::system(
          (std::string(kPython) + " -c 'import pytest_rerunfailures' 2>/dev/null").c_str()) != 0) {
    JOSTLE_SKIP_MISSING_REAL("no pytest-rerunfailures (apt install python3-pytest-rerunfailures)");
  }
  WritePytestSuite();
  ASSERT_EQ(Run({}, PytestCommand({"--reruns=2", "--reruns-delay=1"})), 1) << Log();
  json report = Report();
  ASSERT_EQ(report["failures"].size(), 1u) << report.dump(2).substr(0, 2000);
  const json& f = report["failures"][0];
  EXPECT_EQ(f["attempts"], 3);
  EXPECT_EQ(f["attempt"], 2);
  EXPECT_EQ(f["timing"], "exact");
  EXPECT_EQ(report["summary"]["executions"], 5);  // 3 attempts of the failure, 1 pass, 1 skip
}

TEST_F(RunCommandTest, PrintsThePytestPlugin) {
  std::string cmd = ShellQuote(std::string(testing::kBinDir) + "/jostle") + " pytest-plugin > " +
                    ShellQuote((dir_ / "plugin.py").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(
      ReadFile(dir_ / "plugin.py"),
      ReadFile(std::string(testing::kSourceDir) + "/collector/run/pytest_plugin/jostle_pytest.py"));
}

TEST_F(RunCommandTest, WrapsARealGoogleTestBinary) {
  // --gtest_output=xml writes test_detail.xml: found by content, not by name.
  int rc = Run({}, {JOSTLE_RUN_GTEST_SAMPLE, "--gtest_output=xml"});
  ASSERT_EQ(rc, 1) << Log();
  json report = Report();
  EXPECT_EQ(report["summary"]["tests"], 4) << report.dump(2).substr(0, 2000);
  EXPECT_EQ(report["summary"]["failed"], 1);
  ASSERT_EQ(report["failures"].size(), 1u);
  EXPECT_EQ(report["failures"][0]["name"], "AppliesDiscount");
  EXPECT_NE(report["failures"][0]["verdict"], "no-data") << report["failures"][0].dump(2);
  // A passing run of the same binary exits 0.
  EXPECT_EQ(Run({"--report-dir", "pass"}, {JOSTLE_RUN_GTEST_SAMPLE, "--gtest_filter=Search.*",
                                           "--gtest_output=xml:pass.xml"}),
            0)
      << Log();
  EXPECT_EQ(Report("pass")["summary"]["failed"], 0);
}

}  // namespace
}  // namespace jostle
