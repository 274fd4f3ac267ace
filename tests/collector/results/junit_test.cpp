// JUnit XML of each producer, from fixture files in tests/fixtures/results/.
#include <gtest/gtest.h>

#include "results_test_support.h"

namespace jostle::collector {
namespace {

constexpr int64_t k10h = 1795428000;  // 2026-11-23T10:00:00Z

struct Expect {
  const char* id;
  std::vector<Outcome> outcomes;
  bool failed;
  bool flaky;
};

struct ProducerCase {
  const char* fixture;
  const char* producer;
  size_t tests;
  int failed;
  std::vector<Expect> expects;
};

class JUnitProducerTest : public ::testing::TestWithParam<ProducerCase> {};

TEST_P(JUnitProducerTest, OutcomesAttemptsAndCounts) {
  const ProducerCase& c = GetParam();
  Result<ResultSet> set = Parse(ResultsFixture(c.fixture), "application/xml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("junit", set->format);
  EXPECT_EQ(c.producer, set->producer);
  EXPECT_EQ(c.tests, set->tests.size());
  EXPECT_EQ(c.failed, set->failed_count());
  for (const Expect& e : c.expects) {
    const TestCase* t = FindTest(*set, e.id);
    ASSERT_NE(nullptr, t) << e.id;
    EXPECT_EQ(e.outcomes, OutcomesOf(*t)) << e.id;
    EXPECT_EQ(e.failed, t->failed()) << e.id;
    EXPECT_EQ(e.flaky, t->flaky()) << e.id;
  }
}

using O = Outcome;
INSTANTIATE_TEST_SUITE_P(
    Producers, JUnitProducerTest,
    ::testing::Values(
        ProducerCase{"pytest_xunit2_offset.xml",
                     "pytest",
                     4,
                     1,
                     {{"tests/test_api.py::TestUpload::test_small", {O::kPassed}, false, false},
                      {"tests/test_api.py::TestUpload::test_large", {O::kFailed}, true, false},
                      {"tests/test_api.py::test_skip_windows", {O::kSkipped}, false, false},
                      {"tests/test_api.py::test_xfail", {O::kSkipped}, false, false}}},
        ProducerCase{"pytest_xunit1_rerunfailures10.xml",
                     "pytest",
                     8,
                     2,
                     {{"test_sample.py::test_fails", {O::kFailed}, true, false},
                      {"test_sample.py::test_setup_error", {O::kError}, true, false},
                      {"test_sample.py::test_flaky", {O::kPassed}, false, false},
                      {"test_sample.py::TestGroup::test_method", {O::kPassed}, false, false}}},
        ProducerCase{"pytest_rerunfailures16_xunit2.xml",
                     "pytest",
                     2,
                     1,
                     {{"test_rerun.py::test_always_fails",
                       {O::kFailed, O::kFailed, O::kFailed},
                       true,
                       false},
                      {"test_rerun.py::test_flaky", {O::kFailed, O::kPassed}, false, true}}},
        ProducerCase{"googletest.xml",
                     "googletest",
                     5,
                     1,
                     {{"SampleSuite::Passes", {O::kPassed}, false, false},
                      {"SampleSuite::Fails", {O::kFailed}, true, false},
                      {"SampleSuite::Skipped", {O::kSkipped}, false, false},
                      {"SampleSuite::DISABLED_NotRun", {O::kSkipped}, false, false}}},
        ProducerCase{
            "surefire_reruns.xml",
            "surefire",
            4,
            1,
            {{"com.example.cache.CacheTest::evictsOldest", {O::kFailed, O::kPassed}, false, true},
             {"com.example.cache.CacheTest::expiresEntries",
              {O::kFailed, O::kFailed, O::kError},
              true,
              false},
             {"com.example.cache.CacheTest::legacyMode", {O::kSkipped}, false, false}}},
        ProducerCase{"go_junit_report_build_error.xml",
                     "go-junit-report",
                     3,
                     2,
                     {{"example.com/shop/payment::[build failed]", {O::kError}, true, false},
                      {"example.com/shop/cart::TestAdd", {O::kPassed}, false, false}}},
        ProducerCase{"jest_junit.xml",
                     "jest-junit",
                     3,
                     1,
                     {{"Checkout applies coupons within budget::Checkout applies coupons "
                       "within budget",
                       {O::kFailed},
                       true,
                       false}}},
        ProducerCase{
            "nested_testsuites.xml", "", 3, 1, {{"db.Pool::release", {O::kError}, true, false}}}));

TEST(JUnitTimingTest, PytestSuiteTimestampWithOffsetPlusCumulativeDurations) {
  // Suite starts 2026-11-23T12:00:00.25+02:00 = 10:00:00.25Z; tests take 1.0 s then 2.5 s.
  Result<ResultSet> set = Parse(ResultsFixture("pytest_xunit2_offset.xml"), "", /*tz=*/-3600);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 4u);
  const TestAttempt& small = set->tests[0].attempts[0];
  const TestAttempt& large = set->tests[1].attempts[0];
  EXPECT_EQ(Ns(k10h, 250), small.start_ns);
  EXPECT_TRUE(small.timing_approximate);
  EXPECT_EQ(Ns(k10h, 1250), large.start_ns);
  EXPECT_DOUBLE_EQ(2.5, large.duration_s);
  EXPECT_EQ("TimeoutError: upload took 2.5 s (budget 2.0 s)", large.message);
  EXPECT_NE(std::string::npos, large.details.find("tests/test_api.py:31"));
}

TEST(JUnitTimingTest, GoogleTestPerTestTimestampReadAtDefaultZone) {
  Result<ResultSet> set = Parse(ResultsFixture("googletest.xml"), "", /*tz=*/3600);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const TestCase* fails = FindTest(*set, "SampleSuite::Fails");
  ASSERT_NE(nullptr, fails);
  // 2026-11-23T13:36:19.604 at +01:00.
  EXPECT_EQ(Ns(k10h + 2 * 3600 + 36 * 60 + 19, 604), fails->last().start_ns);
  EXPECT_FALSE(fails->last().timing_approximate);
  EXPECT_EQ("Expected equality of these values: 3 1 + 1 Which is: 2 arithmetic is broken",
            fails->last().message);
  EXPECT_EQ("/src/ci/gtest_sample.cpp", fails->file);
  EXPECT_EQ(8, fails->line);
  const TestCase* disabled = FindTest(*set, "SampleSuite::DISABLED_NotRun");
  ASSERT_NE(nullptr, disabled);
  EXPECT_EQ("disabled", disabled->last().message);
}

TEST(JUnitTimingTest, JestJunitTimestampsAreUtcWhateverTheDefaultZone) {
  Result<ResultSet> set = Parse(ResultsFixture("jest_junit.xml"), "", /*tz=*/7200);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 3u);
  EXPECT_EQ(Ns(k10h - 5400), set->tests[0].last().start_ns);  // 08:30:00 UTC
  EXPECT_EQ(Ns(k10h - 5400, 400), set->tests[1].last().start_ns);
  EXPECT_EQ("Error: thrown: \"Exceeded timeout of 1000 ms for a test.\"",
            set->tests[1].last().message);
}

TEST(JUnitTimingTest, SurefireThousandsSeparatorsAndNoTimestamp) {
  Result<ResultSet> set = Parse(ResultsFixture("surefire_reruns.xml"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const TestCase* evicts = FindTest(*set, "com.example.cache.CacheTest::evictsOldest");
  ASSERT_NE(nullptr, evicts);
  ASSERT_EQ(2u, evicts->attempts.size());
  EXPECT_DOUBLE_EQ(600.125, evicts->attempts[0].duration_s);  // 1,200.25 s over 2 attempts
  EXPECT_FALSE(evicts->attempts[0].start_ns.has_value());
  EXPECT_EQ("expected: <3> but was: <4>", evicts->attempts[0].message);
  EXPECT_NE(std::string::npos, evicts->attempts[0].details.find("CacheTest.java:42"));
  EXPECT_FALSE(set->warnings.empty());
}

TEST(JUnitTimingTest, NestedSuitesKeepTheirOwnClocks) {
  Result<ResultSet> set = Parse(ResultsFixture("nested_testsuites.xml"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(3u, set->tests.size());
  EXPECT_EQ("integration.db", set->tests[0].suite);
  EXPECT_EQ(Ns(k10h + 3600), set->tests[0].last().start_ns);
  EXPECT_EQ(Ns(k10h + 3601), set->tests[1].last().start_ns);
  EXPECT_EQ(Ns(k10h + 3600 + 300 - 3600), set->tests[2].last().start_ns);  // 11:05+01:00
  EXPECT_EQ(20, set->tests[1].line);
}

TEST(JUnitTimingTest, RerunEntriesAdvanceTheClock) {
  Result<ResultSet> set = Parse(ResultsFixture("pytest_rerunfailures16_xunit2.xml"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 2u);
  const TestCase& flaky = set->tests[1];
  // 09:15:00 + 0.101 + 0.102 + 0.103 = 09:15:00.306
  EXPECT_EQ(Ns(k10h - 2700, 306), flaky.attempts[0].start_ns);
  EXPECT_EQ(Ns(k10h - 2700, 356), flaky.attempts[1].start_ns);
}

struct BadXml {
  const char* name;
  std::string body;
  Status::Code code;
  const char* message_part;
};

class JUnitBadInputTest : public ::testing::TestWithParam<BadXml> {};

TEST_P(JUnitBadInputTest, RefusedWithClearError) {
  const BadXml& c = GetParam();
  Result<ResultSet> set = Parse(c.body, "application/xml", 0, "junit.xml");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(c.code, set.status().code()) << set.status().ToString();
  EXPECT_NE(std::string::npos, set.status().message().find(c.message_part))
      << set.status().message();
  EXPECT_EQ(0u, set.status().message().rfind("junit.xml", 0)) << set.status().message();
}

std::string Deep(int n) {
  std::string s = "<testsuites>";
  for (int i = 0; i < n; ++i) s += "<testsuite name=\"s\">";
  for (int i = 0; i < n; ++i) s += "</testsuite>";
  return s + "</testsuites>";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JUnitBadInputTest,
    ::testing::Values(
        BadXml{"no_name", "<testsuite>\n<testcase name=\"\" time=\"1\"/>\n</testsuite>",
               Status::Code::kInvalidArgument, "junit.xml:2: <testcase> has no name"},
        BadXml{"truncated", "<testsuites><testsuite name=\"x\"><testcase name=\"a\"",
               Status::Code::kInvalidArgument, "malformed XML"},
        BadXml{"mismatched", "<testsuite>\n\n<testcase name=\"a\"></testsuite>",
               Status::Code::kInvalidArgument, "junit.xml:3: malformed XML"},
        BadXml{"billion_laughs",
               "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
               "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\n<testsuite "
               "name=\"&lol2;\"/>",
               Status::Code::kInvalidArgument, "junit.xml:2: DOCTYPE is not allowed"},
        BadXml{"external_entity",
               "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><testsuite "
               "name=\"&xxe;\"/>",
               Status::Code::kInvalidArgument, "DOCTYPE is not allowed"},
        BadXml{"invalid_utf8", "<testsuite>\n<testcase name=\"caf\xE9\"/></testsuite>",
               Status::Code::kInvalidArgument, "junit.xml:2: invalid UTF-8 at byte offset 31"},
        BadXml{"time_1e308", "<testsuite><testcase name=\"a\" time=\"1e308\"/></testsuite>",
               Status::Code::kInvalidArgument, "time \"1e308\""},
        BadXml{"time_negative", "<testsuite><testcase name=\"a\" time=\"-3\"/></testsuite>",
               Status::Code::kInvalidArgument, "is negative"},
        BadXml{"time_nan", "<testsuite><testcase name=\"a\" time=\"NaN\"/></testsuite>",
               Status::Code::kInvalidArgument, "time \"NaN\""},
        BadXml{"bad_timestamp",
               "<testsuite timestamp=\"yesterday\"><testcase name=\"a\"/></testsuite>",
               Status::Code::kInvalidArgument, "timestamp \"yesterday\""},
        BadXml{"far_future_timestamp",
               "<testsuite timestamp=\"9999-01-01T00:00:00\"><testcase name=\"a\"/></testsuite>",
               Status::Code::kInvalidArgument, "is out of range"},
        BadXml{"clock_overflow",
               "<testsuite timestamp=\"2199-12-31T23:59:59Z\"><testcase name=\"a\" "
               "time=\"86400\"/></testsuite>",
               Status::Code::kInvalidArgument, "runs past the year 2200"},
        BadXml{"huge_name",
               "<testsuite><testcase name=\"" + std::string(100000, 'x') + "\"/></testsuite>",
               Status::Code::kInvalidArgument, "name is longer than 4096 bytes"},
        BadXml{"too_deep", Deep(100), Status::Code::kInvalidArgument,
               "element nesting deeper than 64"},
        BadXml{"wrong_root", "<html><body/></html>", Status::Code::kInvalidArgument,
               "root element <html> is not <testsuites> or <testsuite>"},
        BadXml{"not_xml", "{\"tests\": []}", Status::Code::kInvalidArgument,
               "does not start with '<'"}),
    [](const ::testing::TestParamInfo<BadXml>& info) { return std::string(info.param.name); });

TEST(JUnitLimitsTest, DeepButAllowedNestingParses) {
  Result<ResultSet> set = Parse(Deep(40), "application/xml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE(set->tests.empty());
}

TEST(JUnitLimitsTest, DoctypeQuotedInCdataOrCommentIsText) {
  Result<ResultSet> set = Parse(
      "<testsuite><!-- <!DOCTYPE x> --><testcase name=\"page\"><failure><![CDATA[<!DOCTYPE "
      "html><html>500</html>]]></failure></testcase></testsuite>");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  EXPECT_EQ("<!DOCTYPE html><html>500</html>", set->tests[0].last().message);
}

TEST(JUnitLimitsTest, HugeMessagesAreCutNotRefused) {
  std::string body = "<testsuite><testcase name=\"a\"><failure message=\"" +
                     std::string(1 << 20, 'm') + "\">" + std::string(1 << 20, 'd') +
                     "</failure></testcase></testsuite>";
  Result<ResultSet> set = Parse(body);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  EXPECT_LE(set->tests[0].last().message.size(), 1024u + 3);
  EXPECT_LE(set->tests[0].last().details.size(), 4096u + 3);
}

}  // namespace
}  // namespace jostle::collector

namespace jostle::collector {
namespace {

TEST(PytestNodeIdTest, FromJunitClassnameNameAndFile) {
  struct Case {
    const char* classname;
    const char* name;
    const char* file;
    const char* id;
  };
  const Case cases[] = {
      // xunit1: the file says where the module ends.
      {"tests.test_shop.TestCheckout", "test_items[2]", "tests/test_shop.py",
       "tests/test_shop.py::TestCheckout::test_items[2]"},
      {"tests.test_shop", "test_total", "tests/test_shop.py", "tests/test_shop.py::test_total"},
      {"tests.test_shop.TestA.TestB", "test_x", "tests/test_shop.py",
       "tests/test_shop.py::TestA::TestB::test_x"},
      {"tests.test_shop.TestA", "test_x", "tests\\test_shop.py",  // a Windows location
       "tests/test_shop.py::TestA::test_x"},
      {"README.txt", "README.txt", "README.txt", "README.txt::README.txt"},   // doctest file
      {"pkg.mod", "pkg.mod.func", "pkg/mod.py", "pkg/mod.py::pkg.mod.func"},  // doctest
      // A file that does not start the classname (an inherited test): as without a file.
      {"tests.api.test_inherit.TestInherited", "test_shared", "shared_checks.py",
       "tests/api/test_inherit.py::TestInherited::test_shared"},
      // xunit2: trailing parts with an upper-case initial are classes.
      {"tests.api.test_orders.TestOrders", "test_list", "",
       "tests/api/test_orders.py::TestOrders::test_list"},
      {"test_sample", "test_param[1.5]", "", "test_sample.py::test_param[1.5]"},
      {"TestOnly", "test_x", "", "TestOnly.py::test_x"},  // the first part is always the module
      {"", "test_x", "", "test_x"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PytestNodeId(c.classname, c.name, c.file), c.id)
        << c.classname << " " << c.name << " " << c.file;
  }
}

}  // namespace
}  // namespace jostle::collector
