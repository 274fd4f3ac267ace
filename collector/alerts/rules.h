// What an alert is about (AlertFacts), when one is sent (AlertRules), and the pure decision
// between them (EvaluateRules). No clock, no store, no I/O here: the dispatcher looks up the
// history and the time and passes them in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace jostle::collector::alerts {

inline constexpr const char* kVerdictContention = "contention";
inline constexpr const char* kVerdictContentionPossible = "contention-possible";

// The facts of one CI run that an alert reports; filled from the run's report.
struct AlertFacts {
  struct Failure {
    std::string test;      // test id as in the report (e.g. "tests/test_io.py::test_flush")
    std::string verdict;   // "contention" or "contention-possible"
    std::string resource;  // "cpu", "memory", "io", "network"; empty when unknown
    std::string culprit;   // top culprit ("ns/pod", a cgroup path or "own-limit"); may be empty
    std::string node;      // node the test ran on; may be empty
    std::string pod;       // "namespace/name" of the CI pod; may be empty
  };
  std::string run;
  std::string job;                            // empty when the run has no job name
  std::string report_url;                     // public URL of the report; empty when unknown
  int failures_total = 0;                     // failed tests in the run, every verdict
  std::map<std::string, int> verdict_counts;  // verdict -> failed tests with that verdict
  std::vector<Failure> failures;              // the contention / contention-possible failures
};

struct AlertRules {
  // Verdicts that count toward an alert and are listed in it.
  std::vector<std::string> on = {kVerdictContention, kVerdictContentionPossible};
  // Alert only when at least this many failures have a verdict in `on`.
  int min_count = 1;
  // After an alert for a job, no other run of the same job alerts the same target for this
  // many seconds (runs without a job name are keyed by run). 0 = no cooldown. A run is
  // alerted at most once per target whatever the cooldown.
  int64_t cooldown_s = 0;
};

// What the dispatcher knows about earlier alerts for one target.
struct AlertHistory {
  bool run_already_alerted = false;         // this run was delivered to this target
  std::optional<int64_t> last_key_alert_s;  // unix s of the last delivery for the job key
};

struct AlertDecision {
  bool send = false;
  int matching = 0;    // failures with a verdict in `on`
  std::string reason;  // why not, or "matched N failures" when sent
};

// The cooldown key of a run: "job:<job>" or, without a job name, "run:<run>".
std::string CooldownKey(const AlertFacts& facts);

// Number of failures whose verdict is in rules.on: from verdict_counts when it has any
// entry, else counted over facts.failures.
int MatchingCount(const AlertFacts& facts, const AlertRules& rules);

// A copy of `facts` whose failures list keeps only verdicts in rules.on.
AlertFacts FilterFacts(const AlertFacts& facts, const AlertRules& rules);

// Pure decision: send when MatchingCount >= max(min_count, 1), the run was not alerted to
// this target before, and the cooldown since history.last_key_alert_s has passed at now_s.
AlertDecision EvaluateRules(const AlertFacts& facts, const AlertRules& rules,
                            const AlertHistory& history, int64_t now_s);

}  // namespace jostle::collector::alerts
