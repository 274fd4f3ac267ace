// JUnit XML as written by producers beyond those in junit_test.cpp, from fixture files in
// tests/collector/results/fixtures/ shaped after each producer's real output: outcomes,
// attempts, names, messages, files, durations and starts.
#include <gtest/gtest.h>

#include <optional>

#include "results_test_support.h"

namespace jostle::collector {
namespace {

constexpr int64_t k10h = 1795428000;  // 2026-11-23T10:00:00Z
// Every fixture is read as if uploaded from a machine at +02:00, so a timestamp that is
// UTC without an offset shows as two hours off when it is taken for local time.
constexpr int kUploaderTz = 7200;

std::string ProducerFixture(const std::string& name) {
  std::string text = ReadFile(std::string(JOSTLE_RESULTS_FIXTURES) + "/" + name);
  EXPECT_FALSE(text.empty()) << "missing fixture " << name;
  return text;
}

struct Expect {
  const char* id;
  std::vector<Outcome> outcomes;
  const char* message = nullptr;       // of the last attempt; nullptr: not checked
  const char* details_part = nullptr;  // found in the last attempt's details
  const char* file = nullptr;
  int line = -1;
  double duration_s = -1;  // of the last attempt
  const char* suite = nullptr;
};

struct ProducerCase {
  const char* name;
  const char* fixture;
  const char* producer;
  size_t tests;
  int failed;
  std::optional<int64_t> first_start_ns;  // of the document's first attempt
  std::vector<Expect> expects;
};

void PrintTo(const ProducerCase& c, std::ostream* os) { *os << c.fixture; }

class JUnitMoreProducersTest : public ::testing::TestWithParam<ProducerCase> {};

TEST_P(JUnitMoreProducersTest, OutcomesNamesAndTiming) {
  const ProducerCase& c = GetParam();
  Result<ResultSet> set = Parse(ProducerFixture(c.fixture), "application/xml", kUploaderTz);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("junit", set->format);
  EXPECT_EQ(c.producer, set->producer);
  EXPECT_EQ(c.tests, set->tests.size());
  EXPECT_EQ(c.failed, set->failed_count());
  ASSERT_FALSE(set->tests.empty());
  EXPECT_EQ(c.first_start_ns, set->tests[0].attempts[0].start_ns);
  for (const Expect& e : c.expects) {
    const TestCase* t = FindTest(*set, e.id);
    ASSERT_NE(nullptr, t) << e.id;
    EXPECT_EQ(e.outcomes, OutcomesOf(*t)) << e.id;
    if (e.message) {
      EXPECT_EQ(e.message, t->last().message) << e.id;
    }
    if (e.details_part) {
      EXPECT_NE(std::string::npos, t->last().details.find(e.details_part))
          << e.id << ": " << t->last().details;
    }
    if (e.file) {
      EXPECT_EQ(e.file, t->file) << e.id;
    }
    if (e.line >= 0) {
      EXPECT_EQ(std::optional<int>(e.line), t->line) << e.id;
    }
    if (e.duration_s >= 0) {
      EXPECT_DOUBLE_EQ(e.duration_s, t->last().duration_s) << e.id;
    }
    if (e.suite) {
      EXPECT_EQ(e.suite, t->suite) << e.id;
    }
  }
}

using O = Outcome;
INSTANTIATE_TEST_SUITE_P(
    Producers, JUnitMoreProducersTest,
    ::testing::Values(
        // Gradle (JUnit 5, test-retry): Ant's timestamp format, in UTC without an offset;
        // parameterised names end in [n]; a retried test is written once per execution.
        ProducerCase{"gradle",
                     "gradle_junit5.xml",
                     "gradle",
                     5,
                     1,
                     Ns(k10h),
                     {{.id = "com.example.calc.CalculatorTest::sums(int, int, int)[2]",
                       .outcomes = {O::kFailed},
                       .message = "org.opentest4j.AssertionFailedError: expected: <5> but was: <4>",
                       .details_part = "CalculatorTest.java:31",
                       .duration_s = 0.004,
                       .suite = "com.example.calc.CalculatorTest"},
                      {.id = "com.example.calc.CalculatorTest::sums(int, int, int)[1]",
                       .outcomes = {O::kPassed}},
                      {.id = "com.example.calc.CalculatorTest::connectsToTheRateService()",
                       .outcomes = {O::kFailed, O::kPassed},
                       .duration_s = 0.8},
                      {.id = "com.example.calc.CalculatorTest::legacyRounding()",
                       .outcomes = {O::kSkipped}}}},
        // Ant's XMLJUnitResultFormatter: the same GMT timestamps; the stack trace's first
        // line is the message of an <error> without one.
        ProducerCase{"ant",
                     "ant_junit.xml",
                     "ant",
                     2,
                     1,
                     Ns(k10h),
                     {{.id = "org.example.ParserTest::parsesDates",
                       .outcomes = {O::kError},
                       .message = "java.lang.NullPointerException",
                       .details_part = "Parser.java:40"}}},
        // go-junit-report v2 with package output: hostname, timestamp with offset and a
        // CDATA <system-out> on the suite, like Gradle's; message "Failed" says nothing.
        ProducerCase{"go_junit_report_output",
                     "go_junit_report_output.xml",
                     "go-junit-report",
                     2,
                     1,
                     Ns(k10h),
                     {{.id = "example.com/shop/cart::TestCheckoutLatency",
                       .outcomes = {O::kFailed},
                       .message = "cart_test.go:48: checkout took 221ms, budget 200ms"}}},
        // Bazel's test.xml for a test that writes none: the target as the test, the
        // duration in whole seconds, no timestamp.
        ProducerCase{"bazel_generated",
                     "bazel_generated.xml",
                     "bazel",
                     1,
                     1,
                     std::nullopt,
                     {{.id = "storage/compaction_test",
                       .outcomes = {O::kError},
                       .message = "exited with error code 1",
                       .details_part = "level 2 overlaps level 3",
                       .duration_s = 7}}},
        // Bazel's Java test runner: single-quoted attributes, a timestamp with Z.
        ProducerCase{"bazel_java",
                     "bazel_java.xml",
                     "",
                     2,
                     1,
                     Ns(k10h, 250),
                     {{.id = "com.example.store.KeyCodecTest::ordersPrefixes",
                       .outcomes = {O::kFailed},
                       .message = "expected:<-1> but was:<1>",
                       .duration_s = 0.03}}},
        // Cypress through mocha-junit-reporter: timestamps are toISOString() cut before
        // the milliseconds (UTC, no Z); `file` only on the spec's root suite; CDATA bodies.
        ProducerCase{
            "cypress",
            "cypress_mocha_junit.xml",
            "mocha-junit-reporter",
            3,
            1,
            Ns(k10h - 5400),
            {{.id = "rejects a bad password::Login rejects a bad password",
              .outcomes = {O::kFailed},
              .message = "Timed out retrying after 4000ms: Expected to find element: `.error`, "
                         "but never found it.",
              .details_part = "login.cy.ts:14:25",
              .file = "cypress/e2e/login.cy.ts",
              .duration_s = 3.405,
              .suite = "Login"},
             {.id = "remembers me::Login remembers me", .outcomes = {O::kSkipped}}}},
        // Plain mocha: `file` on the suites of each spec file.
        ProducerCase{"mocha",
                     "mocha_junit.xml",
                     "mocha-junit-reporter",
                     2,
                     1,
                     Ns(k10h - 5400),
                     {{.id = "retries a failed job::queue retries a failed job",
                       .outcomes = {O::kFailed},
                       .message = "expected 2 to equal 3",
                       .file = "/app/test/queue.spec.js"}}},
        // Playwright's junit reporter: the message attribute only says where the test is;
        // the error is in the CDATA body after a header line.
        ProducerCase{
            "playwright",
            "playwright.xml",
            "playwright",
            3,
            1,
            Ns(k10h, 512),
            {{.id = "login.spec.ts::login › rejects a bad password",
              .outcomes = {O::kFailed},
              .message = "Error: Timed out 5000ms waiting for expect(locator).toBeVisible()",
              .details_part = "getByText('Wrong password')",
              .duration_s = 3.7},
             {.id = "login.spec.ts::login › remembers me", .outcomes = {O::kSkipped}}}},
        // rspec_junit_formatter: Time#iso8601 with the local offset; file per testcase.
        ProducerCase{"rspec",
                     "rspec_junit_formatter.xml",
                     "rspec",
                     3,
                     1,
                     Ns(k10h),
                     {{.id = "spec.models.user_spec::User rejects a blank name",
                       .outcomes = {O::kFailed},
                       .message = "expected #<User id: nil, name: \"\"> not to be valid",
                       .details_part = "user_spec.rb:14",
                       .file = "./spec/models/user_spec.rb",
                       .duration_s = 0.030087},
                      {.id = "spec.models.user_spec::User sends a welcome mail",
                       .outcomes = {O::kSkipped},
                       .message = ""}}},
        // PHPUnit: nested suites (config, testsuite, class, data provider), `file` and
        // `assertions`; failure bodies without a message attribute start with the test's
        // own Class::method line.
        ProducerCase{"phpunit",
                     "phpunit.xml",
                     "phpunit",
                     6,
                     2,
                     std::nullopt,
                     {{.id = "Tests.Unit.CartTest::testTotals",
                       .outcomes = {O::kFailed},
                       .message = "Failed asserting that 41 matches expected 42.",
                       .details_part = "CartTest.php:25",
                       .file = "/app/tests/Unit/CartTest.php",
                       .line = 20,
                       .suite = "Tests\\Unit\\CartTest"},
                      {.id = "Tests.Unit.CartTest::testCoupon",
                       .outcomes = {O::kError},
                       .message = "RuntimeException: coupon service down"},
                      {.id = "Tests.Unit.CartTest::testLegacy", .outcomes = {O::kSkipped}},
                      {.id = "Tests.Unit.CartTest::testDiscount with data set \"half\"",
                       .outcomes = {O::kPassed},
                       .suite = "Tests\\Unit\\CartTest::testDiscount"}}},
        // xunit.net's JUnit transform: run date and time in local time; a skip reason as
        // the <skipped> text; multi-line messages.
        ProducerCase{
            "xunit_net",
            "xunit_net_junit.xml",
            "",
            4,
            1,
            Ns(k10h - 3600),
            {{.id = "Shop.Tests.CartTests::Shop.Tests.CartTests.Totals(count: 2, expected: 42)",
              .outcomes = {O::kFailed},
              .message = "Assert.Equal() Failure: Values differ",
              .details_part = "CartTests.cs:line 25"},
             {.id = "Shop.Tests.CartTests::Shop.Tests.CartTests.Legacy",
              .outcomes = {O::kSkipped},
              .message = "needs the legacy database"}}},
        // NUnit's JUnit transform: "YYYY-MM-DD HH:MM:SSZ"; status="Skipped" on explicit
        // tests that have no <skipped> element.
        ProducerCase{"nunit",
                     "nunit_junit.xml",
                     "",
                     4,
                     1,
                     Ns(k10h),
                     {{.id = "Shop.Tests.CartTests::Totals(41)",
                       .outcomes = {O::kFailed},
                       .message = "Expected: 42"},
                      {.id = "Shop.Tests.CartTests::Legacy", .outcomes = {O::kSkipped}},
                      {.id = "Shop.Tests.CartTests::SlowPath", .outcomes = {O::kSkipped}}}},
        // karma-junit-reporter: toISOString() cut to seconds (UTC, no Z).
        ProducerCase{"karma",
                     "karma_junit.xml",
                     "karma",
                     3,
                     1,
                     Ns(k10h - 5400),
                     {{.id = "Chrome_Headless_120_0_6099_109_(Linux_x86_64).Cart::Cart totals",
                       .outcomes = {O::kFailed},
                       .message = "Error: Expected 41 to equal 42.",
                       .details_part = "cart.spec.ts:14:20"}}},
        // Surefire 3.x names a @BeforeAll failure's testcase "": the class is the test.
        ProducerCase{"surefire_beforeall",
                     "surefire_beforeall_failure.xml",
                     "surefire",
                     1,
                     1,
                     std::nullopt,
                     {{.id = "com.example.db.MigrationTest::com.example.db.MigrationTest",
                       .outcomes = {O::kFailed},
                       .message = "org.opentest4j.AssertionFailedError: database not reachable"}}},
        // CTest's --output-junit: local time without offset; status="disabled" without a
        // result element; failures without message or body, the test's output in
        // <system-out>.
        ProducerCase{
            "ctest",
            "ctest_output_junit.xml",
            "ctest",
            7,
            2,
            Ns(k10h - 3600),
            {{.id = "fails::fails",
              .outcomes = {O::kFailed},
              .message = "",
              .details_part = "expected 3, got 2",
              .duration_s = 0.00647337},
             {.id = "times_out::times_out", .outcomes = {O::kFailed}},
             {.id = "disabled_one::disabled_one", .outcomes = {O::kSkipped}, .message = "disabled"},
             {.id = "skipped_by_code::skipped_by_code",
              .outcomes = {O::kSkipped},
              .message = "SKIP_RETURN_CODE=77"},
             {.id = "flaky::flaky", .outcomes = {O::kPassed}}}}),
    [](const ::testing::TestParamInfo<ProducerCase>& info) {
      return std::string(info.param.name);
    });

// Playwright with includeRetries: Surefire's retry elements, each with its own time; the
// testcase's time is the primary attempt's (the passing last one of a flaky test, the first
// of a test that failed every time).
TEST(JUnitRetryTimingTest, PlaywrightRetryElementsHaveTheirOwnTimes) {
  Result<ResultSet> set =
      Parse(ProducerFixture("playwright_retries.xml"), "application/xml", kUploaderTz);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(2u, set->tests.size());
  const TestCase& flaky = set->tests[0];
  ASSERT_EQ(2u, flaky.attempts.size());
  EXPECT_TRUE(flaky.flaky());
  EXPECT_EQ("Timed out 5000ms waiting for expect(locator).toHaveText(expected)",
            flaky.attempts[0].message);
  EXPECT_NE(std::string::npos, flaky.attempts[0].details.find("cart.spec.ts:22:45"));
  EXPECT_DOUBLE_EQ(5.5, flaky.attempts[0].duration_s);
  EXPECT_DOUBLE_EQ(1.5, flaky.attempts[1].duration_s);
  EXPECT_EQ(Ns(k10h), flaky.attempts[0].start_ns);
  EXPECT_EQ(Ns(k10h, 5500), flaky.attempts[1].start_ns);
  EXPECT_TRUE(flaky.attempts[1].timing_approximate);

  const TestCase& failed = set->tests[1];
  ASSERT_EQ(2u, failed.attempts.size());
  EXPECT_TRUE(failed.failed());
  EXPECT_EQ("expect(received).toBe(expected) // Object.is equality", failed.attempts[0].message);
  EXPECT_DOUBLE_EQ(1.0, failed.attempts[0].duration_s);
  EXPECT_DOUBLE_EQ(1.5, failed.attempts[1].duration_s);
  // The suite's clock moved by both attempts of the first test: 5.5 s + 1.5 s.
  EXPECT_EQ(Ns(k10h + 7), failed.attempts[0].start_ns);
  EXPECT_EQ(Ns(k10h + 8), failed.attempts[1].start_ns);
}

// cargo-nextest also stamps each retry element; a stamp is the attempt's exact start.
TEST(JUnitRetryTimingTest, RetryElementTimestampsAreExactStarts) {
  Result<ResultSet> set = Parse(
      "<testsuites name=\"nextest-run\" timestamp=\"2026-11-23T10:00:00Z\"><testsuite "
      "name=\"shop\"><testcase name=\"cart::adds\" classname=\"shop\" "
      "timestamp=\"2026-11-23T10:00:03.000+00:00\" time=\"0.5\"><flakyFailure type=\"test "
      "failure\" timestamp=\"2026-11-23T10:00:01.000+00:00\" time=\"2.0\" message=\"thread "
      "panicked\"/></testcase></testsuite></testsuites>",
      "application/xml", kUploaderTz);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  const TestCase& t = set->tests[0];
  ASSERT_EQ(2u, t.attempts.size());
  EXPECT_EQ(Ns(k10h + 1), t.attempts[0].start_ns);
  EXPECT_FALSE(t.attempts[0].timing_approximate);
  EXPECT_DOUBLE_EQ(2.0, t.attempts[0].duration_s);
  EXPECT_DOUBLE_EQ(0.5, t.attempts[1].duration_s);
  EXPECT_TRUE(t.flaky());
}

TEST(JUnitRetryTimingTest, SurefireRetriesWithoutTimesShareTheTestcaseTime) {
  Result<ResultSet> set = Parse(
      "<testsuite name=\"s\" timestamp=\"2026-11-23T10:00:00Z\"><testcase classname=\"c\" "
      "name=\"t\" time=\"3\"><flakyFailure message=\"a\"/><flakyFailure message=\"b\" "
      "time=\"1\"/></testcase></testsuite>",
      "application/xml", 0);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  const TestCase& t = set->tests[0];
  ASSERT_EQ(3u, t.attempts.size());
  for (const TestAttempt& a : t.attempts) EXPECT_DOUBLE_EQ(1.0, a.duration_s);
  EXPECT_EQ(Ns(k10h + 2), t.attempts[2].start_ns);
}

TEST(JUnitRetryTimingTest, BadRetryTimeIsRefusedWithItsLine) {
  Result<ResultSet> set = Parse(
      "<testsuite name=\"s\">\n<testcase classname=\"c\" name=\"t\" time=\"3\">\n<rerunFailure "
      "time=\"soon\"/></testcase></testsuite>",
      "application/xml", 0, "junit.xml");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(
      std::string::npos,
      set.status().message().find(
          "junit.xml:3: <rerunFailure> of <testcase name=\"t\"> time \"soon\" is not a number"))
      << set.status().message();
}

}  // namespace
}  // namespace jostle::collector
