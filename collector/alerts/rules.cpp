#include "collector/alerts/rules.h"

#include <algorithm>

namespace jostle::collector::alerts {
namespace {

bool Contains(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

std::string CooldownKey(const AlertFacts& facts) {
  return facts.job.empty() ? "run:" + facts.run : "job:" + facts.job;
}

int MatchingCount(const AlertFacts& facts, const AlertRules& rules) {
  int count = 0;
  if (!facts.verdict_counts.empty()) {
    for (const auto& [verdict, n] : facts.verdict_counts) {
      if (Contains(rules.on, verdict)) count += std::max(n, 0);
    }
    return count;
  }
  for (const auto& failure : facts.failures) {
    if (Contains(rules.on, failure.verdict)) ++count;
  }
  return count;
}

AlertFacts FilterFacts(const AlertFacts& facts, const AlertRules& rules) {
  AlertFacts filtered = facts;
  std::erase_if(filtered.failures,
                [&](const AlertFacts::Failure& f) { return !Contains(rules.on, f.verdict); });
  return filtered;
}

AlertDecision EvaluateRules(const AlertFacts& facts, const AlertRules& rules,
                            const AlertHistory& history, int64_t now_s) {
  AlertDecision decision;
  decision.matching = MatchingCount(facts, rules);
  const int threshold = std::max(rules.min_count, 1);
  if (decision.matching < threshold) {
    decision.reason = std::to_string(decision.matching) + " failures with an alerting verdict, " +
                      "min_count is " + std::to_string(threshold);
    return decision;
  }
  if (history.run_already_alerted) {
    decision.reason = "run " + facts.run + " was already alerted";
    return decision;
  }
  if (rules.cooldown_s > 0 && history.last_key_alert_s.has_value()) {
    const int64_t since = now_s - *history.last_key_alert_s;
    if (since < rules.cooldown_s) {
      decision.reason = CooldownKey(facts) + " alerted " + std::to_string(since) +
                        " s ago, cooldown is " + std::to_string(rules.cooldown_s) + " s";
      return decision;
    }
  }
  decision.send = true;
  decision.reason = "matched " + std::to_string(decision.matching) + " failures";
  return decision;
}

}  // namespace jostle::collector::alerts
