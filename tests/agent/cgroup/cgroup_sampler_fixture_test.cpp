// CgroupSampler over the fixture hosts in tests/fixtures/hosts/cgroup_* (laid out by
// tests/fixtures/hosts/generate_cgroup_fixtures.py). Each fixture cgroup has an index n and
// its counters follow from n (see that script); ExpectCounters checks them exactly.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/cgroup/cgroup_sampler.h"
#include "jostle_test/test_paths.h"

namespace jostle::agent {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPodG = "0b5c1d2e-1111-4a4a-8b8b-000000000001";
constexpr const char* kPodB = "0b5c1d2e-2222-4a4a-8b8b-000000000002";
constexpr const char* kPodE = "0b5c1d2e-3333-4a4a-8b8b-000000000003";
std::string Repeat(const char* two, int times = 32) {
  std::string s;
  for (int i = 0; i < times; ++i) s += two;
  return s;
}
const std::string kC1 = Repeat("a1"), kC2 = Repeat("b2"), kC3 = Repeat("c3"), kC4 = Repeat("d4"),
                  kDocker = Repeat("e5");

std::string FixtureRoot(const std::string& name) {
  return std::string(jostle::testing::kFixtureDir) + "/hosts/" + name;
}

CgroupOptions OptionsFor(const std::string& root) {
  CgroupOptions o;
  o.self_cgroup_file = root + "/proc/self/cgroup";
  return o;
}

using ByKey = std::map<std::pair<Scope, std::string>, CgroupSample>;
ByKey Index(const std::vector<CgroupSample>& samples) {
  ByKey out;
  for (const auto& s : samples) {
    EXPECT_TRUE(out.emplace(std::make_pair(s.scope, s.id), s).second) << "duplicate " << s.id;
  }
  return out;
}

const CgroupSample& Get(const ByKey& by, Scope scope, const std::string& id) {
  auto it = by.find({scope, id});
  if (it == by.end()) {
    ADD_FAILURE() << "no sample " << ScopeName(scope) << " " << id;
    static const CgroupSample kEmpty;
    return kEmpty;
  }
  return it->second;
}

struct Has {
  bool cpu = true;       // cpu usage
  bool throttle = true;  // periods/throttled
  bool memory = true;    // usage, oom
  bool working_set = true;
  bool oom = true;
  bool psi = true;
};

void ExpectCounters(const CgroupSample& s, uint64_t n, Has has) {
  SCOPED_TRACE(s.id);
  if (has.cpu) {
    EXPECT_EQ(s.cpu_usage_us, n * 1000000 + 123);
  } else {
    EXPECT_FALSE(s.cpu_usage_us.has_value());
  }
  if (has.throttle) {
    EXPECT_EQ(s.cpu_periods, n * 100);
    EXPECT_EQ(s.cpu_throttled_periods, n * 10);
    EXPECT_EQ(s.cpu_throttled_us, n * 5000);
  } else {
    EXPECT_FALSE(s.cpu_periods.has_value());
    EXPECT_FALSE(s.cpu_throttled_periods.has_value());
  }
  if (has.memory) {
    EXPECT_EQ(s.mem_usage_bytes, n * 1048576 + 4096);
  } else {
    EXPECT_FALSE(s.mem_usage_bytes.has_value());
  }
  if (has.working_set) {
    EXPECT_EQ(s.mem_working_set_bytes, n * 1048576 + 4096 - n * 65536);
  } else {
    EXPECT_FALSE(s.mem_working_set_bytes.has_value());
  }
  if (has.oom) {
    EXPECT_EQ(s.oom_kills, n % 3);
  } else {
    EXPECT_FALSE(s.oom_kills.has_value());
  }
  if (has.psi) {
    EXPECT_EQ(s.psi_cpu, (PsiTotals{n * 1000 + 1, n * 1000 + 2}));
    EXPECT_EQ(s.psi_memory, (PsiTotals{n * 1000 + 3, n * 1000 + 4}));
    EXPECT_EQ(s.psi_io, (PsiTotals{n * 1000 + 5, n * 1000 + 6}));
  } else {
    EXPECT_FALSE(s.psi_cpu.has_value());
    EXPECT_FALSE(s.psi_memory.has_value());
    EXPECT_FALSE(s.psi_io.has_value());
  }
}

NetCounters PodGNet() {
  NetCounters n;
  n.interface = "*";
  n.rx_bytes = 1000100;
  n.rx_packets = 1001;
  n.rx_errors = 1;
  n.rx_drops = 2;
  n.tx_bytes = 2000200;
  n.tx_packets = 2002;
  n.tx_errors = 3;
  n.tx_drops = 4;
  return n;
}

NetCounters PodENet() {  // eth0 + net1
  NetCounters n;
  n.interface = "*";
  n.rx_bytes = 33000;
  n.rx_packets = 330;
  n.rx_errors = 1;
  n.rx_drops = 5;
  n.tx_bytes = 44000;
  n.tx_packets = 440;
  n.tx_errors = 2;
  n.tx_drops = 6;
  return n;
}

// Pod network and identity, common to every fixture host.
void ExpectPods(const ByKey& by) {
  const auto& g = Get(by, Scope::kPod, kPodG);
  EXPECT_EQ(g.pod_uid, kPodG);
  EXPECT_EQ(g.qos, "guaranteed");
  EXPECT_EQ(g.cpu_limit_cores, 2.0);
  EXPECT_EQ(g.mem_limit_bytes, 536870912u);
  EXPECT_FALSE(g.host_network);
  EXPECT_EQ(g.net, PodGNet());

  const auto& b = Get(by, Scope::kPod, kPodB);
  EXPECT_EQ(b.qos, "burstable");
  EXPECT_EQ(b.cpu_limit_cores, 0.5);
  EXPECT_FALSE(b.mem_limit_bytes.has_value());
  EXPECT_TRUE(b.host_network);
  EXPECT_FALSE(b.net.has_value());

  const auto& e = Get(by, Scope::kPod, kPodE);
  EXPECT_EQ(e.qos, "besteffort");
  EXPECT_FALSE(e.cpu_limit_cores.has_value());
  EXPECT_FALSE(e.host_network);
  EXPECT_EQ(e.net, PodENet());

  const auto& c1 = Get(by, Scope::kContainer, std::string(kPodG) + "/" + kC1);
  EXPECT_EQ(c1.pod_uid, kPodG);
  EXPECT_EQ(c1.container_id, kC1);
  EXPECT_EQ(c1.qos, "guaranteed");
  EXPECT_FALSE(c1.net.has_value());  // the pod carries it
  const auto& c3 = Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC3);
  EXPECT_EQ(c3.container_id, kC3);
  EXPECT_EQ(c3.qos, "burstable");
  Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC2);
  Get(by, Scope::kContainer, std::string(kPodE) + "/" + kC4);
  size_t pods = 0, containers = 0;
  for (const auto& [key, s] : by) {
    pods += key.first == Scope::kPod;
    containers += key.first == Scope::kContainer;
  }
  EXPECT_EQ(pods, 3u);
  EXPECT_EQ(containers, 4u);  // crio-conmon is not a container
}

TEST(CgroupSamplerFixture, V2Systemd) {
  std::string root = FixtureRoot("cgroup_v2_systemd");
  CgroupOptions options = OptionsFor(root);
  options.deeper_plain_cgroups = 0;  // plain cgroups to depth 2 only (deeper: see below)
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), options);
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  EXPECT_EQ(sampler->host_facts().at("cgroup"), "v2");
  EXPECT_EQ(sampler->host_facts().at("cgroup_driver"), "systemd");
  EXPECT_EQ(sampler->host_facts().at("cgroup_psi"), "available");
  ByKey by = Index(sampler->Read());
  ExpectPods(by);
  ExpectCounters(Get(by, Scope::kPod, kPodG), 1, {});
  // memory.events has "oom_kill abc": its counters are lost, nothing else.
  ExpectCounters(Get(by, Scope::kPod, kPodB), 3, {.oom = false});
  // memory.stat cut short before inactive_file: only the working set is lost.
  ExpectCounters(Get(by, Scope::kPod, kPodE), 6, {.working_set = false});
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodG) + "/" + kC1), 2, {});
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC2), 4, {});
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC3), 5, {});
  // cpu.stat truncated mid-line after usage_usec: throttling is lost, usage is kept.
  const auto& c4 = Get(by, Scope::kContainer, std::string(kPodE) + "/" + kC4);
  EXPECT_EQ(c4.cpu_usage_us, 7000123u);
  CgroupSample c4_rest = c4;
  c4_rest.cpu_usage_us.reset();
  ExpectCounters(c4_rest, 7, {.cpu = false, .throttle = false});
  EXPECT_EQ(Get(by, Scope::kPod, kPodB).path,
            "/kubepods.slice/kubepods-burstable.slice/"
            "kubepods-burstable-pod0b5c1d2e_2222_4a4a_8b8b_000000000002.slice");
  EXPECT_EQ(c4.path,
            "/kubepods.slice/kubepods-besteffort.slice/"
            "kubepods-besteffort-pod0b5c1d2e_3333_4a4a_8b8b_000000000003.slice/crio-" +
                kC4 + ".scope");

  // Plain cgroups to depth 2, nothing of kubepods, not the root.
  std::vector<std::string> plain;
  for (const auto& [key, s] : by) {
    if (key.first == Scope::kCgroup) plain.push_back(key.second);
  }
  EXPECT_EQ(plain, (std::vector<std::string>{"/system.slice", "/system.slice/containerd.service",
                                             "/system.slice/docker-" + kDocker + ".scope",
                                             "/user.slice", "/user.slice/user-1000.slice"}));
  const auto& docker = Get(by, Scope::kCgroup, "/system.slice/docker-" + kDocker + ".scope");
  EXPECT_EQ(docker.path, docker.id);
  EXPECT_EQ(docker.cpu_limit_cores, 1.5);
  EXPECT_TRUE(docker.pod_uid.empty());
  EXPECT_FALSE(docker.net.has_value());
  ExpectCounters(docker, 11, {});
  ExpectCounters(Get(by, Scope::kCgroup, "/system.slice/containerd.service"), 9, {});
}

// memory.events high/max and memory.stat pgscan/workingset_refault*: cgroup v2 only (the
// fixture script gives high = n*4, max = n, pgscan = n*40, refaults = n*2 + 3).
void ExpectReclaimCounters(const CgroupSample& s, uint64_t n) {
  SCOPED_TRACE(s.id);
  EXPECT_EQ(s.mem_high_events, n * 4);
  EXPECT_EQ(s.mem_max_events, n);
  EXPECT_EQ(s.mem_pgscan, n * 40);
  EXPECT_EQ(s.mem_workingset_refaults, n * 2 + 3);
}

void ExpectNoReclaimCounters(const CgroupSample& s) {
  SCOPED_TRACE(s.id);
  EXPECT_FALSE(s.mem_high_events.has_value());
  EXPECT_FALSE(s.mem_max_events.has_value());
  EXPECT_FALSE(s.mem_pgscan.has_value());
  EXPECT_FALSE(s.mem_workingset_refaults.has_value());
}

TEST(CgroupSamplerFixture, MemoryEventsAndReclaimCountersOnV2) {
  std::string root = FixtureRoot("cgroup_v2_systemd");
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), OptionsFor(root));
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  ByKey by = Index(sampler->Read());
  ExpectReclaimCounters(Get(by, Scope::kPod, kPodG), 1);
  ExpectReclaimCounters(Get(by, Scope::kContainer, std::string(kPodG) + "/" + kC1), 2);
  ExpectReclaimCounters(Get(by, Scope::kCgroup, "/system.slice/containerd.service"), 9);
  // Pod B's memory.events is malformed ("oom_kill abc"): high and max go with it; its
  // memory.stat still gives the reclaim counters.
  const auto& b = Get(by, Scope::kPod, kPodB);
  EXPECT_FALSE(b.mem_high_events.has_value());
  EXPECT_FALSE(b.mem_max_events.has_value());
  EXPECT_EQ(b.mem_pgscan, 3u * 40);
  EXPECT_EQ(b.mem_workingset_refaults, 3u * 2 + 3);
}

TEST(CgroupSamplerFixture, NoReclaimCountersOnV1OrHybrid) {
  for (const char* host : {"cgroup_v1_cgroupfs", "cgroup_v1_systemd", "cgroup_hybrid"}) {
    SCOPED_TRACE(host);
    std::string root = FixtureRoot(host);
    auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), OptionsFor(root));
    ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
    ByKey by = Index(sampler->Read());
    ExpectNoReclaimCounters(Get(by, Scope::kPod, kPodG));
    ExpectNoReclaimCounters(Get(by, Scope::kContainer, std::string(kPodE) + "/" + kC4));
  }
}

TEST(CgroupSamplerFixture, V2Cgroupfs) {
  std::string root = FixtureRoot("cgroup_v2_cgroupfs");
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), OptionsFor(root));
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  EXPECT_EQ(sampler->host_facts().at("cgroup"), "v2");
  EXPECT_EQ(sampler->host_facts().at("cgroup_driver"), "cgroupfs");
  EXPECT_EQ(sampler->host_facts().at("cgroup_psi"), "absent");  // no root cpu.pressure
  ByKey by = Index(sampler->Read());
  ExpectPods(by);
  ExpectCounters(Get(by, Scope::kPod, kPodB), 3, {});
  EXPECT_EQ(Get(by, Scope::kPod, kPodB).path,
            "/kubepods/burstable/pod0b5c1d2e-2222-4a4a-8b8b-000000000002");
  // memory.max "unlimited" is malformed: only the limit is lost.
  const auto& c3 = Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC3);
  EXPECT_FALSE(c3.mem_limit_bytes.has_value());
  EXPECT_FALSE(c3.cpu_limit_cores.has_value());  // "max 100000"
  EXPECT_EQ(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC2).cpu_limit_cores, 0.5);
  ExpectCounters(c3, 5, {});
  EXPECT_EQ(Get(by, Scope::kContainer, std::string(kPodG) + "/" + kC1).mem_limit_bytes, 536870912u);
  ExpectCounters(Get(by, Scope::kCgroup, "/docker/" + kDocker), 21, {});
  ExpectCounters(Get(by, Scope::kCgroup, "/docker"), 20, {});
  EXPECT_EQ(by.count({Scope::kCgroup, "/kubepods"}), 0u);
  EXPECT_EQ(by.count({Scope::kCgroup, "/kubepods/burstable"}), 0u);
}

TEST(CgroupSamplerFixture, V1CgroupfsSeparateMountsAndNestedMemory) {
  std::string root = FixtureRoot("cgroup_v1_cgroupfs");
  CgroupOptions options = OptionsFor(root);
  options.extra_cgroups = {"X"};
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), options);
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  EXPECT_EQ(sampler->host_facts().at("cgroup"), "v1");
  EXPECT_EQ(sampler->host_facts().at("cgroup_driver"), "cgroupfs");
  EXPECT_EQ(sampler->host_facts().at("cgroup_psi"), "absent");
  ByKey by = Index(sampler->Read());
  ExpectPods(by);
  // cpu from cpu/ and cpuacct/, memory from memory/ci/job7/kubepods/...: joined by UID.
  ExpectCounters(Get(by, Scope::kPod, kPodG), 1, {.psi = false});
  EXPECT_EQ(Get(by, Scope::kPod, kPodG).path, "/kubepods/pod0b5c1d2e-1111-4a4a-8b8b-000000000001");
  // No cpuacct.usage: usage_user + usage_sys.
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC2), 4, {.psi = false});
  const auto& c4 = Get(by, Scope::kContainer, std::string(kPodE) + "/" + kC4);
  EXPECT_FALSE(c4.mem_limit_bytes.has_value());  // empty limit file
  ExpectCounters(c4, 7, {.psi = false});
  // "X" is cpu:/X, cpuacct:/X and memory:/ci/job7/X (relative to this process's cgroups).
  const auto& x = Get(by, Scope::kCgroup, "X");
  EXPECT_EQ(x.path, "/X");
  EXPECT_EQ(x.cpu_limit_cores, 1.0);
  ExpectCounters(x, 50, {.psi = false});
  EXPECT_EQ(by.count({Scope::kCgroup, "/X"}), 0u) << "shadowed by the named cgroup";
  // Plain cgroups in the memory hierarchy only.
  ExpectCounters(Get(by, Scope::kCgroup, "/ci/job7"), 31,
                 {.cpu = false, .throttle = false, .psi = false});
  EXPECT_EQ(by.count({Scope::kCgroup, "/ci"}), 1u);
  EXPECT_EQ(by.count({Scope::kCgroup, "/kubepods"}), 0u);
}

TEST(CgroupSamplerFixture, V1SystemdCombinedCpuMountBehindSymlinks) {
  std::string root = FixtureRoot("cgroup_v1_systemd");
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), OptionsFor(root));
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  EXPECT_EQ(sampler->host_facts().at("cgroup"), "v1");
  EXPECT_EQ(sampler->host_facts().at("cgroup_driver"), "systemd");
  ByKey by = Index(sampler->Read());
  ExpectPods(by);
  ExpectCounters(Get(by, Scope::kPod, kPodE), 6, {.psi = false});
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC3), 5, {.psi = false});
  ExpectCounters(Get(by, Scope::kCgroup, "/system.slice/containerd.service"), 9, {.psi = false});
  EXPECT_EQ(Get(by, Scope::kPod, kPodG).mem_limit_bytes, 536870912u);
}

TEST(CgroupSamplerFixture, HybridTakesPsiFromUnified) {
  std::string root = FixtureRoot("cgroup_hybrid");
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), OptionsFor(root));
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  EXPECT_EQ(sampler->host_facts().at("cgroup"), "hybrid");
  EXPECT_EQ(sampler->host_facts().at("cgroup_driver"), "systemd");
  EXPECT_EQ(sampler->host_facts().at("cgroup_psi"), "available");
  ByKey by = Index(sampler->Read());
  ExpectPods(by);
  ExpectCounters(Get(by, Scope::kPod, kPodG), 1, {});
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodE) + "/" + kC4), 7, {});
  // No unified/ counterpart: v1 counters only.
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC3), 5, {.psi = false});
  // io.pressure without total=: io PSI lost, cpu and memory PSI kept.
  const auto& svc = Get(by, Scope::kCgroup, "/system.slice/containerd.service");
  EXPECT_EQ(svc.psi_cpu, (PsiTotals{9001, 9002}));
  EXPECT_EQ(svc.psi_memory, (PsiTotals{9003, 9004}));
  EXPECT_FALSE(svc.psi_io.has_value());
  EXPECT_EQ(svc.cpu_usage_us, 9000123u);
}

// Host layouts of tests/agent/cgroup/fixtures/hosts (laid out by
// tests/agent/cgroup/fixtures/generate_layout_fixtures.py): the same pods, containers and
// values as the hosts above, under other directory layouts. On v1 the working set comes
// from total_inactive_file (n*65536), not from the cgroup's own inactive_file (n*32768),
// which memory.stat lists first.
std::string LayoutRoot(const std::string& name) {
  return std::string(jostle::testing::kSourceDir) + "/tests/agent/cgroup/fixtures/hosts/" + name;
}

std::string SystemdUid(std::string uid) {
  std::replace(uid.begin(), uid.end(), '-', '_');
  return uid;
}

struct HostLayout {
  const char* name;    // directory under tests/agent/cgroup/fixtures/hosts
  const char* cgroup;  // host facts
  const char* driver;
  const char* psi;
  Has has;              // readings every pod, container and plain cgroup has
  std::string c4_path;  // path of container C4 (its parent is pod E's)
  std::vector<std::pair<std::string, uint64_t>> plain;  // every Scope::kCgroup id, its n
};

std::vector<HostLayout> HostLayouts() {
  const std::string e = kPodE, e_ = SystemdUid(kPodE);
  // Pod E's directory under the systemd driver, at the root and in a kind node.
  const std::string systemd_e =
      "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + e_ + ".slice";
  const std::string kind_e =
      "/kubelet.slice/kubelet-kubepods.slice/" +
      ("kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + e_ + ".slice");
  const std::string kind_node = "/system.slice/docker-" + kDocker + ".scope";
  const Has v1{.psi = false};
  // clang-format off
  return {
      {"v1_dockershim_combined_mounts", "v1", "cgroupfs", "absent", {.oom = false, .psi = false},
       "/kubepods/besteffort/pod" + e + "/" + kC4,
       {{"/docker", 20}, {"/docker/" + kDocker, 21}}},
      {"v1_dockershim_systemd", "v1", "systemd", "absent", v1,
       systemd_e + "/docker-" + kC4 + ".scope",
       {{"/system.slice", 8}, {"/system.slice/docker.service", 9}}},
      {"v1_crio_cgroupfs", "v1", "cgroupfs", "absent", v1,
       "/kubepods/besteffort/pod" + e + "/crio-" + kC4,
       {}},
      {"v1_crio_systemd_crun", "v1", "systemd", "absent", v1,
       systemd_e + "/crio-" + kC4 + ".scope",
       {}},
      {"v2_crio_systemd_crun", "v2", "systemd", "available", {},
       systemd_e + "/crio-" + kC4 + ".scope",
       {{"/system.slice", 8}, {"/system.slice/crio.service", 9}}},
      {"v2_kind_systemd", "v2", "systemd", "available", {},
       kind_e + "/cri-containerd-" + kC4 + ".scope",
       {{"/kubelet.slice", 30}, {"/system.slice", 8}, {"/system.slice/containerd.service", 9}}},
      {"v2_kind_cgroupfs", "v2", "cgroupfs", "available", {},
       "/kubelet/kubepods/besteffort/pod" + e + "/" + kC4,
       {{"/kubelet", 30}}},
      {"v1_kind_nodes_seen_from_host", "v1", "cgroupfs", "absent", v1,
       "/docker/" + kDocker + "/kubelet/kubepods/besteffort/pod" + e + "/" + kC4,
       {{"/docker", 20}, {"/docker/" + kDocker, 21}}},
      {"v2_kind_nodes_seen_from_host", "v2", "systemd", "available", {},
       kind_node + kind_e + "/cri-containerd-" + kC4 + ".scope",
       {{"/system.slice", 8}, {kind_node, 11}}},
      {"v1_k3s", "v1", "cgroupfs", "absent", v1,
       "/kubepods/besteffort/pod" + e + "/" + kC4,
       {{"/system.slice", 8}, {"/system.slice/k3s.service", 9}}},
      {"v2_k3s", "v2", "cgroupfs", "available", {},
       "/kubepods/besteffort/pod" + e + "/" + kC4,
       {{"/init", 30}}},
      {"v2_dind_ci_pod", "v2", "systemd", "available", {},
       systemd_e + "/cri-containerd-" + kC4 + ".scope",
       {}},
      {"v2_no_psi_files", "v2", "systemd", "absent", {.psi = false},
       systemd_e + "/cri-containerd-" + kC4 + ".scope",
       {}},
  };
  // clang-format on
}

// Pods found by UID with their QoS, containers joined to them by pod UID and container id
// across hierarchies, readings from every hierarchy, network from a process of the pod.
TEST(CgroupSamplerFixture, HostLayouts) {
  for (const HostLayout& layout : HostLayouts()) {
    SCOPED_TRACE(layout.name);
    std::string root = LayoutRoot(layout.name);
    ASSERT_TRUE(fs::is_directory(root)) << root;
    CgroupOptions options = OptionsFor(root);
    options.deeper_plain_cgroups = 0;  // plain cgroups to depth 2 only (deeper: see below)
    auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), options);
    ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
    EXPECT_EQ(sampler->host_facts().at("cgroup"), layout.cgroup);
    EXPECT_EQ(sampler->host_facts().at("cgroup_driver"), layout.driver);
    EXPECT_EQ(sampler->host_facts().at("cgroup_psi"), layout.psi);
    ByKey by = Index(sampler->Read());
    ExpectPods(by);
    ExpectCounters(Get(by, Scope::kPod, kPodG), 1, layout.has);
    ExpectCounters(Get(by, Scope::kPod, kPodB), 3, layout.has);
    ExpectCounters(Get(by, Scope::kPod, kPodE), 6, layout.has);
    ExpectCounters(Get(by, Scope::kContainer, std::string(kPodG) + "/" + kC1), 2, layout.has);
    ExpectCounters(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC2), 4, layout.has);
    ExpectCounters(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC3), 5, layout.has);
    const auto& c4 = Get(by, Scope::kContainer, std::string(kPodE) + "/" + kC4);
    ExpectCounters(c4, 7, layout.has);
    EXPECT_EQ(c4.path, layout.c4_path);
    EXPECT_EQ(Get(by, Scope::kPod, kPodE).path,
              layout.c4_path.substr(0, layout.c4_path.rfind('/')));
    std::vector<std::pair<std::string, uint64_t>> plain;
    for (const auto& [key, s] : by) {
      if (key.first == Scope::kCgroup) plain.emplace_back(key.second, 0);
    }
    std::vector<std::pair<std::string, uint64_t>> want_plain = layout.plain;
    for (auto& [id, n] : want_plain) {
      ExpectCounters(Get(by, Scope::kCgroup, id), n, layout.has);
      n = 0;
    }
    EXPECT_EQ(plain, want_plain) << "plain cgroups";
    EXPECT_EQ(sampler->stats().vanished, 0u);
  }
}

// Pure v2 with controllers left out below the QoS slices: the readings a controller gives
// are absent where it is off, every other reading is kept.
TEST(CgroupSamplerFixture, V2ControllersPartlyDisabled) {
  std::string root = LayoutRoot("v2_partial_controllers");
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), OptionsFor(root));
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  EXPECT_EQ(sampler->host_facts().at("cgroup"), "v2");
  EXPECT_EQ(sampler->host_facts().at("cgroup_driver"), "systemd");
  EXPECT_EQ(sampler->host_facts().at("cgroup_psi"), "available");
  ByKey by = Index(sampler->Read());
  // Guaranteed: "max 100000" and "max" are no limit.
  for (const std::string& id : {std::string(kPodG), std::string(kPodG) + "/" + kC1}) {
    const auto& s = Get(by, id == kPodG ? Scope::kPod : Scope::kContainer, id);
    EXPECT_FALSE(s.cpu_limit_cores.has_value()) << id;
    EXPECT_FALSE(s.mem_limit_bytes.has_value()) << id;
    EXPECT_EQ(s.qos, "guaranteed");
  }
  ExpectCounters(Get(by, Scope::kPod, kPodG), 1, {});
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodG) + "/" + kC1), 2, {});
  EXPECT_EQ(Get(by, Scope::kPod, kPodG).net, PodGNet());
  // Burstable: no memory controller.
  const Has no_memory{.memory = false, .working_set = false, .oom = false};
  const auto& b = Get(by, Scope::kPod, kPodB);
  EXPECT_EQ(b.qos, "burstable");
  EXPECT_EQ(b.cpu_limit_cores, 0.5);
  EXPECT_FALSE(b.mem_limit_bytes.has_value());
  EXPECT_TRUE(b.host_network);
  ExpectCounters(b, 3, no_memory);
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC3), 5, no_memory);
  // ... and one container without memory.pressure: only that PSI is lost.
  CgroupSample c2 = Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC2);
  EXPECT_FALSE(c2.psi_memory.has_value());
  EXPECT_EQ(c2.psi_cpu, (PsiTotals{4001, 4002}));
  EXPECT_EQ(c2.psi_io, (PsiTotals{4005, 4006}));
  c2.psi_memory = PsiTotals{4003, 4004};
  ExpectCounters(c2, 4, no_memory);
  // Besteffort: no cpu controller: usage without throttling, no cpu.max.
  const Has no_cpu_controller{.throttle = false};
  const auto& e = Get(by, Scope::kPod, kPodE);
  EXPECT_EQ(e.qos, "besteffort");
  EXPECT_FALSE(e.cpu_limit_cores.has_value());
  EXPECT_EQ(e.net, PodENet());
  ExpectCounters(e, 6, no_cpu_controller);
  const auto& c4 = Get(by, Scope::kContainer, std::string(kPodE) + "/" + kC4);
  EXPECT_EQ(c4.container_id, kC4);
  ExpectCounters(c4, 7, no_cpu_controller);
  EXPECT_EQ(by.size(), 7u);
}

TEST(CgroupSamplerFixture, MissingRootIsNotFound) {
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot("/nonexistent/jostle"), {});
  ASSERT_FALSE(sampler.ok());
  EXPECT_TRUE(sampler.status().IsNotFound());
}

TEST(CgroupSamplerFixture, EmptyRootIsUnsupported) {
  std::string dir = fs::temp_directory_path() / ("jostle-cgroup-empty-" + std::to_string(getpid()));
  fs::create_directories(dir + "/sys/fs/cgroup/unrelated");
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir), {});
  fs::remove_all(dir);
  ASSERT_FALSE(sampler.ok());
  EXPECT_EQ(sampler.status().code(), Status::Code::kUnsupported);
}

// A writable copy of a fixture host, removed afterwards.
class FixtureCopy : public ::testing::Test {
 protected:
  void CopyOf(const std::string& name) {
    dir_ = fs::temp_directory_path() / ("jostle-cgroup-" + name + "-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::copy(FixtureRoot(name), dir_,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(FixtureCopy, PodRemovedBetweenListingAndReadingIsDropped) {
  CopyOf("cgroup_v2_systemd");
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), OptionsFor(dir_));
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  // Open listed the tree; the pod goes before the first Read opens its files.
  fs::remove_all(dir_ + "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice");
  ByKey by = Index(sampler->Read());
  EXPECT_EQ(by.count({Scope::kPod, kPodB}), 0u);
  EXPECT_EQ(by.count({Scope::kContainer, std::string(kPodB) + "/" + kC2}), 0u);
  EXPECT_EQ(by.count({Scope::kContainer, std::string(kPodB) + "/" + kC3}), 0u);
  EXPECT_EQ(sampler->stats().vanished, 3u);
  ExpectCounters(Get(by, Scope::kPod, kPodG), 1, {});
  // Later reads neither bring it back nor count it again.
  by = Index(sampler->Read());
  EXPECT_EQ(by.count({Scope::kPod, kPodB}), 0u);
  EXPECT_EQ(sampler->stats().vanished, 3u);
}

TEST_F(FixtureCopy, PodRemovedAfterFirstReadIsDroppedAtRescan) {
  CopyOf("cgroup_v1_cgroupfs");
  CgroupOptions options = OptionsFor(dir_);
  options.rescan_every_ticks = 1;
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(sampler.ok());
  ByKey first = Index(sampler->Read());
  ASSERT_EQ(first.count({Scope::kPod, kPodE}), 1u);
  std::string pod = "/kubepods/besteffort/pod" + std::string(kPodE);
  for (const char* h : {"/cpu", "/cpuacct", "/memory/ci/job7"}) {
    fs::remove_all(dir_ + "/sys/fs/cgroup" + h + pod);
  }
  ByKey second = Index(sampler->Read());
  EXPECT_EQ(second.count({Scope::kPod, kPodE}), 0u);
  EXPECT_EQ(second.count({Scope::kContainer, std::string(kPodE) + "/" + kC4}), 0u);
  EXPECT_EQ(second.count({Scope::kPod, kPodG}), 1u);
  EXPECT_EQ(sampler->stats().scans, 2u);
}

TEST_F(FixtureCopy, WorkingSetCarriedBetweenMemoryStatReads) {
  CopyOf("cgroup_v2_cgroupfs");
  CgroupOptions options = OptionsFor(dir_);
  options.memory_stat_every_ticks = 3;
  options.rescan_every_ticks = 100;
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(sampler.ok());
  std::string pod_dir = dir_ + "/sys/fs/cgroup/kubepods/pod" + std::string(kPodG);
  auto read_g = [&] { return Get(Index(sampler->Read()), Scope::kPod, kPodG); };
  CgroupSample t1 = read_g();
  EXPECT_EQ(t1.mem_working_set_bytes, 1048576u + 4096 - 65536);
  // Rewritten in place, as the kernel does: the kept-open files see the new values.
  std::ofstream(pod_dir + "/memory.current") << "2000000\n";
  std::ofstream(pod_dir + "/memory.stat") << "anon 1\ninactive_file 500000\n";
  CgroupSample t2 = read_g();
  EXPECT_EQ(t2.mem_usage_bytes, 2000000u);
  EXPECT_EQ(t2.mem_working_set_bytes, t1.mem_working_set_bytes);  // carried
  CgroupSample t3 = read_g();
  EXPECT_EQ(t3.mem_working_set_bytes, t1.mem_working_set_bytes);  // carried
  CgroupSample t4 = read_g();
  EXPECT_EQ(t4.mem_working_set_bytes, 1500000u);  // memory.stat read again
  // inactive_file above usage: floored at 0.
  std::ofstream(pod_dir + "/memory.stat") << "inactive_file 3000000\n";
  read_g();
  read_g();
  EXPECT_EQ(read_g().mem_working_set_bytes, 0u);
}

// A CPU limit set after start: the throttling it causes has the limits read again within
// two ticks, not at the next round of limits_every_ticks.
TEST_F(FixtureCopy, ThrottlingReadsALimitChangedMidRun) {
  CopyOf("cgroup_v2_cgroupfs");
  CgroupOptions options = OptionsFor(dir_);
  options.rescan_every_ticks = 100;
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(sampler.ok());
  std::string pod_dir = dir_ + "/sys/fs/cgroup/kubepods/pod" + std::string(kPodG);
  auto read_g = [&] { return Get(Index(sampler->Read()), Scope::kPod, kPodG); };
  auto cpu_stat = [&](int throttled) {
    std::ofstream(pod_dir + "/cpu.stat") << "usage_usec 1000123\nnr_periods 100\nnr_throttled "
                                         << throttled << "\nthrottled_usec 5000\n";
  };
  EXPECT_EQ(read_g().cpu_limit_cores, 2.0);
  std::ofstream(pod_dir + "/cpu.max") << "20000 100000\n";
  read_g();
  EXPECT_EQ(read_g().cpu_limit_cores, 2.0);  // not throttled more: carried
  cpu_stat(11);
  EXPECT_EQ(read_g().cpu_limit_cores, 0.2);  // throttled: read again
  // Throttled on every tick: read at most every other tick.
  std::ofstream(pod_dir + "/cpu.max") << "10000 100000\n";
  cpu_stat(12);
  EXPECT_EQ(read_g().cpu_limit_cores, 0.2);
  cpu_stat(13);
  EXPECT_EQ(read_g().cpu_limit_cores, 0.1);
}

// Neighbours beneath a job's container sit deeper than --cgroup-depth: discovered too,
// shallowest first, within the budget; none of them inside kubepods.
TEST_F(FixtureCopy, DeeperPlainCgroupsWithinABudgetShallowestFirst) {
  CopyOf("cgroup_v2_cgroupfs");
  std::string root = dir_ + "/sys/fs/cgroup";
  for (const char* d : {"/ci/job7/build", "/ci/job7/cache/reader", "/ci/job7/cache/writer",
                        "/ci/job7/zz/deep/deeper"}) {
    fs::create_directories(root + d);
    std::ofstream(root + d + "/cpu.stat") << "usage_usec 5\n";
  }
  CgroupOptions options = OptionsFor(dir_);
  options.deeper_plain_cgroups = 4;
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  ByKey by = Index(sampler->Read());
  // Depth 2 as before; then depth 3 (/ci/job7/build, /ci/job7/cache, /ci/job7/zz) and the
  // first of depth 4 by path; not the rest.
  EXPECT_EQ(by.count({Scope::kCgroup, "/ci/job7"}), 1u);
  EXPECT_EQ(by.count({Scope::kCgroup, "/ci/job7/build"}), 1u);
  EXPECT_EQ(by.count({Scope::kCgroup, "/ci/job7/cache"}), 1u);
  EXPECT_EQ(by.count({Scope::kCgroup, "/ci/job7/zz"}), 1u);
  EXPECT_EQ(by.count({Scope::kCgroup, "/ci/job7/cache/reader"}), 1u);
  EXPECT_EQ(by.count({Scope::kCgroup, "/ci/job7/cache/writer"}), 0u);
  EXPECT_EQ(by.count({Scope::kCgroup, "/ci/job7/zz/deep/deeper"}), 0u);
  EXPECT_EQ(Get(by, Scope::kCgroup, "/ci/job7/build").cpu_usage_us, 5u);
  for (const auto& [key, sample] : by) {
    if (key.first == Scope::kCgroup) {
      EXPECT_EQ(key.second.find("kubepods"), std::string::npos);
    }
  }
  // --cgroup-depth 0: none at all.
  options.plain_cgroup_depth = 0;
  auto none = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(none.ok());
  for (const auto& [key, sample] : Index(none->Read())) EXPECT_NE(key.first, Scope::kCgroup);
}

TEST_F(FixtureCopy, FilesBeyondTheOpenBudgetAreStillRead) {
  CopyOf("cgroup_v2_systemd");
  CgroupOptions options = OptionsFor(dir_);
  options.max_open_files = 5;
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(sampler.ok());
  ByKey by = Index(sampler->Read());
  EXPECT_EQ(sampler->stats().open_files, 5u);
  ExpectPods(by);
  ExpectCounters(Get(by, Scope::kContainer, std::string(kPodB) + "/" + kC3), 5, {});
}

// Files read every few ticks take what the files read every tick leave of the budget,
// whatever order the first read opens them in.
TEST_F(FixtureCopy, FilesReadEveryTickComeFirstInTheOpenBudget) {
  CopyOf("cgroup_v2_systemd");
  CgroupOptions options = OptionsFor(dir_);
  auto roomy = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(roomy.ok());
  roomy->Read();
  const CgroupSamplerStats all = roomy->stats();
  ASSERT_GT(all.open_periodic_files, 2u);
  const size_t every_tick = all.open_files - all.open_periodic_files;
  ASSERT_GT(every_tick, 4u);
  for (size_t spare : {size_t{0}, size_t{2}}) {
    options.max_open_files = every_tick + spare;
    auto tight = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
    ASSERT_TRUE(tight.ok());
    ByKey by = Index(tight->Read());
    ExpectPods(by);
    const CgroupSamplerStats s = tight->stats();
    EXPECT_EQ(s.open_files - s.open_periodic_files, every_tick) << "spare " << spare;
    EXPECT_LE(s.open_periodic_files, spare);
  }
}

TEST_F(FixtureCopy, ContainersMemoryAndPsiAreReadEveryFewTicksAndCarried) {
  CopyOf("cgroup_v2_systemd");
  CgroupOptions options = OptionsFor(dir_);
  options.container_detail_every_ticks = 3;
  options.rescan_every_ticks = 100;
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(sampler.ok());
  const std::string id = std::string(kPodG) + "/" + kC1;
  std::string cdir = dir_ +
                     "/sys/fs/cgroup/kubepods.slice/"
                     "kubepods-pod0b5c1d2e_1111_4a4a_8b8b_000000000001.slice/"
                     "cri-containerd-" +
                     kC1 + ".scope";
  std::string pdir = dir_ +
                     "/sys/fs/cgroup/kubepods.slice/"
                     "kubepods-pod0b5c1d2e_1111_4a4a_8b8b_000000000001.slice";
  ASSERT_TRUE(fs::exists(cdir + "/memory.current")) << cdir;
  ByKey by = Index(sampler->Read());
  CgroupSample first = Get(by, Scope::kContainer, id);
  ExpectCounters(first, 2, {});  // everything read at once for a new container
  // Rewritten in place, as the kernel does.
  std::ofstream(cdir + "/cpu.stat") << "usage_usec 42\nnr_periods 1\nnr_throttled 0\n"
                                       "throttled_usec 0\n";
  std::ofstream(cdir + "/memory.current") << "777\n";
  std::ofstream(cdir + "/cpu.pressure") << "some avg10=0.00 avg60=0.00 avg300=0.00 total=99\n"
                                           "full avg10=0.00 avg60=0.00 avg300=0.00 total=98\n";
  std::ofstream(pdir + "/memory.current") << "888\n";
  int reads_until_fresh = 0;
  for (int i = 1; i <= 3 && reads_until_fresh == 0; ++i) {
    by = Index(sampler->Read());
    const CgroupSample& c = Get(by, Scope::kContainer, id);
    EXPECT_EQ(c.cpu_usage_us, 42u) << "container CPU is read every tick";
    EXPECT_EQ(Get(by, Scope::kPod, kPodG).mem_usage_bytes, 888u) << "pods' memory every tick";
    if (c.mem_usage_bytes == 777u) {
      EXPECT_EQ(c.psi_cpu, (PsiTotals{99, 98})) << "memory and PSI are read together";
      reads_until_fresh = i;
    } else {
      EXPECT_EQ(c.mem_usage_bytes, first.mem_usage_bytes) << "carried";
      EXPECT_EQ(c.psi_cpu, first.psi_cpu) << "carried";
      EXPECT_EQ(c.mem_working_set_bytes, first.mem_working_set_bytes) << "carried";
    }
  }
  EXPECT_GE(reads_until_fresh, 1);
  EXPECT_LE(reads_until_fresh, 3);
  // From then on exactly every 3rd tick.
  std::ofstream(cdir + "/memory.current") << "555\n";
  for (int i = 1; i <= 3; ++i) {
    auto mem = Get(Index(sampler->Read()), Scope::kContainer, id).mem_usage_bytes;
    EXPECT_EQ(mem, i < 3 ? 777u : 555u) << "read " << i;
  }
}

TEST_F(FixtureCopy, ContainersCpuEveryFewTicksWhenAskedPodsCpuEveryTick) {
  CopyOf("cgroup_v2_systemd");
  CgroupOptions options = OptionsFor(dir_);
  options.container_cpu_every_ticks = 4;
  options.rescan_every_ticks = 100;
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(sampler.ok());
  const std::string id = std::string(kPodG) + "/" + kC1;
  std::string pdir = dir_ +
                     "/sys/fs/cgroup/kubepods.slice/"
                     "kubepods-pod0b5c1d2e_1111_4a4a_8b8b_000000000001.slice";
  std::string cdir = pdir + "/cri-containerd-" + kC1 + ".scope";
  ASSERT_TRUE(fs::exists(cdir + "/cpu.stat")) << cdir;
  ByKey by = Index(sampler->Read());
  CgroupSample first = Get(by, Scope::kContainer, id);
  ExpectCounters(first, 2, {});  // read at once for a new container
  auto write_cpu = [](const std::string& dir, int usage) {
    std::ofstream(dir + "/cpu.stat")
        << "usage_usec " << usage << "\nnr_periods 7\nnr_throttled 1\nthrottled_usec 5\n";
  };
  write_cpu(cdir, 4242);
  write_cpu(pdir, 9000);
  int reads_until_fresh = 0;
  for (int i = 1; i <= 4 && reads_until_fresh == 0; ++i) {
    by = Index(sampler->Read());
    const CgroupSample& c = Get(by, Scope::kContainer, id);
    EXPECT_EQ(Get(by, Scope::kPod, kPodG).cpu_usage_us, 9000u) << "pods' CPU every tick";
    if (c.cpu_usage_us == 4242u) {
      EXPECT_EQ(c.cpu_periods, 7u) << "cpu.stat read whole";
      reads_until_fresh = i;
    } else {
      EXPECT_EQ(c.cpu_usage_us, first.cpu_usage_us) << "carried";
      EXPECT_EQ(c.cpu_periods, first.cpu_periods) << "carried";
      EXPECT_EQ(c.cpu_throttled_us, first.cpu_throttled_us) << "carried";
    }
  }
  EXPECT_GE(reads_until_fresh, 1);
  EXPECT_LE(reads_until_fresh, 4);
  auto usage = [&] { return Get(Index(sampler->Read()), Scope::kContainer, id).cpu_usage_us; };
  // Its CPU moved at that read: busy, read again on the next tick.
  write_cpu(cdir, 5555);
  EXPECT_EQ(usage(), 5555u) << "busy: read the next tick";
  EXPECT_EQ(usage(), 5555u) << "read again, unchanged: idle from here";
  // Idle: carried until its round comes, within 4 ticks.
  write_cpu(cdir, 6666);
  int reads_until_round = 0;
  for (int i = 1; i <= 4 && reads_until_round == 0; ++i) {
    auto u = usage();
    if (u == 6666u) {
      reads_until_round = i;
    } else {
      EXPECT_EQ(u, 5555u) << "carried while idle, read " << i;
    }
  }
  EXPECT_GE(reads_until_round, 2) << "not read on every tick while idle";
  EXPECT_LE(reads_until_round, 4);
}

// Collects the warnings logged while it lives.
class CapturedWarnings {
 public:
  CapturedWarnings() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100)) {
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink_));
  }
  ~CapturedWarnings() { spdlog::set_default_logger(previous_); }
  size_t Count(const std::string& needle) const {
    size_t n = 0;
    for (const std::string& line : sink_->last_formatted()) n += line.find(needle) != line.npos;
    return n;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(FixtureCopy, UnreadableHostNetnsIsWarnedOnlyWhenThereArePods) {
  CopyOf("cgroup_v2_systemd");
  fs::remove(dir_ + "/proc/1/ns/net");
  {
    CapturedWarnings warnings;
    auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), OptionsFor(dir_));
    ASSERT_TRUE(sampler.ok());
    sampler->Read();
    EXPECT_EQ(warnings.Count("1/ns/net is unreadable"), 1u);
  }
  // The same host without Kubernetes: plain cgroups only, nothing to tell apart.
  fs::remove_all(dir_ + "/sys/fs/cgroup/kubepods.slice");
  {
    CapturedWarnings warnings;
    CgroupOptions options = OptionsFor(dir_);
    options.rescan_every_ticks = 1;
    auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
    ASSERT_TRUE(sampler.ok());
    auto samples = sampler->Read();
    sampler->Read();  // and a rescan
    EXPECT_FALSE(samples.empty());
    EXPECT_EQ(warnings.Count("ns/net"), 0u);
  }
}

// Read(vector&) reusing last tick's samples gives exactly what a fresh Read() of a second
// sampler over the same tree gives, as cgroups disappear, appear and are renamed or moved.
TEST_F(FixtureCopy, ReusedSamplesEqualAFreshRead) {
  CopyOf("cgroup_v2_systemd");
  CgroupOptions options = OptionsFor(dir_);
  options.rescan_every_ticks = 1;
  auto reused = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  auto fresh = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(reused.ok()) << reused.status().ToString();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  const std::string root = dir_ + "/sys/fs/cgroup";
  const std::string burstable = root + "/kubepods.slice/kubepods-burstable.slice";
  const std::string pod_b = "/kubepods-burstable-pod0b5c1d2e_2222_4a4a_8b8b_000000000002.slice";
  const std::string kept = dir_ + "/kept";
  std::vector<CgroupSample> out;
  auto expect_same = [&](const std::string& step) {
    reused->Read(out);
    std::vector<CgroupSample> want = fresh->Read();
    EXPECT_FALSE(want.empty()) << step;
    EXPECT_EQ(out, want) << step;
    // What a caller filled in (ApplyPodNames) must not survive into the next read.
    for (CgroupSample& s : out) {
      s.namespace_name = "stale-ns";
      s.pod_name = "stale-pod";
      s.container_name = "stale-container";
      s.labels = {{"stale", "yes"}};
      s.cpu_usage_us = 424242;
      s.net = NetCounters{"stale", 1, 1, 1, 1, 1, 1, 1, 1, 1};
    }
    return want;
  };
  auto first = expect_same("first read, into an empty vector");
  expect_same("nothing changed");

  fs::rename(burstable + pod_b, kept);  // pod B and its two containers disappear
  auto without_b = expect_same("pod removed");
  EXPECT_EQ(without_b.size() + 3, first.size());

  fs::rename(kept, burstable + pod_b);  // and come back
  expect_same("pod back");

  fs::rename(root + "/system.slice/containerd.service", root + "/system.slice/aaa.service");
  fs::rename(root + "/user.slice", root + "/zzz.slice");
  auto renamed = expect_same("plain cgroups renamed");
  EXPECT_EQ(Index(renamed).count({Scope::kCgroup, "/system.slice/aaa.service"}), 1u);

  // Pod B moved under the besteffort slice: same ids, other paths.
  fs::rename(burstable + pod_b, root + "/kubepods.slice/kubepods-besteffort.slice" + pod_b);
  expect_same("pod moved");

  // Last tick's samples in another order, or foreign samples, only cost time.
  std::reverse(out.begin(), out.end());
  expect_same("reversed input");
  CgroupSample foreign;
  foreign.id = "/not/a/cgroup";
  out.insert(out.begin(), foreign);
  out.push_back(foreign);
  expect_same("foreign samples in the input");
}

TEST_F(FixtureCopy, ReusedSamplesDropACgroupThatVanishesMidRead) {
  CopyOf("cgroup_v2_systemd");
  CgroupOptions options = OptionsFor(dir_);
  options.rescan_every_ticks = 100;
  options.max_open_files = 0;  // every file opened when read, so a removed one is missed
  auto reused = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  auto fresh = CgroupSampler::Open(HostPaths::UnderRoot(dir_), options);
  ASSERT_TRUE(reused.ok() && fresh.ok());
  std::vector<CgroupSample> out;
  reused->Read(out);
  EXPECT_EQ(out, fresh->Read());
  // Listed, then gone: both samplers find out while reading.
  fs::remove_all(dir_ + "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice");
  fs::remove_all(dir_ + "/sys/fs/cgroup/user.slice");
  reused->Read(out);
  std::vector<CgroupSample> want = fresh->Read();
  EXPECT_EQ(out, want);
  EXPECT_EQ(Index(out).count({Scope::kPod, kPodB}), 0u);
  EXPECT_EQ(reused->stats().vanished, fresh->stats().vanished);
  EXPECT_GT(reused->stats().vanished, 0u);
  reused->Read(out);
  EXPECT_EQ(out, fresh->Read());
}

}  // namespace
}  // namespace jostle::agent
