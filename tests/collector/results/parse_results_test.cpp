// Format detection, gzip and size limits of ParseResults.
#include <gtest/gtest.h>

#include "jostle/wire.h"
#include "results_test_support.h"

namespace jostle::collector {
namespace {

struct Detect {
  const char* fixture;
  const char* content_type;
  const char* format;
};

class DetectionTest : public ::testing::TestWithParam<Detect> {};

TEST_P(DetectionTest, ByContentTypeOrContent) {
  Result<ResultSet> set = Parse(ResultsFixture(GetParam().fixture), GetParam().content_type);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(GetParam().format, set->format);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DetectionTest,
    ::testing::Values(Detect{"googletest.xml", "application/xml", "junit"},
                      Detect{"googletest.xml", "text/xml; charset=utf-8", "junit"},
                      Detect{"googletest.xml", "", "junit"},
                      Detect{"googletest.xml", "application/octet-stream", "junit"},
                      Detect{"reportlog_rerun.jsonl", "application/x-ndjson", "pytest-reportlog"},
                      Detect{"reportlog_rerun.jsonl", "application/json", "pytest-reportlog"},
                      Detect{"reportlog_rerun.jsonl", "", "pytest-reportlog"},
                      Detect{"results_v1.json", "application/json", "jostle-json"},
                      Detect{"results_v1.json", "", "jostle-json"}));

TEST(ParseResultsTest, UnknownFormatIsUnsupportedAndSaysWhatIsAccepted) {
  for (const char* body : {"hello world", "[1,2,3]", "{\"a\": 1}"}) {
    Result<ResultSet> set = Parse(body, "", 0, "upload");
    ASSERT_FALSE(set.ok()) << body;
    EXPECT_EQ(Status::Code::kUnsupported, set.status().code()) << body;
    EXPECT_NE(std::string::npos, set.status().message().find("JUnit XML")) << body;
  }
  Result<ResultSet> json = Parse("{\"a\": 1}", "application/json");
  EXPECT_EQ(Status::Code::kUnsupported, json.status().code());
}

TEST(ParseResultsTest, GzipBodiesAreInflated) {
  std::string gz = Gzip(ResultsFixture("surefire_reruns.xml"));
  Result<ResultSet> set = Parse(gz, "application/xml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(4u, set->tests.size());
}

TEST(ParseResultsTest, GzipBombIsRefusedAtTheCap) {
  // 64 MiB of zeros compress to about 64 KiB; the cap is 1 MiB.
  std::string gz = Gzip(std::string(64 << 20, '\0'), 9);
  ASSERT_LT(gz.size(), 1u << 20);
  ParseOptions options;
  options.max_bytes = 1 << 20;
  options.source_name = "bomb.xml.gz";
  Result<ResultSet> set = ParseResults(gz, "application/xml", options);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(Status::Code::kResourceExhausted, set.status().code());
  EXPECT_EQ("bomb.xml.gz: gzip body inflates to more than the limit of 1048576 bytes",
            set.status().message());
}

TEST(ParseResultsTest, OversizedBodyIsRefused) {
  ParseOptions options;
  options.max_bytes = 100;
  Result<ResultSet> set = ParseResults(std::string(101, ' '), "", options);
  EXPECT_EQ(Status::Code::kResourceExhausted, set.status().code());
}

TEST(ParseResultsTest, CorruptGzipIsInvalid) {
  std::string gz = Gzip("<testsuite/>");
  gz.resize(gz.size() / 2);
  Result<ResultSet> set = Parse(gz);
  EXPECT_EQ(Status::Code::kInvalidArgument, set.status().code()) << set.status().ToString();
}

TEST(ParseResultsTest, Utf8BomIsAccepted) {
  Result<ResultSet> set =
      Parse("\xEF\xBB\xBF<testsuite name=\"s\"><testcase name=\"t\" time=\"1\"/></testsuite>");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  EXPECT_EQ("t", set->tests[0].id);
}

TEST(ResultModelTest, FailedAndFlaky) {
  TestCase t;
  auto attempt = [](Outcome o) {
    TestAttempt a;
    a.outcome = o;
    return a;
  };
  t.attempts.push_back(attempt(Outcome::kError));
  EXPECT_TRUE(t.failed());
  EXPECT_FALSE(t.flaky());
  t.attempts.push_back(attempt(Outcome::kPassed));
  EXPECT_FALSE(t.failed());
  EXPECT_TRUE(t.flaky());
  t.attempts.push_back(attempt(Outcome::kSkipped));
  EXPECT_FALSE(t.failed());
  EXPECT_FALSE(t.flaky());
  EXPECT_STREQ("error", OutcomeName(Outcome::kError));
  EXPECT_STREQ("skipped", OutcomeName(Outcome::kSkipped));
}

}  // namespace
}  // namespace jostle::collector
