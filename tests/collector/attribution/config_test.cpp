#include "collector/attribution/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "jostle_test/test_paths.h"

namespace jostle::collector {
namespace {

std::string Fixture(const std::string& name) {
  return std::string(jostle::testing::kFixtureDir) + "/report/" + name;
}

TEST(AttributionConfig, DefaultsAreTheDesignThresholds) {
  AttributionConfig c;
  EXPECT_EQ(c.cpu.node_busy, 0.90);
  EXPECT_EQ(c.cpu.psi_some, 0.20);
  EXPECT_EQ(c.cpu.throttle_ratio, 0.25);
  EXPECT_EQ(c.memory.psi_some, 0.10);
  EXPECT_EQ(c.memory.psi_full, 0.05);
  EXPECT_EQ(c.memory.working_set_ratio, 0.95);
  EXPECT_EQ(c.io.psi_some, 0.20);
  EXPECT_EQ(c.network.utilisation, 0.80);
  EXPECT_EQ(c.network.retrans_ratio, 0.02);
  EXPECT_EQ(c.window.padding_intervals, 1.0);
  EXPECT_EQ(c.history.alpha, 0.05);
}

TEST(AttributionConfig, EmptyObjectKeepsDefaults) {
  auto c = ParseAttributionConfig("{}");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cpu.node_busy, 0.90);
  EXPECT_EQ(c->alerts.on, (std::vector<std::string>{"contention", "contention-possible"}));
}

TEST(AttributionConfig, FileOverridesOnlyWhatItNames) {
  auto c = LoadAttributionConfig(Fixture("attribution_override.json"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->window.padding_intervals, 2);
  EXPECT_TRUE(c->window.use_mean);
  EXPECT_EQ(c->cpu.node_busy, 0.8);
  EXPECT_EQ(c->cpu.psi_some, 0.20);
  EXPECT_EQ(c->memory.oom_kills, 2);
  EXPECT_EQ(c->history.limit, 50);
  EXPECT_EQ(c->history.alpha, 0.01);
  EXPECT_EQ(c->alerts.on, std::vector<std::string>{"contention"});
  EXPECT_EQ(c->alerts.min_count, 3);
  EXPECT_EQ(c->alerts.cooldown_s, 600);
}

TEST(AttributionConfig, AlphaAndItsFormerName) {
  auto a = ParseAttributionConfig(R"({"history": {"alpha": 0.02}})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->history.alpha, 0.02);
  auto f = ParseAttributionConfig(R"({"history": {"fisher_p": 0.03}})");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->history.alpha, 0.03);
  auto bad = ParseAttributionConfig(R"({"history": {"alpha": 1.5}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("history.alpha"), std::string::npos);
}

TEST(AttributionConfig, UnknownKeyIsRefusedWithItsPath) {
  auto c = LoadAttributionConfig(Fixture("attribution_unknown_key.json"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("cpu.node_bussy: unknown key"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("attribution_unknown_key.json"), std::string::npos);
}

struct BadConfig {
  const char* json;
  const char* message;
};

class BadConfigs : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigs, RefusedWithWhatAndWhere) {
  auto c = ParseAttributionConfig(GetParam().json, "jostle.json");
  ASSERT_FALSE(c.ok()) << GetParam().json;
  EXPECT_NE(c.status().message().find(GetParam().message), std::string::npos)
      << c.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfigs,
    ::testing::Values(
        BadConfig{"{\"gpu\": {}}", "jostle.json: gpu: unknown key"},
        BadConfig{"{\"cpu\": 3}", "cpu: expected an object"},
        BadConfig{"{\"cpu\": {\"psi_some\": \"high\"}}", "cpu.psi_some: expected a number"},
        BadConfig{"{\"cpu\": {\"node_busy\": 1.5}}", "cpu.node_busy: 1.5 is outside"},
        BadConfig{"{\"history\": {\"limit\": 2.5}}", "history.limit: expected an integer"},
        BadConfig{"{\"alerts\": {\"on\": [\"panic\"]}}", "alerts.on[0]: unknown verdict"},
        BadConfig{"{\"window\": {\"statistic\": \"max\"}}", "window.statistic"},
        BadConfig{"{\"cpu\": ", "jostle.json: not valid JSON"},
        BadConfig{"[]", "expected an object"}));

TEST(AttributionConfig, MissingFileIsNotFound) {
  auto c = LoadAttributionConfig(Fixture("no_such_config.json"));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound());
}

// CONFIG.md shows every key with its default in one JSON block; it must parse and equal the
// built-in defaults, so the documentation cannot drift from the code.
TEST(AttributionConfig, DocumentedDefaultsMatchTheCode) {
  std::ifstream in(std::string(jostle::testing::kSourceDir) + "/collector/attribution/CONFIG.md");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  std::string md = text.str();
  size_t open = md.find("```json\n");
  ASSERT_NE(open, std::string::npos);
  size_t close = md.find("```", open + 8);
  auto c = ParseAttributionConfig(md.substr(open + 8, close - open - 8), "CONFIG.md");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  AttributionConfig d;
  EXPECT_EQ(c->window.padding_intervals, d.window.padding_intervals);
  EXPECT_EQ(c->window.default_interval_s, d.window.default_interval_s);
  EXPECT_EQ(c->window.max_gap_intervals, d.window.max_gap_intervals);
  EXPECT_EQ(c->window.use_mean, d.window.use_mean);
  EXPECT_EQ(c->window.reconstructed_slack_s, d.window.reconstructed_slack_s);
  EXPECT_EQ(c->cpu.node_busy, d.cpu.node_busy);
  EXPECT_EQ(c->cpu.psi_some, d.cpu.psi_some);
  EXPECT_EQ(c->cpu.throttle_ratio, d.cpu.throttle_ratio);
  EXPECT_EQ(c->memory.psi_some, d.memory.psi_some);
  EXPECT_EQ(c->memory.psi_full, d.memory.psi_full);
  EXPECT_EQ(c->memory.oom_kills, d.memory.oom_kills);
  EXPECT_EQ(c->memory.working_set_ratio, d.memory.working_set_ratio);
  EXPECT_EQ(c->io.psi_some, d.io.psi_some);
  EXPECT_EQ(c->network.utilisation, d.network.utilisation);
  EXPECT_EQ(c->network.drops, d.network.drops);
  EXPECT_EQ(c->network.retrans_ratio, d.network.retrans_ratio);
  EXPECT_EQ(c->felt.psi_some, d.felt.psi_some);
  EXPECT_EQ(c->culprits.max, d.culprits.max);
  EXPECT_EQ(c->culprits.min_share, d.culprits.min_share);
  EXPECT_EQ(c->history.limit, d.history.limit);
  EXPECT_EQ(c->history.max_age_days, d.history.max_age_days);
  EXPECT_EQ(c->history.alpha, d.history.alpha);
  EXPECT_EQ(c->history.min_clear, d.history.min_clear);
  EXPECT_EQ(c->history.min_rate_difference, d.history.min_rate_difference);
  EXPECT_EQ(c->retention.samples_days, d.retention.samples_days);
  EXPECT_EQ(c->retention.results_days, d.retention.results_days);
  EXPECT_EQ(c->alerts.on, d.alerts.on);
  EXPECT_EQ(c->alerts.min_count, d.alerts.min_count);
  EXPECT_EQ(c->alerts.cooldown_s, d.alerts.cooldown_s);
}

}  // namespace
}  // namespace jostle::collector
