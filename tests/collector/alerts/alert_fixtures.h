// AlertFacts used across the alert tests.
#pragma once

#include <string>

#include "collector/alerts/rules.h"

namespace jostle::collector::alerts::testing {

// Run "r42" of job "unit": 5 failed tests, 2 contention, 1 contention-possible,
// 1 fails-regardless, 1 no-contention.
inline AlertFacts SampleFacts() {
  AlertFacts facts;
  facts.run = "r42";
  facts.job = "unit";
  facts.report_url = "https://ci.example/jostle/runs/r42/report?format=html";
  facts.failures_total = 5;
  facts.verdict_counts = {
      {"contention", 2}, {"contention-possible", 1}, {"fails-regardless", 1}, {"no-contention", 1}};
  facts.failures = {
      {"tests/test_timing.py::test_deadline", "contention", "cpu", "ci/burner-7f9", "node-a",
       "ci/runner-1"},
      {"tests/test_io.py::test_flush", "contention", "io", "own-limit", "node-a", "ci/runner-1"},
      {"suite.Cache.Evicts", "contention-possible", "memory", "", "node-b", ""},
  };
  return facts;
}

}  // namespace jostle::collector::alerts::testing
