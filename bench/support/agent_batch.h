// The agent-sized sample batch the benchmarks share: 10 ticks of one node with 50 pods x 5
// containers, so per tick 1 node row + 50 pod rows + 250 container rows = 3010 sample rows
// per batch. Header-only benchmark support.
#pragma once

#include <cstdint>
#include <string>

#include "jostle/sample.h"
#include "jostle/version.h"

namespace jostle::bench {

inline constexpr int kTicks = 10;
inline constexpr int kPods = 50;
inline constexpr int kContainers = 5;
inline constexpr int64_t kRowsPerBatch = kTicks * (1 + kPods * (1 + kContainers));
inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kT0 = 1'700'000'000 * kSecond;

// Realistic values: cumulative counters growing with the tick, Kubernetes names and labels.
inline SampleBatch MakeAgentBatch(uint64_t seq) {
  SampleBatch b;
  b.node = "ci-node-1";
  b.boot_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  b.agent_start_ns = kT0;
  b.seq = seq;
  b.agent_version = kVersion;
  b.interval_ns = kSecond;
  b.host = {{"cgroup", "v2"}, {"psi", "enabled"}};
  for (int t = 0; t < kTicks; ++t) {
    const uint64_t k = seq * kTicks + t;
    Sample s;
    s.wall_ns = kT0 + static_cast<int64_t>(k) * kSecond;
    s.mono_ns = 1000 * kSecond + static_cast<int64_t>(k) * kSecond;
    NodeSample& n = s.node;
    n.cpu_busy_us = 3'000'000 * k;
    n.cpu_total_us = 8'000'000 * k;
    n.cpus = 8;
    n.mem_total_bytes = 64ull << 30;
    n.mem_available_bytes = (32ull << 30) + k;
    n.psi_cpu = PsiTotals{1000 * k, 0};
    n.psi_memory = PsiTotals{10 * k, 5 * k};
    n.psi_io = PsiTotals{200 * k, 100 * k};
    n.net = {NetCounters{"eth0", 100000 * k, 100 * k, 0, 0, 50000 * k, 80 * k, 0, 0, 10000}};
    n.tcp_out_segs = 1000 * k;
    n.tcp_retrans_segs = k;
    n.load1 = 3.5;
    n.load5 = 3.1;
    n.load15 = 2.9;
    for (int p = 0; p < kPods; ++p) {
      CgroupSample pod;
      pod.scope = Scope::kPod;
      pod.pod_uid = "5d3c1a2b-0000-4000-8000-0000000000" + std::to_string(10 + p);
      pod.id = pod.pod_uid;
      pod.path =
          "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + pod.id + ".slice";
      pod.namespace_name = "ci-jobs";
      pod.pod_name = "runner-" + std::to_string(p) + "-x7k2p";
      pod.qos = "burstable";
      pod.labels = {{"app", "gitlab-runner"}, {"job", std::to_string(p)}};
      pod.cpu_usage_us = 50000 * k + p;
      pod.cpu_periods = 10 * k;
      pod.cpu_throttled_periods = k;
      pod.cpu_throttled_us = 1000 * k;
      pod.cpu_limit_cores = 2.0;
      pod.mem_usage_bytes = (1ull << 30) + k;
      pod.mem_working_set_bytes = (900ull << 20) + k;
      pod.mem_limit_bytes = 4ull << 30;
      pod.oom_kills = 0;
      pod.psi_cpu = PsiTotals{300 * k, 100 * k};
      pod.psi_memory = PsiTotals{3 * k, k};
      pod.psi_io = PsiTotals{20 * k, 10 * k};
      pod.net = NetCounters{"*", 7000 * k, 10 * k, 0, 0, 3000 * k, 8 * k, 0, 0, std::nullopt};
      s.cgroups.push_back(pod);
      for (int c = 0; c < kContainers; ++c) {
        CgroupSample ct = pod;
        ct.scope = Scope::kContainer;
        ct.container_id = "containerd-" + std::to_string(p) + "-" + std::to_string(c);
        ct.id = pod.pod_uid + "/" + ct.container_id;
        ct.path = pod.path + "/cri-containerd-" + ct.container_id + ".scope";
        ct.container_name = c == 0 ? "build" : "svc-" + std::to_string(c);
        ct.labels.clear();
        ct.net.reset();
        ct.cpu_usage_us = 10000 * k + c;
        s.cgroups.push_back(std::move(ct));
      }
    }
    b.samples.push_back(std::move(s));
  }
  return b;
}

}  // namespace jostle::bench
