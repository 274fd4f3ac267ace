// Run identity parameters: what each field accepts and refuses, and the query round trip.
#include "collector/ci/run_identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jostle::collector {
namespace {

using ::testing::HasSubstr;

Result<RunIdentity> FromQuery(std::map<std::string, std::string> q) {
  return RunIdentityFromQuery(q);
}

TEST(RunIdentityTest, EveryFieldFromTheQuery) {
  auto id = FromQuery({{"commit", "9A65FE9c0ffee"},
                       {"branch", "feature/räder-2"},
                       {"default_branch", "main"},
                       {"pr", "1234"},
                       {"shard", "2/4"},
                       {"attempt", "3"},
                       {"url", "https://ci.example/jobs/17?x=1"},
                       {"provider", "gitlab-ci"},
                       {"exit", "1"},
                       {"job", "ignored-here"}});
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->commit, "9a65fe9c0ffee");  // lower-cased
  EXPECT_EQ(id->branch, "feature/räder-2");
  EXPECT_EQ(id->default_branch, "main");
  EXPECT_EQ(id->IsDefaultBranch(), std::optional<bool>(false));
  EXPECT_EQ(id->pr, "1234");
  EXPECT_EQ(id->shard_index, std::optional<int>(2));
  EXPECT_EQ(id->shard_total, std::optional<int>(4));
  EXPECT_EQ(id->attempt, std::optional<int>(3));
  EXPECT_EQ(id->url, "https://ci.example/jobs/17?x=1");
  EXPECT_EQ(id->provider, "gitlab-ci");
  EXPECT_EQ(id->exit_code, std::optional<int>(1));
  // And back as query parameters, in the documented order.
  std::vector<std::pair<std::string, std::string>> want = {
      {"commit", "9a65fe9c0ffee"},
      {"branch", "feature/räder-2"},
      {"default_branch", "main"},
      {"pr", "1234"},
      {"shard", "2/4"},
      {"attempt", "3"},
      {"url", "https://ci.example/jobs/17?x=1"},
      {"provider", "gitlab-ci"},
      {"exit", "1"}};
  EXPECT_EQ(RunIdentityQuery(*id), want);
  std::map<std::string, std::string> again(want.begin(), want.end());
  EXPECT_EQ(*FromQuery(again), *id);
}

TEST(RunIdentityTest, DefaultBranchFromTheFlagOrTheNames) {
  EXPECT_EQ(FromQuery({{"branch", "main"}, {"default_branch", "main"}})->IsDefaultBranch(),
            std::optional<bool>(true));
  EXPECT_EQ(FromQuery({{"on_default_branch", "true"}})->IsDefaultBranch(),
            std::optional<bool>(true));
  EXPECT_EQ(FromQuery({{"on_default_branch", "0"}, {"branch", "main"}, {"default_branch", "main"}})
                ->IsDefaultBranch(),
            std::optional<bool>(false));  // said directly wins
  EXPECT_EQ(FromQuery({{"branch", "main"}})->IsDefaultBranch(), std::nullopt);
  EXPECT_EQ(FromQuery({})->IsDefaultBranch(), std::nullopt);
}

TEST(RunIdentityTest, BadValuesAreRefusedNamingTheParameter) {
  struct Case {
    const char* name;
    std::string value;
  };
  const Case bad[] = {
      {"commit", "abc"},                  // too short
      {"commit", "xyz12345"},             // not hex
      {"commit", std::string(65, 'a')},   // too long
      {"branch", "has space"},            // git refuses spaces
      {"branch", "a..b"},                 //
      {"branch", "-leading"},             //
      {"branch", "tab\there"},            //
      {"branch", std::string(256, 'b')},  //
      {"branch",
       "bad\xff"
       "utf8"},                           //
      {"default_branch", "x:y"},          //
      {"on_default_branch", "yes"},       //
      {"pr", "12a"},                      //
      {"pr", "12345678901"},              //
      {"shard", "3/2"},                   // index past total
      {"shard", "0/2"},                   // 1-based
      {"shard", "2"},                     //
      {"shard", "1/10001"},               //
      {"attempt", "0"},                   //
      {"attempt", "1001"},                //
      {"attempt", "two"},                 //
      {"url", "ftp://ci.example/1"},      //
      {"url", "https://ci.example/a b"},  //
      {"url", "https://" + std::string(2050, 'u')},
      {"provider", "GitHub"},              // upper case
      {"provider", std::string(33, 'p')},  //
      {"exit", "256"},                     //
      {"exit", "-1"},                      //
  };
  for (const Case& c : bad) {
    auto id = FromQuery({{c.name, c.value}});
    ASSERT_FALSE(id.ok()) << c.name << "=" << c.value;
    EXPECT_EQ(id.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(id.status().message(), HasSubstr(c.name)) << c.value;
  }
  // The edges that are accepted.
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"commit", "abcd"},
                                                        {"commit", std::string(64, 'f')},
                                                        {"branch", std::string(255, 'b')},
                                                        {"branch", "release/1.2"},
                                                        {"shard", "10000/10000"},
                                                        {"attempt", "1000"},
                                                        {"exit", "255"},
                                                        {"exit", "0"},
                                                        {"url", "http://h"}}) {
    EXPECT_TRUE(FromQuery({{name, value}}).ok()) << name << "=" << value;
  }
}

TEST(RunIdentityTest, MergeKeepsGivenFieldsAndFillsTheRest) {
  RunIdentity given;
  given.branch = "feature";
  given.attempt = 2;
  RunIdentity env;
  env.branch = "main";
  env.commit = "abcdef12";
  env.attempt = 1;
  env.shard_index = 1;
  env.shard_total = 3;
  env.provider = "buildkite";
  RunIdentity merged = MergeRunIdentity(given, env);
  EXPECT_EQ(merged.branch, "feature");
  EXPECT_EQ(merged.attempt, std::optional<int>(2));
  EXPECT_EQ(merged.commit, "abcdef12");
  EXPECT_EQ(merged.shard_index, std::optional<int>(1));
  EXPECT_EQ(merged.shard_total, std::optional<int>(3));
  EXPECT_EQ(merged.provider, "buildkite");
  EXPECT_THAT(DescribeRunIdentity(merged),
              ::testing::ElementsAre("commit=abcdef12", "branch=feature", "shard=1/3", "attempt=2",
                                     "provider=buildkite"));
}

}  // namespace
}  // namespace jostle::collector
