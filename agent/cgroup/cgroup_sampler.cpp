#include "agent/cgroup/cgroup_sampler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <utility>

#include "agent/cgroup/cgroup_fs.h"
#include "agent/cgroup/cgroup_layout.h"
#include "agent/cgroup/cgroup_parsers.h"
#include "agent/cgroup/cgroup_tree.h"
#include "agent/cgroup/once_warnings.h"
#include "agent/cgroup/pod_network.h"
#include "agent/cgroup/read_schedule.h"
#include "agent/procfs/pressure.h"

namespace jostle::agent {
namespace {

// One file of one cgroup.
struct Slot {
  FileKind kind;
  uint8_t hierarchy;  // index into CgroupLayout::hierarchies
  KeptFile file;
};

enum class Outcome { kOk, kAbsent, kVanished };

struct Entity {
  Scope scope = Scope::kCgroup;
  std::string id;
  Found where;
  std::vector<Slot> slots;
  // Index into slots by FileKind; -1 when the cgroup has no such file (e.g. v1 files on v2).
  std::array<int8_t, kFileKinds> slot_of;
  size_t ordinal = 0;  // creation order, spreads containers' periodic reads over ticks
  // Rounds of the files not read every tick; what they read is carried in between.
  ReadRound cpu_round;     // containers' CPU when CgroupOptions::container_cpu_every_ticks > 1
  ReadRound memory_round;  // memory.stat, memory.events / memory.oom_control (and for
                           // deferred containers: memory usage and PSI)
  ReadRound limits_round;  // cpu.max, memory.max / cfs quota+period, limit_in_bytes
  // Deferred container CPU: it moved at its last read (see CpuMoved), read it every tick.
  bool cpu_busy = false;
  std::optional<uint64_t> last_throttled;  // nr_throttled at the previous tick
  CgroupReadings carried;                  // the last values those rounds read
  PodNetwork net;                          // pods only
};

// The cpu.stat / cpuacct readings.
void CopyCpu(const CgroupReadings& from, CgroupReadings& to) {
  to.cpu_usage_us = from.cpu_usage_us;
  to.cpu_periods = from.cpu_periods;
  to.cpu_throttled_periods = from.cpu_throttled_periods;
  to.cpu_throttled_us = from.cpu_throttled_us;
}

// The readings of memory.stat and memory.events / memory.oom_control.
void CopyMemoryRound(const CgroupReadings& from, CgroupReadings& to) {
  to.mem_working_set_bytes = from.mem_working_set_bytes;
  to.oom_kills = from.oom_kills;
  to.mem_high_events = from.mem_high_events;
  to.mem_max_events = from.mem_max_events;
  to.mem_pgscan = from.mem_pgscan;
  to.mem_workingset_refaults = from.mem_workingset_refaults;
}

// A parse callback storing a single-value file's number in `dest`.
auto Single(std::optional<uint64_t>& dest) {
  return [&dest](std::string_view t, std::string_view src) {
    auto v = ParseSingleValue(t, src);
    if (!v.ok()) return v.status();
    dest = *v;
    return Status::Ok();
  };
}

// A parse callback storing a PSI file's totals in `dest`.
auto Psi(std::optional<PsiTotals>& dest) {
  return [&dest](std::string_view t, std::string_view src) {
    auto v = ParsePressure(t, src);
    if (!v.ok()) return v.status();
    dest = *v;
    return Status::Ok();
  };
}

}  // namespace

struct CgroupSampler::State {
  HostPaths paths;
  CgroupOptions options;
  CgroupLayout layout;
  CgroupSamplerStats stats;
  std::map<SeriesKey, Entity> entities;
  OnceWarnings warnings;
  // Per file kind: a read failure / a parse failure was logged.
  std::array<bool, kFileKinds> warned_read{}, warned_parse{};
  std::shared_ptr<KeptFileBudget> budget;
  size_t every_tick_demand = 0;  // this sampler's part of budget's every-tick demand
  size_t next_ordinal = 0;
  // The one buffer every file is read into; it grows to the largest file and stays there.
  std::string read_buf;
  std::string path_buf;
  std::optional<std::string> host_netns;  // readlink <proc>/1/ns/net, at each scan

  ~State() {
    if (!budget) return;
    for (auto& [key, e] : entities) CloseAll(e);
    budget->AddEveryTickDemand(-static_cast<ptrdiff_t>(every_tick_demand));
  }

  PodNetworkContext NetContext() {
    return PodNetworkContext{paths.proc, host_netns, *budget, read_buf, warnings};
  }

  void UpdateOpenStats() {
    stats.open_files = budget->open();
    stats.open_periodic_files = budget->open_periodic();
  }

  // --- Scan -------------------------------------------------------------------------------

  void Scan() {
    ++stats.scans;
    TreeScan scan = ScanTrees(layout.hierarchies, options, paths.cgroup, warnings);
    Merge(scan);
    stats.cgroups = entities.size();
    UpdateDemand();
    if (scan.driver != CgroupDriver::kNone) {
      layout.facts["cgroup_driver"] = CgroupDriverName(scan.driver);
    }
    const bool any_pod = std::any_of(entities.begin(), entities.end(),
                                     [](const auto& kv) { return kv.first.first == Scope::kPod; });
    host_netns = ReadHostNetns(paths.proc, any_pod, warnings);
    UpdateOpenStats();
  }

  // Merges a walk into the known entities, keeping the open files of unchanged cgroups.
  void Merge(TreeScan& scan) {
    for (auto it = entities.begin(); it != entities.end();) {
      auto f = scan.found.find(it->first);
      if (f == scan.found.end() || f->second.dirs != it->second.where.dirs) {
        CloseAll(it->second);
        it = entities.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [key, found] : scan.found) {
      auto it = entities.find(key);
      if (it != entities.end()) {
        Entity& e = it->second;
        e.where.proc_dirs = std::move(found.proc_dirs);
        for (Slot& s : e.slots) s.file.ForgetMissing();
        e.net.Forget();
        continue;
      }
      Entity e;
      e.scope = key.first;
      e.id = key.second;
      e.ordinal = next_ordinal++;
      e.where = std::move(found);
      BuildSlots(e);
      entities.emplace(key, std::move(e));
    }
  }

  // Tells the budget how many files this sampler reads every tick (a pod's net/dev too).
  void UpdateDemand() {
    size_t every_tick = 0;
    for (const auto& [key, e] : entities) {
      every_tick +=
          static_cast<size_t>(std::count_if(e.slots.begin(), e.slots.end(), [](const Slot& x) {
            return x.file.rate() == ReadRate::kEveryTick;
          }));
      if (e.scope == Scope::kPod) ++every_tick;
    }
    budget->AddEveryTickDemand(static_cast<ptrdiff_t>(every_tick) -
                               static_cast<ptrdiff_t>(every_tick_demand));
    every_tick_demand = every_tick;
  }

  void BuildSlots(Entity& e) {
    e.slot_of.fill(-1);
    auto add = [&](size_t h, std::initializer_list<FileKind> kinds) {
      for (FileKind k : kinds) {
        e.slot_of[static_cast<size_t>(k)] = static_cast<int8_t>(e.slots.size());
        e.slots.push_back(Slot{k, static_cast<uint8_t>(h), KeptFile(RateOf(k, e.scope, options))});
      }
    };
    for (size_t h = 0; h < layout.hierarchies.size(); ++h) {
      if (e.where.dirs[h].empty()) continue;
      const Hierarchy& hi = layout.hierarchies[h];
      if (hi.v2 && !hi.psi_only) {
        add(h, {FileKind::kCpuStat, FileKind::kCpuMax, FileKind::kMemCurrent, FileKind::kMemMax,
                FileKind::kMemStat, FileKind::kMemEvents});
      }
      if (hi.v2) add(h, {FileKind::kCpuPressure, FileKind::kMemPressure, FileKind::kIoPressure});
      if (hi.cpu) add(h, {FileKind::kCpuStatV1, FileKind::kCfsQuota, FileKind::kCfsPeriod});
      if (hi.cpuacct) {
        add(h, {FileKind::kCpuacctUsage, FileKind::kCpuacctUser, FileKind::kCpuacctSys});
      }
      if (hi.memory) {
        add(h, {FileKind::kMemUsageV1, FileKind::kMemLimitV1, FileKind::kMemStatV1,
                FileKind::kOomControl});
      }
    }
  }

  void CloseAll(Entity& e) {
    for (Slot& s : e.slots) s.file.Close(*budget);
    e.net.Close(*budget);
  }

  // --- Reading one file -------------------------------------------------------------------

  // <dir of the slot's hierarchy>/<file name> in path_buf; built only when a file is opened
  // or an error names it, never for a read through a kept descriptor.
  const std::string& SlotPath(const Entity& e, const Slot& s) {
    path_buf.assign(e.where.dirs[s.hierarchy]);
    path_buf += '/';
    path_buf += FileName(s.kind);
    return path_buf;
  }

  // Reads the slot of `kind` of `e`, if it has one. kAbsent: no such slot, or the file is
  // missing, unreadable or failed to parse (warned once per kind); kVanished: the cgroup's
  // directory is gone. `parse` gets the text and the file's path and returns a Status.
  template <typename Parse>
  Outcome ReadKind(Entity& e, FileKind kind, Parse&& parse) {
    int8_t index = e.slot_of[static_cast<size_t>(kind)];
    if (index < 0) return Outcome::kAbsent;
    if (IsPsi(kind) && layout.psi_disabled) return Outcome::kAbsent;
    Slot& s = e.slots[static_cast<size_t>(index)];
    // Known missing since the last scan (e.g. no PSI files on this kernel): warned already.
    if (s.file.state() == KeptFile::State::kMissing) return Outcome::kAbsent;
    auto text = s.file.Read(
        *budget, read_buf, [&]() -> const std::string& { return SlotPath(e, s); },
        [&](const Status& st) { WarnOpenFilesExhausted(warnings, st); });
    if (!text.ok()) return ReadFailed(e, s, text.status());
    // Parsed without the file's path first: building it for every read costs more than
    // the parse. A failed parse runs again with the path, for the message.
    Status st = parse(*text, std::string_view());
    if (!st.ok()) st = parse(*text, std::string_view(SlotPath(e, s)));
    if (!st.ok()) {
      const size_t k = static_cast<size_t>(kind);
      if (!warned_parse[k]) {
        warned_parse[k] = true;
        spdlog::warn("cgroup sampler: {} (warned once for every {}; those fields stay absent)",
                     st.ToString(), FileName(kind));
      }
      return Outcome::kAbsent;
    }
    return Outcome::kOk;
  }

  Outcome ReadFailed(Entity& e, Slot& s, const Status& status) {
    if (status.IsNotFound()) {
      if (!Exists(e.where.dirs[s.hierarchy])) return Outcome::kVanished;
      // Old kernels lack cpuacct.usage_user/_sys; new ones may lack nothing. The fallback
      // pair is only read when cpuacct.usage is missing: no warning for it.
      if (s.kind == FileKind::kCpuacctUsage) return Outcome::kAbsent;
    }
    if (status.code() == Status::Code::kUnsupported && IsPsi(s.kind)) {
      layout.psi_disabled = true;
      layout.facts["cgroup_psi"] = "disabled";
      warnings.Warn("psi_disabled", SlotPath(e, s) +
                                        ": PSI is disabled at boot (psi=0); cgroup PSI "
                                        "fields stay absent");
      return Outcome::kAbsent;
    }
    const size_t k = static_cast<size_t>(s.kind);
    if (!warned_read[k]) {
      warned_read[k] = true;
      spdlog::warn("cgroup sampler: {} (warned once for every {}; those fields stay absent)",
                   status.ToString(), FileName(s.kind));
    }
    return Outcome::kAbsent;
  }

  // True when `e` has no slot of `kind` or its file is missing.
  static bool HasMissingOrNone(const Entity& e, FileKind kind) {
    int8_t index = e.slot_of[static_cast<size_t>(kind)];
    return index < 0 ||
           e.slots[static_cast<size_t>(index)].file.state() == KeptFile::State::kMissing;
  }

  // --- Reading one cgroup -----------------------------------------------------------------

  // The reads of one cgroup in one tick: once its directory is found gone, nothing more is
  // read.
  struct EntityRead {
    State& state;
    Entity& e;
    bool vanished = false;
    // `parse(text, source)`: source is empty, or the file's path when an error is reported.
    template <typename Parse>
    bool Read(FileKind kind, Parse&& parse) {
      if (vanished) return false;
      Outcome o = state.ReadKind(e, kind, parse);
      vanished = o == Outcome::kVanished;
      return o == Outcome::kOk;
    }
  };

  // Fills `out` from the files of `e`; false when the cgroup vanished.
  bool ReadEntity(Entity& e, CgroupSample& out) {
    EntityRead r{*this, e};
    ReadCpu(r, out);
    ReadMemory(r, out);
    ReadLimits(r, out);
    if (ContainerDetailDeferred(e.scope, options)) {
      out.psi_cpu = e.carried.psi_cpu;
      out.psi_memory = e.carried.psi_memory;
      out.psi_io = e.carried.psi_io;
    } else {
      ReadPsiFiles(r, out);
    }
    if (r.vanished) return false;
    if (e.scope == Scope::kPod) e.net.Read(NetContext(), e.where.proc_dirs, out);
    return true;
  }

  static void ReadCpuFiles(EntityRead& r, CgroupReadings& out) {
    r.Read(FileKind::kCpuStat, [&](std::string_view t, std::string_view src) {
      auto v = ParseCpuStatV2(t, src);
      if (!v.ok()) return v.status();
      out.cpu_usage_us = v->usage_usec;
      out.cpu_periods = v->nr_periods;
      out.cpu_throttled_periods = v->nr_throttled;
      out.cpu_throttled_us = v->throttled_usec;
      return Status::Ok();
    });
    r.Read(FileKind::kCpuStatV1, [&](std::string_view t, std::string_view src) {
      auto v = ParseCpuStatV1(t, src);
      if (!v.ok()) return v.status();
      out.cpu_periods = v->nr_periods;
      out.cpu_throttled_periods = v->nr_throttled;
      out.cpu_throttled_us = v->throttled_time_ns / 1000;
      return Status::Ok();
    });
    std::optional<uint64_t> usage_ns;
    r.Read(FileKind::kCpuacctUsage, Single(usage_ns));
    if (!usage_ns && !r.vanished && HasMissingOrNone(r.e, FileKind::kCpuacctUsage)) {
      std::optional<uint64_t> user_ns, sys_ns;
      if (r.Read(FileKind::kCpuacctUser, Single(user_ns)) &&
          r.Read(FileKind::kCpuacctSys, Single(sys_ns))) {
        usage_ns = *user_ns + *sys_ns;
      }
    }
    if (usage_ns) out.cpu_usage_us = *usage_ns / 1000;
  }

  // CPU: every tick, or for containers every container_cpu_every_ticks (carried between).
  void ReadCpu(EntityRead& r, CgroupSample& out) {
    Entity& e = r.e;
    if (!ContainerCpuDeferred(e.scope, options)) {
      ReadCpuFiles(r, out);
      return;
    }
    // Due by its round, or busy: its CPU moved at its last read.
    if (e.cpu_round.Due() || e.cpu_busy) {
      // A new container's second round comes after 1..every ticks, by creation order.
      if (e.cpu_round.Due()) {
        e.cpu_round.Restart(options.container_cpu_every_ticks, /*spread=*/true, e.ordinal);
      }
      CgroupReadings before;
      CopyCpu(e.carried, before);
      CopyCpu(CgroupReadings{}, e.carried);
      ReadCpuFiles(r, e.carried);
      e.cpu_busy = CpuMoved(before, e.carried);
    }
    CopyCpu(e.carried, out);
    e.cpu_round.Tick();
  }

  static void ReadUsage(EntityRead& r, std::optional<uint64_t>& usage) {
    r.Read(FileKind::kMemCurrent, Single(usage));
    r.Read(FileKind::kMemUsageV1, Single(usage));
  }

  static void ReadPsiFiles(EntityRead& r, CgroupReadings& out) {
    out.psi_cpu.reset();
    out.psi_memory.reset();
    out.psi_io.reset();
    r.Read(FileKind::kCpuPressure, Psi(out.psi_cpu));
    r.Read(FileKind::kMemPressure, Psi(out.psi_memory));
    r.Read(FileKind::kIoPressure, Psi(out.psi_io));
  }

  // memory.events / memory.oom_control and memory.stat into e.carried; `usage` gives the
  // working set.
  static void ReadMemoryRound(EntityRead& r, const std::optional<uint64_t>& usage) {
    CgroupReadings& c = r.e.carried;
    CopyMemoryRound(CgroupReadings{}, c);
    r.Read(FileKind::kMemEvents, [&](std::string_view t, std::string_view src) {
      auto v = ParseMemoryEventsV2(t, src);
      if (!v.ok()) return v.status();
      c.oom_kills = v->oom_kill;
      c.mem_high_events = v->high;
      c.mem_max_events = v->max;
      return Status::Ok();
    });
    r.Read(FileKind::kOomControl, [&](std::string_view t, std::string_view src) {
      auto v = FindKeyedValue(t, "oom_kill", src);
      if (!v.ok()) return v.status();
      c.oom_kills = *v;
      return Status::Ok();
    });
    auto working_set = [&](uint64_t inactive_file) {
      if (usage) c.mem_working_set_bytes = *usage > inactive_file ? *usage - inactive_file : 0;
    };
    r.Read(FileKind::kMemStat, [&](std::string_view t, std::string_view src) {
      auto v = ParseMemoryStatV2(t, src);
      if (!v.ok()) return v.status();
      working_set(v->inactive_file);
      c.mem_pgscan = v->pgscan;
      c.mem_workingset_refaults = v->workingset_refault;
      return Status::Ok();
    });
    r.Read(FileKind::kMemStatV1, [&](std::string_view t, std::string_view src) {
      auto v = FindKeyedValue(t, "total_inactive_file", src);
      if (!v.ok()) return v.status();
      if (!*v) return Status::InvalidArgument(std::string(src) + ": no 'total_inactive_file' line");
      working_set(**v);
      return Status::Ok();
    });
  }

  // Memory usage every tick (deferred containers: with their round), the rest every
  // memory_stat_every_ticks (containers: container_detail_every_ticks, PSI included).
  void ReadMemory(EntityRead& r, CgroupSample& out) {
    Entity& e = r.e;
    const bool deferred = ContainerDetailDeferred(e.scope, options);
    std::optional<uint64_t> usage;
    if (!deferred) ReadUsage(r, usage);
    if (e.memory_round.Due() && !r.vanished) {
      const int every = deferred ? options.container_detail_every_ticks
                                 : std::max(1, options.memory_stat_every_ticks);
      e.memory_round.Restart(every, /*spread=*/deferred, e.ordinal);
      if (deferred) {
        e.carried.mem_usage_bytes.reset();
        ReadUsage(r, e.carried.mem_usage_bytes);
        usage = e.carried.mem_usage_bytes;
        ReadPsiFiles(r, e.carried);
      }
      ReadMemoryRound(r, usage);
    }
    e.memory_round.Tick();
    out.mem_usage_bytes = deferred ? e.carried.mem_usage_bytes : usage;
    CopyMemoryRound(e.carried, out);
  }

  // Limits every limits_every_ticks, carried between reads.
  void ReadLimits(EntityRead& r, CgroupSample& out) {
    Entity& e = r.e;
    CgroupReadings& c = e.carried;
    // Throttling that moved since the last tick may be a limit set or changed since the
    // limits were read: read them again now (at most every other tick), not at the next round.
    if (out.cpu_throttled_periods && e.last_throttled &&
        *out.cpu_throttled_periods > *e.last_throttled) {
      e.limits_round.ExpireAfter(2);
    }
    e.last_throttled = out.cpu_throttled_periods;
    if (e.limits_round.Due() && !r.vanished) {
      e.limits_round.Restart(std::max(1, options.limits_every_ticks), /*spread=*/false, 0);
      c.cpu_limit_cores.reset();
      c.mem_limit_bytes.reset();
      r.Read(FileKind::kCpuMax, [&](std::string_view t, std::string_view src) {
        auto v = ParseCpuMax(t, src);
        if (!v.ok()) return v.status();
        c.cpu_limit_cores = *v;
        return Status::Ok();
      });
      std::string quota;
      if (r.Read(FileKind::kCfsQuota, [&](std::string_view t, std::string_view) {
            quota = std::string(t);
            return Status::Ok();
          })) {
        r.Read(FileKind::kCfsPeriod, [&](std::string_view t, std::string_view src) {
          auto v = ParseCfsQuota(quota, t, src);
          if (!v.ok()) return v.status();
          c.cpu_limit_cores = *v;
          return Status::Ok();
        });
      }
      r.Read(FileKind::kMemMax, [&](std::string_view t, std::string_view src) {
        auto v = ParseMemoryMax(t, src);
        if (!v.ok()) return v.status();
        c.mem_limit_bytes = *v;
        return Status::Ok();
      });
      r.Read(FileKind::kMemLimitV1, [&](std::string_view t, std::string_view src) {
        auto v = ParseV1MemoryLimit(t, src);
        if (!v.ok()) return v.status();
        c.mem_limit_bytes = *v;
        return Status::Ok();
      });
    }
    e.limits_round.Tick();
    out.cpu_limit_cores = c.cpu_limit_cores;
    out.mem_limit_bytes = c.mem_limit_bytes;
  }
};

CgroupSampler::CgroupSampler(std::unique_ptr<State> state) : state_(std::move(state)) {}
CgroupSampler::CgroupSampler(CgroupSampler&&) noexcept = default;
CgroupSampler& CgroupSampler::operator=(CgroupSampler&&) noexcept = default;
CgroupSampler::~CgroupSampler() = default;

Result<CgroupSampler> CgroupSampler::Open(const HostPaths& paths, CgroupOptions options) {
  auto budget = KeptFileBudget::Create(options.max_open_files, options.raise_open_file_limit);
  return Open(paths, std::move(options), std::move(budget));
}

Result<CgroupSampler> CgroupSampler::Open(const HostPaths& paths, CgroupOptions options,
                                          std::shared_ptr<KeptFileBudget> budget) {
  auto state = std::make_unique<State>();
  state->paths = paths;
  state->options = std::move(options);
  if (state->options.rescan_every_ticks < 1) state->options.rescan_every_ticks = 1;
  auto layout = DetectLayout(paths.cgroup, state->options.self_cgroup_file, state->warnings);
  if (!layout.ok()) return layout.status();
  state->layout = std::move(*layout);
  state->budget = std::move(budget);
  state->Scan();
  return CgroupSampler(std::move(state));
}

namespace {

// Ordering of samples and entities: (scope, id), as the entity map is keyed.
bool SampleBefore(const CgroupSample& s, Scope scope, const std::string& id) {
  return s.scope != scope ? s.scope < scope : s.id < id;
}

void AssignIfChanged(std::string& dest, const std::string& src) {
  if (dest != src) dest = src;
}

// Makes `s` what a fresh CgroupSample is, keeping its strings' contents where the caller
// sets them again (id, path, pod uid, container id, qos) and their capacity elsewhere.
void ResetKeepingStrings(CgroupSample& s) {
  CgroupSample fresh;
  fresh.id.swap(s.id);
  fresh.path.swap(s.path);
  fresh.pod_uid.swap(s.pod_uid);
  fresh.container_id.swap(s.container_id);
  fresh.qos.swap(s.qos);
  fresh.namespace_name.swap(s.namespace_name);
  fresh.pod_name.swap(s.pod_name);
  fresh.container_name.swap(s.container_name);
  fresh.namespace_name.clear();
  fresh.pod_name.clear();
  fresh.container_name.clear();
  s = std::move(fresh);
}

}  // namespace

std::vector<CgroupSample> CgroupSampler::Read() {
  std::vector<CgroupSample> out;
  Read(out);
  return out;
}

void CgroupSampler::Read(std::vector<CgroupSample>& out) {
  State& s = *state_;
  // Open listed the trees; the first Read reads what it found.
  if (s.stats.ticks > 0 &&
      s.stats.ticks % static_cast<uint64_t>(s.options.rescan_every_ticks) == 0) {
    s.Scan();
  }
  ++s.stats.ticks;
  // `out`'s samples are reused in place where their (scope, id) is still known: both `out`
  // (when it came from Read) and the entities are ordered by (scope, id), so one merge pass
  // moves each kept sample to its new position; samples of cgroups gone are dropped. Any
  // other content of `out` is only slower.
  const bool ordered = std::is_sorted(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return SampleBefore(a, b.scope, b.id);
  });
  if (!ordered) out.clear();
  // out[0, kept): this tick's samples; out[kept, next): spent (last tick's samples of
  // cgroups gone, or of one that vanished this tick), reused for new series; out[next, end):
  // last tick's samples not reached yet, in order.
  size_t kept = 0;
  size_t next = 0;
  for (auto it = s.entities.begin(); it != s.entities.end();) {
    Entity& e = it->second;
    while (next < out.size() && SampleBefore(out[next], e.scope, e.id)) ++next;
    if (next < out.size() && out[next].scope == e.scope && out[next].id == e.id) {
      if (next != kept) std::swap(out[kept], out[next]);
      ++next;
    } else if (kept == next) {
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(kept), CgroupSample{});
      ++next;
    }
    CgroupSample& sample = out[kept];
    ResetKeepingStrings(sample);
    sample.scope = e.scope;
    AssignIfChanged(sample.id, e.id);
    AssignIfChanged(sample.path, e.where.path);
    AssignIfChanged(sample.pod_uid, e.where.pod_uid);
    AssignIfChanged(sample.container_id, e.where.container_id);
    AssignIfChanged(sample.qos, e.where.qos);
    if (!s.ReadEntity(e, sample)) {
      // out[kept] is spent: kept does not move.
      ++s.stats.vanished;
      spdlog::debug("cgroup sampler: {} went away between listing and reading", e.id);
      s.CloseAll(e);
      it = s.entities.erase(it);
      continue;
    }
    ++kept;
    ++it;
  }
  out.resize(kept);
  s.stats.cgroups = s.entities.size();
  s.UpdateOpenStats();
}

const std::map<std::string, std::string>& CgroupSampler::host_facts() const {
  return state_->layout.facts;
}

const CgroupSamplerStats& CgroupSampler::stats() const { return state_->stats; }

}  // namespace jostle::agent
