// Sample ingest into the SQLite store: PutBatch of agent-sized batches into a database file.
//
//   build/bin/bench_store_ingest [--benchmark_filter=...]
//
// BM_PutBatch: one thread. A batch is 10 ticks of one node with 50 pods x 5 containers: per
// tick one node row, 50 pod rows and 250 container rows, so 3010 sample rows per batch.
// Reports rows/s (counter "rows") for synchronous=FULL (the collector default: each batch is
// durable on power loss when acknowledged) and synchronous=NORMAL.
//
// BM_PutBatchConcurrent: the store's side of bench/ingest_http.sh. 4 threads (the collector's
// HTTP threads) store batches of 48 nodes, 12 per thread in turn, each 10 ticks x (1 node + 50
// pod rows) = 510 sample rows, synchronous=FULL: concurrent calls share group commits and the
// nodes' rows interleave in the B-trees. Reports rows per wall second ("items_per_second") and
// rows per CPU-second of the whole process ("rows_per_cpu_s": every thread, user and system,
// during the timed loop).
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/support/agent_batch.h"
#include "collector/store/stores.h"

namespace jostle::collector {
namespace {

using bench::kRowsPerBatch;
using bench::MakeAgentBatch;

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
    auto store = OpenSqliteStores((dir / "bench.db").string(), options);
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
        for (int i = 0; i < 16; ++i) pending.push_back(MakeAgentBatch(seq++));
        std::reverse(pending.begin(), pending.end());  // back() is the oldest
      }
      done.push_back(std::move(pending.back()));
      pending.pop_back();
      const SampleBatch& batch = done.back();
      state.ResumeTiming();
      auto r = (*store)->samples().PutBatch(batch);
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

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

constexpr int kNodesPerThread = 12;
constexpr int64_t kPodRowsPerBatch = bench::kTicks * (1 + bench::kPods);

// The agent batch without its container cgroups, from node `node`.
SampleBatch PodBatch(int node) {
  SampleBatch b = MakeAgentBatch(0);
  b.node = "ci-node-" + std::to_string(node);
  for (Sample& s : b.samples) {
    std::erase_if(s.cgroups, [](const CgroupSample& c) { return c.scope == Scope::kContainer; });
  }
  return b;
}

// Shared by the threads of BM_PutBatchConcurrent; set up and torn down by thread 0 outside
// the timed loop, whose start and end every thread waits for.
struct ConcurrentRun {
  std::filesystem::path dir;
  std::unique_ptr<Stores> store;
  double cpu_at_start = 0;
};
ConcurrentRun* g_run = nullptr;

void BM_PutBatchConcurrent(benchmark::State& state) {
  if (state.thread_index() == 0) {
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "jostle-bench-XXXXXX").string();
    if (mkdtemp(dir_template.data()) == nullptr) {
      state.SkipWithError("mkdtemp failed");
      return;
    }
    g_run = new ConcurrentRun{dir_template, nullptr, 0};
    auto store = OpenSqliteStores((g_run->dir / "bench.db").string());
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    g_run->store = std::move(*store);
  }
  // This thread's nodes; each round sends every node's next batch (seq and ticks moved on).
  std::vector<SampleBatch> batches;
  for (int k = 0; k < kNodesPerThread; ++k) {
    batches.push_back(PodBatch(state.thread_index() * kNodesPerThread + k));
  }
  uint64_t round = 0;
  size_t next = 0;
  bool first = true;
  for (auto _ : state) {
    if (first && state.thread_index() == 0) g_run->cpu_at_start = ProcessCpuSeconds();
    first = false;
    SampleBatch& b = batches[next];
    b.seq = round;
    for (int t = 0; t < bench::kTicks; ++t) {
      const auto k = static_cast<int64_t>(round) * bench::kTicks + t;
      b.samples[t].wall_ns = bench::kT0 + k * bench::kSecond;
      b.samples[t].mono_ns = 1000 * bench::kSecond + k * bench::kSecond;
    }
    auto r = g_run->store->samples().PutBatch(b);
    if (!r.ok() || !*r) {
      state.SkipWithError(r.ok() ? "batch seen as replay" : r.status().ToString().c_str());
      break;
    }
    if (++next == batches.size()) {
      next = 0;
      ++round;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPodRowsPerBatch);
  if (state.thread_index() == 0) {
    const double cpu = ProcessCpuSeconds() - g_run->cpu_at_start;
    // Thread 0 ran about a quarter of the batches; the rate is over all of them.
    const double rows = static_cast<double>(state.iterations()) * kPodRowsPerBatch *
                        static_cast<double>(state.threads());
    state.counters["rows_per_cpu_s"] = cpu > 0 ? rows / cpu : 0;
    g_run->store.reset();
    std::filesystem::remove_all(g_run->dir);
    delete g_run;
    g_run = nullptr;
  }
}
BENCHMARK(BM_PutBatchConcurrent)
    ->Threads(4)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(5.0);

}  // namespace
}  // namespace jostle::collector

BENCHMARK_MAIN();
