// FindResultFiles over real files in a temporary directory (globs, content-based defaults,
// the mtime filter, skipped directories) and DuplicateJunitSets over parsed result files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "collector/results/parse_results.h"
#include "collector/run/run_command.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

constexpr const char* kJunit =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- written by a test -->\n"
    "<testsuites><testsuite name=\"s\" tests=\"1\"><testcase classname=\"m\" name=\"t\" "
    "time=\"0.1\"/></testsuite></testsuites>\n";
constexpr const char* kReportLog =
    "{\"pytest_version\": \"7.2.1\", \"$report_type\": \"SessionStart\"}\n";

class FindResultFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jostle-find-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& rel, const std::string& content) {
    fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }
  // Sets the file's mtime `age` before now.
  void Age(const std::string& rel, std::chrono::seconds age) {
    fs::last_write_time(dir_ / rel, fs::file_time_type::clock::now() - age);
  }
  std::vector<std::string> Rel(const std::vector<std::string>& paths) {
    std::vector<std::string> out;
    for (const auto& p : paths) out.push_back(fs::relative(p, dir_).string());
    return out;
  }
  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  fs::path dir_;
};

using Files = std::vector<std::string>;

TEST_F(FindResultFilesTest, DefaultsRecogniseJunitAndReportLogsByContent) {
  Write("test_detail.xml", kJunit);                     // GoogleTest's default name
  Write("out/results.xml", kJunit);                     // pytest --junitxml=out/results.xml
  Write("target/surefire-reports/TEST-a.xml", kJunit);  // Surefire
  Write("log.json", kReportLog);                        // pytest --report-log=log.json
  Write("session.jsonl", kReportLog);
  Write("coverage.xml", "<?xml version=\"1.0\"?><coverage line-rate=\"1\"/>");
  Write("junit-but-not.xml", "<html><body>junit</body></html>");
  Write("package.json", "{\"name\": \"x\"}\n");
  Write("notes.txt", "<testsuite/>");
  EXPECT_EQ(Rel(FindResultFiles(dir_.string(), {}, 0, "")),
            (Files{"log.json", "out/results.xml", "session.jsonl",
                   "target/surefire-reports/TEST-a.xml", "test_detail.xml"}));
}

TEST_F(FindResultFilesTest, OnlyFilesWrittenSinceTheStartCount) {
  Write("old.xml", kJunit);
  Write("new.xml", kJunit);
  Age("old.xml", std::chrono::seconds(3600));
  int64_t since = NowNs() - 60'000'000'000;  // a minute ago
  EXPECT_EQ(Rel(FindResultFiles(dir_.string(), {}, since, "")), (Files{"new.xml"}));
  EXPECT_EQ(Rel(FindResultFiles(dir_.string(), {"*.xml"}, since, "")), (Files{"new.xml"}));
  EXPECT_EQ(Rel(FindResultFiles(dir_.string(), {"*.xml"}, 0, "")), (Files{"new.xml", "old.xml"}));
}

TEST_F(FindResultFilesTest, GlobsMatchRelativePathsAndStarCrossesDirectories) {
  Write("a/b/one.xml", kJunit);
  Write("a/two.xml", kJunit);
  Write("a/b/three.txt", "whatever the user says");
  EXPECT_EQ(Rel(FindResultFiles(dir_.string(), {"a/*.xml"}, 0, "")),
            (Files{"a/b/one.xml", "a/two.xml"}));
  EXPECT_EQ(Rel(FindResultFiles(dir_.string(), {"./a/b/*"}, 0, "")),
            (Files{"a/b/one.xml", "a/b/three.txt"}));
  // Named files are taken whatever their content.
  EXPECT_EQ(Rel(FindResultFiles(dir_.string(), {"*.txt"}, 0, "")), (Files{"a/b/three.txt"}));
  EXPECT_TRUE(FindResultFiles(dir_.string(), {"*.none"}, 0, "").empty());
}

TEST_F(FindResultFilesTest, AbsoluteGlobsAreUsedAsTheyAre) {
  Write("x/r1.xml", kJunit);
  Write("x/r2.xml", kJunit);
  fs::path elsewhere = dir_ / "elsewhere";
  fs::create_directories(elsewhere);
  EXPECT_EQ(Rel(FindResultFiles(elsewhere.string(), {(dir_ / "x" / "r*.xml").string()}, 0, "")),
            (Files{"x/r1.xml", "x/r2.xml"}));
}

TEST_F(FindResultFilesTest, SkipsGitNodeModulesAndTheReportDirectory) {
  Write(".git/junit.xml", kJunit);
  Write("node_modules/pkg/junit.xml", kJunit);
  Write("jostle-report/junit.xml", kJunit);
  Write("src/junit.xml", kJunit);
  EXPECT_EQ(Rel(FindResultFiles(dir_.string(), {}, 0, (dir_ / "jostle-report").string())),
            (Files{"src/junit.xml"}));
}

ResultSet Parse(const std::string& body) {
  auto set = ParseResults(body, "", ParseOptions{});
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return set.ok() ? *set : ResultSet{};
}

TEST(DuplicateJunitSets, PytestJunitOfTheSameSessionAsAReportLog) {
  std::string reportlog =
      "{\"nodeid\": \"pkg/test_mod.py::TestX::test_y\", \"location\": [\"pkg/test_mod.py\", 3, "
      "\"TestX.test_y\"], \"outcome\": \"passed\", \"when\": \"call\", \"duration\": 0.1, "
      "\"start\": 1700000000.0, \"stop\": 1700000000.1, \"$report_type\": \"TestReport\"}\n"
      "{\"nodeid\": \"pkg/test_mod.py::test_z[1]\", \"location\": [\"pkg/test_mod.py\", 9, "
      "\"test_z[1]\"], \"outcome\": \"failed\", \"when\": \"call\", \"duration\": 0.1, "
      "\"start\": 1700000000.2, \"stop\": 1700000000.3, \"$report_type\": \"TestReport\"}\n";
  std::string same =
      "<testsuites><testsuite name=\"pytest\" tests=\"2\">"
      "<testcase classname=\"pkg.test_mod.TestX\" name=\"test_y\" time=\"0.1\"/>"
      "<testcase classname=\"pkg.test_mod\" name=\"test_z[1]\" time=\"0.1\"><failure "
      "message=\"x\"/></testcase></testsuite></testsuites>";
  std::string other =
      "<testsuites><testsuite name=\"gtest\" tests=\"2\">"
      "<testcase classname=\"pkg.test_mod.TestX\" name=\"test_y\" time=\"0.1\"/>"
      "<testcase classname=\"Other\" name=\"Case\" time=\"0.1\"/></testsuite></testsuites>";
  std::vector<ResultSet> sets{Parse(same), Parse(reportlog), Parse(other)};
  EXPECT_EQ(DuplicateJunitSets(sets), (std::vector<size_t>{0}));
  // Without the report-log nothing is a duplicate.
  EXPECT_TRUE(DuplicateJunitSets({Parse(same), Parse(other)}).empty());
}

}  // namespace
}  // namespace jostle::collector
