#include "agent/cgroup/read_schedule.h"

namespace jostle::agent {

const char* FileName(FileKind kind) {
  switch (kind) {
    case FileKind::kCpuStat:
    case FileKind::kCpuStatV1:
      return "cpu.stat";
    case FileKind::kCpuMax:
      return "cpu.max";
    case FileKind::kMemCurrent:
      return "memory.current";
    case FileKind::kMemMax:
      return "memory.max";
    case FileKind::kMemStat:
    case FileKind::kMemStatV1:
      return "memory.stat";
    case FileKind::kMemEvents:
      return "memory.events";
    case FileKind::kCpuPressure:
      return "cpu.pressure";
    case FileKind::kMemPressure:
      return "memory.pressure";
    case FileKind::kIoPressure:
      return "io.pressure";
    case FileKind::kCfsQuota:
      return "cpu.cfs_quota_us";
    case FileKind::kCfsPeriod:
      return "cpu.cfs_period_us";
    case FileKind::kCpuacctUsage:
      return "cpuacct.usage";
    case FileKind::kCpuacctUser:
      return "cpuacct.usage_user";
    case FileKind::kCpuacctSys:
      return "cpuacct.usage_sys";
    case FileKind::kMemUsageV1:
      return "memory.usage_in_bytes";
    case FileKind::kMemLimitV1:
      return "memory.limit_in_bytes";
    case FileKind::kOomControl:
      return "memory.oom_control";
    case FileKind::kNetDev:
      return "net/dev";
  }
  return "?";
}

bool IsPsi(FileKind kind) {
  return kind == FileKind::kCpuPressure || kind == FileKind::kMemPressure ||
         kind == FileKind::kIoPressure;
}

bool ContainerDetailDeferred(Scope scope, const CgroupOptions& options) {
  return scope == Scope::kContainer && options.container_detail_every_ticks > 1;
}

bool ContainerCpuDeferred(Scope scope, const CgroupOptions& options) {
  return scope == Scope::kContainer && options.container_cpu_every_ticks > 1;
}

bool CpuMoved(const CgroupReadings& before, const CgroupReadings& after) {
  auto moved = [](const std::optional<uint64_t>& a, const std::optional<uint64_t>& b) {
    return a && b && *a != *b;
  };
  return moved(before.cpu_usage_us, after.cpu_usage_us) ||
         moved(before.cpu_throttled_periods, after.cpu_throttled_periods);
}

ReadRate RateOf(FileKind kind, Scope scope, const CgroupOptions& options) {
  switch (kind) {
    case FileKind::kCpuStat:
    case FileKind::kCpuStatV1:
    case FileKind::kCpuacctUsage:
    case FileKind::kCpuacctUser:
    case FileKind::kCpuacctSys:
      return ContainerCpuDeferred(scope, options) ? ReadRate::kPeriodic : ReadRate::kEveryTick;
    case FileKind::kNetDev:
      return ReadRate::kEveryTick;
    case FileKind::kMemCurrent:
    case FileKind::kMemUsageV1:
    case FileKind::kCpuPressure:
    case FileKind::kMemPressure:
    case FileKind::kIoPressure:
      return ContainerDetailDeferred(scope, options) ? ReadRate::kPeriodic : ReadRate::kEveryTick;
    case FileKind::kMemStat:
    case FileKind::kMemEvents:
    case FileKind::kMemStatV1:
    case FileKind::kOomControl:
      return ReadRate::kPeriodic;
    case FileKind::kCpuMax:
    case FileKind::kMemMax:
    case FileKind::kCfsQuota:
    case FileKind::kCfsPeriod:
    case FileKind::kMemLimitV1:
      return ReadRate::kRare;
  }
  return ReadRate::kRare;
}

}  // namespace jostle::agent
