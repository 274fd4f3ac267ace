// The one description of what a cgroup reading carries (jostle::CgroupReadings): every
// scalar and every PSI file, with its wire name, kind, unit, Prometheus family and the bit
// the store's pack gives it. The batch encoder and decoder (wire/), the store's pack
// (collector/store/cgroup_pack.h), SampleFrame (collector/samples/sample_frame.h, through
// CgroupReadings) and the agent's /metrics (agent/metrics/prometheus.cpp) iterate these
// tables, in their order:
//   - the wire writes the members in table order (scalars, then PSI, then "net");
//   - the pack writes cpu_usage_us (the first row) in a row's head, the other scalars and
//     then the PSI totals in its tail, in table order, each behind its pack bit;
//   - /metrics adds a cgroup's series family by family in table order.
// A row's wire name, pack bit and family are part of stored data and of dashboards: never
// change or reuse one; add a counter as a new row (with a new member in CgroupReadings) at
// the end of the scalars and a pack bit above every bit in use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "jostle/sample.h"

namespace jostle::fields {

enum class Kind : uint8_t {
  kCounter,  // cumulative since the cgroup was created; rates come from two readings
  kGauge,    // a level at the time of reading
};

// The unit a value is carried in (wire, store). /metrics shows microseconds as seconds.
enum class Unit : uint8_t { kMicroseconds, kBytes, kPages, kCount, kCores };

// One optional number of CgroupReadings: exactly one of u64 and f64 is set.
struct Scalar {
  std::string_view wire;                         // member name in a batch (jostle/wire.h)
  std::optional<uint64_t> CgroupReadings::*u64;  // the member, for integer fields
  std::optional<double> CgroupReadings::*f64;    // the member, for cpu_limit_cores
  Kind kind;
  Unit unit;
  std::string_view family;  // Prometheus family (agent /metrics)
  std::string_view help;    // its HELP text
  uint32_t pack_bit;        // field-mask bit in cgroup_ticks.packed
};

// One cgroup PSI file's totals (PsiTotals): the struct has a bit, each total its own.
struct Psi {
  std::string_view wire;  // member name in a batch; its object holds "some_us", "full_us"
  std::optional<PsiTotals> CgroupReadings::*member;
  std::string_view some_family, some_help;  // Prometheus families of the two totals, seconds
  std::string_view full_family, full_help;
  uint32_t pack_bit, some_bit, full_bit;
};

inline constexpr Scalar kCgroupScalars[] = {
    {"cpu_usage_us", &CgroupReadings::cpu_usage_us, nullptr, Kind::kCounter, Unit::kMicroseconds,
     "jostle_container_cpu_usage_seconds_total",
     "CPU time used by the cgroup (cpu.stat usage_usec or cpuacct.usage).", 1u << 0},
    {"cpu_periods", &CgroupReadings::cpu_periods, nullptr, Kind::kCounter, Unit::kCount,
     "jostle_container_cpu_cfs_periods_total", "CFS enforcement periods elapsed (nr_periods).",
     1u << 1},
    {"cpu_throttled_periods", &CgroupReadings::cpu_throttled_periods, nullptr, Kind::kCounter,
     Unit::kCount, "jostle_container_cpu_cfs_throttled_periods_total",
     "CFS periods in which the cgroup was throttled (nr_throttled).", 1u << 2},
    {"cpu_throttled_us", &CgroupReadings::cpu_throttled_us, nullptr, Kind::kCounter,
     Unit::kMicroseconds, "jostle_container_cpu_cfs_throttled_seconds_total",
     "Time the cgroup was throttled (throttled_usec or throttled_time).", 1u << 3},
    {"cpu_limit_cores", nullptr, &CgroupReadings::cpu_limit_cores, Kind::kGauge, Unit::kCores,
     "jostle_container_cpu_limit_cores",
     "CPU limit in cores (quota / period); absent when unlimited.", 1u << 4},
    {"mem_usage_bytes", &CgroupReadings::mem_usage_bytes, nullptr, Kind::kGauge, Unit::kBytes,
     "jostle_container_memory_usage_bytes",
     "Memory charged to the cgroup (memory.current or memory.usage_in_bytes).", 1u << 5},
    {"mem_working_set_bytes", &CgroupReadings::mem_working_set_bytes, nullptr, Kind::kGauge,
     Unit::kBytes, "jostle_container_memory_working_set_bytes",
     "Memory usage minus inactive file cache.", 1u << 6},
    {"mem_limit_bytes", &CgroupReadings::mem_limit_bytes, nullptr, Kind::kGauge, Unit::kBytes,
     "jostle_container_memory_limit_bytes",
     "Memory limit (memory.max or limit_in_bytes); absent when unlimited.", 1u << 7},
    {"oom_kills", &CgroupReadings::oom_kills, nullptr, Kind::kCounter, Unit::kCount,
     "jostle_container_oom_kills_total", "Processes killed by the OOM killer in the cgroup.",
     1u << 8},
    // Bits 9-17 are the PSI rows' (kCgroupPsi), 18-19 the pack's net bits.
    {"mem_high_events", &CgroupReadings::mem_high_events, nullptr, Kind::kCounter, Unit::kCount,
     "jostle_container_memory_high_events_total",
     "Times the cgroup's memory usage went over memory.high and it was throttled into "
     "reclaim (memory.events high; cgroup v2).",
     1u << 20},
    {"mem_max_events", &CgroupReadings::mem_max_events, nullptr, Kind::kCounter, Unit::kCount,
     "jostle_container_memory_max_events_total",
     "Times the cgroup's memory usage was about to go over memory.max (memory.events max; "
     "cgroup v2).",
     1u << 21},
    {"mem_pgscan", &CgroupReadings::mem_pgscan, nullptr, Kind::kCounter, Unit::kPages,
     "jostle_container_memory_pages_scanned_total",
     "Pages scanned by memory reclaim in the cgroup (memory.stat pgscan; cgroup v2).", 1u << 22},
    {"mem_workingset_refaults", &CgroupReadings::mem_workingset_refaults, nullptr, Kind::kCounter,
     Unit::kPages, "jostle_container_memory_workingset_refaults_total",
     "Evicted pages of the cgroup faulted back in (memory.stat workingset_refault_anon + "
     "workingset_refault_file; cgroup v2).",
     1u << 23},
};
inline constexpr size_t kCgroupScalarCount = std::size(kCgroupScalars);

inline constexpr Psi kCgroupPsi[] = {
    {"psi_cpu", &CgroupReadings::psi_cpu, "jostle_container_pressure_cpu_some_seconds_total",
     "Time some tasks of the cgroup stalled waiting for CPU (cpu.pressure).",
     "jostle_container_pressure_cpu_full_seconds_total",
     "Time all non-idle tasks of the cgroup stalled waiting for CPU (cpu.pressure).", 1u << 9,
     1u << 10, 1u << 11},
    {"psi_memory", &CgroupReadings::psi_memory,
     "jostle_container_pressure_memory_some_seconds_total",
     "Time some tasks of the cgroup stalled waiting for memory (memory.pressure).",
     "jostle_container_pressure_memory_full_seconds_total",
     "Time all non-idle tasks of the cgroup stalled waiting for memory (memory.pressure).",
     1u << 12, 1u << 13, 1u << 14},
    {"psi_io", &CgroupReadings::psi_io, "jostle_container_pressure_io_some_seconds_total",
     "Time some tasks of the cgroup stalled waiting for I/O (io.pressure).",
     "jostle_container_pressure_io_full_seconds_total",
     "Time all non-idle tasks of the cgroup stalled waiting for I/O (io.pressure).", 1u << 15,
     1u << 16, 1u << 17},
};
inline constexpr size_t kCgroupPsiCount = std::size(kCgroupPsi);

// The pack bits the tables use, or'ed together.
constexpr uint32_t TablePackBits() {
  uint32_t bits = 0;
  for (const Scalar& f : kCgroupScalars) bits |= f.pack_bit;
  for (const Psi& p : kCgroupPsi) bits |= p.pack_bit | p.some_bit | p.full_bit;
  return bits;
}

// True when no two rows share a pack bit and every row has exactly one member.
constexpr bool TablesWellFormed() {
  uint32_t seen = 0;
  auto take = [&seen](uint32_t bit) {
    const bool single = bit != 0 && (bit & (bit - 1)) == 0;
    const bool fresh = (seen & bit) == 0;
    seen |= bit;
    return single && fresh;
  };
  for (const Scalar& f : kCgroupScalars) {
    if (!take(f.pack_bit) || (f.u64 == nullptr) == (f.f64 == nullptr)) return false;
  }
  for (const Psi& p : kCgroupPsi) {
    if (!take(p.pack_bit) || !take(p.some_bit) || !take(p.full_bit)) return false;
  }
  return true;
}
static_assert(TablesWellFormed(), "sample_fields.h: a pack bit is shared or a row is malformed");
static_assert(kCgroupScalars[0].u64 == &CgroupReadings::cpu_usage_us,
              "cpu_usage_us is the first scalar: the pack keeps it in a row's head");

// Calls fn(row, value) for every scalar of `r` (CgroupReadings or a type derived from it,
// const or not); value is the std::optional<uint64_t> or std::optional<double> member.
template <typename Readings, typename Fn>
void ForEachScalar(Readings& r, Fn&& fn) {
  for (const Scalar& f : kCgroupScalars) {
    if (f.u64 != nullptr) {
      fn(f, r.*f.u64);
    } else {
      fn(f, r.*f.f64);
    }
  }
}

// Calls fn(row, value) for every PSI member of `r`.
template <typename Readings, typename Fn>
void ForEachPsi(Readings& r, Fn&& fn) {
  for (const Psi& p : kCgroupPsi) fn(p, r.*p.member);
}

}  // namespace jostle::fields
