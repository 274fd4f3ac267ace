// go test -json (test2json) streams written by go 1.19 (fixtures: go_test_json*.jsonl, made by
// `go test -json` on a small package), hand-made variants for what those cannot show, and a
// real `go test -json` at test time when go is installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "results_test_support.h"
#include "support/real_parts.h"

namespace jostle::collector {
namespace {

using O = Outcome;

TEST(GoTestJsonTest, EveryTestWithItsExactWindowOutcomeAndMessage) {
  Result<ResultSet> set = Parse(ResultsFixture("go_test_json.jsonl"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->format, "go-test-json");
  EXPECT_EQ(set->producer, "go");
  ASSERT_EQ(set->tests.size(), 6u);
  EXPECT_EQ(set->failed_count(), 3);  // TestPay, TestCart (its subtest failed), one_item
  EXPECT_TRUE(set->warnings.empty());

  const TestCase* pay = FindTest(*set, "example.com/shop::TestPay");
  ASSERT_NE(pay, nullptr);
  EXPECT_EQ(pay->classname, "example.com/shop");
  EXPECT_EQ(pay->name, "TestPay");
  ASSERT_EQ(OutcomesOf(*pay), std::vector<O>{O::kFailed});
  // "run" at 16:47:13.274807435Z, "fail" at 16:47:13.475545118Z.
  EXPECT_EQ(pay->last().start_ns, 1796316433274807435);
  EXPECT_DOUBLE_EQ(pay->last().duration_s, 0.200737683);
  EXPECT_FALSE(pay->last().timing_approximate);
  EXPECT_EQ(pay->last().message, "shop_test.go:10: paid 1, want 2");

  const TestCase* item = FindTest(*set, "example.com/shop::TestCart/one_item");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(OutcomesOf(*item), std::vector<O>{O::kFailed});
  EXPECT_EQ(item->last().message, "shop_test.go:15: want 1 item");
  const TestCase* empty = FindTest(*set, "example.com/shop::TestCart/empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(OutcomesOf(*empty), std::vector<O>{O::kPassed});
  EXPECT_EQ(OutcomesOf(*FindTest(*set, "example.com/shop::TestCart")), std::vector<O>{O::kFailed});

  // A parallel test's window runs from its "run" to its "pass", its pause included.
  const TestCase* parallel = FindTest(*set, "example.com/shop::TestParallel");
  ASSERT_NE(parallel, nullptr);
  EXPECT_EQ(OutcomesOf(*parallel), std::vector<O>{O::kPassed});
  EXPECT_EQ(parallel->last().start_ns, 1796316433475613169);
  EXPECT_DOUBLE_EQ(parallel->last().duration_s, 0.100643009);

  const TestCase* skip = FindTest(*set, "example.com/shop::TestSkip");
  ASSERT_NE(skip, nullptr);
  EXPECT_EQ(OutcomesOf(*skip), std::vector<O>{O::kSkipped});
  EXPECT_EQ(skip->last().message, "shop_test.go:23: not on this OS");
}

TEST(GoTestJsonTest, ATestRunAgainIsAFurtherAttempt) {
  // go test -json -count=2 -run 'TestPay|TestSkip'
  Result<ResultSet> set =
      Parse(ResultsFixture("go_test_json_count2.jsonl"), "application/x-ndjson");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->format, "go-test-json");
  ASSERT_EQ(set->tests.size(), 2u);
  EXPECT_EQ(OutcomesOf(*FindTest(*set, "example.com/shop::TestPay")),
            (std::vector<O>{O::kFailed, O::kFailed}));
  EXPECT_EQ(OutcomesOf(*FindTest(*set, "example.com/shop::TestSkip")),
            (std::vector<O>{O::kSkipped, O::kSkipped}));
}

TEST(GoTestJsonTest, APackageThatDidNotBuildIsAnErrorWithTheCompilersMessage) {
  // go 1.19, `go test -json ./... 2>&1`: the compiler's output and "FAIL\t<pkg> [build
  // failed]" are text lines in the stream, before the JSON of the package that built.
  Result<ResultSet> set = Parse(ResultsFixture("go_test_json_build_failed.jsonl"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->format, "go-test-json");
  ASSERT_EQ(set->tests.size(), 7u);
  const TestCase* broken = FindTest(*set, "example.com/shop/broken::[build failed]");
  ASSERT_NE(broken, nullptr);
  EXPECT_EQ(OutcomesOf(*broken), std::vector<O>{O::kError});
  EXPECT_EQ(broken->last().message, "package did not build");
  EXPECT_NE(broken->last().details.find("undefined: undefinedCall"), std::string::npos)
      << broken->last().details;
  ASSERT_EQ(set->warnings.size(), 1u);
  EXPECT_EQ(set->warnings[0], "2 lines that are not JSON (build output?) were skipped");
}

TEST(GoTestJsonTest, NewerGoReportsTheBuildFailureInJson) {
  // go >= 1.24: build-output events and a package "fail" with FailedBuild.
  Result<ResultSet> set = Parse(
      "{\"ImportPath\":\"example.com/x [example.com/x.test]\",\"Action\":\"build-output\","
      "\"Output\":\"x_test.go:3:1: syntax error\\n\"}\n"
      "{\"ImportPath\":\"example.com/x [example.com/x.test]\",\"Action\":\"build-fail\"}\n"
      "{\"Time\":\"2026-12-03T10:00:00Z\",\"Action\":\"start\",\"Package\":\"example.com/x\"}\n"
      "{\"Time\":\"2026-12-03T10:00:00Z\",\"Action\":\"output\",\"Package\":\"example.com/x\","
      "\"Output\":\"FAIL\\texample.com/x [build failed]\\n\"}\n"
      "{\"Time\":\"2026-12-03T10:00:00Z\",\"Action\":\"fail\",\"Package\":\"example.com/x\","
      "\"Elapsed\":0,\"FailedBuild\":\"example.com/x [example.com/x.test]\"}\n");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  EXPECT_EQ(set->tests[0].id, "example.com/x::[build failed]");
  EXPECT_EQ(OutcomesOf(set->tests[0]), std::vector<O>{O::kError});
  EXPECT_NE(set->tests[0].last().details.find("syntax error"), std::string::npos);
}

TEST(GoTestJsonTest, ATestCutShortByACrashIsAnError) {
  Result<ResultSet> set = Parse(
      "{\"Time\":\"2026-12-03T10:00:00Z\",\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}"
      "\n"
      "{\"Time\":\"2026-12-03T10:00:01Z\",\"Action\":\"output\",\"Package\":\"p\",\"Test\":"
      "\"TestA\",\"Output\":\"panic: boom\\n\"}\n");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  EXPECT_EQ(OutcomesOf(set->tests[0]), std::vector<O>{O::kError});
  EXPECT_EQ(set->tests[0].last().message, "no result: the test binary ended while it ran");
  EXPECT_NE(set->tests[0].last().details.find("panic: boom"), std::string::npos);
}

TEST(GoTestJsonTest, MalformedEventsAreRefusedNamingTheLine) {
  const std::string run =
      "{\"Time\":\"2026-12-03T10:00:00Z\",\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"T\"}\n";
  struct Case {
    std::string body, error;
  } cases[] = {
      {run + "{\"Action\":\"pass\",\"Package\":\"p\",\"Test\":\"T\"\n", "results:2: not a JSON"},
      {run + "{\"Package\":\"p\",\"Test\":\"T\"}\n", "results:2: event has no \"Action\" string"},
      {"{\"Time\":\"2026-12-03T10:00:00Z\",\"Action\":\"pass\",\"Package\":\"p\",\"Test\":"
       "\"T\"}\n",
       "results:1: \"pass\" of \"p::T\" that never ran"},
      {"{\"Time\":\"yesterday\",\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"T\"}\n",
       "results:1: timestamp \"yesterday\""},
      {run + "{\"Time\":\"2026-12-03T10:00:00Z\",\"Action\":\"pass\",\"Package\":7,\"Test\":"
             "\"T\"}\n",
       "results:2: \"Package\" is not a string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Result<ResultSet> set = Parse(c.body);
    ASSERT_FALSE(set.ok());
    EXPECT_EQ(set.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(set.status().message().find(c.error), std::string::npos) << set.status().message();
  }
}

TEST(GoTestJsonTest, RealGoTest) {
  if (std::system("command -v go >/dev/null 2>&1") != 0) {
    JOSTLE_SKIP_MISSING_REAL("go is not installed (Debian package golang-go)");
  }
  char tmpl[] = "/tmp/jostle-gotest-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/go.mod") << "module example.com/real\n\ngo 1.19\n";
  std::ofstream(dir + "/real_test.go")
      << "package real\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\n"
         "func TestSlow(t *testing.T) { time.Sleep(300 * time.Millisecond) }\n\n"
         "func TestBroken(t *testing.T) { t.Errorf(\"got %d\", 3) }\n";
  const auto before = std::chrono::system_clock::now();
  const std::string cmd = "cd '" + dir + "' && HOME='" + dir + "' GOCACHE='" + dir +
                          "/cache' GOPATH='" + dir + "/gopath' GOFLAGS=-mod=mod GOPROXY=off " +
                          "go test -json . > out.jsonl 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0) << "a test fails: go test exits non-zero";
  const auto after = std::chrono::system_clock::now();
  const std::string body = ReadFile(dir + "/out.jsonl");
  std::system(("rm -rf '" + dir + "'").c_str());
  Result<ResultSet> set = Parse(body);
  ASSERT_TRUE(set.ok()) << set.status().ToString() << body.substr(0, 2000);
  ASSERT_EQ(set->tests.size(), 2u) << body.substr(0, 2000);
  const TestCase* slow = FindTest(*set, "example.com/real::TestSlow");
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(OutcomesOf(*slow), std::vector<O>{O::kPassed});
  // 300 ms of sleep, measured between test2json's event times, which are taken as it reads
  // the test's output lines: a millisecond or so may be lost at either end.
  EXPECT_GE(slow->last().duration_s, 0.29);
  EXPECT_LT(slow->last().duration_s, 30.0);
  auto ns = [](auto tp) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
  };
  ASSERT_TRUE(slow->last().start_ns.has_value());
  EXPECT_GE(*slow->last().start_ns, ns(before));
  EXPECT_LE(*slow->last().start_ns, ns(after));
  const TestCase* broken = FindTest(*set, "example.com/real::TestBroken");
  ASSERT_NE(broken, nullptr);
  EXPECT_EQ(OutcomesOf(*broken), std::vector<O>{O::kFailed});
  EXPECT_EQ(broken->last().message, "real_test.go:10: got 3");
}

}  // namespace
}  // namespace jostle::collector
