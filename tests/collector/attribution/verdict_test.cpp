#include "collector/attribution/verdict.h"

#include <gtest/gtest.h>

namespace jostle::collector {
namespace {

Signals With(std::map<std::string, double> peaks) {
  Signals s;
  s.node_points = 3;
  for (const auto& [name, v] : peaks) s.values[name] = SignalStat{v, v / 2, 3};
  return s;
}

struct ThresholdCase {
  const char* signal;
  double below;
  double at;
  Resource resource;
};

class Thresholds : public ::testing::TestWithParam<ThresholdCase> {};

TEST_P(Thresholds, CrossesAtItsDefault) {
  AttributionConfig config;
  config.felt.psi_some = 0;  // node-level signals count alone (the Felt tests cover the rest)
  const ThresholdCase& k = GetParam();
  WindowAssessment quiet = AssessWindow(With({{k.signal, k.below}}), config);
  EXPECT_FALSE(quiet.contended) << k.signal;
  WindowAssessment loud = AssessWindow(With({{k.signal, k.at}}), config);
  ASSERT_TRUE(loud.contended) << k.signal;
  EXPECT_EQ(loud.resource, k.resource);
  ASSERT_EQ(loud.crossings.size(), 1u);
  EXPECT_EQ(loud.crossings[0].signal, k.signal);
  EXPECT_NEAR(loud.crossings[0].severity, 1.0, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(
    Table, Thresholds,
    ::testing::Values(ThresholdCase{kNodeCpuBusy, 0.89, 0.90, Resource::kCpu},
                      ThresholdCase{kNodeCpuPsiSome, 0.19, 0.20, Resource::kCpu},
                      ThresholdCase{kPodCpuPsiSome, 0.19, 0.20, Resource::kCpu},
                      ThresholdCase{kPodThrottle, 0.24, 0.25, Resource::kCpu},
                      ThresholdCase{kNodeMemoryPsiSome, 0.09, 0.10, Resource::kMemory},
                      ThresholdCase{kPodMemoryPsiSome, 0.09, 0.10, Resource::kMemory},
                      ThresholdCase{kNodeMemoryPsiFull, 0.049, 0.05, Resource::kMemory},
                      ThresholdCase{kPodMemoryPsiFull, 0.049, 0.05, Resource::kMemory},
                      ThresholdCase{kPodOomKills, 0, 1, Resource::kMemory},
                      ThresholdCase{kPodWorkingSet, 0.94, 0.95, Resource::kMemory},
                      ThresholdCase{kNodeIoPsiSome, 0.19, 0.20, Resource::kIo},
                      ThresholdCase{kPodIoPsiSome, 0.19, 0.20, Resource::kIo},
                      ThresholdCase{kNodeNetUtilisation, 0.79, 0.80, Resource::kNetwork},
                      ThresholdCase{kNodeNetDrops, 0, 1, Resource::kNetwork},
                      ThresholdCase{kPodNetDrops, 0, 1, Resource::kNetwork},
                      ThresholdCase{kNodeTcpRetrans, 0.019, 0.02, Resource::kNetwork}),
    [](const auto& info) {
      std::string n = info.param.signal;
      for (char& c : n) {
        if (c == '.') c = '_';
      }
      return n;
    });

TEST(Assess, InformationalSignalsNeverContend) {
  AttributionConfig config;
  EXPECT_FALSE(AssessWindow(With({{kNodeMemoryUsed, 1.0}, {kPodCpuCores, 64}}), config).contended);
}

TEST(Assess, MostSevereResourceWinsAndSeverityIsValueOverThreshold) {
  AttributionConfig config;
  // cpu 0.95/0.90 = 1.056; io 0.5/0.2 = 2.5.
  WindowAssessment a = AssessWindow(With({{kNodeCpuBusy, 0.95}, {kNodeIoPsiSome, 0.5}}), config);
  ASSERT_TRUE(a.contended);
  EXPECT_EQ(a.resource, Resource::kIo);
  EXPECT_NEAR(a.severity, 2.5, 1e-9);
  ASSERT_EQ(a.crossings.size(), 2u);
  EXPECT_EQ(a.crossings[1].signal, kNodeCpuBusy);
  // Counts: 1 + log10(value / threshold).
  WindowAssessment d = AssessWindow(With({{kPodNetDrops, 100}}), config);
  EXPECT_NEAR(d.severity, 3.0, 1e-9);
}

TEST(Assess, MeanStatisticAndDisabledThresholds) {
  AttributionConfig config;
  config.window.use_mean = true;
  EXPECT_FALSE(AssessWindow(With({{kNodeCpuBusy, 0.95}}), config).contended);  // mean 0.475
  EXPECT_TRUE(AssessWindow(With({{kNodeCpuBusy, 1.9}}), config).contended);
  AttributionConfig off;
  off.cpu.node_busy = 0;
  EXPECT_FALSE(AssessWindow(With({{kNodeCpuBusy, 1.0}}), off).contended);
}

// Point 5 of the method: a node-level signal counts only when the own cgroup felt it.
TEST(Felt, NodeIoPressureTheTestNeverFeltIsNodeOnly) {
  AttributionConfig config;
  // An unrelated cgroup saturates the disk; the test (CPU only) stalled on io 1% of the time.
  WindowAssessment unfelt =
      AssessWindow(With({{kNodeIoPsiSome, 0.6}, {kPodIoPsiSome, 0.01}}), config);
  EXPECT_FALSE(unfelt.contended);
  EXPECT_FALSE(unfelt.resource);
  ASSERT_EQ(unfelt.crossings.size(), 1u);  // still shown
  EXPECT_EQ(unfelt.crossings[0].felt, Felt::kNodeOnly);
  EXPECT_TRUE(unfelt.culprits.empty());
  // The test's own io PSI shows it waited: decisive.
  WindowAssessment felt = AssessWindow(With({{kNodeIoPsiSome, 0.6}, {kPodIoPsiSome, 0.15}}), config);
  ASSERT_TRUE(felt.contended);
  EXPECT_EQ(felt.resource, Resource::kIo);
  EXPECT_EQ(felt.crossings[0].felt, Felt::kFelt);
  // No reading of its own (no cgroup PSI on this host): counted, marked unverified.
  WindowAssessment unknown = AssessWindow(With({{kNodeIoPsiSome, 0.6}}), config);
  ASSERT_TRUE(unknown.contended);
  EXPECT_EQ(unknown.crossings[0].felt, Felt::kUnverified);
  // felt.psi_some = 0: node-level signals count as before.
  config.felt.psi_some = 0;
  EXPECT_TRUE(AssessWindow(With({{kNodeIoPsiSome, 0.6}, {kPodIoPsiSome, 0.0}}), config).contended);
}

TEST(Felt, DecisiveCrossingsComeFirstAndGiveTheResource) {
  AttributionConfig config;
  // Cross traffic's retransmits are severe but node-only; the CPU stall was felt.
  WindowAssessment a = AssessWindow(
      With({{kNodeTcpRetrans, 0.2}, {kNodeCpuBusy, 0.95}, {kPodCpuPsiSome, 0.1}}), config);
  ASSERT_TRUE(a.contended);
  EXPECT_EQ(a.resource, Resource::kCpu);
  ASSERT_EQ(a.crossings.size(), 2u);
  EXPECT_EQ(a.crossings[0].signal, kNodeCpuBusy);
  EXPECT_EQ(a.crossings[0].felt, Felt::kFelt);
  EXPECT_EQ(a.crossings[1].signal, kNodeTcpRetrans);
  EXPECT_EQ(a.crossings[1].felt, Felt::kNodeOnly);  // no own network counters
  // Own throttling is the test feeling the CPU too.
  WindowAssessment t =
      AssessWindow(With({{kNodeCpuBusy, 0.95}, {kPodCpuPsiSome, 0.0}, {kPodThrottle, 0.5}}),
                   config);
  ASSERT_TRUE(t.contended);
  EXPECT_EQ(t.crossings.size(), 2u);
  for (const Crossing& c : t.crossings) EXPECT_NE(c.felt, Felt::kNodeOnly) << c.signal;
  // The pod's own drops make node-level network signals count.
  WindowAssessment n = AssessWindow(With({{kNodeTcpRetrans, 0.2}, {kPodNetDrops, 3}}), config);
  ASSERT_TRUE(n.contended);
  EXPECT_EQ(n.resource, Resource::kNetwork);
  EXPECT_STREQ(FeltName(Felt::kNodeOnly), "node-only");
}

NeighbourUsage Neighbour(Scope scope, std::string name, std::string ns, double cpu_us) {
  NeighbourUsage u;
  u.scope = scope;
  u.id = name;
  u.name = std::move(name);
  u.namespace_name = std::move(ns);
  u.cpu_us = cpu_us;
  return u;
}

TEST(Culprits, RankedByShareOfNodeBusyWithNamespaces) {
  AttributionConfig config;
  Signals s = With({{kNodeCpuBusy, 0.97}});
  s.node_cpu_busy_us = 10e6;
  s.neighbours = {Neighbour(Scope::kPod, "batch/a", "batch", 3e6),
                  Neighbour(Scope::kPod, "batch/b", "batch", 2.5e6),
                  Neighbour(Scope::kCgroup, "/system.slice/backup.service", "", 4e6),
                  Neighbour(Scope::kPod, "web/w", "web", 0.05e6)};
  WindowAssessment a = AssessWindow(s, config);
  ASSERT_GE(a.culprits.size(), 4u);
  EXPECT_EQ(a.culprits[0].kind, CulpritKind::kNamespace);
  EXPECT_EQ(a.culprits[0].name, "batch");
  EXPECT_NEAR(a.culprits[0].share, 0.55, 1e-9);
  EXPECT_EQ(a.culprits[1].kind, CulpritKind::kCgroup);
  EXPECT_EQ(a.culprits[1].name, "/system.slice/backup.service");
  EXPECT_NEAR(a.culprits[1].share, 0.4, 1e-9);
  EXPECT_EQ(a.culprits[2].name, "batch/a");
  EXPECT_EQ(a.culprits[3].name, "batch/b");
  // web/w used 0.5%: below min_share (1%).
  for (const Culprit& c : a.culprits) EXPECT_NE(c.name, "web/w");
  config.culprits.max = 2;
  EXPECT_EQ(AssessWindow(s, config).culprits.size(), 2u);
}

TEST(Culprits, OwnCpuLimitWhenOnlyThrottled) {
  AttributionConfig config;
  Signals s = With({{kPodThrottle, 0.6}});
  s.pod_label = "ci/runner-1";
  s.pod_cpu_limit_cores = 0.5;
  s.node_cpu_busy_us = 1e6;
  s.neighbours = {Neighbour(Scope::kPod, "batch/a", "batch", 0.5e6)};
  WindowAssessment a = AssessWindow(s, config);
  ASSERT_EQ(a.culprits.size(), 1u);  // the node was not contended: neighbours do not matter
  EXPECT_EQ(a.culprits[0].kind, CulpritKind::kOwnLimit);
  EXPECT_EQ(a.culprits[0].name, "ci/runner-1");
  EXPECT_NEAR(a.culprits[0].share, 0.6, 1e-9);
  EXPECT_NE(a.culprits[0].detail.find("0.50 cores"), std::string::npos);
  s.throttled_container = "tests";
  EXPECT_EQ(AssessWindow(s, config).culprits[0].detail,
            "container tests throttled in 60% of CPU periods (cpu limit 0.50 cores)");
}

TEST(Culprits, OwnMemoryLimitFirstThenNeighbours) {
  AttributionConfig config;
  Signals s = With({{kPodWorkingSet, 0.99}, {kNodeMemoryPsiSome, 0.3}});
  s.pod_label = "ci/runner-1";
  s.node_mem_total_bytes = 1000;
  NeighbourUsage big = Neighbour(Scope::kPod, "data/db", "data", 0);
  big.working_set_bytes = 600;
  s.neighbours = {big};
  WindowAssessment a = AssessWindow(s, config);
  EXPECT_EQ(a.resource, Resource::kMemory);
  ASSERT_EQ(a.culprits.size(), 2u);
  EXPECT_EQ(a.culprits[0].kind, CulpritKind::kOwnLimit);
  EXPECT_EQ(a.culprits[1].name, "data/db");
  EXPECT_NEAR(a.culprits[1].share, 1.0, 1e-9);  // all of the candidates' memory use
}

// Memory culprits by what causes pressure: a page-cache-heavy reader stalling in reclaim
// outranks a larger but idle working set, and one whose charge grows counts too.
TEST(Culprits, MemoryRankedByPressureNotWorkingSet) {
  AttributionConfig config;
  Signals s = With({{kPodMemoryPsiSome, 0.3}});
  s.node_mem_total_bytes = 8e9;
  NeighbourUsage cache = Neighbour(Scope::kCgroup, "/job/cache", "", 0);
  cache.working_set_bytes = 500e6;
  cache.mem_usage_peak_bytes = 600e6;
  cache.memory_stall_us = 3e6;
  NeighbourUsage idle = Neighbour(Scope::kCgroup, "/system.slice/db.service", "", 0);
  idle.working_set_bytes = 900e6;
  idle.mem_usage_peak_bytes = 900e6;
  s.neighbours = {idle, cache};
  WindowAssessment a = AssessWindow(s, config);
  ASSERT_EQ(a.resource, Resource::kMemory);
  ASSERT_EQ(a.culprits.size(), 2u);
  EXPECT_EQ(a.culprits[0].name, "/job/cache");
  EXPECT_NEAR(a.culprits[0].share, (1.0 + 0.4) / 2, 1e-9);  // all the stall, 40% of charge
  EXPECT_EQ(a.culprits[0].detail, "stalled 3.0 s on memory, peak charge 572 MiB");
  EXPECT_NEAR(a.culprits[1].share, 0.6 / 2, 1e-9);
  // A neighbour whose charge grows by 300 MB in the window takes the lead.
  NeighbourUsage grower = Neighbour(Scope::kCgroup, "/user.slice/build.scope", "", 0);
  grower.mem_usage_peak_bytes = 400e6;
  grower.mem_growth_bytes = 300e6;
  grower.memory_stall_us = 2e6;
  s.neighbours.push_back(grower);
  a = AssessWindow(s, config);
  ASSERT_FALSE(a.culprits.empty());
  EXPECT_EQ(a.culprits[0].name, "/user.slice/build.scope");
}

struct VerdictCase {
  const char* name;
  bool has_data, contended, uncertain;
  HistoryCounts history;  // failed/passed contended, failed/passed clear, no data
  bool rerun_passed, rerun_passed_clear;
  Verdict want;
  Basis basis;
};

class Verdicts : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(Verdicts, Rule) {
  const VerdictCase& k = GetParam();
  Evidence e;
  VerdictInput in{k.has_data, k.contended, k.uncertain, k.history, k.rerun_passed,
                  k.rerun_passed_clear};
  EXPECT_EQ(DecideVerdict(in, HistoryConfig{}, &e), k.want) << k.name;
  EXPECT_EQ(e.decided_by, k.basis) << k.name << ": " << BasisName(e.decided_by);
  EXPECT_EQ(e.history, k.history);
  EXPECT_EQ(e.rerun_passed, k.rerun_passed);
  EXPECT_EQ(e.rerun_passed_clear, k.rerun_passed_clear);
  EXPECT_FALSE(EvidenceSummary(e).empty());
}

using B = Basis;
using V = Verdict;
INSTANTIATE_TEST_SUITE_P(
    Table, Verdicts,
    ::testing::Values(
        VerdictCase{"no_samples", false, false, false, {3, 0, 0, 5, 0}, false, false, V::kNoData,
                    B::kNoSamples},
        VerdictCase{"clear_window", true, false, false, {3, 0, 0, 5, 0}, false, false,
                    V::kNoContention, B::kClearWindow},
        VerdictCase{"contended_no_history", true, true, false, {}, false, false,
                    V::kContentionPossible, B::kNotDiscriminating},
        VerdictCase{"contended_only_contended_history", true, true, false, {2, 1, 0, 0, 4}, false,
                    false, V::kContentionPossible, B::kNotDiscriminating},
        // "Never failed in a clear window" is no proof: one clear pass gives p = 1/3.
        VerdictCase{"one_clear_pass_is_not_enough", true, true, false, {1, 0, 0, 1, 0}, false,
                    false, V::kContentionPossible, B::kNotDiscriminating},
        // A random flake that passed its 8 clear runs by chance: p = 1/9 = 0.11.
        VerdictCase{"flake_lucky_in_clear_runs", true, true, false, {0, 0, 0, 8, 0}, false,
                    false, V::kContentionPossible, B::kNotDiscriminating},
        // 4 clear passes, then the 2nd and 3rd contended failure: p = 1/15, then 1/35.
        VerdictCase{"second_contended_failure", true, true, false, {1, 0, 0, 4, 0}, false, false,
                    V::kContentionPossible, B::kNotDiscriminating},
        VerdictCase{"third_contended_failure", true, true, false, {2, 0, 0, 4, 0}, false, false,
                    V::kContention, B::kHistory},
        VerdictCase{"rerun_passed_clear_no_history", true, true, false, {}, true, true,
                    V::kContention, B::kClearRerun},
        // A rerun pass in a contended window is not a clear pass.
        VerdictCase{"rerun_passed_contended", true, true, false, {0, 1, 0, 0, 0}, true, false,
                    V::kContentionPossible, B::kNotDiscriminating},
        VerdictCase{"always_fails", true, true, false, {1, 0, 1, 0, 0}, false, false,
                    V::kFailsRegardless, B::kFailsWhenClear},
        // A rerun that failed in a clear window, counted in the history.
        VerdictCase{"new_bug_rerun_failed_clear", true, true, false, {0, 0, 1, 4, 0}, false,
                    false, V::kContentionPossible, B::kNotDiscriminating},
        VerdictCase{"fails_as_often_when_clear", true, true, false, {3, 3, 4, 4, 0}, false, false,
                    V::kFailsRegardless, B::kFailsWhenClear},
        VerdictCase{"markedly_more_under_contention", true, true, false, {9, 0, 1, 9, 0}, false,
                    false, V::kContention, B::kHistory},
        VerdictCase{"more_but_not_significant", true, true, false, {1, 1, 1, 2, 0}, false, false,
                    V::kContentionPossible, B::kNotDiscriminating},
        VerdictCase{"uncertain_window", true, false, true, {9, 0, 0, 9, 0}, false, false,
                    V::kContentionPossible, B::kUncertainWindow}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Verdicts, EvidenceRatesAndOneSidedFisherIncludeTheJudgedFailure) {
  Evidence e;
  VerdictInput in;
  in.has_data = true;
  in.contended = true;
  in.history = {9, 0, 1, 9, 0};
  EXPECT_EQ(DecideVerdict(in, HistoryConfig{}, &e), Verdict::kContention);
  EXPECT_NEAR(*e.failure_rate_contended, 1.0, 1e-12);
  EXPECT_NEAR(*e.failure_rate_clear, 0.1, 1e-12);
  // Table {10, 0; 1, 9}, one-sided (exact sum in rational arithmetic).
  EXPECT_NEAR(*e.fisher_p, 5.953798523457966e-05, 1e-10);
  EXPECT_EQ(EvidenceSummary(e),
            "history: fails 9/9 contended, 1/10 clear before, one-sided Fisher p = 5.95e-05 <= "
            "0.05");
  Evidence none;
  VerdictInput bare;
  bare.has_data = true;
  bare.contended = true;
  DecideVerdict(bare, HistoryConfig{}, &none);
  EXPECT_FALSE(none.fisher_p);
  EXPECT_FALSE(none.failure_rate_clear);
}

TEST(Verdicts, AlphaIsConfigurable) {
  VerdictInput in;
  in.has_data = true;
  in.contended = true;
  in.history = {0, 0, 0, 8, 0};  // p = 1/9
  HistoryConfig loose;
  loose.alpha = 0.12;
  Evidence e;
  EXPECT_EQ(DecideVerdict(in, loose, &e), Verdict::kContention);
  EXPECT_EQ(e.alpha, 0.12);
  EXPECT_EQ(DecideVerdict(in, HistoryConfig{}, nullptr), Verdict::kContentionPossible);
}

TEST(Names, RoundTrip) {
  for (Verdict v : {Verdict::kContention, Verdict::kContentionPossible, Verdict::kFailsRegardless,
                    Verdict::kNoContention, Verdict::kNoData}) {
    EXPECT_EQ(ParseVerdict(VerdictName(v)), v);
  }
  EXPECT_FALSE(ParseVerdict("maybe"));
  EXPECT_STREQ(CulpritKindName(CulpritKind::kOwnLimit), "own-limit");
  EXPECT_STREQ(ResourceName(Resource::kNetwork), "network");
}

}  // namespace
}  // namespace jostle::collector
