#include "collector/attribution/signals.h"

#include <gtest/gtest.h>

#include "collector/attribution/test_scenario.h"

namespace jostle::collector {
namespace {

using testing::Cgroup;
using testing::CgroupTick;
using testing::kSecond;
using testing::kT0;
using testing::NodeScenario;
using testing::OwnPod;
using testing::Pod;
using testing::Tick;

WindowQuery Q(int64_t start_ns, int64_t end_ns) {
  WindowQuery q;
  q.start_ns = start_ns;
  q.end_ns = end_ns;
  return q;
}

Tick Busy(double busy) {
  Tick t;
  t.busy = busy;
  return t;
}

TEST(ComputeRates, NodeBusyAndPsiFractions) {
  Tick t;
  t.busy = 0.5;
  t.psi_cpu = 0.25;
  t.psi_memory_some = 0.1;
  t.psi_memory_full = 0.05;
  t.psi_io = 0.3;
  NodeScenario s;
  s.Repeat(3, t);
  NodeRates r = ComputeRates(s.samples(), WindowConfig{});
  EXPECT_EQ(r.interval_ns, kSecond);
  ASSERT_EQ(r.node.size(), 2u);
  EXPECT_NEAR(*r.node[0].cpu_busy, 0.5, 1e-9);
  EXPECT_NEAR(*r.node[0].cpu_busy_us, 0.5 * 4e6, 1);
  EXPECT_NEAR(*r.node[0].psi_cpu_some, 0.25, 1e-6);
  EXPECT_NEAR(*r.node[0].psi_memory_some, 0.1, 1e-6);
  EXPECT_NEAR(*r.node[0].psi_memory_full, 0.05, 1e-6);
  EXPECT_NEAR(*r.node[0].psi_io_some, 0.3, 1e-6);
  EXPECT_NEAR(*r.node[0].mem_used_ratio, 0.3, 1e-6);
  EXPECT_EQ(r.node[1].from_ns, kT0 + kSecond);
  EXPECT_EQ(r.node[1].to_ns, kT0 + 2 * kSecond);
}

// Table of reset cases: each mutates the third of four samples; the rates around it must
// not exist for the affected series, and no rate anywhere may be negative.
struct ResetCase {
  const char* name;
  void (*mutate)(Sample&);
  size_t node_rates;        // node rates with a cpu_busy value
  size_t cgroup_cpu_rates;  // cgroup rates with a cpu_us value
};

class CounterResets : public ::testing::TestWithParam<ResetCase> {};

TEST_P(CounterResets, NeverNegativeAndSegmentsRestart) {
  Tick t = Busy(0.5);
  t.cgroups = {Cgroup("/burner", 1.0)};
  NodeScenario s;
  s.Repeat(4, t);
  GetParam().mutate(s.mutable_samples()[2]);
  NodeRates r = ComputeRates(s.samples(), WindowConfig{});
  size_t busy = 0, cpu = 0;
  for (const NodeRate& n : r.node) {
    if (n.cpu_busy) {
      ++busy;
      EXPECT_GE(*n.cpu_busy, 0);
    }
  }
  for (const CgroupRate& c : r.cgroups) {
    if (c.cpu_us) {
      ++cpu;
      EXPECT_GE(*c.cpu_us, 0);
    }
  }
  EXPECT_EQ(busy, GetParam().node_rates);
  EXPECT_EQ(cpu, GetParam().cgroup_cpu_rates);
}

INSTANTIATE_TEST_SUITE_P(
    Table, CounterResets,
    ::testing::Values(
        ResetCase{"none", [](Sample&) {}, 3, 3},
        // New labels (a new store series, the same CgroupSample::id): still one series.
        ResetCase{"cgroup_relabelled", [](Sample& x) { x.cgroups[0].labels["release"] = "2"; }, 3,
                  3},
        // A cgroup counter that went down (cgroup recreated): only the pair into it is lost.
        ResetCase{"cgroup_cpu_decreased", [](Sample& x) { x.cgroups[0].cpu_usage_us = 5; }, 3, 2},
        // The node's /proc/stat counters went down: that pair has no busy value.
        ResetCase{"node_busy_decreased",
                  [](Sample& x) {
                    x.node.cpu_busy_us = 1;
                    x.node.cpu_total_us = 2;
                  },
                  2, 3},
        // Only busy went down (a torn read): the pair into it and the inconsistent pair after
        // it (busy advancing more than total) give no value.
        ResetCase{"node_busy_alone_decreased", [](Sample& x) { x.node.cpu_busy_us = 1; }, 1, 3},
        // Reboot: CLOCK_MONOTONIC went backwards; every series restarts at that sample.
        ResetCase{"mono_backwards",
                  [](Sample& x) {
                    x.mono_ns = 5 * kSecond;
                    x.node.cpu_busy_us = 10;
                    x.node.cpu_total_us = 100;
                    x.cgroups[0].cpu_usage_us = 3;
                  },
                  2, 2},
        // The agent was down for a minute: the pair across the gap gives no rate.
        ResetCase{"gap",
                  [](Sample& x) {
                    x.wall_ns += 60 * kSecond;
                    x.mono_ns += 60 * kSecond;
                  },
                  1, 1}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ComputeRates, NetworkUtilisationDropsRetrans) {
  Tick t;
  t.net_bytes = 100'000'000;  // 800 Mbit in one second on a 1000 Mbit/s link
  t.drops = 3;
  t.out_segs = 1000;
  t.retrans = 50;
  NodeScenario s;
  s.Repeat(3, t);
  NodeRates r = ComputeRates(s.samples(), WindowConfig{});
  ASSERT_EQ(r.node.size(), 2u);
  EXPECT_NEAR(*r.node[0].net_utilisation, 0.8, 1e-9);
  EXPECT_EQ(*r.node[0].net_drops, 3);
  WindowQuery q = Q(kT0, kT0 + 2 * kSecond);
  q.padding_ns = 0;
  Signals sig = WindowSignalsFromRates(r, q, WindowConfig{});
  EXPECT_NEAR(sig.values.at(kNodeNetUtilisation).peak, 0.8, 1e-9);
  EXPECT_EQ(sig.values.at(kNodeNetDrops).peak, 6);  // total over the window
  EXPECT_NEAR(sig.values.at(kNodeTcpRetrans).peak, 0.05, 1e-9);
}

TEST(WindowSignals, OnlyIntervalsOverlappingThePaddedWindow) {
  NodeScenario s;
  s.Repeat(10, Busy(0.2)).Repeat(3, Busy(0.95)).Repeat(10, Busy(0.2));
  // Busy intervals end at samples 10..12: (9s,10s], (10s,11s], (11s,12s].
  WindowQuery before = Q(kT0 + 2 * kSecond, kT0 + 7 * kSecond);
  Signals a = ComputeWindowSignals(s.samples(), before);
  EXPECT_EQ(a.window_start_ns, kT0 + 1 * kSecond);  // one interval of padding
  EXPECT_EQ(a.window_end_ns, kT0 + 8 * kSecond);
  EXPECT_NEAR(a.values.at(kNodeCpuBusy).peak, 0.2, 1e-9);
  EXPECT_EQ(a.node_points, 7);
  // The padding reaches the busy interval that starts at 9s.
  WindowQuery touching = Q(kT0 + 2 * kSecond, kT0 + 8 * kSecond + kSecond / 2);
  Signals b = ComputeWindowSignals(s.samples(), touching);
  EXPECT_NEAR(b.values.at(kNodeCpuBusy).peak, 0.95, 1e-9);
  EXPECT_LT(b.values.at(kNodeCpuBusy).mean, 0.95);
  WindowQuery none = Q(kT0 + 100 * kSecond, kT0 + 110 * kSecond);
  EXPECT_EQ(ComputeWindowSignals(s.samples(), none).node_points, 0);
}

TEST(WindowSignals, OwnPodSignalsAndLimits) {
  Tick t = Busy(0.5);
  CgroupTick own = OwnPod(0.9, 0.4);
  own.ws_bytes = 990ULL << 20;
  own.limit_bytes = 1000ULL << 20;
  own.oom_kills = 1;
  own.psi_cpu = 0.3;
  t.cgroups = {own, Pod("other", "web", 1.5)};
  NodeScenario s;
  s.Repeat(5, t);
  WindowQuery q = Q(kT0 + kSecond, kT0 + 3 * kSecond);
  q.pod_namespace = "ci";
  q.pod_name = "runner-1";
  Signals sig = ComputeWindowSignals(s.samples(), q);
  EXPECT_TRUE(sig.pod_found);
  EXPECT_EQ(sig.pod_label, "ci/runner-1");
  EXPECT_NEAR(sig.values.at(kPodThrottle).peak, 0.4, 1e-9);
  EXPECT_NEAR(sig.values.at(kPodCpuCores).peak, 0.9, 1e-6);
  EXPECT_NEAR(sig.values.at(kPodWorkingSet).peak, 0.99, 1e-9);
  EXPECT_NEAR(sig.values.at(kPodCpuPsiSome).peak, 0.3, 1e-6);
  EXPECT_EQ(sig.values.at(kPodOomKills).peak, 4);
  EXPECT_EQ(sig.pod_cpu_limit_cores, 1.0);
  ASSERT_EQ(sig.neighbours.size(), 1u);
  EXPECT_EQ(sig.neighbours[0].name, "other/web");
  EXPECT_NEAR(sig.neighbours[0].cpu_us, 1.5e6 * 4, 10);
}

TEST(WindowSignals, NestedCgroupsCountExclusiveUsageAndSelfIsNoNeighbour) {
  // /user.slice holds the test command's cgroup and the burner; /system.slice is idle.
  Tick t = Busy(0.9);
  t.cgroups = {Cgroup("/user.slice", 3.6), Cgroup("/user.slice/test.scope", 0.5),
               Cgroup("/user.slice/burner.scope", 3.0), Cgroup("/system.slice", 0.1),
               Cgroup("/user.slice/test.scope/child", 0.2)};
  NodeScenario s;
  s.Repeat(5, t);
  WindowQuery q = Q(kT0 + kSecond, kT0 + 3 * kSecond);
  q.self_cgroup = "/user.slice/test.scope";
  Signals sig = ComputeWindowSignals(s.samples(), q);
  EXPECT_TRUE(sig.pod_found);
  std::map<std::string, double> cpu;
  for (const NeighbourUsage& n : sig.neighbours) cpu[n.name] = n.cpu_us;
  // Ancestor, self and descendant are not neighbours.
  EXPECT_EQ(cpu.count("/user.slice"), 0u);
  EXPECT_EQ(cpu.count("/user.slice/test.scope"), 0u);
  EXPECT_EQ(cpu.count("/user.slice/test.scope/child"), 0u);
  ASSERT_EQ(cpu.count("/user.slice/burner.scope"), 1u);
  EXPECT_GT(cpu["/user.slice/burner.scope"], 20 * cpu["/system.slice"]);
}

TEST(WindowSignals, ParentSliceDoesNotOutrankTheBurnerInsideIt) {
  Tick t = Busy(0.9);
  t.cgroups = {Cgroup("/system.slice", 3.2), Cgroup("/system.slice/stress.service", 3.0),
               Cgroup("/system.slice/cron.service", 0.1)};
  NodeScenario s;
  s.Repeat(4, t);
  Signals sig = ComputeWindowSignals(s.samples(), Q(kT0, kT0 + 2 * kSecond));
  std::map<std::string, double> cpu;
  for (const NeighbourUsage& n : sig.neighbours) cpu[n.name] = n.cpu_us;
  EXPECT_GT(cpu["/system.slice/stress.service"], 10 * cpu["/system.slice"]);
  EXPECT_NEAR(cpu["/system.slice"], 0.1 * 3e6, 3e4);  // 3.2 − 3.0 − 0.1 cores, 3 intervals
}

}  // namespace
}  // namespace jostle::collector
