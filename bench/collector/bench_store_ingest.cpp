// Sample ingest into the SQLite store: PutBatch of agent-sized batches into a database file,
// one thread. A batch is 10 ticks of one node with 50 pods x 5 containers: per tick one node
// row, 50 pod rows and 250 container rows, so 3010 sample rows per batch.
//
//   build/bin/bench_store_ingest [--benchmark_filter=...]
//
// Reports rows/s (counter "rows") for synchronous=FULL (the collector default: each batch is
// durable on power loss when acknowledged) and synchronous=NORMAL.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "collector/store/store.h"

namespace jostle::collector {
namespace {

constexpr int kTicks = 10;
constexpr int kPods = 50;
constexpr int kContainers = 5;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSecond;

// Realistic values: cumulative counters growing with the tick, Kubernetes names and labels.
SampleBatch MakeBatch(uint64_t seq) {
  SampleBatch b;
  b.node = "ci-node-1";
  b.boot_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  b.agent_start_ns = kT0;
  b.seq = seq;
  b.agent_version = "0.1.0";
  b.interval_ns = kSecond;
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

constexpr int64_t kRowsPerBatch = kTicks * (1 + kPods * (1 + kContainers));

void BM_PutBatch(benchmark::State& state) {
  const bool durable = state.range(0) != 0;
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "jostle-bench-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::filesystem::path dir = dir_template;
  {
    SqliteStoreOptions options;
    options.durable_commits = durable;
    auto store = OpenSqliteStore((dir / "bench.db").string(), options);
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    // Batches are built outside the timed region, a few at a time.
    uint64_t seq = 0;
    std::vector<SampleBatch> pending;
    std::vector<SampleBatch> done;  // freed outside the timed region
    for (auto _ : state) {
      state.PauseTiming();
      done.clear();
      if (pending.empty()) {
        for (int i = 0; i < 16; ++i) pending.push_back(MakeBatch(seq++));
        std::reverse(pending.begin(), pending.end());  // back() is the oldest
      }
      done.push_back(std::move(pending.back()));
      pending.pop_back();
      const SampleBatch& batch = done.back();
      state.ResumeTiming();
      auto r = (*store)->PutBatch(batch);
      if (!r.ok() || !*r) {
        state.SkipWithError(r.ok() ? "batch seen as replay" : r.status().ToString().c_str());
        break;
      }
    }
  }
  std::filesystem::remove_all(dir);
  state.counters["rows"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kRowsPerBatch, benchmark::Counter::kIsRate);
  state.counters["rows_per_batch"] = static_cast<double>(kRowsPerBatch);
}
BENCHMARK(BM_PutBatch)
    ->ArgName("sync_full")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(5.0);

}  // namespace
}  // namespace jostle::collector

BENCHMARK_MAIN();
