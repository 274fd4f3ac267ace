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

#include "bench/support/agent_batch.h"
#include "collector/store/store.h"

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
        for (int i = 0; i < 16; ++i) pending.push_back(MakeAgentBatch(seq++));
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
