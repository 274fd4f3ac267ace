#include "collector/alerts/rules.h"

#include <gtest/gtest.h>

#include "alert_fixtures.h"

namespace jostle::collector::alerts {
namespace {

using testing::SampleFacts;

TEST(RulesTest, DefaultsAlertOnContentionVerdicts) {
  AlertDecision d = EvaluateRules(SampleFacts(), AlertRules{}, AlertHistory{}, 1000);
  EXPECT_TRUE(d.send) << d.reason;
  EXPECT_EQ(d.matching, 3);
}

TEST(RulesTest, MinCount) {
  struct Case {
    int min_count;
    bool send;
  };
  for (const Case& c : {Case{0, true}, Case{1, true}, Case{3, true}, Case{4, false}}) {
    AlertRules rules;
    rules.min_count = c.min_count;
    AlertDecision d = EvaluateRules(SampleFacts(), rules, AlertHistory{}, 1000);
    EXPECT_EQ(d.send, c.send) << "min_count " << c.min_count << ": " << d.reason;
  }
}

TEST(RulesTest, VerdictFilter) {
  struct Case {
    std::vector<std::string> on;
    int matching;
  };
  const std::vector<Case> cases = {
      {{"contention"}, 2},
      {{"contention-possible"}, 1},
      {{"fails-regardless", "no-contention"}, 2},
      {{"no-data"}, 0},
      {{}, 0},
  };
  for (const Case& c : cases) {
    AlertRules rules;
    rules.on = c.on;
    AlertDecision d = EvaluateRules(SampleFacts(), rules, AlertHistory{}, 1000);
    EXPECT_EQ(d.matching, c.matching);
    EXPECT_EQ(d.send, c.matching >= 1) << d.reason;
  }
}

TEST(RulesTest, CountsFailuresWhenNoVerdictCounts) {
  AlertFacts facts = SampleFacts();
  facts.verdict_counts.clear();
  AlertRules rules;
  rules.on = {"contention"};
  EXPECT_EQ(MatchingCount(facts, rules), 2);
}

TEST(RulesTest, FilterFactsKeepsOnlyAlertingVerdicts) {
  AlertRules rules;
  rules.on = {"contention-possible"};
  AlertFacts filtered = FilterFacts(SampleFacts(), rules);
  ASSERT_EQ(filtered.failures.size(), 1u);
  EXPECT_EQ(filtered.failures[0].test, "suite.Cache.Evicts");
  EXPECT_EQ(filtered.verdict_counts.size(), 4u);  // counts stay whole
}

TEST(RulesTest, RunAlertedOnlyOnce) {
  AlertHistory history;
  history.run_already_alerted = true;
  AlertDecision d = EvaluateRules(SampleFacts(), AlertRules{}, history, 1000);
  EXPECT_FALSE(d.send);
  EXPECT_NE(d.reason.find("already alerted"), std::string::npos) << d.reason;
}

TEST(RulesTest, Cooldown) {
  AlertRules rules;
  rules.cooldown_s = 600;
  AlertHistory history;
  history.last_key_alert_s = 1000;
  struct Case {
    int64_t now;
    bool send;
  };
  for (const Case& c : {Case{1000, false}, Case{1599, false}, Case{1600, true}, Case{5000, true}}) {
    AlertDecision d = EvaluateRules(SampleFacts(), rules, history, c.now);
    EXPECT_EQ(d.send, c.send) << "now " << c.now << ": " << d.reason;
  }
  rules.cooldown_s = 0;
  EXPECT_TRUE(EvaluateRules(SampleFacts(), rules, history, 1000).send);
}

TEST(RulesTest, CooldownKeyIsJobElseRun) {
  AlertFacts facts = SampleFacts();
  EXPECT_EQ(CooldownKey(facts), "job:unit");
  facts.job.clear();
  EXPECT_EQ(CooldownKey(facts), "run:r42");
}

}  // namespace
}  // namespace jostle::collector::alerts
