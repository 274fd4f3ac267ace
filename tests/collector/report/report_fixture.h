// A RunReport built by the real attribution core from a constructed node: a burner cgroup
// saturates the CPUs for 20 s; one test fails under it, one always fails, one fails on a
// quiet machine, one on a node without an agent, one is flaky. Test names are hostile.
#pragma once

#include "collector/attribution/run_report.h"
#include "collector/attribution/test_scenario.h"

namespace jostle::testing {

inline constexpr const char* kHostileTest = "tests/x.py::test_<script>alert(1)</script>|a*b_";

inline collector::RunReport DemoReport() {
  using collector::HistoryEntry;
  using collector::TestExecution;
  Tick quiet;
  quiet.busy = 0.15;
  quiet.psi_io = 0.01;
  quiet.cgroups = {Cgroup("/user.slice/ci.scope", 0.5), Cgroup("/system.slice/cron.service", 0.1)};
  Tick noisy = quiet;
  noisy.busy = 0.99;
  noisy.psi_cpu = 0.45;
  noisy.psi_memory_some = 0.02;
  noisy.cgroups[0].psi_cpu = 0.3;  // the tests felt the burner
  noisy.cgroups.push_back(Cgroup("/system.slice/stress.service", 3.4));
  NodeScenario s;
  s.Repeat(21, quiet).Repeat(20, noisy).Repeat(20, quiet);
  std::map<std::string, std::vector<Sample>> samples{{"ci-1", s.samples()}};

  auto exec = [](std::string id, int64_t start_s, double duration_s, Outcome outcome,
                 int attempt = 0, std::string node = "ci-1") {
    TestExecution e;
    e.run = "demo-42";
    e.job = "unit|py";
    e.test_id = std::move(id);
    e.name = e.test_id;
    e.attempt = attempt;
    e.outcome = outcome;
    e.start_ns = kT0 + start_s * kSecond;
    e.duration_s = duration_s;
    e.node = std::move(node);
    e.message = "AssertionError: took 2.3 s > 1.0 s budget";
    return e;
  };
  std::vector<TestExecution> executions = {
      exec(kHostileTest, 25, 2, Outcome::kFailed),
      exec("tests/test_api.py::test_latency", 30, 3, Outcome::kFailed),
      exec("tests/test_bug.py::test_off_by_one", 33, 0.2, Outcome::kFailed),
      exec("tests/test_quiet.py::test_parse", 5, 1, Outcome::kFailed),
      exec("tests/test_remote.py::test_upload", 25, 1, Outcome::kFailed, 0, "ci-2"),
      exec("tests/test_cache.py::test_ttl", 36, 1, Outcome::kFailed, 0),
      exec("tests/test_cache.py::test_ttl", 50, 1, Outcome::kPassed, 1),
      exec("tests/test_ok.py::test_ok", 10, 1, Outcome::kPassed),
  };
  executions[1].timing_approximate = true;
  // Four clear passes and two contended failures before: one-sided Fisher p = 1/35.
  const std::vector<HistoryEntry> passes_when_clear = {
      {Outcome::kPassed, false}, {Outcome::kPassed, false}, {Outcome::kPassed, false},
      {Outcome::kPassed, false}, {Outcome::kFailed, true},  {Outcome::kFailed, true}};
  std::map<std::string, std::vector<HistoryEntry>> history = {
      {kHostileTest, passes_when_clear},
      {"tests/test_api.py::test_latency", passes_when_clear},
      {"tests/test_bug.py::test_off_by_one", {{Outcome::kFailed, false}, {Outcome::kFailed, true}}},
  };
  collector::ReportOptions options;
  options.self_cgroup = "/user.slice/ci.scope";
  return collector::AttributeRun("demo-42", executions, samples, history,
                                 collector::AttributionConfig{}, options);
}

}  // namespace jostle::testing
