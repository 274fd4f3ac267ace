// jostle-results/v1 JSON.
#include <gtest/gtest.h>

#include "results_test_support.h"

namespace jostle::collector {
namespace {

TEST(JostleJsonTest, ReadsTheDocumentedExample) {
  Result<ResultSet> set = Parse(ResultsFixture("results_v1.json"), "application/json");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("jostle-json", set->format);
  EXPECT_EQ("custom-harness", set->producer);
  ASSERT_EQ(2u, set->tests.size());
  const TestCase& coupons = set->tests[0];
  EXPECT_EQ("checkout::applies_coupons", coupons.id);
  EXPECT_EQ(88, coupons.line);
  ASSERT_EQ(2u, coupons.attempts.size());
  EXPECT_EQ(Ns(1795428000, 123), coupons.attempts[0].start_ns);
  EXPECT_EQ("deadline exceeded", coupons.attempts[0].message);
  EXPECT_EQ(Ns(1795428000 - 3600 + 1, 500), coupons.attempts[1].start_ns);
  EXPECT_TRUE(coupons.flaky());
  EXPECT_EQ("totals", set->tests[1].name);
  EXPECT_EQ(Outcome::kSkipped, set->tests[1].last().outcome);
  EXPECT_FALSE(set->tests[1].last().start_ns.has_value());
  EXPECT_EQ(0, set->failed_count());
}

struct BadJson {
  const char* name;
  const char* body;
  const char* message_part;
};

class JostleJsonBadInputTest : public ::testing::TestWithParam<BadJson> {};

TEST_P(JostleJsonBadInputTest, RefusedWithFieldPath) {
  Result<ResultSet> set = Parse(GetParam().body, "application/json", 0, "r.json");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(std::string::npos, set.status().message().find(GetParam().message_part))
      << set.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JostleJsonBadInputTest,
    ::testing::Values(
        BadJson{"wrong_version", R"({"format":"jostle-results/v9","tests":[]})",
                "r.json: format: \"jostle-results/v9\" is not supported"},
        BadJson{"no_tests", R"({"format":"jostle-results/v1"})", "r.json: tests: missing"},
        BadJson{"unknown_key", R"({"format":"jostle-results/v1","tests":[],"extra":1})",
                "r.json: extra: unknown field"},
        BadJson{
            "bad_outcome",
            R"({"format":"jostle-results/v1","tests":[{"id":"a","attempts":[{"outcome":"ok","duration_s":1}]}]})",
            "tests[0].attempts[0].outcome: \"ok\" is not one of"},
        BadJson{"no_attempts",
                R"({"format":"jostle-results/v1","tests":[{"id":"a","attempts":[]}]})",
                "tests[0].attempts: empty"},
        BadJson{
            "negative_duration",
            R"({"format":"jostle-results/v1","tests":[{"id":"a","attempts":[{"outcome":"passed","duration_s":-1}]}]})",
            "tests[0].attempts[0].duration_s: out of range"},
        BadJson{
            "huge_duration",
            R"({"format":"jostle-results/v1","tests":[{"id":"a","attempts":[{"outcome":"passed","duration_s":1e308}]}]})",
            "duration_s: out of range"},
        BadJson{
            "bad_start",
            R"({"format":"jostle-results/v1","tests":[{"id":"a","attempts":[{"outcome":"passed","duration_s":1,"start":"noon"}]}]})",
            "tests[0].attempts[0].start: timestamp \"noon\""},
        BadJson{
            "duplicate_id",
            R"({"format":"jostle-results/v1","tests":[{"id":"a","attempts":[{"outcome":"passed","duration_s":1}]},{"id":"a","attempts":[{"outcome":"passed","duration_s":1}]}]})",
            "tests[1].id: duplicate of tests[0].id"},
        BadJson{"id_type", R"({"format":"jostle-results/v1","tests":[{"id":5,"attempts":[]}]})",
                "tests[0].id: expected a string, got number"},
        BadJson{"malformed", "{\"format\":\"jostle-results/v1\",\n\"tests\": [,]}",
                "r.json:2: malformed JSON"}),
    [](const ::testing::TestParamInfo<BadJson>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace jostle::collector
