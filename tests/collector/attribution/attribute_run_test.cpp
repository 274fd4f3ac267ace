#include <gtest/gtest.h>

#include "collector/attribution/run_report.h"
#include "collector/attribution/test_scenario.h"

namespace jostle::collector {
namespace {

using testing::Cgroup;
using testing::kSecond;
using testing::kT0;
using testing::NodeScenario;
using testing::Tick;

// ci-1: 20 s quiet, then 20 s with /system.slice/stress.service burning every CPU, then 10 s
// quiet. The test command runs in /user.slice/ci.scope.
std::vector<Sample> NoisyNode() {
  Tick quiet;
  quiet.busy = 0.15;
  quiet.cgroups = {Cgroup("/user.slice/ci.scope", 0.5), Cgroup("/system.slice/cron.service", 0.05)};
  Tick noisy = quiet;
  noisy.busy = 0.99;
  noisy.psi_cpu = 0.45;
  noisy.cgroups[0].psi_cpu = 0.3;  // the test command felt it
  noisy.cgroups.push_back(Cgroup("/system.slice/stress.service", 3.4));
  NodeScenario s;
  s.Repeat(21, quiet).Repeat(20, noisy).Repeat(10, quiet);
  return s.samples();
}

TestExecution Exec(std::string test, int64_t start_s, double duration_s, Outcome outcome,
                   int attempt = 0, std::string node = "ci-1") {
  TestExecution e;
  e.run = "r2";
  e.job = "unit";
  e.test_id = std::move(test);
  e.name = e.test_id;
  e.attempt = attempt;
  e.outcome = outcome;
  e.start_ns = kT0 + start_s * kSecond;
  e.duration_s = duration_s;
  e.node = std::move(node);
  return e;
}

class AttributeRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    samples_["ci-1"] = NoisyNode();
    options_.self_cgroup = "/user.slice/ci.scope";
    executions_ = {
        Exec("t::timing", 25, 2, Outcome::kFailed),
        Exec("t::bug", 27, 1, Outcome::kFailed),
        Exec("t::quiet_fail", 5, 2, Outcome::kError),
        Exec("t::new", 30, 1, Outcome::kFailed),
        Exec("t::flaky", 32, 1, Outcome::kFailed, 0),
        Exec("t::flaky", 45, 1, Outcome::kPassed, 1),
        Exec("t::elsewhere", 25, 1, Outcome::kFailed, 0, "ci-2"),
        Exec("t::nopod", 25, 1, Outcome::kFailed, 0, ""),
        Exec("t::ok", 26, 1, Outcome::kPassed),
        Exec("t::skipped", 26, 0, Outcome::kSkipped),
    };
    executions_[7].pod_namespace = "ci";
    executions_[7].pod_name = "gone";
    executions_[7].start_ns.reset();
    executions_[7].start_ns = kT0 + 25 * kSecond;
    history_["t::timing"] = {{Outcome::kPassed, false}, {Outcome::kPassed, false},
                             {Outcome::kPassed, false}, {Outcome::kPassed, false},
                             {Outcome::kFailed, true},  {Outcome::kFailed, true}};
    history_["t::bug"] = {{Outcome::kFailed, false}, {Outcome::kFailed, true}};
    history_["t::quiet_fail"] = {{Outcome::kPassed, false}, {Outcome::kPassed, std::nullopt}};
  }

  RunReport Run() {
    return AttributeRun("r2", executions_, samples_, history_, AttributionConfig{}, options_);
  }
  static const FailureReport& Find(const std::vector<FailureReport>& list, const std::string& id) {
    for (const FailureReport& f : list) {
      if (f.test_id == id) return f;
    }
    static FailureReport none;
    ADD_FAILURE() << "no report for " << id;
    return none;
  }

  std::vector<TestExecution> executions_;
  std::map<std::string, std::vector<Sample>> samples_;
  std::map<std::string, std::vector<HistoryEntry>> history_;
  ReportOptions options_;
};

TEST_F(AttributeRunTest, EveryVerdict) {
  RunReport r = Run();
  EXPECT_EQ(r.tests, 9);
  EXPECT_EQ(r.executions, 10);
  EXPECT_EQ(r.failed, 6);
  EXPECT_EQ(r.flaky, 1);
  ASSERT_EQ(r.failures.size(), 6u);
  EXPECT_EQ(r.failures[0].test_id, "t::timing");  // execution order

  const FailureReport& timing = Find(r.failures, "t::timing");
  EXPECT_EQ(timing.verdict, Verdict::kContention);
  EXPECT_EQ(timing.assessment.resource, Resource::kCpu);
  ASSERT_FALSE(timing.assessment.culprits.empty());
  EXPECT_EQ(timing.assessment.culprits[0].kind, CulpritKind::kCgroup);
  EXPECT_EQ(timing.assessment.culprits[0].name, "/system.slice/stress.service");
  EXPECT_GT(timing.assessment.culprits[0].share, 0.8);
  for (const Culprit& c : timing.assessment.culprits) {
    EXPECT_NE(c.name, "/user.slice/ci.scope");  // never its own culprit
  }
  EXPECT_EQ(timing.evidence.history, (HistoryCounts{2, 0, 0, 4, 0}));
  EXPECT_NEAR(*timing.evidence.failure_rate_contended, 1.0, 1e-12);
  EXPECT_NEAR(*timing.evidence.failure_rate_clear, 0.0, 1e-12);
  EXPECT_NEAR(*timing.evidence.fisher_p, 1.0 / 35, 1e-9);  // one-sided, {3, 0; 0, 4}
  EXPECT_EQ(timing.evidence.decided_by, Basis::kHistory);
  EXPECT_TRUE(timing.signals.pod_found);
  EXPECT_NEAR(timing.signals.values.at(kNodeCpuBusy).peak, 0.99, 1e-6);

  const FailureReport& bug = Find(r.failures, "t::bug");
  EXPECT_EQ(bug.verdict, Verdict::kFailsRegardless);
  EXPECT_TRUE(bug.assessment.contended);  // its window was loud, yet nobody is to blame
  EXPECT_TRUE(bug.assessment.culprits.empty());
  const FailureReport& quiet = Find(r.failures, "t::quiet_fail");
  EXPECT_EQ(quiet.verdict, Verdict::kNoContention);
  EXPECT_FALSE(quiet.assessment.resource);
  EXPECT_EQ(quiet.evidence.history.no_data, 1);
  EXPECT_EQ(Find(r.failures, "t::new").verdict, Verdict::kContentionPossible);

  const FailureReport& elsewhere = Find(r.failures, "t::elsewhere");
  EXPECT_EQ(elsewhere.verdict, Verdict::kNoData);
  EXPECT_EQ(elsewhere.reason.rfind("no agent on node ci-2", 0), 0u) << elsewhere.reason;
  const FailureReport& nopod = Find(r.failures, "t::nopod");
  EXPECT_EQ(nopod.verdict, Verdict::kNoData);
  EXPECT_EQ(nopod.reason, "pod unknown: no agent has reported pod ci/gone");

  ASSERT_EQ(r.flaky_tests.size(), 1u);
  const FailureReport& flaky = r.flaky_tests[0];
  EXPECT_TRUE(flaky.flaky);
  EXPECT_EQ(flaky.attempt, 0);
  EXPECT_EQ(flaky.attempts, 2);
  EXPECT_TRUE(flaky.evidence.rerun_passed);
  EXPECT_EQ(flaky.evidence.history.passed_clear, 1);  // the rerun at 45 s was quiet
  EXPECT_TRUE(flaky.evidence.rerun_passed_clear);
  EXPECT_EQ(flaky.verdict, Verdict::kContention);
  EXPECT_EQ(flaky.evidence.decided_by, Basis::kClearRerun);

  EXPECT_EQ(r.verdict_counts.at("contention"), 1);
  EXPECT_EQ(r.verdict_counts.at("contention-possible"), 1);
  EXPECT_EQ(r.verdict_counts.at("fails-regardless"), 1);
  EXPECT_EQ(r.verdict_counts.at("no-contention"), 1);
  EXPECT_EQ(r.verdict_counts.at("no-data"), 2);
  EXPECT_EQ(r.nodes, (std::vector<std::string>{"ci-1", "ci-2"}));
}

TEST_F(AttributeRunTest, RerunPassInAContendedWindowIsNotAClearPass) {
  executions_ = {Exec("t::flaky", 25, 1, Outcome::kFailed, 0),
                 Exec("t::flaky", 35, 1, Outcome::kPassed, 1)};
  history_.clear();
  RunReport r = Run();
  ASSERT_EQ(r.flaky_tests.size(), 1u);
  const FailureReport& f = r.flaky_tests[0];
  EXPECT_TRUE(f.evidence.rerun_passed);
  EXPECT_FALSE(f.evidence.rerun_passed_clear);
  EXPECT_EQ(f.evidence.history.passed_contended, 1);
  EXPECT_EQ(f.verdict, Verdict::kContentionPossible);
  EXPECT_EQ(f.evidence.decided_by, Basis::kNotDiscriminating);
  EXPECT_FALSE(f.assessment.culprits.empty());  // possible: the burner is still named
}

// pytest's JUnit with reruns: starts are rebuilt from the suite's timestamp and durations
// (one chain, one after another), and reruns' delays are left out, so every test may have
// run up to G = results end - chain end later. The burner runs 20-40 s; the chain ends at
// 44 s and the results were written at 50 s: G = 6 s.
TEST_F(AttributeRunTest, ReconstructedWindowsNeedTheWholeUncertainSpanContended) {
  auto approx = [](std::string id, int64_t start_s, double duration_s, Outcome outcome,
                   int attempt = 0) {
    TestExecution e = Exec(std::move(id), start_s, duration_s, outcome, attempt);
    e.timing_approximate = true;
    e.upload_id = 7;
    return e;
  };
  executions_ = {approx("t::cpu", 22, 2, Outcome::kFailed, 0),
                 approx("t::cpu", 24, 2, Outcome::kFailed, 1),
                 approx("t::fill", 26, 10, Outcome::kPassed),
                 approx("t::late_bug", 36, 1, Outcome::kFailed),
                 approx("t::fill2", 37, 6, Outcome::kPassed),
                 approx("t::after", 43, 1, Outcome::kFailed)};
  history_.clear();
  options_.results_end_ns = kT0 + 50 * kSecond;
  std::vector<int64_t> u = StartUncertainty(executions_, options_, WindowConfig{});
  EXPECT_EQ(u, std::vector<int64_t>(6, 6 * kSecond));

  RunReport r = Run();
  const FailureReport& cpu = Find(r.failures, "t::cpu");
  EXPECT_EQ(cpu.evidence.placements, 7);  // 0, 1, ..., 6 s later
  EXPECT_EQ(cpu.evidence.placements_contended, 7);
  EXPECT_EQ(cpu.evidence.history.failed_contended, 1);  // its first attempt, all of it loud
  EXPECT_EQ(cpu.verdict, Verdict::kContentionPossible);
  EXPECT_EQ(cpu.evidence.decided_by, Basis::kNotDiscriminating);
  // Placed as reconstructed it ran in the burst; 6 s later it did not.
  const FailureReport& late = Find(r.failures, "t::late_bug");
  EXPECT_TRUE(late.assessment.contended);
  EXPECT_GT(late.evidence.placements_contended, 0);
  EXPECT_LT(late.evidence.placements_contended, late.evidence.placements);
  EXPECT_EQ(late.verdict, Verdict::kContentionPossible);
  EXPECT_EQ(late.evidence.decided_by, Basis::kUncertainWindow);
  EXPECT_FALSE(late.evidence.fisher_p);
  EXPECT_NE(EvidenceSummary(late.evidence).find("up to 6.0 s later"), std::string::npos)
      << EvidenceSummary(late.evidence);
  EXPECT_EQ(Find(r.failures, "t::after").verdict, Verdict::kNoContention);

  // Without the time the results were written: slack per rerun before it in the chain.
  options_.results_end_ns.reset();
  u = StartUncertainty(executions_, options_, WindowConfig{});
  EXPECT_EQ(u, (std::vector<int64_t>{5 * kSecond, 10 * kSecond, 10 * kSecond, 10 * kSecond,
                                     10 * kSecond, 10 * kSecond}));
  // Exact times have none; neither do chains of other uploads.
  executions_[0].timing_approximate = false;
  executions_[1].upload_id = 8;
  u = StartUncertainty(executions_, options_, WindowConfig{});
  EXPECT_EQ(u[0], 0);
  EXPECT_EQ(u[1], 10 * kSecond);
  EXPECT_EQ(u[2], 5 * kSecond);
}

TEST_F(AttributeRunTest, NoDataReasons) {
  // Window after the last sample: not covered yet. Window inside a gap: clock gap.
  std::vector<Sample>& s = samples_["ci-1"];
  for (size_t i = 30; i < s.size(); ++i) {
    s[i].wall_ns += 60 * kSecond;
    s[i].mono_ns += 60 * kSecond;
  }
  executions_ = {Exec("t::late", 200, 1, Outcome::kFailed), Exec("t::gap", 45, 1, Outcome::kFailed),
                 Exec("t::early", -100, 1, Outcome::kFailed)};
  executions_.push_back(Exec("t::nostart", 0, 1, Outcome::kFailed));
  executions_.back().start_ns.reset();
  RunReport r = Run();
  EXPECT_EQ(Find(r.failures, "t::late").reason.rfind("window not covered yet", 0), 0u)
      << Find(r.failures, "t::late").reason;
  EXPECT_EQ(Find(r.failures, "t::gap").reason.rfind("clock gap", 0), 0u)
      << Find(r.failures, "t::gap").reason;
  EXPECT_EQ(Find(r.failures, "t::early").reason.rfind("no agent on node ci-1 at that time", 0), 0u)
      << Find(r.failures, "t::early").reason;
  EXPECT_EQ(Find(r.failures, "t::nostart").reason.rfind("no start time", 0), 0u);
  for (const FailureReport& f : r.failures) EXPECT_EQ(f.verdict, Verdict::kNoData);
}

TEST_F(AttributeRunTest, TimelineStacksCpuByCgroupAndMarksFailures) {
  RunReport r = Run();
  ASSERT_EQ(r.timelines.size(), 1u);  // ci-2 has no samples
  const NodeTimeline& t = r.timelines[0];
  EXPECT_EQ(t.node, "ci-1");
  EXPECT_EQ(t.cpus, 4);
  ASSERT_FALSE(t.t_ns.empty());
  EXPECT_EQ(t.cpu_busy.size(), t.t_ns.size());
  ASSERT_FALSE(t.cpu_cores_by_group.empty());
  EXPECT_EQ(t.cpu_cores_by_group[0].first, "/system.slice/stress.service");
  double peak = 0;
  for (double v : t.cpu_cores_by_group[0].second) peak = std::max(peak, v);
  EXPECT_NEAR(peak, 3.4, 1e-3);
  EXPECT_EQ(t.marks.size(), 5u);  // four judged failures on ci-1 + the flaky attempt
}

TEST_F(AttributeRunTest, KubernetesPodIsNotItsOwnCulpritAndThrottlingIsOwnLimit) {
  Tick t;
  t.busy = 0.3;
  t.cgroups = {testing::OwnPod(1.0, 0.6), testing::Pod("batch", "etl", 0.2)};
  NodeScenario s;
  s.Repeat(10, t);
  samples_ = {{"k8s-1", s.samples()}};
  executions_ = {Exec("t::slow", 3, 2, Outcome::kFailed, 0, "k8s-1")};
  executions_[0].pod_namespace = "ci";
  executions_[0].pod_name = "runner-1";
  options_ = {};
  history_ = {{"t::slow", {{Outcome::kPassed, false}}}};
  RunReport r = Run();
  ASSERT_EQ(r.failures.size(), 1u);
  const FailureReport& f = r.failures[0];
  EXPECT_EQ(f.verdict, Verdict::kContentionPossible);  // one clear pass does not discriminate
  EXPECT_EQ(f.pod, "ci/runner-1");
  ASSERT_EQ(f.assessment.culprits.size(), 1u);
  EXPECT_EQ(f.assessment.culprits[0].kind, CulpritKind::kOwnLimit);
  EXPECT_EQ(f.assessment.culprits[0].name, "ci/runner-1");
}

}  // namespace
}  // namespace jostle::collector
