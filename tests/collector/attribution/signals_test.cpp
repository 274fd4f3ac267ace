#include "collector/attribution/signals.h"

#include <gtest/gtest.h>

#include "collector/attribution/test_scenario.h"
#include "collector/attribution/verdict.h"

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

// The window [1 s, 3 s] of a test run in OwnPod's pod, ci/runner-1.
WindowQuery OwnPodQuery() {
  WindowQuery q = Q(kT0 + kSecond, kT0 + 3 * kSecond);
  q.pod_namespace = "ci";
  q.pod_name = "runner-1";
  return q;
}

Tick Busy(double busy) {
  Tick t;
  t.busy = busy;
  return t;
}

// The first tick of a `jostle run` 20 ms after the last tick of the one before it, with 15 ms
// of CPU pressure in between (two processes starting): passed over, so no rate spans 20 ms
// and the pressure is spread over the second that holds it.
TEST(ComputeRates, ATickASliverAfterTheOneBeforeIsPassedOver) {
  Tick t;
  t.busy = 0.2;
  NodeScenario s;
  s.Repeat(4, t);
  std::vector<Sample>& samples = s.mutable_samples();
  Sample sliver = samples[1];
  sliver.wall_ns += 20'000'000;
  sliver.mono_ns += 20'000'000;
  sliver.node.psi_cpu->some_us = *sliver.node.psi_cpu->some_us + 15'000;
  for (size_t i = 2; i < samples.size(); ++i) {
    samples[i].node.psi_cpu->some_us = *samples[i].node.psi_cpu->some_us + 15'000;
  }
  samples.insert(samples.begin() + 2, sliver);
  NodeRates r = ComputeRates(samples, WindowConfig{});
  EXPECT_NEAR(static_cast<double>(r.interval_ns), 1e9, 0.05e9);  // the median spacing
  ASSERT_EQ(r.node.size(), 3u);
  for (const NodeRate& n : r.node) {
    EXPECT_EQ(n.to_ns - n.from_ns, kSecond);
    ASSERT_TRUE(n.psi_cpu_some.has_value());
    EXPECT_LT(*n.psi_cpu_some, 0.02);  // 15 ms in a second, not 15 ms in 20 ms
  }
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
  WindowQuery q = OwnPodQuery();
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

// Kubernetes limits CPU per container: a container at its limit is throttled in its own
// cgroup while the pod's (quota = the sum of its containers') is not.
TEST(WindowSignals, OwnContainerThrottledUnderAnUnthrottledPod) {
  Tick t = Busy(0.3);
  CgroupTick pod = OwnPod(1.2, 0);
  pod.cpu_limit_cores = 1.5;
  auto container = [&](const std::string& name, double cores, double throttled, double limit) {
    CgroupTick c;
    c.scope = Scope::kContainer;
    c.id = "cid-" + name;
    c.path = pod.path + "/cri-containerd-" + name + ".scope";
    c.namespace_name = "ci";
    c.pod_name = "runner-1";
    c.pod_uid = pod.id;
    c.container_name = name;
    c.cores = cores;
    c.throttled = throttled;
    c.cpu_limit_cores = limit;
    return c;
  };
  t.cgroups = {pod, container("tests", 1.0, 0.6, 1.0), container("sidecar", 0.2, 0.1, 0.5),
               Pod("other", "web", 0.5)};
  NodeScenario s;
  s.Repeat(5, t);
  WindowQuery q = OwnPodQuery();
  Signals sig = ComputeWindowSignals(s.samples(), q);
  EXPECT_NEAR(sig.values.at(kPodThrottle).peak, 0.6, 1e-9);
  EXPECT_NEAR(sig.values.at(kPodThrottle).mean, 0.6, 1e-9);
  EXPECT_EQ(sig.throttled_container, "tests");
  EXPECT_EQ(sig.pod_cpu_limit_cores, 1.0);
  EXPECT_NEAR(sig.values.at(kPodCpuCores).peak, 1.2, 1e-6);  // the pod's own use
  ASSERT_EQ(sig.neighbours.size(), 1u);                      // own containers are no neighbours
  EXPECT_EQ(sig.neighbours[0].name, "other/web");

  // The pod throttled more than any container: the pod speaks, with its own limit.
  t.cgroups[0].throttled = 0.8;
  NodeScenario p;
  p.Repeat(5, t);
  Signals by_pod = ComputeWindowSignals(p.samples(), q);
  EXPECT_NEAR(by_pod.values.at(kPodThrottle).peak, 0.8, 1e-9);
  EXPECT_EQ(by_pod.throttled_container, "");
  EXPECT_EQ(by_pod.pod_cpu_limit_cores, 1.5);

  // Another pod's throttled container is not the test's.
  t.cgroups[0].throttled = 0;
  t.cgroups[1].throttled = 0;
  t.cgroups[2].throttled = 0;
  CgroupTick foreign = container("stranger", 1.0, 0.9, 1.0);
  foreign.namespace_name = "other";
  foreign.pod_name = "web";
  foreign.pod_uid = "uid-other-web";
  t.cgroups.push_back(foreign);
  NodeScenario f;
  f.Repeat(5, t);
  Signals quiet = ComputeWindowSignals(f.samples(), q);
  EXPECT_NEAR(quiet.values.at(kPodThrottle).peak, 0, 1e-9);
  EXPECT_EQ(quiet.throttled_container, "");
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

// `jostle run` in a job cgroup with a CPU quota, on a hybrid host where memory places the job
// elsewhere: the command's cgroup "jostle-run-1" is /acc-job/jostle-run-1 in cpu and
// /box/abc/acc-job/jostle-run-1 in memory. The job cgroup, throttled, is the own limit; the
// memory hierarchy's ancestors, named by jostle run, are never neighbours.
TEST(WindowSignals, ThrottledAncestorIsTheOwnLimitInEveryHierarchy) {
  Tick t = Busy(0.2);
  CgroupTick self = Cgroup("/acc-job/jostle-run-1", 0.3);
  self.id = "jostle-run-1";
  self.psi_cpu = 0.6;
  CgroupTick job = Cgroup("/acc-job", 0.3);
  job.throttled = 0.8;
  job.cpu_limit_cores = 0.3;
  CgroupTick mem_job = Cgroup("/box/abc/acc-job", 0);
  mem_job.ws_bytes = 300 << 20;
  CgroupTick box = Cgroup("/box/abc", 0);
  box.ws_bytes = 3ULL << 30;
  t.cgroups = {self, job, mem_job, box, Cgroup("/system.slice/cron.service", 0.05)};
  NodeScenario s;
  s.Repeat(6, t);
  WindowQuery q = Q(kT0 + 2 * kSecond, kT0 + 3 * kSecond);
  q.self_cgroup = "jostle-run-1";
  q.own_ancestors = {"/acc-job", "/box/abc/acc-job", "/box/abc", "/box"};
  Signals sig = ComputeWindowSignals(s.samples(), q);
  ASSERT_TRUE(sig.values.count(kPodThrottle));
  EXPECT_NEAR(sig.values.at(kPodThrottle).peak, 0.8, 1e-9);
  EXPECT_EQ(sig.throttled_ancestor, "/acc-job");
  EXPECT_EQ(sig.pod_cpu_limit_cores, 0.3);
  for (const NeighbourUsage& n : sig.neighbours) {
    EXPECT_EQ(n.name.find("/box"), std::string::npos) << n.name;
    EXPECT_NE(n.name, "/acc-job");
  }
  WindowAssessment a = AssessWindow(sig, AttributionConfig{});
  ASSERT_TRUE(a.contended);
  ASSERT_FALSE(a.culprits.empty());
  EXPECT_EQ(a.culprits[0].kind, CulpritKind::kOwnLimit);
  EXPECT_EQ(a.culprits[0].name, "/acc-job");
  EXPECT_EQ(a.culprits[0].detail,
            "the enclosing cgroup /acc-job is limited to 0.30 cores, throttled in 80% of CPU "
            "periods");
  // Without the names, the cpu hierarchy's ancestor is still found by its path; the memory
  // hierarchy's are not (they share no path with the command's cgroup).
  q.own_ancestors.clear();
  Signals by_path = ComputeWindowSignals(s.samples(), q);
  EXPECT_EQ(by_path.throttled_ancestor, "/acc-job");
  bool box_listed = false;
  for (const NeighbourUsage& n : by_path.neighbours) box_listed |= n.name == "/box/abc";
  EXPECT_TRUE(box_listed);
}

// Inside a container with its own cgroup namespace (a CI job run with --cpus), the limit is on
// the root the container sees: "/" as an ancestor is the own limit, never a neighbour.
TEST(WindowSignals, ThrottledNamespaceRootIsTheOwnLimit) {
  Tick t = Busy(0.2);
  CgroupTick self = Cgroup("/jostle-run-1", 0.3);
  self.id = "jostle-run-1";
  self.psi_cpu = 0.6;
  CgroupTick root = Cgroup("/", 0.3);
  root.throttled = 0.7;
  root.cpu_limit_cores = 0.5;
  t.cgroups = {self, root};
  NodeScenario s;
  s.Repeat(6, t);
  WindowQuery q = Q(kT0 + 2 * kSecond, kT0 + 3 * kSecond);
  q.self_cgroup = "jostle-run-1";
  q.own_ancestors = {"/"};
  Signals sig = ComputeWindowSignals(s.samples(), q);
  EXPECT_EQ(sig.throttled_ancestor, "/");
  EXPECT_EQ(sig.pod_cpu_limit_cores, 0.5);
  for (const NeighbourUsage& n : sig.neighbours) EXPECT_NE(n.name, "/");
  WindowAssessment a = AssessWindow(sig, AttributionConfig{});
  ASSERT_TRUE(a.contended);
  ASSERT_FALSE(a.culprits.empty());
  EXPECT_EQ(a.culprits[0].kind, CulpritKind::kOwnLimit);
  EXPECT_EQ(a.culprits[0].name, "/");
}

// History of `jostle run`: an earlier run's command cgroup had its own name; the one cgroup
// named with the prefix in that window is its own, so what it felt is judged as it was then.
TEST(WindowSignals, EarlierRunsCommandCgroupFoundByPrefix) {
  Tick t = Busy(0.3);
  t.psi_io = 0.9;  // an unrelated writer saturates the disk
  CgroupTick earlier = Cgroup("/jostle-run-11", 0.3);
  earlier.id = "jostle-run-11";
  t.cgroups = {earlier, Cgroup("/acc-io", 0.05)};
  NodeScenario s;
  s.Repeat(5, t);
  WindowQuery q = Q(kT0 + kSecond, kT0 + 2 * kSecond);
  q.self_cgroup_prefix = "jostle-run-";
  Signals sig = ComputeWindowSignals(s.samples(), q);
  EXPECT_TRUE(sig.pod_found);
  ASSERT_TRUE(sig.values.count(kPodIoPsiSome));
  EXPECT_FALSE(AssessWindow(sig, AttributionConfig{}).contended);  // it did not feel the disk
  for (const NeighbourUsage& n : sig.neighbours) EXPECT_NE(n.id, "jostle-run-11");
  // Two runs at once: neither can be told to be that run's; node-level signals unverified.
  CgroupTick other = Cgroup("/jostle-run-12", 0.3);
  other.id = "jostle-run-12";
  t.cgroups.push_back(other);
  NodeScenario both;
  both.Repeat(5, t);
  Signals ambiguous = ComputeWindowSignals(both.samples(), q);
  EXPECT_FALSE(ambiguous.pod_found);
  EXPECT_TRUE(AssessWindow(ambiguous, AttributionConfig{}).contended);
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

// WindowCoveredBy: a frame holding only the samples in [from, to] (and some far away) gives
// the signals of the full frame whenever it says so.
void ExpectSameSignals(const Signals& a, const Signals& b, const std::string& where) {
  EXPECT_EQ(a.window_start_ns, b.window_start_ns) << where;
  EXPECT_EQ(a.window_end_ns, b.window_end_ns) << where;
  EXPECT_EQ(a.node_points, b.node_points) << where;
  EXPECT_EQ(a.pod_found, b.pod_found) << where;
  EXPECT_EQ(a.values, b.values) << where;
  EXPECT_EQ(a.node_cpu_busy_us, b.node_cpu_busy_us) << where;
  ASSERT_EQ(a.neighbours.size(), b.neighbours.size()) << where;
  for (size_t i = 0; i < a.neighbours.size(); ++i) {
    EXPECT_EQ(a.neighbours[i].id, b.neighbours[i].id) << where;
    EXPECT_EQ(a.neighbours[i].cpu_us, b.neighbours[i].cpu_us) << where << " " << a.neighbours[i].id;
    EXPECT_EQ(a.neighbours[i].working_set_bytes, b.neighbours[i].working_set_bytes) << where;
  }
}

// 40 ticks: "/steady" always there; "/gappy" missing from ticks 18-20 (within max_gap, so
// its rate spans the hole); "/late" from tick 25; the own pod missing from ticks 30-33.
std::vector<Sample> GappySamples() {
  NodeScenario s;
  for (int i = 0; i < 40; ++i) {
    Tick t = Busy(0.2 + 0.01 * i);
    t.cgroups = {Cgroup("/steady", 0.5)};
    if (i < 18 || i > 20) t.cgroups.push_back(Cgroup("/gappy", 1.0 + 0.1 * i));
    if (i >= 25) t.cgroups.push_back(Cgroup("/late", 2.0));
    if (i < 30 || i > 33) t.cgroups.push_back(OwnPod(0.3, i % 3 == 0 ? 0.5 : 0.0));
    s.Add(t);
  }
  return s.samples();
}

TEST(WindowCoveredBy, NarrowReadGivesTheSignalsOfTheFullFrameWhenCovered) {
  const std::vector<Sample> all = GappySamples();
  WindowConfig config;
  NodeRates full = ComputeRates(all, config);
  int covered = 0, not_covered = 0;
  for (int64_t start_ms = 1500; start_ms < 38000; start_ms += 250) {
    for (int64_t duration_ms : {50, 1500, 4000}) {
      WindowQuery q = Q(kT0 + start_ms * 1'000'000, kT0 + (start_ms + duration_ms) * 1'000'000);
      q.pod_namespace = "ci";
      q.pod_name = "runner-1";
      // The read BuildRunReport makes first: the padded window and one interval, >= 5 s.
      int64_t from = q.start_ns - 2 * kSecond, to = q.end_ns + 2 * kSecond;
      if (to - from < 5 * kSecond) {
        int64_t more = 5 * kSecond - (to - from);
        from -= more / 2;
        to += more - more / 2;
      }
      std::vector<Sample> part;
      part.push_back(all[0]);  // a sample far before: pairs across the cut must not count
      for (const Sample& x : all) {
        if (x.wall_ns >= from && x.wall_ns <= to && x.wall_ns != all[0].wall_ns) part.push_back(x);
      }
      NodeRates narrow = ComputeRates(part, config);
      std::string where =
          "start " + std::to_string(start_ms) + " ms, " + std::to_string(duration_ms) + " ms long";
      if (!WindowCoveredBy(narrow, q, config, from, to)) {
        ++not_covered;
        continue;
      }
      ++covered;
      ExpectSameSignals(WindowSignalsFromRates(full, q, config),
                        WindowSignalsFromRates(narrow, q, config), where);
    }
  }
  EXPECT_GT(covered, 200);
  EXPECT_GT(not_covered, 10);
}

TEST(WindowCoveredBy, SeriesMissingAtTheEdgeOrShortRangeIsNotCovered) {
  const std::vector<Sample> all = GappySamples();
  WindowConfig config;
  NodeRates full = ComputeRates(all, config);
  auto covered = [&](int64_t start_s, int64_t end_s, int64_t from_s, int64_t to_s) {
    return WindowCoveredBy(full, Q(kT0 + start_s * kSecond, kT0 + end_s * kSecond), config,
                           kT0 + from_s * kSecond, kT0 + to_s * kSecond);
  };
  EXPECT_TRUE(covered(8, 10, 6, 12));  // every series in every tick
  // Spans 4 s < max_gap (5 s): a series absent from it could pair across it.
  EXPECT_FALSE(covered(8, 10, 7, 11));
  // "/gappy" is first seen at 21, after the window starts (19): its rate from 17 is missed.
  EXPECT_FALSE(covered(20, 22, 18, 24));
  EXPECT_TRUE(covered(19, 21, 17, 23));  // seen at 17: the rate 17-21 is inside the range
  // "/gappy" is last seen at 17, before the window ends (18): its rate to 21 is missed.
  EXPECT_FALSE(covered(14, 17, 12, 19));
  EXPECT_TRUE(covered(14, 16, 12, 18));  // the window ends at 17
  // "/late" is first seen at 25, after the window starts and only 2 s into the range: a
  // sample just before the range would pair with it.
  EXPECT_FALSE(covered(25, 27, 23, 29));
  EXPECT_TRUE(covered(30, 32, 20, 36));   // "/late" seen before; the own pod at 29 and 34
  EXPECT_FALSE(covered(28, 31, 26, 33));  // the own pod last seen at 29, 4 s before the end
  EXPECT_FALSE(covered(60, 62, 58, 64));  // no sample in the range
  NodeRates empty = ComputeRates(std::vector<Sample>{}, config);
  EXPECT_FALSE(
      WindowCoveredBy(empty, Q(kT0, kT0 + kSecond), config, kT0 - 5 * kSecond, kT0 + 5 * kSecond));
}

// A 2-CPU machine: node busy counts the test's own pod, busy_others leaves it out.
TEST(WindowSignals, NodeBusyOthersLeavesOutTheOwnPod) {
  auto window = [](double own_cores, double neighbour_cores, bool pod_known,
                   double own_psi = 0.15) {
    Tick t = Busy(0.97);  // 1.94 of 2 CPUs
    t.cgroups = {OwnPod(own_cores), Pod("batch", "etl", neighbour_cores)};
    t.cgroups[0].psi_cpu = own_psi;
    NodeScenario s(kT0, /*cpus=*/2);
    s.Repeat(6, t);
    WindowQuery q = Q(kT0 + 2 * kSecond, kT0 + 3 * kSecond);
    if (pod_known) {
      q.pod_namespace = "ci";
      q.pod_name = "runner-1";
    }
    return ComputeWindowSignals(s.samples(), q);
  };
  AttributionConfig config;
  // The test itself keeps the machine busy: not contended by node busy.
  Signals self_busy = window(1.9, 0.04, true);
  EXPECT_NEAR(self_busy.values.at(kNodeCpuBusy).peak, 0.97, 1e-6);
  ASSERT_TRUE(self_busy.values.count(kNodeCpuBusyOthers));
  EXPECT_NEAR(self_busy.values.at(kNodeCpuBusyOthers).peak, (1.94 - 1.9) / 2, 1e-6);
  EXPECT_EQ(self_busy.values.at(kNodeCpuBusyOthers).points,
            self_busy.values.at(kNodeCpuBusy).points);
  EXPECT_FALSE(AssessWindow(self_busy, config).contended);
  // A neighbour does: contended on busy_others, the neighbour the culprit.
  Signals crowded = window(0.1, 1.8, true);
  EXPECT_NEAR(crowded.values.at(kNodeCpuBusyOthers).peak, (1.94 - 0.1) / 2, 1e-6);
  WindowAssessment a = AssessWindow(crowded, config);
  ASSERT_TRUE(a.contended);
  ASSERT_FALSE(a.crossings.empty());
  EXPECT_EQ(a.crossings[0].signal, kNodeCpuBusyOthers);
  ASSERT_FALSE(a.culprits.empty());
  EXPECT_EQ(a.culprits[0].name, "batch/etl");
  // The same neighbour while the test's own CPU pressure stayed low: node-only.
  WindowAssessment unfelt = AssessWindow(window(0.1, 1.8, true, 0.01), config);
  EXPECT_FALSE(unfelt.contended);
  ASSERT_FALSE(unfelt.crossings.empty());
  EXPECT_EQ(unfelt.crossings[0].felt, Felt::kNodeOnly);
  // Own pod unknown: node busy as measured, and the rule uses it.
  Signals unknown = window(1.9, 0.04, false);
  EXPECT_FALSE(unknown.values.count(kNodeCpuBusyOthers));
  WindowAssessment u = AssessWindow(unknown, config);
  ASSERT_TRUE(u.contended);
  EXPECT_EQ(u.crossings[0].signal, kNodeCpuBusy);
}

// `jostle run`: the test command's cgroup is subtracted once, not again for its children;
// an interval without a sample of it counts whole.
TEST(WindowSignals, NodeBusyOthersSubtractsTheSelfCgroupOnce) {
  Tick t = Busy(0.97);
  t.cgroups = {Cgroup("/user.slice/test.scope", 1.2), Cgroup("/user.slice/test.scope/make", 1.0),
               Cgroup("/system.slice/burner.service", 0.7)};
  Tick gap = t;
  gap.cgroups = {Cgroup("/system.slice/burner.service", 0.7)};
  NodeScenario s(kT0, /*cpus=*/2);
  s.Repeat(4, t).Add(gap).Repeat(3, t);
  WindowQuery q = Q(kT0 + 1 * kSecond, kT0 + 2 * kSecond);  // intervals 0-1 .. 2-3
  q.self_cgroup = "/user.slice/test.scope";
  Signals sig = ComputeWindowSignals(s.samples(), q);
  ASSERT_TRUE(sig.values.count(kNodeCpuBusyOthers));
  EXPECT_NEAR(sig.values.at(kNodeCpuBusyOthers).peak, (1.94 - 1.2) / 2, 1e-6);
  EXPECT_FALSE(AssessWindow(sig, AttributionConfig{}).contended);
  // The padded window 3-6 s over the tick without the self cgroup (4 s): its rate spans 3-5 s,
  // so the intervals 3-4 and 4-5 count whole, 5-6 without it.
  WindowQuery over_gap = Q(kT0 + 4 * kSecond, kT0 + 5 * kSecond);
  over_gap.self_cgroup = "/user.slice/test.scope";
  Signals g = ComputeWindowSignals(s.samples(), over_gap);
  EXPECT_NEAR(g.values.at(kNodeCpuBusyOthers).peak, 0.97, 1e-6);
  EXPECT_NEAR(g.values.at(kNodeCpuBusyOthers).mean, (0.97 * 2 + 0.37) / 3, 1e-6);
}

// A shared memory limit on /ci.slice (the test's ancestor): a page-cache reader re-reading a
// file larger than its room drives reclaim (pages scanned, refaults), while a database sits
// in a bigger, static charge; both stall on memory. `reclaim_counters` false: the host has no
// memory.stat pgscan/refault nor memory.events high/max (cgroup v1, hybrid).
NodeScenario SharedLimitScenario(bool reclaim_counters) {
  Tick t = Busy(0.4);
  t.psi_memory_some = 0.35;
  CgroupTick self = Cgroup("/ci.slice/test", 0.3);
  self.psi_memory = 0.25;
  self.usage_bytes = 100u << 20;
  CgroupTick limit = Cgroup("/ci.slice", 0.6);
  limit.usage_bytes = 1000u << 20;
  limit.limit_bytes = 1000u << 20;
  limit.psi_memory = 0.4;
  CgroupTick cache = Cgroup("/ci.slice/cache", 0.2);
  cache.psi_memory = 0.3;
  cache.usage_bytes = 270u << 20;
  CgroupTick db = Cgroup("/ci.slice/db", 0.1);
  db.psi_memory = 0.2;
  db.usage_bytes = 630u << 20;
  if (reclaim_counters) {
    self.pgscan = 1000, self.refaults = 300, self.high_events = 0, self.max_events = 0;
    limit.pgscan = 23000, limit.refaults = 5300, limit.high_events = 0, limit.max_events = 40;
    cache.pgscan = 20000, cache.refaults = 5000, cache.high_events = 0, cache.max_events = 0;
    db.pgscan = 2000, db.refaults = 0, db.high_events = 0, db.max_events = 0;
  }
  t.cgroups = {self, limit, cache, db};
  NodeScenario s;
  s.Repeat(6, t);
  return s;
}

WindowQuery SharedLimitQuery() {
  WindowQuery q = Q(kT0 + 2 * kSecond, kT0 + 3 * kSecond);
  q.self_cgroup = "/ci.slice/test";
  return q;
}

// Issue point 2: the page-cache neighbour causing refaults under the shared limit outranks
// the bigger static one; the limit's own cgroup (an ancestor) is never named.
TEST(Culprits, PageCacheNeighbourCausingRefaultsOutranksABiggerStaticOne) {
  Signals sig = ComputeWindowSignals(SharedLimitScenario(true).samples(), SharedLimitQuery());
  ASSERT_EQ(sig.neighbours.size(), 2u);
  WindowAssessment a = AssessWindow(sig, AttributionConfig{});
  ASSERT_TRUE(a.contended);
  ASSERT_EQ(a.resource, Resource::kMemory);
  ASSERT_EQ(a.culprits.size(), 2u);
  EXPECT_EQ(a.culprits[0].name, "/ci.slice/cache");
  EXPECT_EQ(a.culprits[1].name, "/ci.slice/db");
  // The window [1 s, 4 s] holds three intervals. Components: stall 0.9 s : 0.6 s, pgscan
  // 60000 : 6000 pages, refaults 15000 : 0; growth is 0 and, reclaim being seen, the peak
  // charge does not count.
  const double cache_share = (0.9 / 1.5 + 60000.0 / 66000 + 1.0) / 3;
  EXPECT_NEAR(a.culprits[0].share, cache_share, 1e-6);
  EXPECT_NEAR(a.culprits[1].share, 1 - cache_share, 1e-6);
  EXPECT_EQ(a.culprits[0].detail,
            "stalled 0.9 s on memory, peak charge 270 MiB, reclaim scanned 60000 pages, 15000 "
            "pages refaulted");
  for (const Culprit& k : a.culprits) EXPECT_NE(k.name, "/ci.slice");
}

// Without the reclaim counters the ranking is the one before them: the mean of the stall and
// peak charge shares (no growth), which puts the bigger database first.
TEST(Culprits, WithoutReclaimCountersV1KeepsThePeakChargeRanking) {
  Signals with = ComputeWindowSignals(SharedLimitScenario(true).samples(), SharedLimitQuery());
  EXPECT_EQ(AssessWindow(with, AttributionConfig{}).culprits.at(0).name, "/ci.slice/cache");
  Signals v1 = ComputeWindowSignals(SharedLimitScenario(false).samples(), SharedLimitQuery());
  EXPECT_FALSE(v1.values.count(kPodMemoryRefaults));
  EXPECT_FALSE(v1.values.count(kPodMemoryLimitEvents));
  for (const NeighbourUsage& n : v1.neighbours) {
    EXPECT_EQ(n.mem_pgscan_pages + n.mem_refault_pages + n.mem_limit_events, 0) << n.name;
  }
  WindowAssessment a = AssessWindow(v1, AttributionConfig{});
  ASSERT_EQ(a.culprits.size(), 2u);
  EXPECT_EQ(a.culprits[0].name, "/ci.slice/db");
  EXPECT_NEAR(a.culprits[0].share, (0.6 / 1.5 + 630.0 / 900) / 2, 1e-6);
  EXPECT_EQ(a.culprits[1].name, "/ci.slice/cache");
  EXPECT_NEAR(a.culprits[1].share, (0.9 / 1.5 + 270.0 / 900) / 2, 1e-6);
  EXPECT_EQ(a.culprits[1].detail, "stalled 0.9 s on memory, peak charge 270 MiB");
}

// Node memory pressure the test's cgroup shows no PSI for (4% < felt.psi_some) counts when its
// own memory.events high moved in the window: it was pushed into reclaim at memory.high.
TEST(Felt, OwnMemoryHighEventsMakeNodeMemoryPressureFelt) {
  auto window = [](std::optional<uint64_t> high_events) {
    Tick t = Busy(0.3);
    t.psi_memory_some = 0.4;
    CgroupTick self = Cgroup("/ci.slice/test", 0.3);
    self.psi_memory = 0.04;  // "full" too: below memory.psi_full
    self.high_events = high_events;
    t.cgroups = {self, Cgroup("/system.slice/backup.service", 0.2)};
    NodeScenario s;
    s.Repeat(6, t);
    return AssessWindow(ComputeWindowSignals(s.samples(), SharedLimitQuery()), AttributionConfig{});
  };
  WindowAssessment quiet = window(0);
  EXPECT_FALSE(quiet.contended);
  ASSERT_FALSE(quiet.crossings.empty());
  EXPECT_EQ(quiet.crossings[0].felt, Felt::kNodeOnly);
  WindowAssessment high = window(4);
  ASSERT_TRUE(high.contended);
  EXPECT_EQ(high.resource, Resource::kMemory);
  EXPECT_EQ(high.crossings[0].signal, kNodeMemoryPsiSome);
  EXPECT_EQ(high.crossings[0].felt, Felt::kFelt);
  // Absent (v1): the own PSI alone decides, as before.
  EXPECT_FALSE(window(std::nullopt).contended);
}

// Refaults of the own cgroup's pages in the window: it needed pages reclaim had taken.
TEST(Felt, OwnRefaultsMakeNodeMemoryPressureFelt) {
  Tick t = Busy(0.3);
  t.psi_memory_some = 0.4;
  CgroupTick self = Cgroup("/ci.slice/test", 0.3);
  self.psi_memory = 0.04;
  self.refaults = 200;
  self.high_events = 0;
  t.cgroups = {self};
  NodeScenario s;
  s.Repeat(6, t);
  Signals sig = ComputeWindowSignals(s.samples(), SharedLimitQuery());
  ASSERT_TRUE(sig.values.count(kPodMemoryRefaults));
  EXPECT_EQ(sig.values.at(kPodMemoryRefaults).peak, 600);  // three intervals in the window
  EXPECT_EQ(sig.values.at(kPodMemoryLimitEvents).peak, 0);
  WindowAssessment a = AssessWindow(sig, AttributionConfig{});
  ASSERT_TRUE(a.contended);
  EXPECT_EQ(a.crossings[0].felt, Felt::kFelt);
}

}  // namespace
}  // namespace jostle::collector
