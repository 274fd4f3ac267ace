#include "collector/alerts/payload.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "alert_fixtures.h"

namespace jostle::collector::alerts {
namespace {

using nlohmann::json;
using testing::SampleFacts;

TEST(GenericPayloadTest, Shape) {
  json doc = json::parse(BuildGenericPayload(SampleFacts(), 1700000000));
  EXPECT_EQ(doc["type"], "jostle.contention");
  EXPECT_EQ(doc["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(doc["run"], "r42");
  EXPECT_EQ(doc["job"], "unit");
  EXPECT_EQ(doc["report_url"], "https://ci.example/jostle/runs/r42/report?format=html");
  EXPECT_EQ(doc["counts"]["failed"], 5);
  EXPECT_EQ(doc["counts"]["contention"], 2);
  EXPECT_EQ(doc["counts"]["contention-possible"], 1);
  EXPECT_EQ(doc["counts"]["fails-regardless"], 1);
  ASSERT_EQ(doc["failures"].size(), 3u);
  const json& first = doc["failures"][0];
  EXPECT_EQ(first["test"], "tests/test_timing.py::test_deadline");
  EXPECT_EQ(first["verdict"], "contention");
  EXPECT_EQ(first["resource"], "cpu");
  EXPECT_EQ(first["culprit"], "ci/burner-7f9");
  EXPECT_EQ(first["node"], "node-a");
  EXPECT_EQ(first["pod"], "ci/runner-1");
  const json& third = doc["failures"][2];
  EXPECT_TRUE(third["culprit"].is_null());
  EXPECT_TRUE(third["pod"].is_null());
}

TEST(GenericPayloadTest, UnknownFieldsAreNull) {
  AlertFacts facts = SampleFacts();
  facts.job.clear();
  facts.report_url.clear();
  json doc = json::parse(BuildGenericPayload(facts, 0));
  EXPECT_TRUE(doc["job"].is_null());
  EXPECT_TRUE(doc["report_url"].is_null());
}

TEST(GenericPayloadTest, InvalidUtf8DoesNotThrow) {
  AlertFacts facts = SampleFacts();
  facts.failures[0].test = "bad\xff name";
  std::string body;
  ASSERT_NO_THROW(body = BuildGenericPayload(facts, 0));
  EXPECT_NO_THROW(json::parse(body));
}

TEST(SlackPayloadTest, Shape) {
  json doc = json::parse(BuildSlackPayload(SampleFacts()));
  ASSERT_TRUE(doc["text"].is_string());
  EXPECT_NE(doc["text"].get<std::string>().find("3 test failures in run r42 (job unit)"),
            std::string::npos)
      << doc["text"];
  const json& blocks = doc["blocks"];
  // header, summary, 3 failures, context
  ASSERT_EQ(blocks.size(), 6u) << blocks.dump(2);
  EXPECT_EQ(blocks[0]["type"], "header");
  EXPECT_EQ(blocks[0]["text"]["type"], "plain_text");
  EXPECT_EQ(blocks[0]["text"]["text"], "Contention broke 3 tests in run r42");
  EXPECT_EQ(blocks[1]["type"], "section");
  EXPECT_EQ(blocks[1]["text"]["type"], "mrkdwn");
  std::string summary = blocks[1]["text"]["text"];
  EXPECT_NE(summary.find("*Failed:* 5"), std::string::npos) << summary;
  EXPECT_NE(summary.find("2 `contention`"), std::string::npos) << summary;
  std::string failure = blocks[2]["text"]["text"];
  EXPECT_NE(failure.find("*tests/test_timing.py::test_deadline*"), std::string::npos) << failure;
  EXPECT_NE(failure.find("cpu"), std::string::npos) << failure;
  EXPECT_NE(failure.find("culprit `ci/burner-7f9`"), std::string::npos) << failure;
  EXPECT_EQ(blocks[5]["type"], "context");
  EXPECT_EQ(blocks[5]["elements"][0]["text"],
            "<https://ci.example/jostle/runs/r42/report?format=html|Open the contention report>");
}

TEST(SlackPayloadTest, CapsFailuresWithAndMore) {
  AlertFacts facts = SampleFacts();
  facts.failures.clear();
  for (int i = 0; i < 14; ++i) {
    facts.failures.push_back({"t" + std::to_string(i), "contention", "cpu", "", "", ""});
  }
  facts.verdict_counts = {{"contention", 14}};
  json doc = json::parse(BuildSlackPayload(facts));
  const json& blocks = doc["blocks"];
  // header, summary, 10 failures, "and 4 more", context
  ASSERT_EQ(blocks.size(), 2u + kSlackMaxFailures + 2u);
  EXPECT_EQ(blocks[2 + kSlackMaxFailures]["text"]["text"], "_and 4 more_");
  EXPECT_LE(blocks.size(), 50u);  // Block Kit's limit per message
}

TEST(SlackPayloadTest, EscapesMrkdwn) {
  AlertFacts facts = SampleFacts();
  facts.failures[0].test = "test_<script>&co";
  facts.failures[0].culprit = "ns/<!channel>";
  json doc = json::parse(BuildSlackPayload(facts));
  std::string text = doc["blocks"][2]["text"]["text"];
  EXPECT_NE(text.find("test_&lt;script&gt;&amp;co"), std::string::npos) << text;
  EXPECT_NE(text.find("ns/&lt;!channel&gt;"), std::string::npos) << text;
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
}

TEST(SlackPayloadTest, NoReportLink) {
  AlertFacts facts = SampleFacts();
  facts.report_url.clear();
  json doc = json::parse(BuildSlackPayload(facts));
  std::string link = doc["blocks"].back()["elements"][0]["text"];
  EXPECT_EQ(link.find('<'), std::string::npos) << link;
}

TEST(EscapeSlackMrkdwnTest, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"plain", "plain"},
      {"a&b", "a&amp;b"},
      {"<@U1>", "&lt;@U1&gt;"},
      {"&amp;", "&amp;amp;"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(EscapeSlackMrkdwn(in), out) << in;
}

TEST(SlackUrlTest, Detection) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"https://hooks.slack.com/services/T000/B000/XXXX", true},
      {"https://hooks.slack-gov.com/services/T000/B000/XXXX", true},
      {"http://hooks.slack.com/services/T000/B000/XXXX", false},
      {"https://hooks.slack.com.evil.example/services/T0", false},
      {"https://example.com/hooks.slack.com/services/T0", false},
      {"http://127.0.0.1:8080/hook", false},
  };
  for (const auto& [url, slack] : cases) EXPECT_EQ(IsSlackWebhookUrl(url), slack) << url;
  EXPECT_EQ(ResolveFormat(PayloadFormat::kAuto, cases[0].first), PayloadFormat::kSlack);
  EXPECT_EQ(ResolveFormat(PayloadFormat::kAuto, "http://x/"), PayloadFormat::kGeneric);
  EXPECT_EQ(ResolveFormat(PayloadFormat::kSlack, "http://x/"), PayloadFormat::kSlack);
}

TEST(PayloadFormatTest, Parse) {
  EXPECT_EQ(*ParsePayloadFormat("slack"), PayloadFormat::kSlack);
  EXPECT_EQ(*ParsePayloadFormat("generic"), PayloadFormat::kGeneric);
  EXPECT_EQ(*ParsePayloadFormat("auto"), PayloadFormat::kAuto);
  EXPECT_EQ(ParsePayloadFormat("teams").status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace jostle::collector::alerts
