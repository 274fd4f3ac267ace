// Sample batches for collector and shipper tests: deterministic, distinct wall_ns per
// (node, seq, tick), so a stored sample tells which batch it came from.
#pragma once

#include <cstdint>
#include <string>

#include "jostle/sample.h"

namespace jostle::testing {

// Base wall clock of test batches: 2026-01-01T00:00:00Z, ns.
inline constexpr int64_t kTestEpochNs = 1767225600LL * 1000000000LL;

// Wall clock of tick `tick` of batch `seq` (1 s ticks, batches of ticks_per_batch).
inline int64_t TestWallNs(uint64_t seq, int tick, int ticks_per_batch,
                          int64_t base_ns = kTestEpochNs) {
  return base_ns + (static_cast<int64_t>(seq) * ticks_per_batch + tick) * 1000000000LL;
}

inline SampleBatch MakeTestBatch(const std::string& node, uint64_t seq, int ticks = 2,
                                 int cgroups = 3, int64_t agent_start_ns = kTestEpochNs,
                                 int64_t base_ns = kTestEpochNs) {
  SampleBatch b;
  b.node = node;
  b.boot_id = "0e4f6c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6";
  b.agent_start_ns = agent_start_ns;
  b.seq = seq;
  b.agent_version = "test";
  b.interval_ns = 1000000000LL;
  for (int t = 0; t < ticks; ++t) {
    Sample s;
    s.wall_ns = TestWallNs(seq, t, ticks, base_ns);
    s.mono_ns = s.wall_ns - base_ns + 1000;
    s.node.cpu_busy_us = 1000 * seq + static_cast<uint64_t>(t);
    s.node.cpu_total_us = 4000 * seq + static_cast<uint64_t>(t);
    s.node.cpus = 4;
    s.node.mem_total_bytes = 8ull << 30;
    s.node.mem_available_bytes = 4ull << 30;
    s.node.psi_cpu = PsiTotals{100 * seq, std::nullopt};
    for (int c = 0; c < cgroups; ++c) {
      CgroupSample g;
      g.scope = Scope::kPod;
      g.pod_uid = "uid-" + std::to_string(c);
      g.id = g.pod_uid;
      g.path = "/kubepods/pod" + g.pod_uid;
      g.namespace_name = "ci";
      g.pod_name = "runner-" + std::to_string(c);
      g.cpu_usage_us = 10 * seq + static_cast<uint64_t>(c);
      g.mem_usage_bytes = 1 << 20;
      s.cgroups.push_back(std::move(g));
    }
    b.samples.push_back(std::move(s));
  }
  return b;
}

}  // namespace jostle::testing
