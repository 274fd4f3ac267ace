// Runs real producers at test time and parses what they write: Debian's pytest on the
// bundled suite tests/fixtures/results/pytest_suite (xunit1 and xunit2, with and without
// pytest-rerunfailures, plus a report-log written by the suite's report-log plugin), a
// real GoogleTest binary (results_gtest_sample) and CTest's --output-junit on a small
// project of shell-command tests.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "results_test_support.h"
#include "support/real_parts.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int LocalOffsetSeconds() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return static_cast<int>(local.tm_gmtoff);
}

int RunShell(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A python3 whose pytest imports, or "" when none does.
std::string FindPytestPython() {
  for (const char* python : {"/usr/bin/python3", "python3"}) {
    if (RunShell(std::string(python) + " -m pytest --version >/dev/null 2>&1") == 0) return python;
  }
  return "";
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "jostle-results-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class PytestProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    python_ = FindPytestPython();
    if (python_.empty()) JOSTLE_SKIP_MISSING_REAL("python3-pytest is not installed");
    ASSERT_FALSE(dir_.path().empty());
    suite_ = std::string(jostle::testing::kFixtureDir) + "/results/pytest_suite";
  }

  // Runs the bundled suite (or `suite`, with the suite's report-log plugin on the path);
  // returns pytest's exit code (1 = some tests failed).
  int RunPytest(const std::string& extra_args, std::string suite = "") {
    if (suite.empty()) suite = suite_;
    std::string cmd = "cd '" + dir_.path() + "' && JOSTLE_FLAKY_DIR='" + dir_.path() +
                      "' PYTHONDONTWRITEBYTECODE=1 PYTHONPATH='" + suite_ + "' " + python_ +
                      " -m pytest -q -p no:cacheprovider --rootdir='" + suite + "' '" + suite +
                      "' " + extra_args + " >'" + dir_.path() + "/pytest.out' 2>&1";
    return RunShell(cmd);
  }

  std::string Output(const std::string& name) { return ReadFile(dir_.path() + "/" + name); }

  std::string python_;
  std::string suite_;
  TempDir dir_;
};

std::vector<Outcome> Outcomes(const TestCase& t) {
  std::vector<Outcome> out;
  for (const TestAttempt& a : t.attempts) out.push_back(a.outcome);
  return out;
}

TEST_F(PytestProducerTest, Xunit2WithoutReruns) {
  const int64_t before = NowNs();
  ASSERT_EQ(1, RunPytest("--junitxml=junit.xml -o junit_family=xunit2")) << Output("pytest.out");
  const int64_t after = NowNs();
  Result<ResultSet> set = Parse(Output("junit.xml"), "application/xml", LocalOffsetSeconds());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("pytest", set->producer);
  ASSERT_EQ(8u, set->tests.size());
  using O = Outcome;
  EXPECT_EQ(std::vector<O>{O::kPassed}, Outcomes(*FindTest(*set, "test_sample.py::test_passes")));
  EXPECT_EQ(std::vector<O>{O::kFailed}, Outcomes(*FindTest(*set, "test_sample.py::test_fails")));
  EXPECT_EQ(std::vector<O>{O::kSkipped}, Outcomes(*FindTest(*set, "test_sample.py::test_skipped")));
  EXPECT_EQ(std::vector<O>{O::kError},
            Outcomes(*FindTest(*set, "test_sample.py::test_setup_error")));
  EXPECT_EQ(std::vector<O>{O::kFailed}, Outcomes(*FindTest(*set, "test_sample.py::test_flaky")));
  ASSERT_NE(nullptr, FindTest(*set, "test_sample.py::test_param[2]"));
  ASSERT_NE(nullptr, FindTest(*set, "test_sample.py::TestGroup::test_method"));
  EXPECT_EQ(3, set->failed_count());
  EXPECT_EQ("assert (1 + 1) == 3", FindTest(*set, "test_sample.py::test_fails")->last().message);
  // pytest 7 writes only a suite timestamp: starts are reconstructed, within the run.
  for (const TestCase& t : set->tests) {
    ASSERT_TRUE(t.last().start_ns.has_value()) << t.id;
    EXPECT_TRUE(t.last().timing_approximate) << t.id;
    // The suite timestamp has microseconds; allow 1 s for the time zone's rounding.
    EXPECT_GE(*t.last().start_ns, before - 1000000000) << t.id;
    EXPECT_LE(*t.last().start_ns, after) << t.id;
  }
  // xunit2 writes no file/line.
  EXPECT_EQ("", set->tests[0].file);
}

TEST_F(PytestProducerTest, Xunit1WithRerunfailuresAndReportLog) {
  ASSERT_EQ(1, RunPytest("--junitxml=junit.xml -o junit_family=xunit1 -p rerunfailures "
                         "--reruns 2 -p reportlog_lookalike --report-log=log.jsonl"))
      << Output("pytest.out");
  Result<ResultSet> junit = Parse(Output("junit.xml"), "application/xml", LocalOffsetSeconds());
  ASSERT_TRUE(junit.ok()) << junit.status().ToString();
  Result<ResultSet> log = Parse(Output("log.jsonl"), "application/x-ndjson");
  ASSERT_TRUE(log.ok()) << log.status().ToString();

  using O = Outcome;
  // The report-log keeps every attempt.
  ASSERT_EQ(8u, log->tests.size());
  const TestCase* flaky = FindTest(*log, "test_sample.py::test_flaky");
  ASSERT_NE(nullptr, flaky);
  EXPECT_EQ((std::vector<O>{O::kFailed, O::kPassed}), Outcomes(*flaky));
  EXPECT_TRUE(flaky->flaky());
  EXPECT_EQ("AssertionError: first attempt fails", flaky->attempts[0].message);
  EXPECT_EQ((std::vector<O>{O::kFailed, O::kFailed, O::kFailed}),
            Outcomes(*FindTest(*log, "test_sample.py::test_fails")));
  EXPECT_EQ((std::vector<O>{O::kError, O::kError, O::kError}),
            Outcomes(*FindTest(*log, "test_sample.py::test_setup_error")));
  EXPECT_EQ(std::vector<O>{O::kSkipped}, Outcomes(*FindTest(*log, "test_sample.py::test_skipped")));
  EXPECT_EQ(std::vector<O>{O::kPassed},
            Outcomes(*FindTest(*log, "test_sample.py::TestGroup::test_method")));
  EXPECT_EQ(2, log->failed_count());

  // The JUnit file of the same run agrees on every final outcome.
  ASSERT_EQ(8u, junit->tests.size());
  EXPECT_EQ(2, junit->failed_count());
  // ... under the same test ids (pytest's node ids).
  for (const TestCase& t : log->tests) {
    const TestCase* j = FindTest(*junit, t.id);
    ASSERT_NE(nullptr, j) << t.id;
    EXPECT_EQ(t.last().outcome, j->last().outcome) << t.id;
    EXPECT_EQ(t.file, j->file) << t.id;
    EXPECT_EQ(t.line, j->line) << t.id;
  }
}

std::map<std::string, Outcome> FinalOutcomes(const ResultSet& set) {
  std::map<std::string, Outcome> out;
  for (const TestCase& t : set.tests) out.emplace(t.id, t.last().outcome);
  return out;
}

// One suite with subfolders, packages, nested classes, parametrised tests (ids with '/', '.'
// and spaces) and a test inherited from a class in another file, run three times: JUnit
// xunit1, JUnit xunit2, report-log. Every format names every test by its node id.
TEST_F(PytestProducerTest, OneTestIdInEveryFormat) {
  const std::string tree = std::string(jostle::testing::kFixtureDir) + "/results/pytest_tree";
  ASSERT_EQ(1, RunPytest("--junitxml=x1.xml -o junit_family=xunit1", tree)) << Output("pytest.out");
  ASSERT_EQ(1, RunPytest("--junitxml=x2.xml -o junit_family=xunit2", tree)) << Output("pytest.out");
  ASSERT_EQ(1, RunPytest("-p reportlog_lookalike --report-log=log.jsonl", tree))
      << Output("pytest.out");
  Result<ResultSet> x1 = Parse(Output("x1.xml"), "application/xml");
  Result<ResultSet> x2 = Parse(Output("x2.xml"), "application/xml");
  Result<ResultSet> log = Parse(Output("log.jsonl"), "application/x-ndjson");
  ASSERT_TRUE(x1.ok()) << x1.status().ToString();
  ASSERT_TRUE(x2.ok()) << x2.status().ToString();
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  using O = Outcome;
  const std::map<std::string, Outcome> want = {
      {"pkg/sub/test_deep.py::TestDeep::test_method", O::kPassed},
      {"pkg/sub/test_deep.py::test_deep[seven]", O::kPassed},
      {"pkg/sub/test_deep.py::test_deep[zero]", O::kPassed},
      {"tests/api/test_inherit.py::TestInherited::test_shared", O::kPassed},
      {"tests/api/test_orders.py::TestOrders::test_create", O::kSkipped},
      {"tests/api/test_orders.py::TestOrders::test_list", O::kPassed},
      {"tests/api/test_orders.py::test_timeout", O::kFailed},
      {"tests/test_shop.py::TestCheckout::TestRefunds::test_refund", O::kPassed},
      {"tests/test_shop.py::TestCheckout::test_items[1]", O::kPassed},
      {"tests/test_shop.py::TestCheckout::test_items[2]", O::kPassed},
      {"tests/test_shop.py::TestCheckout::test_pays", O::kFailed},
      {"tests/test_shop.py::test_paths[a/b]", O::kPassed},
      {"tests/test_shop.py::test_paths[v1.2]", O::kPassed},
      {"tests/test_shop.py::test_paths[x y]", O::kPassed},
      {"tests/test_shop.py::test_total", O::kPassed},
  };
  EXPECT_EQ(FinalOutcomes(*log), want);
  EXPECT_EQ(FinalOutcomes(*x1), want);
  EXPECT_EQ(FinalOutcomes(*x2), want);
}

TEST(GoogleTestProducerTest, RealBinaryXmlOutput) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string xml = dir.path() + "/gtest.xml";
  const int64_t before = NowNs();
  // The sample has a failing test on purpose: exit code 1.
  ASSERT_EQ(1, RunShell(std::string("'") + JOSTLE_GTEST_SAMPLE + "' --gtest_output=xml:'" + xml +
                        "' >/dev/null 2>&1"));
  const int64_t after = NowNs();
  Result<ResultSet> set = Parse(ReadFile(xml), "application/xml", LocalOffsetSeconds());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("googletest", set->producer);
  ASSERT_EQ(5u, set->tests.size());
  using O = Outcome;
  const TestCase* fails = FindTest(*set, "SampleSuite::Fails");
  ASSERT_NE(nullptr, fails);
  EXPECT_EQ(std::vector<O>{O::kFailed}, Outcomes(*fails));
  EXPECT_NE(std::string::npos, fails->last().message.find("arithmetic is broken"));
  EXPECT_EQ(std::vector<O>{O::kSkipped}, Outcomes(*FindTest(*set, "SampleSuite::Skipped")));
  EXPECT_EQ(std::vector<O>{O::kSkipped}, Outcomes(*FindTest(*set, "SampleSuite::DISABLED_NotRun")));
  EXPECT_EQ(std::vector<O>{O::kPassed}, Outcomes(*FindTest(*set, "OtherSuite::AlsoPasses")));
  EXPECT_EQ(1, set->failed_count());
  for (const char* id : {"SampleSuite::Passes", "SampleSuite::Fails", "OtherSuite::AlsoPasses"}) {
    const TestAttempt& a = FindTest(*set, id)->last();
    ASSERT_TRUE(a.start_ns.has_value()) << id;
    EXPECT_FALSE(a.timing_approximate) << id;
    // GoogleTest writes milliseconds.
    EXPECT_GE(*a.start_ns, before - 1000000) << id;
    EXPECT_LE(*a.start_ns, after) << id;
  }
  EXPECT_FALSE(FindTest(*set, "SampleSuite::DISABLED_NotRun")->last().start_ns.has_value());
}

// A CMake project whose tests pass, fail, time out, are disabled and skip themselves.
constexpr const char* kCTestProject = R"(cmake_minimum_required(VERSION 3.21)
project(ctest_sample NONE)
enable_testing()
add_test(NAME passes COMMAND sh -c "echo ok")
add_test(NAME fails COMMAND sh -c "echo 'expected 3, got 2'; exit 3")
add_test(NAME disabled COMMAND true)
set_tests_properties(disabled PROPERTIES DISABLED TRUE)
add_test(NAME needs_gpu COMMAND sh -c "echo 'no GPU here'; exit 77")
set_tests_properties(needs_gpu PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME times_out COMMAND sleep 10)
set_tests_properties(times_out PROPERTIES TIMEOUT 1)
)";

TEST(CTestProducerTest, RealOutputJunit) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  if (RunShell(std::string("'") + JOSTLE_CTEST_COMMAND + "' --version >/dev/null 2>&1") != 0) {
    JOSTLE_SKIP_MISSING_REAL("ctest is not installed at " << JOSTLE_CTEST_COMMAND);
  }
  {
    std::ofstream out(dir.path() + "/CMakeLists.txt");
    out << kCTestProject;
  }
  const std::string build = dir.path() + "/build";
  ASSERT_EQ(0, RunShell(std::string("'") + JOSTLE_CMAKE_COMMAND + "' -S '" + dir.path() + "' -B '" +
                        build + "' >/dev/null 2>&1"));
  const std::string xml = build + "/ctest.xml";
  const int64_t before = NowNs();
  // Two tests fail: ctest exits non-zero.
  EXPECT_NE(0, RunShell("cd '" + build + "' && '" + JOSTLE_CTEST_COMMAND + "' --output-junit '" +
                        xml + "' >/dev/null 2>&1"));
  const int64_t after = NowNs();
  const std::string body = ReadFile(xml);
  if (body.empty()) JOSTLE_SKIP_MISSING_REAL("this ctest writes no --output-junit (CMake 3.21+)");
  Result<ResultSet> set = Parse(body, "application/xml", LocalOffsetSeconds());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("ctest", set->producer);
  ASSERT_EQ(5u, set->tests.size());
  using O = Outcome;
  EXPECT_EQ(std::vector<O>{O::kPassed}, Outcomes(*FindTest(*set, "passes::passes")));
  const TestCase* fails = FindTest(*set, "fails::fails");
  ASSERT_NE(nullptr, fails);
  EXPECT_EQ(std::vector<O>{O::kFailed}, Outcomes(*fails));
  EXPECT_NE(std::string::npos, fails->last().details.find("expected 3, got 2"))
      << fails->last().details;
  const TestCase* times_out = FindTest(*set, "times_out::times_out");
  ASSERT_NE(nullptr, times_out);
  EXPECT_EQ(std::vector<O>{O::kFailed}, Outcomes(*times_out));
  EXPECT_GE(times_out->last().duration_s, 0.9);
  EXPECT_LT(times_out->last().duration_s, 10);
  const TestCase* disabled = FindTest(*set, "disabled::disabled");
  ASSERT_NE(nullptr, disabled);
  EXPECT_EQ(std::vector<O>{O::kSkipped}, Outcomes(*disabled));
  const TestCase* needs_gpu = FindTest(*set, "needs_gpu::needs_gpu");
  ASSERT_NE(nullptr, needs_gpu);
  EXPECT_EQ(std::vector<O>{O::kSkipped}, Outcomes(*needs_gpu));
  EXPECT_EQ("SKIP_RETURN_CODE=77", needs_gpu->last().message);
  EXPECT_EQ(2, set->failed_count());
  // One suite timestamp in local time, whole seconds: starts are reconstructed from it.
  for (const char* id : {"passes::passes", "fails::fails", "times_out::times_out"}) {
    const TestAttempt& a = FindTest(*set, id)->last();
    ASSERT_TRUE(a.start_ns.has_value()) << id;
    EXPECT_TRUE(a.timing_approximate) << id;
    EXPECT_GE(*a.start_ns, before - 1000000000) << id;
    EXPECT_LE(*a.start_ns, after) << id;
  }
}

}  // namespace
}  // namespace jostle::collector
