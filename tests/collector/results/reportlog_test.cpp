// pytest report-log JSON lines.
#include <gtest/gtest.h>

#include "results_test_support.h"

namespace jostle::collector {
namespace {

TEST(ReportLogTest, FoldsPhasesAndReruns) {
  Result<ResultSet> set = Parse(ResultsFixture("reportlog_rerun.jsonl"), "application/x-ndjson");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("pytest-reportlog", set->format);
  ASSERT_EQ(3u, set->tests.size());
  const TestCase* write = FindTest(*set, "tests/test_io.py::test_write");
  ASSERT_NE(nullptr, write);
  ASSERT_EQ(2u, write->attempts.size());
  EXPECT_EQ(Outcome::kFailed, write->attempts[0].outcome);
  EXPECT_EQ("AssertionError: write took 3.1 s", write->attempts[0].message);
  EXPECT_NE(std::string::npos, write->attempts[0].details.find("assert elapsed < 2.0"));
  EXPECT_NEAR(3.102, write->attempts[0].duration_s, 1e-9);
  EXPECT_EQ(Outcome::kPassed, write->attempts[1].outcome);
  EXPECT_TRUE(write->flaky());
  EXPECT_FALSE(write->failed());
  EXPECT_EQ("test_write", write->name);
  EXPECT_EQ("tests/test_io.py", write->file);
  EXPECT_EQ(10, write->line);
  // pytest 7.2 writes no start times.
  EXPECT_FALSE(write->attempts[0].start_ns.has_value());

  const TestCase* db = FindTest(*set, "tests/test_io.py::test_db");
  ASSERT_NE(nullptr, db);
  EXPECT_EQ(Outcome::kError, db->last().outcome);
  EXPECT_EQ("tests/conftest.py:8: in db", db->last().message);
  const TestCase* skip = FindTest(*set, "tests/test_io.py::test_skip");
  ASSERT_NE(nullptr, skip);
  EXPECT_EQ(Outcome::kSkipped, skip->last().outcome);
  EXPECT_EQ("Skipped: no network", skip->last().message);
  EXPECT_EQ(1, set->failed_count());
}

TEST(ReportLogTest, UsesStartAndStopAndCollectErrors) {
  Result<ResultSet> set = Parse(ResultsFixture("reportlog_start_stop.jsonl"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(3u, set->tests.size());
  const TestCase& timeout = set->tests[0];
  EXPECT_EQ("tests/test_net.py::TestFetch::test_timeout[slow]", timeout.id);
  EXPECT_EQ("test_timeout[slow]", timeout.name);
  EXPECT_EQ("tests/test_net.py::TestFetch", timeout.classname);
  ASSERT_EQ(1u, timeout.attempts.size());
  EXPECT_EQ(Outcome::kFailed, timeout.last().outcome);  // teardown error does not hide it
  EXPECT_EQ("TimeoutError: fetch exceeded 2 s", timeout.last().message);
  EXPECT_EQ(Ns(1795428000), timeout.last().start_ns);
  EXPECT_DOUBLE_EQ(2.75, timeout.last().duration_s);
  EXPECT_FALSE(timeout.last().timing_approximate);
  EXPECT_EQ(Outcome::kPassed, set->tests[1].last().outcome);
  EXPECT_EQ(Ns(1795428003), set->tests[1].last().start_ns);
  EXPECT_EQ("tests/test_broken.py", set->tests[2].id);
  EXPECT_EQ(Outcome::kError, set->tests[2].last().outcome);
  EXPECT_EQ(2, set->failed_count());
}

struct BadLog {
  const char* name;
  std::string body;
  const char* message_part;
};

class ReportLogBadInputTest : public ::testing::TestWithParam<BadLog> {};

TEST_P(ReportLogBadInputTest, RefusedWithLine) {
  Result<ResultSet> set = Parse(GetParam().body, "application/jsonl", 0, "log.jsonl");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(Status::Code::kInvalidArgument, set.status().code());
  EXPECT_NE(std::string::npos, set.status().message().find(GetParam().message_part))
      << set.status().message();
}

constexpr const char* kHead = "{\"$report_type\": \"SessionStart\"}\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, ReportLogBadInputTest,
    ::testing::Values(
        BadLog{"truncated", std::string(kHead) + "{\"nodeid\": \"a\", \"when\": \"call\"",
               "log.jsonl:2: not a JSON object"},
        BadLog{"no_type", std::string(kHead) + "{\"nodeid\": \"a\"}", "log.jsonl:2: event has no"},
        BadLog{
            "bad_when",
            std::string(kHead) +
                R"({"$report_type":"TestReport","nodeid":"a","when":"lunch","outcome":"passed"})",
            "\"when\" is \"lunch\""},
        BadLog{"bad_outcome",
               std::string(kHead) +
                   R"({"$report_type":"TestReport","nodeid":"a","when":"call","outcome":"meh"})",
               "\"outcome\" is \"meh\""},
        BadLog{
            "huge_duration",
            std::string(kHead) +
                R"({"$report_type":"TestReport","nodeid":"a","when":"call","outcome":"passed","duration":1e308})",
            "\"duration\" is out of range"},
        BadLog{
            "negative_start",
            std::string(kHead) +
                R"({"$report_type":"TestReport","nodeid":"a","when":"call","outcome":"passed","start":-5})",
            "\"start\" is out of range"},
        BadLog{"deep", std::string(kHead) + std::string(200, '[') + std::string(200, ']'),
               "nesting deeper than 64"}),
    [](const ::testing::TestParamInfo<BadLog>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace jostle::collector
