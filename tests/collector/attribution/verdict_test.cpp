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
  WindowAssessment d = AssessWindow(With({{kNodeNetDrops, 100}}), config);
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
  EXPECT_NEAR(a.culprits[1].share, 0.6, 1e-9);
}

struct VerdictCase {
  const char* name;
  bool has_data, contended;
  HistoryCounts history;
  bool rerun_passed;
  Verdict want;
};

class Verdicts : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(Verdicts, Rule) {
  const VerdictCase& k = GetParam();
  Evidence e;
  EXPECT_EQ(DecideVerdict(k.has_data, k.contended, k.history, k.rerun_passed, HistoryConfig{}, &e),
            k.want)
      << k.name;
  EXPECT_EQ(e.history, k.history);
  EXPECT_EQ(e.rerun_passed, k.rerun_passed);
}

INSTANTIATE_TEST_SUITE_P(
    Table, Verdicts,
    ::testing::Values(
        VerdictCase{"no_samples", false, false, {3, 0, 0, 5, 0}, false, Verdict::kNoData},
        VerdictCase{"clear_window", true, false, {3, 0, 0, 5, 0}, false, Verdict::kNoContention},
        VerdictCase{"contended_no_history", true, true, {}, false, Verdict::kContentionPossible},
        VerdictCase{"contended_only_contended_history",
                    true,
                    true,
                    {2, 1, 0, 0, 4},
                    false,
                    Verdict::kContentionPossible},
        VerdictCase{"passes_when_clear", true, true, {1, 0, 0, 1, 0}, false, Verdict::kContention},
        VerdictCase{"rerun_passed_no_history", true, true, {}, true, Verdict::kContention},
        VerdictCase{"always_fails", true, true, {1, 0, 1, 0, 0}, false, Verdict::kFailsRegardless},
        VerdictCase{"fails_as_often_when_clear",
                    true,
                    true,
                    {3, 3, 4, 4, 0},
                    false,
                    Verdict::kFailsRegardless},
        VerdictCase{"markedly_more_under_contention",
                    true,
                    true,
                    {9, 0, 1, 9, 0},
                    false,
                    Verdict::kContention},
        VerdictCase{"more_but_not_significant",
                    true,
                    true,
                    {1, 1, 1, 2, 0},
                    false,
                    Verdict::kFailsRegardless}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Verdicts, EvidenceRatesAndFisherIncludeTheJudgedFailure) {
  Evidence e;
  Verdict v = DecideVerdict(true, true, {9, 0, 1, 9, 0}, false, HistoryConfig{}, &e);
  EXPECT_EQ(v, Verdict::kContention);
  EXPECT_NEAR(*e.failure_rate_contended, 1.0, 1e-12);
  EXPECT_NEAR(*e.failure_rate_clear, 0.1, 1e-12);
  // Table {10, 0; 1, 9}.
  EXPECT_NEAR(*e.fisher_p, 0.0001190760, 1e-8);
  Evidence none;
  DecideVerdict(true, true, {}, false, HistoryConfig{}, &none);
  EXPECT_FALSE(none.fisher_p);
  EXPECT_FALSE(none.failure_rate_clear);
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
