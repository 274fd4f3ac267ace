// Cost of rendering /metrics for one sample of 100 pods x 5 containers (600 cgroup series
// identities, ~9.3k series, ~1.9 MB of text, as bench/agent_process.sh's fake node gives):
//
//   build-*/bin/bench_metrics_render
//
// BM_RenderFresh: RenderPrometheus, every label set escaped again (a first render).
// BM_RenderCached: PrometheusRenderer::RenderSeries with its label sets kept, into a reused
//   buffer (what jostle-agent does when a tick is scraped the first time).
// BM_RenderCachedNewBuffer: the same into a new string reserved to the last size (the
//   HTTP response body, when no rendered text is kept between scrapes).
// BM_CopyRendered: copying a rendered text into a new string (what serving a kept text
//   costs per scrape).
#include <benchmark/benchmark.h>

#include <string>

#include "agent/metrics/prometheus.h"

namespace {

using jostle::CgroupSample;
using jostle::Sample;
using jostle::Scope;

std::string Hex(int n, size_t width) {
  std::string s = std::to_string(n);
  return std::string(width - s.size(), '0') + s;
}

Sample NodeOf100Pods() {
  Sample s;
  s.wall_ns = 1700000000000000000;
  s.node.cpu_busy_us = 123456789;
  s.node.cpu_total_us = 987654321;
  s.node.cpus = 2;
  s.node.mem_total_bytes = 8ull << 30;
  s.node.mem_available_bytes = 5ull << 30;
  s.node.psi_cpu = jostle::PsiTotals{1000, 10};
  s.node.net.push_back(jostle::NetCounters{"eth0", 1, 2, 3, 4, 5, 6, 7, 8, 10000});
  for (int p = 0; p < 100; ++p) {
    std::string uid = Hex(p, 8) + "-1111-4a4a-8b8b-" + Hex(p, 12);
    std::string slice = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid;
    CgroupSample pod;
    pod.scope = Scope::kPod;
    pod.id = pod.pod_uid = uid;
    pod.path = slice + ".slice";
    pod.qos = "burstable";
    pod.cpu_usage_us = 1000000 + static_cast<uint64_t>(p);
    pod.cpu_periods = 100;
    pod.cpu_throttled_periods = 3;
    pod.cpu_throttled_us = 7000;
    pod.cpu_limit_cores = 2;
    pod.mem_usage_bytes = 1048576;
    pod.mem_working_set_bytes = 1000000;
    pod.oom_kills = 0;
    pod.psi_cpu = pod.psi_memory = pod.psi_io = jostle::PsiTotals{12345, 678};
    pod.net = jostle::NetCounters{"*", 100, 2, 0, 0, 300, 4, 0, 0, std::nullopt};
    s.cgroups.push_back(pod);
    for (int c = 0; c < 5; ++c) {
      CgroupSample ct = pod;
      ct.scope = Scope::kContainer;
      ct.container_id = Hex(p * 10 + c, 64);
      ct.id = uid + "/" + ct.container_id;
      ct.path = slice + ".slice/cri-containerd-" + ct.container_id + ".scope";
      ct.net.reset();
      s.cgroups.push_back(ct);
    }
  }
  return s;
}

void BM_RenderFresh(benchmark::State& state) {
  Sample s = NodeOf100Pods();
  for (auto _ : state) {
    std::string out = jostle::agent::RenderPrometheus(s, "node-1", {});
    benchmark::DoNotOptimize(out.data());
    state.counters["bytes"] = static_cast<double>(out.size());
  }
}
BENCHMARK(BM_RenderFresh)->Unit(benchmark::kMicrosecond);

void BM_RenderCached(benchmark::State& state) {
  Sample s = NodeOf100Pods();
  jostle::agent::PrometheusRenderer r("node-1");
  std::string out;
  for (auto _ : state) {
    out.clear();
    r.RenderSeries(s, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RenderCached)->Unit(benchmark::kMicrosecond);

void BM_RenderCachedNewBuffer(benchmark::State& state) {
  Sample s = NodeOf100Pods();
  jostle::agent::PrometheusRenderer r("node-1");
  size_t last = 0;
  for (auto _ : state) {
    std::string out;
    out.reserve(last + 4096);
    r.RenderSeries(s, out);
    last = out.size();
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RenderCachedNewBuffer)->Unit(benchmark::kMicrosecond);

void BM_CopyRendered(benchmark::State& state) {
  std::string text = jostle::agent::RenderPrometheus(NodeOf100Pods(), "node-1", {});
  for (auto _ : state) {
    std::string out;
    out.reserve(text.size() + 4096);
    out = text;
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_CopyRendered)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
