// The cgroup files the sampler reads and how often it reads each (see "Sampling rates" in
// cgroup_sampler.h): the file kinds, their rates, and the countdowns that spread a round of
// reads over the ticks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "agent/cgroup/cgroup_sampler.h"
#include "agent/procfs/kept_file.h"
#include "jostle/sample.h"

namespace jostle::agent {

enum class FileKind : uint8_t {
  // v2
  kCpuStat,
  kCpuMax,
  kMemCurrent,
  kMemMax,
  kMemStat,
  kMemEvents,
  kCpuPressure,
  kMemPressure,
  kIoPressure,
  // v1
  kCpuStatV1,
  kCfsQuota,
  kCfsPeriod,
  kCpuacctUsage,
  kCpuacctUser,
  kCpuacctSys,
  kMemUsageV1,
  kMemLimitV1,
  kMemStatV1,
  kOomControl,
  // /proc/<pid>/net/dev of a pod's process
  kNetDev,
};
inline constexpr size_t kFileKinds = static_cast<size_t>(FileKind::kNetDev) + 1;

const char* FileName(FileKind kind);  // "cpu.stat", "memory.events", ..., "net/dev"
bool IsPsi(FileKind kind);

// True when containers' memory and PSI files are read every few ticks, not every tick.
bool ContainerDetailDeferred(Scope scope, const CgroupOptions& options);
// True when containers' CPU files are read every few ticks (not the default).
bool ContainerCpuDeferred(Scope scope, const CgroupOptions& options);

// True when the CPU counters moved between two reads of a cgroup (usage or throttled
// periods, both read): with containers' CPU deferred, a container that moved at its last
// read is read again on the next tick (busy), one that did not waits for its round (idle).
bool CpuMoved(const CgroupReadings& before, const CgroupReadings& after);

// How often a cgroup of `scope` reads its file of `kind`, which decides whether it is kept.
ReadRate RateOf(FileKind kind, Scope scope, const CgroupOptions& options);

// A countdown of ticks to a group of files' next read: due at once for a new cgroup, then
// every `every` ticks. Tick() once per tick, after the reads.
class ReadRound {
 public:
  bool Due() const { return countdown_ <= 0; }
  // Starts the next round of `every` ticks. With `spread`, a cgroup's second round comes
  // after 1..every ticks, by its creation ordinal, so that containers do not all take their
  // round on the same tick.
  void Restart(int every, bool spread, size_t ordinal) {
    countdown_ =
        spread && !started_ ? 1 + static_cast<int>(ordinal % static_cast<size_t>(every)) : every;
    every_ = countdown_;
    started_ = true;
  }
  void Tick() { --countdown_; }
  // Makes the round due now when it has run at least `min_ticks` ticks since it started.
  void ExpireAfter(int min_ticks) {
    if (started_ && every_ - countdown_ >= min_ticks) countdown_ = 0;
  }

 private:
  int countdown_ = 0;
  int every_ = 0;
  bool started_ = false;
};

}  // namespace jostle::agent
