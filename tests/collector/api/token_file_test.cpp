#include "collector/api/token_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "collector/api/collector_api.h"

namespace jostle::collector {
namespace {

TEST(TokenSetTest, ParsesScopesCommentsAndBlankLines) {
  auto set = TokenSet::Parse(
      "# agents\n"
      "agent   agent-token-1\n"
      "\n"
      "ci,read ci-token-22   # the CI system\n"
      "read\treader-token-3\n",
      "tokens.txt");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->size(), 3u);
  EXPECT_EQ(set->ScopesOf("agent-token-1"), kScopeAgent);
  EXPECT_EQ(set->ScopesOf("ci-token-22"), kScopeCi | kScopeRead);
  EXPECT_EQ(set->ScopesOf("reader-token-3"), kScopeRead);
  EXPECT_EQ(set->ScopesOf("agent-token-"), 0u);
  EXPECT_EQ(set->ScopesOf("agent-token-11"), 0u);
  EXPECT_EQ(set->ScopesOf(""), 0u);
}

TEST(TokenSetTest, RefusesBadLinesNamingFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"agent\n", "tokens.txt:1: expected 'SCOPES TOKEN'"},
      {"# c\nadmin token-12345678\n", "tokens.txt:2: unknown scope 'admin'"},
      {"agent,,ci token-12345678\n", "tokens.txt:1: unknown scope ''"},
      {"agent short\n", "tokens.txt:1: token is shorter than 8 characters"},
      {"agent token-1234 extra\n", "tokens.txt:1: token must not contain spaces"},
      {"# nothing\n\n", "tokens.txt: no tokens"},
  };
  for (const auto& c : cases) {
    auto set = TokenSet::Parse(c.text, "tokens.txt");
    ASSERT_FALSE(set.ok()) << c.text;
    EXPECT_EQ(set.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(set.status().message().find(c.message), std::string::npos) << set.status().message();
  }
}

TEST(TokenSetTest, LoadReportsMissingFile) {
  auto set = TokenSet::Load("/nonexistent/jostle-tokens");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("/nonexistent/jostle-tokens"), std::string::npos);
}

TEST(TokenSetTest, AgentTokensMayBeBoundToNodes) {
  auto set = TokenSet::Parse(
      "agent:node=ci-pool-*           bound-token-1\n"
      "agent:node=gpu-1,agent:node=gpu-2,read two-nodes-2\n"
      "agent:node=x-*,agent           unbound-token-3\n"
      "agent                          any-node-token\n",
      "tokens.txt");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  auto bound = set->Grant("bound-token-1");
  EXPECT_EQ(bound.scopes, kScopeAgent);
  EXPECT_TRUE(bound.MayWriteNode("ci-pool-1"));
  EXPECT_TRUE(bound.MayWriteNode("ci-pool-"));
  EXPECT_FALSE(bound.MayWriteNode("ci-pool"));
  EXPECT_FALSE(bound.MayWriteNode("xci-pool-1"));
  auto two = set->Grant("two-nodes-2");
  EXPECT_EQ(two.scopes, kScopeAgent | kScopeRead);
  EXPECT_TRUE(two.MayWriteNode("gpu-2"));
  EXPECT_FALSE(two.MayWriteNode("gpu-3"));
  EXPECT_TRUE(set->Grant("unbound-token-3").MayWriteNode("anything"));
  EXPECT_TRUE(set->Grant("any-node-token").MayWriteNode("anything"));
  EXPECT_EQ(set->Grant("unknown-token").scopes, 0u);

  for (const char* bad : {"agent:node= tok-123456789", "agent:node=a/b tok-123456789",
                          "agent:nodes=a tok-123456789", "ci:node=a tok-123456789"}) {
    auto r = TokenSet::Parse(bad, "t");
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(NodePatternTest, Globs) {
  EXPECT_TRUE(NodePatternMatches("*", ""));
  EXPECT_TRUE(NodePatternMatches("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(NodePatternMatches("a*b*c", "aXXbYY"));
  EXPECT_TRUE(NodePatternMatches("node-1", "node-1"));
  EXPECT_FALSE(NodePatternMatches("node-1", "node-10"));
  EXPECT_TRUE(NodePatternMatches("*-1", "node-1"));
  EXPECT_TRUE(NodePatternMatches("**", "x"));
}

TEST(TokenSetTest, LoadWarnsWhenEveryUserMayReadTheFile) {
  char dir[] = "/tmp/jostle-tokens-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/tokens";
  {
    std::ofstream out(path);
    out << "agent agent-token-1\n";
  }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto open = TokenSet::Load(path);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_EQ(open->warnings().size(), 1u);
  EXPECT_NE(open->warnings()[0].find("readable by every user (mode 0644)"), std::string::npos)
      << open->warnings()[0];
  EXPECT_EQ(open->ScopesOf("agent-token-1"), kScopeAgent);  // loaded all the same
  for (mode_t mode : {0600, 0640, 0400}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto closed = TokenSet::Load(path);
    ASSERT_TRUE(closed.ok());
    EXPECT_TRUE(closed->warnings().empty()) << std::oct << mode;
  }
  std::filesystem::remove_all(dir);
}

TEST(BearerTokenTest, Table) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc  "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken(""), "");
}

TEST(ValidatorsTest, RunIdPodAndNode) {
  EXPECT_TRUE(ValidateRunId("gh-12345.1").ok());
  EXPECT_TRUE(ValidateRunId("pipeline:77@main+b").ok());
  EXPECT_FALSE(ValidateRunId("").ok());
  EXPECT_FALSE(ValidateRunId("a b").ok());
  EXPECT_FALSE(ValidateRunId("a%2Fb").ok());
  EXPECT_FALSE(ValidateRunId(std::string(129, 'a')).ok());
  std::string ns, name;
  EXPECT_TRUE(ParsePodRef("ci/runner-1", &ns, &name).ok());
  EXPECT_EQ(ns, "ci");
  EXPECT_EQ(name, "runner-1");
  EXPECT_FALSE(ParsePodRef("runner-1", &ns, &name).ok());
  EXPECT_FALSE(ParsePodRef("ci/", &ns, &name).ok());
  EXPECT_FALSE(ParsePodRef("/x", &ns, &name).ok());
  EXPECT_FALSE(ParsePodRef("ci/a/b", &ns, &name).ok());
  EXPECT_FALSE(ParsePodRef("CI/Runner", &ns, &name).ok());
  EXPECT_TRUE(ValidateNodeName("node-1.example").ok());
  EXPECT_FALSE(ValidateNodeName("node 1").ok());
}

TEST(HttpStatusOfTest, MapsEveryCode) {
  EXPECT_EQ(HttpStatusOf(Status::InvalidArgument("x")), 400);
  EXPECT_EQ(HttpStatusOf(Status::Unauthenticated("x")), 401);
  EXPECT_EQ(HttpStatusOf(Status::PermissionDenied("x")), 403);
  EXPECT_EQ(HttpStatusOf(Status::NotFound("x")), 404);
  EXPECT_EQ(HttpStatusOf(Status::ResourceExhausted("x")), 413);
  EXPECT_EQ(HttpStatusOf(Status::Unsupported("x")), 415);
  EXPECT_EQ(HttpStatusOf(Status::Unavailable("x")), 503);
  EXPECT_EQ(HttpStatusOf(Status::IOError("x")), 500);
}

}  // namespace
}  // namespace jostle::collector
