// BuildRunReport over the real SQLite store (":memory:"): samples in through PutBatch,
// results in through PutResults, verdicts out.
#include <gtest/gtest.h>

#include "collector/attribution/run_report.h"
#include "collector/attribution/test_scenario.h"
#include "collector/store/stores.h"

namespace jostle::collector {
namespace {

using testing::Cgroup;
using testing::kSecond;
using testing::kT0;
using testing::NodeScenario;
using testing::Tick;

TestCase Case(const std::string& name, std::vector<std::pair<Outcome, int64_t>> attempts) {
  TestCase c;
  c.id = "suite::" + name;
  c.suite = "suite";
  c.classname = "suite";
  c.name = name;
  for (const auto& [outcome, start_s] : attempts) {
    TestAttempt a;
    a.outcome = outcome;
    a.start_ns = kT0 + start_s * kSecond;
    a.duration_s = 1.5;
    if (outcome != Outcome::kPassed) a.message = "assert elapsed < budget";
    c.attempts.push_back(a);
  }
  return c;
}

class BuildRunReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStores(":memory:");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    // ci-1: quiet 0–20 s, stress.service burning all CPUs 20–40 s, quiet 40–60 s.
    Tick quiet;
    quiet.busy = 0.15;
    testing::CgroupTick pod = testing::OwnPod(0.5);
    quiet.cgroups = {Cgroup("/user.slice/ci.scope", 0.5),
                     Cgroup("/system.slice/cron.service", 0.05), pod};
    Tick noisy = quiet;
    noisy.busy = 0.99;
    noisy.psi_cpu = 0.5;
    noisy.cgroups[0].psi_cpu = noisy.cgroups[2].psi_cpu = 0.4;  // the tests felt it
    noisy.cgroups.push_back(Cgroup("/system.slice/stress.service", 3.4));
    NodeScenario s;
    s.Repeat(21, quiet).Repeat(20, noisy).Repeat(20, quiet);
    // Ship in batches of 10 ticks, as the agent does.
    for (size_t i = 0, seq = 0; i < s.samples().size(); i += 10, ++seq) {
      SampleBatch b;
      b.node = "ci-1";
      b.boot_id = "boot-1";
      b.agent_start_ns = kT0 - kSecond;
      b.seq = seq;
      b.agent_version = "test";
      b.interval_ns = kSecond;
      for (size_t j = i; j < std::min(i + 10, s.samples().size()); ++j) {
        b.samples.push_back(s.samples()[j]);
      }
      auto put = store_->samples().PutBatch(b);
      ASSERT_TRUE(put.ok()) << put.status().ToString();
    }
  }

  // Ships `s` as node `node`'s samples, in batches of 10 ticks as the agent does.
  void PutSamples(const std::string& node, const NodeScenario& s) {
    for (size_t i = 0, seq = 0; i < s.samples().size(); i += 10, ++seq) {
      SampleBatch b;
      b.node = node;
      b.boot_id = "boot-1";
      b.agent_start_ns = kT0 - kSecond;
      b.seq = seq;
      b.agent_version = "test";
      b.interval_ns = kSecond;
      for (size_t j = i; j < std::min(i + 10, s.samples().size()); ++j) {
        b.samples.push_back(s.samples()[j]);
      }
      auto put = store_->samples().PutBatch(b);
      ASSERT_TRUE(put.ok()) << put.status().ToString();
    }
  }

  void Put(const std::string& run, std::vector<TestCase> tests, const std::string& node,
           const std::string& pod = "") {
    ResultOrigin origin;
    origin.run = run;
    origin.job = "unit";
    origin.node = node;
    if (!pod.empty()) {
      origin.pod_namespace = pod.substr(0, pod.find('/'));
      origin.pod_name = pod.substr(pod.find('/') + 1);
    }
    origin.source = "junit.xml";
    ResultSet set;
    set.format = "junit";
    set.tests = std::move(tests);
    auto put = StoreResults(store_->samples(), store_->results(), origin, set);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  static const FailureReport* Find(const std::vector<FailureReport>& list, const std::string& id) {
    for (const FailureReport& f : list) {
      if (f.test_id == id) return &f;
    }
    return nullptr;
  }

  std::unique_ptr<Stores> store_;
};

TEST_F(BuildRunReportTest, BurnerIsTheCulpritAndTheGenuineBugFailsRegardless) {
  // Run 1 on the quiet machine; run 2 while the burner runs.
  Put("quiet", {Case("timing", {{Outcome::kPassed, 5}}), Case("bug", {{Outcome::kFailed, 8}})},
      "ci-1");
  Put("noisy",
      {Case("timing", {{Outcome::kFailed, 25}}), Case("bug", {{Outcome::kFailed, 28}}),
       Case("retried", {{Outcome::kFailed, 30}, {Outcome::kPassed, 45}}),
       Case("fine", {{Outcome::kPassed, 31}})},
      "ci-1");
  ReportOptions options;
  options.self_cgroup = "/user.slice/ci.scope";
  auto report =
      BuildRunReport(store_->samples(), store_->results(), "noisy", AttributionConfig{}, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->tests, 4);
  EXPECT_EQ(report->failed, 2);
  EXPECT_EQ(report->flaky, 1);

  const FailureReport* timing = Find(report->failures, "suite::timing");
  ASSERT_NE(timing, nullptr);
  // One clear pass does not discriminate: possible, with the burner named.
  EXPECT_EQ(timing->verdict, Verdict::kContentionPossible) << timing->reason;
  EXPECT_EQ(timing->evidence.decided_by, Basis::kNotDiscriminating);
  EXPECT_EQ(timing->assessment.resource, Resource::kCpu);
  ASSERT_FALSE(timing->assessment.culprits.empty());
  EXPECT_EQ(timing->assessment.culprits[0].kind, CulpritKind::kCgroup);
  EXPECT_EQ(timing->assessment.culprits[0].name, "/system.slice/stress.service");
  EXPECT_EQ(timing->evidence.history.passed_clear, 1);

  const FailureReport* bug = Find(report->failures, "suite::bug");
  ASSERT_NE(bug, nullptr);
  EXPECT_EQ(bug->verdict, Verdict::kFailsRegardless);
  EXPECT_EQ(bug->evidence.history.failed_clear, 1);

  ASSERT_EQ(report->flaky_tests.size(), 1u);
  EXPECT_EQ(report->flaky_tests[0].test_id, "suite::retried");
  EXPECT_EQ(report->flaky_tests[0].verdict, Verdict::kContention);  // the rerun at 45 s was clear
  EXPECT_EQ(report->flaky_tests[0].evidence.decided_by, Basis::kClearRerun);

  ASSERT_EQ(report->timelines.size(), 1u);
  EXPECT_FALSE(report->timelines[0].t_ns.empty());
}

TEST_F(BuildRunReportTest, NoHistoryIsContentionPossibleAndUnknownNodeIsNoData) {
  Put("first", {Case("timing", {{Outcome::kFailed, 25}})}, "ci-1");
  Put("first", {Case("remote", {{Outcome::kFailed, 25}})}, "ci-9");
  auto report = BuildRunReport(store_->samples(), store_->results(), "first", AttributionConfig{});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const FailureReport* timing = Find(report->failures, "suite::timing");
  ASSERT_NE(timing, nullptr);
  EXPECT_EQ(timing->verdict, Verdict::kContentionPossible);
  const FailureReport* remote = Find(report->failures, "suite::remote");
  ASSERT_NE(remote, nullptr);
  EXPECT_EQ(remote->verdict, Verdict::kNoData);
  EXPECT_EQ(remote->reason.rfind("no agent on node ci-9", 0), 0u) << remote->reason;
}

TEST_F(BuildRunReportTest, PodIsResolvedToItsNode) {
  Put("k8s", {Case("timing", {{Outcome::kFailed, 25}})}, "", "ci/runner-1");
  auto report = BuildRunReport(store_->samples(), store_->results(), "k8s", AttributionConfig{});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->failures.size(), 1u);
  const FailureReport& f = report->failures[0];
  EXPECT_EQ(f.node, "ci-1") << f.reason;
  EXPECT_EQ(f.pod, "ci/runner-1");
  EXPECT_TRUE(f.signals.pod_found);
  EXPECT_EQ(f.verdict, Verdict::kContentionPossible);
}

TEST_F(BuildRunReportTest, SparseReadsJudgeLikeWholeReadsAndThinTheTimeline) {
  Put("quiet", {Case("timing", {{Outcome::kPassed, 5}}), Case("bug", {{Outcome::kFailed, 8}})},
      "ci-1");
  Put("noisy",
      {Case("timing", {{Outcome::kFailed, 25}}), Case("bug", {{Outcome::kFailed, 28}}),
       Case("retried", {{Outcome::kFailed, 30}, {Outcome::kPassed, 45}}),
       Case("fine", {{Outcome::kPassed, 31}})},
      "ci-1");
  ReportOptions whole_options;
  whole_options.self_cgroup = "/user.slice/ci.scope";
  whole_options.history_cache = false;
  ReportOptions sparse_options = whole_options;
  sparse_options.max_timeline_points = 8;  // the run spans ~20 s: read around windows only
  auto whole = BuildRunReport(store_->samples(), store_->results(), "noisy", AttributionConfig{},
                              whole_options);
  auto sparse = BuildRunReport(store_->samples(), store_->results(), "noisy", AttributionConfig{},
                               sparse_options);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  ASSERT_TRUE(sparse.ok()) << sparse.status().ToString();
  ASSERT_EQ(whole->failures.size(), sparse->failures.size());
  for (size_t i = 0; i < whole->failures.size(); ++i) {
    const FailureReport& w = whole->failures[i];
    const FailureReport& s = sparse->failures[i];
    EXPECT_EQ(w.test_id, s.test_id);
    EXPECT_EQ(w.verdict, s.verdict) << w.test_id;
    EXPECT_EQ(w.signals.node_points, s.signals.node_points) << w.test_id;
    EXPECT_EQ(w.signals.values, s.signals.values) << w.test_id;
    EXPECT_EQ(w.assessment.culprits.size(), s.assessment.culprits.size()) << w.test_id;
    EXPECT_EQ(w.evidence.history.passed_clear, s.evidence.history.passed_clear) << w.test_id;
    EXPECT_EQ(w.evidence.history.failed_clear, s.evidence.history.failed_clear) << w.test_id;
  }
  ASSERT_EQ(sparse->flaky_tests.size(), 1u);
  EXPECT_EQ(sparse->flaky_tests[0].verdict, whole->flaky_tests[0].verdict);
  ASSERT_EQ(sparse->timelines.size(), 1u);
  ASSERT_EQ(whole->timelines.size(), 1u);
  EXPECT_FALSE(sparse->timelines[0].t_ns.empty());
  EXPECT_LE(sparse->timelines[0].t_ns.size(), 10u);
  EXPECT_LT(sparse->timelines[0].t_ns.size(), whole->timelines[0].t_ns.size());
}

TEST_F(BuildRunReportTest, HistoryClassificationsAreCachedInTheStore) {
  Put("quiet", {Case("timing", {{Outcome::kPassed, 5}})}, "ci-1");
  Put("noisy", {Case("timing", {{Outcome::kFailed, 25}})}, "ci-1");
  auto before = store_->results().TestHistory("suite::timing", "noisy", 10);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 1u);
  EXPECT_FALSE((*before)[0].contended.has_value());

  auto first = BuildRunReport(store_->samples(), store_->results(), "noisy", AttributionConfig{});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto after = store_->results().TestHistory("suite::timing", "noisy", 10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  ASSERT_TRUE((*after)[0].contended.has_value());
  EXPECT_FALSE(*(*after)[0].contended);  // the quiet window at 5 s

  // The cached value is what a later report uses: flip it and the evidence follows.
  ASSERT_TRUE(store_->results().SetContended((*after)[0].id, true, "cpu").ok());
  auto cached = BuildRunReport(store_->samples(), store_->results(), "noisy", AttributionConfig{});
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  ASSERT_EQ(cached->failures.size(), 1u);
  EXPECT_EQ(cached->failures[0].evidence.history.passed_contended, 1);
  EXPECT_EQ(cached->failures[0].evidence.history.passed_clear, 0);
  ReportOptions recompute;
  recompute.history_cache = false;
  auto fresh =
      BuildRunReport(store_->samples(), store_->results(), "noisy", AttributionConfig{}, recompute);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->failures[0].evidence.history.passed_clear, 1);
}

TEST_F(BuildRunReportTest, UnknownRunIsNotFound) {
  auto report = BuildRunReport(store_->samples(), store_->results(), "nope", AttributionConfig{});
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().IsNotFound()) << report.status().ToString();
}

// A long run reads the samples just around each window first, and around it with the wide
// margin where a series has a hole near the window (the burner was missed for 3 ticks):
// every window judges as the whole read does, hole or not.
TEST_F(BuildRunReportTest, NearReadsJudgeLikeWholeReadsWithHolesInASeries) {
  NodeScenario s;
  for (int i = 0; i < 120; ++i) {
    Tick t;
    t.busy = (i >= 20 && i < 90) ? 0.97 : 0.2;
    t.psi_cpu = t.busy > 0.9 ? 0.4 : 0.0;
    t.cgroups = {Cgroup("/user.slice/ci.scope", 0.5), testing::OwnPod(0.5),
                 testing::Pod("batch", "etl", 0.2 + 0.01 * i)};
    t.cgroups[0].psi_cpu = t.cgroups[1].psi_cpu = t.psi_cpu;
    // stress.service from 20 s, missed by the agent at 40-42 s and 70-73 s.
    if (i >= 20 && i < 90 && !(i >= 40 && i <= 42) && !(i >= 70 && i <= 73)) {
      t.cgroups.push_back(Cgroup("/system.slice/stress.service", 3.0 + 0.02 * i));
    }
    s.Add(t);
  }
  PutSamples("ci-2", s);
  // Windows apart from each other (their near reads do not merge): before the burner, on
  // its start, starting just after a hole (43 s), ending just before one (67 s), after it.
  std::vector<TestCase> tests;
  int n = 0;
  for (int64_t start : {0, 10, 22, 43, 55, 67, 80, 100, 115}) {
    tests.push_back(Case("t" + std::to_string(n++), {{Outcome::kFailed, start}}));
  }
  tests.push_back(Case("retried", {{Outcome::kFailed, 30}, {Outcome::kPassed, 90}}));
  Put("earlier", {Case("t3", {{Outcome::kPassed, 47}}), Case("t5", {{Outcome::kPassed, 61}})},
      "ci-2");
  Put("holes", std::move(tests), "ci-2", "ci/runner-1");
  ReportOptions whole_options;
  whole_options.history_cache = false;
  ReportOptions sparse_options = whole_options;
  sparse_options.max_timeline_points = 20;  // the run spans ~117 s: read around windows only
  auto whole = BuildRunReport(store_->samples(), store_->results(), "holes", AttributionConfig{},
                              whole_options);
  auto sparse = BuildRunReport(store_->samples(), store_->results(), "holes", AttributionConfig{},
                               sparse_options);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  ASSERT_TRUE(sparse.ok()) << sparse.status().ToString();
  ASSERT_EQ(whole->failures.size(), 9u);
  ASSERT_EQ(sparse->failures.size(), whole->failures.size());
  auto expect_same = [](const FailureReport& w, const FailureReport& s) {
    EXPECT_EQ(w.test_id, s.test_id);
    EXPECT_EQ(w.verdict, s.verdict) << w.test_id;
    EXPECT_EQ(w.reason, s.reason) << w.test_id;
    EXPECT_EQ(w.signals.window_start_ns, s.signals.window_start_ns) << w.test_id;
    EXPECT_EQ(w.signals.node_points, s.signals.node_points) << w.test_id;
    EXPECT_EQ(w.signals.values, s.signals.values) << w.test_id;
    ASSERT_EQ(w.signals.neighbours.size(), s.signals.neighbours.size()) << w.test_id;
    for (size_t i = 0; i < w.signals.neighbours.size(); ++i) {
      EXPECT_EQ(w.signals.neighbours[i].id, s.signals.neighbours[i].id) << w.test_id;
      EXPECT_EQ(w.signals.neighbours[i].cpu_us, s.signals.neighbours[i].cpu_us) << w.test_id;
    }
    ASSERT_EQ(w.assessment.culprits.size(), s.assessment.culprits.size()) << w.test_id;
    for (size_t i = 0; i < w.assessment.culprits.size(); ++i) {
      EXPECT_EQ(w.assessment.culprits[i].name, s.assessment.culprits[i].name) << w.test_id;
      EXPECT_EQ(w.assessment.culprits[i].share, s.assessment.culprits[i].share) << w.test_id;
    }
    EXPECT_EQ(w.evidence.history.passed_clear, s.evidence.history.passed_clear) << w.test_id;
    EXPECT_EQ(w.evidence.history.passed_contended, s.evidence.history.passed_contended)
        << w.test_id;
  };
  for (size_t i = 0; i < whole->failures.size(); ++i) {
    expect_same(whole->failures[i], sparse->failures[i]);
  }
  ASSERT_EQ(whole->flaky_tests.size(), 1u);
  ASSERT_EQ(sparse->flaky_tests.size(), 1u);
  expect_same(whole->flaky_tests[0], sparse->flaky_tests[0]);
  // The windows on the holes do see the burner across them (its rate spans the hole).
  const FailureReport* on_hole = Find(whole->failures, "suite::t3");  // 43 s
  ASSERT_NE(on_hole, nullptr);
  ASSERT_FALSE(on_hole->assessment.culprits.empty());
  EXPECT_EQ(on_hole->assessment.culprits[0].name, "/system.slice/stress.service");
}

}  // namespace
}  // namespace jostle::collector
