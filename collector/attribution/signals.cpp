#include "collector/attribution/signals.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace jostle::collector {
namespace {

constexpr double kMinRetransSegments = 100;  // fewer sent segments give no retrans ratio

std::optional<double> Delta(const std::optional<uint64_t>& prev,
                            const std::optional<uint64_t>& cur) {
  if (!prev || !cur || *cur < *prev) return std::nullopt;
  return static_cast<double>(*cur - *prev);
}

std::optional<double> Delta(uint64_t prev, uint64_t cur) {
  if (cur < prev) return std::nullopt;
  return static_cast<double>(cur - prev);
}

std::optional<double> PsiFraction(const std::optional<PsiTotals>& prev,
                                  const std::optional<PsiTotals>& cur, bool full, double dt_us) {
  if (!prev || !cur || dt_us <= 0) return std::nullopt;
  auto d = full ? Delta(prev->full_us, cur->full_us) : Delta(prev->some_us, cur->some_us);
  if (!d) return std::nullopt;
  return std::clamp(*d / dt_us, 0.0, 1.0);
}

std::optional<double> PsiStallUs(const std::optional<PsiTotals>& prev,
                                 const std::optional<PsiTotals>& cur) {
  if (!prev || !cur) return std::nullopt;
  return Delta(prev->some_us, cur->some_us);
}

int64_t MedianSpacing(const std::vector<FrameTick>& samples, int64_t fallback) {
  std::vector<int64_t> d;
  for (size_t i = 1; i < samples.size(); ++i) {
    int64_t v = samples[i].wall_ns - samples[i - 1].wall_ns;
    if (v > 0) d.push_back(v);
  }
  if (d.empty()) return fallback;
  // The lower median, so one long gap among two spacings does not become the interval.
  size_t mid = (d.size() - 1) / 2;
  std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(mid), d.end());
  return d[mid];
}

// Whether two samples of one series may be turned into a rate; dt_us is the elapsed time.
bool PairUsable(const FrameTick& prev, const FrameTick& cur, int64_t max_gap_ns, double* dt_us) {
  int64_t wall = cur.wall_ns - prev.wall_ns;
  if (wall <= 0 || wall > max_gap_ns) return false;
  if (prev.mono_ns > 0 && cur.mono_ns > 0) {
    int64_t mono = cur.mono_ns - prev.mono_ns;
    if (mono <= 0) return false;
    *dt_us = static_cast<double>(mono) / 1e3;
  } else {
    *dt_us = static_cast<double>(wall) / 1e3;
  }
  return true;
}

NodeRate NodeRateOf(const NodeSample& p, const NodeSample& c, double dt_us) {
  NodeRate r;
  auto busy = Delta(p.cpu_busy_us, c.cpu_busy_us);
  auto total = Delta(p.cpu_total_us, c.cpu_total_us);
  if (busy && total && *total > 0 && *busy <= *total) {
    r.cpu_busy = *busy / *total;
    r.cpu_busy_us = *busy;
    r.cpu_total_us = *total;
  }
  r.psi_cpu_some = PsiFraction(p.psi_cpu, c.psi_cpu, false, dt_us);
  r.psi_memory_some = PsiFraction(p.psi_memory, c.psi_memory, false, dt_us);
  r.psi_memory_full = PsiFraction(p.psi_memory, c.psi_memory, true, dt_us);
  r.psi_io_some = PsiFraction(p.psi_io, c.psi_io, false, dt_us);
  if (c.mem_total_bytes && c.mem_available_bytes && *c.mem_total_bytes > 0) {
    r.mem_used_ratio = std::clamp(
        1.0 - static_cast<double>(*c.mem_available_bytes) / static_cast<double>(*c.mem_total_bytes),
        0.0, 1.0);
  }
  for (const NetCounters& ci : c.net) {
    auto it = std::find_if(p.net.begin(), p.net.end(),
                           [&](const NetCounters& pi) { return pi.interface == ci.interface; });
    if (it == p.net.end()) continue;
    auto rx = Delta(it->rx_bytes, ci.rx_bytes);
    auto tx = Delta(it->tx_bytes, ci.tx_bytes);
    if (rx && tx) {
      r.net_bytes = r.net_bytes.value_or(0) + *rx + *tx;
      if (ci.speed_mbps && *ci.speed_mbps > 0 && dt_us > 0) {
        double util =
            (*rx + *tx) * 8.0 / (dt_us / 1e6) / (static_cast<double>(*ci.speed_mbps) * 1e6);
        r.net_utilisation = std::max(r.net_utilisation.value_or(0), util);
      }
    }
    auto rd = Delta(it->rx_drops, ci.rx_drops);
    auto td = Delta(it->tx_drops, ci.tx_drops);
    if (rd && td) r.net_drops = r.net_drops.value_or(0) + *rd + *td;
  }
  r.tcp_out_segs = Delta(p.tcp_out_segs, c.tcp_out_segs);
  r.tcp_retrans_segs = Delta(p.tcp_retrans_segs, c.tcp_retrans_segs);
  return r;
}

CgroupRate CgroupRateOf(const CgroupCounters& p, const CgroupCounters& c, double dt_us) {
  CgroupRate r;
  r.cpu_us = Delta(p.cpu_usage_us, c.cpu_usage_us);
  r.periods = Delta(p.cpu_periods, c.cpu_periods);
  r.throttled_periods = Delta(p.cpu_throttled_periods, c.cpu_throttled_periods);
  if (r.periods && r.throttled_periods && *r.throttled_periods > *r.periods) {
    r.throttled_periods.reset();
  }
  r.psi_cpu_some = PsiFraction(p.psi_cpu, c.psi_cpu, false, dt_us);
  r.psi_memory_some = PsiFraction(p.psi_memory, c.psi_memory, false, dt_us);
  r.psi_memory_full = PsiFraction(p.psi_memory, c.psi_memory, true, dt_us);
  r.psi_io_some = PsiFraction(p.psi_io, c.psi_io, false, dt_us);
  r.io_stall_us = PsiStallUs(p.psi_io, c.psi_io);
  r.memory_stall_us = PsiStallUs(p.psi_memory, c.psi_memory);
  if (c.mem_usage_bytes) r.mem_usage_bytes = static_cast<double>(*c.mem_usage_bytes);
  if (c.mem_working_set_bytes) {
    r.working_set_bytes = static_cast<double>(*c.mem_working_set_bytes);
    if (c.mem_limit_bytes && *c.mem_limit_bytes > 0) {
      r.working_set_ratio = *r.working_set_bytes / static_cast<double>(*c.mem_limit_bytes);
    }
  }
  r.oom_kills = Delta(p.oom_kills, c.oom_kills);
  r.mem_pgscan = Delta(p.mem_pgscan, c.mem_pgscan);
  r.mem_refaults = Delta(p.mem_workingset_refaults, c.mem_workingset_refaults);
  auto high = Delta(p.mem_high_events, c.mem_high_events);
  auto max = Delta(p.mem_max_events, c.mem_max_events);
  if (high || max) r.mem_limit_events = high.value_or(0) + max.value_or(0);
  if (p.net && c.net) {
    auto rx = Delta(p.net->rx_bytes, c.net->rx_bytes);
    auto tx = Delta(p.net->tx_bytes, c.net->tx_bytes);
    if (rx && tx) r.net_bytes = *rx + *tx;
    auto rd = Delta(p.net->rx_drops, c.net->rx_drops);
    auto td = Delta(p.net->tx_drops, c.net->tx_drops);
    if (rd && td) r.net_drops = *rd + *td;
  }
  return r;
}

// Running peak/mean of one signal.
struct Acc {
  double peak = 0;
  double sum = 0;
  int n = 0;
  void Add(const std::optional<double>& v) {
    if (!v) return;
    peak = n == 0 ? *v : std::max(peak, *v);
    sum += *v;
    ++n;
  }
  void Put(std::map<std::string, SignalStat>& out, const char* name) const {
    if (n > 0) out[name] = SignalStat{peak, sum / n, n};
  }
};

// A count over the window: peak holds the total, mean the per-interval mean.
struct CountAcc {
  double total = 0;
  int n = 0;
  void Add(const std::optional<double>& v) {
    if (!v) return;
    total += *v;
    ++n;
  }
  void Put(std::map<std::string, SignalStat>& out, const char* name) const {
    if (n > 0) out[name] = SignalStat{total, total / n, n};
  }
};

bool IsPathWithin(std::string_view path, std::string_view ancestor) {
  if (ancestor.empty() || path.size() <= ancestor.size()) return false;
  if (path.substr(0, ancestor.size()) != ancestor) return false;
  return ancestor.back() == '/' || path[ancestor.size()] == '/';
}

bool IsAncestorOfAny(std::string_view path, const std::vector<std::string>& paths) {
  return std::any_of(paths.begin(), paths.end(),
                     [&](const std::string& p) { return IsPathWithin(p, path); });
}

bool IsRelated(const std::string& a, const std::string& b) {
  return a == b || IsPathWithin(a, b) || IsPathWithin(b, a);
}

std::string SeriesName(const CgroupSample& cg) {
  if (cg.scope == Scope::kPod || cg.scope == Scope::kContainer) {
    if (!cg.pod_name.empty()) return cg.namespace_name + "/" + cg.pod_name;
    return "pod " + (cg.pod_uid.empty() ? cg.id : cg.pod_uid);
  }
  return cg.path.empty() ? cg.id : cg.path;
}

}  // namespace

NodeRates ComputeRates(const std::vector<Sample>& samples, const WindowConfig& config) {
  return ComputeRates(std::make_shared<const SampleFrame>(FrameOfSamples(samples)), config);
}

NodeRates ComputeRates(std::shared_ptr<const SampleFrame> frame, const WindowConfig& config) {
  NodeRates out;
  out.frame = std::move(frame);
  const std::vector<FrameTick>& samples = out.frame->ticks;
  auto fallback = static_cast<int64_t>(config.default_interval_s * 1e9);
  out.interval_ns = MedianSpacing(samples, fallback);
  auto max_gap_ns =
      static_cast<int64_t>(config.max_gap_intervals * static_cast<double>(out.interval_ns));
  out.max_gap_ns = max_gap_ns;
  size_t cgroup_samples = 0;
  for (const FrameTick& x : samples) cgroup_samples += x.cgroups.size();
  out.node.reserve(samples.size());
  out.cgroups.reserve(cgroup_samples);
  // Series are paired by CgroupSample::id: frame series sharing an id share a key.
  const std::vector<CgroupSample>& series = out.frame->series;
  std::vector<uint32_t>& key_of_series = out.key_of_series;
  key_of_series.resize(series.size());
  {
    std::unordered_map<std::string_view, uint32_t> key_of_id;
    for (size_t k = 0; k < series.size(); ++k) {
      key_of_series[k] =
          key_of_id.try_emplace(series[k].id, static_cast<uint32_t>(key_of_id.size()))
              .first->second;
    }
  }
  // Latest position of each series key: (sample index, cgroup index); kNone when unseen.
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<std::pair<size_t, size_t>> last(series.size(), {kNone, 0});
  // A tick much closer to the one before than the interval (the last tick of one `jostle
  // run` and the first of the next, 20 ms apart) would give rates over a sliver of time,
  // as noisy as they are short: such a tick is passed over, and the next rate spans it.
  const int64_t min_spacing_ns = out.interval_ns / 4;
  size_t kept = kNone;
  for (size_t i = 0; i < samples.size(); ++i) {
    const FrameTick& cur = samples[i];
    if (kept != kNone && cur.wall_ns - samples[kept].wall_ns < min_spacing_ns &&
        cur.wall_ns > samples[kept].wall_ns &&
        (cur.mono_ns == 0 || cur.mono_ns > samples[kept].mono_ns)) {
      continue;
    }
    if (kept != kNone) {
      const FrameTick& prev = samples[kept];
      double dt_us = 0;
      if (prev.mono_ns > 0 && cur.mono_ns > 0 && cur.mono_ns <= prev.mono_ns) {
        // reboot: every series starts a new segment
        std::fill(last.begin(), last.end(), std::make_pair(kNone, size_t{0}));
      } else if (PairUsable(prev, cur, max_gap_ns, &dt_us)) {
        NodeRate r = NodeRateOf(prev.node, cur.node, dt_us);
        r.from_ns = prev.wall_ns;
        r.to_ns = cur.wall_ns;
        r.sample_index = i;
        out.node.push_back(r);
      }
    }
    kept = i;
    for (size_t j = 0; j < cur.cgroups.size(); ++j) {
      const CgroupCounters& cg = cur.cgroups[j];
      auto& slot = last[key_of_series[cg.series]];
      auto [pi, pj] = slot;
      slot = {i, j};
      if (pi == kNone) continue;
      if (pi == i) continue;  // duplicate id within one sample
      const FrameTick& prev = samples[pi];
      double dt_us = 0;
      if (!PairUsable(prev, cur, max_gap_ns, &dt_us)) continue;
      CgroupRate r = CgroupRateOf(prev.cgroups[pj], cg, dt_us);
      r.from_ns = prev.wall_ns;
      r.to_ns = cur.wall_ns;
      r.sample_index = i;
      r.cgroup_index = j;
      out.cgroups.push_back(r);
    }
  }
  return out;
}

namespace {

// The padded window [start, end] of `q` over `rates`.
std::pair<int64_t, int64_t> PaddedWindow(const NodeRates& rates, const WindowQuery& q,
                                         const WindowConfig& config) {
  int64_t pad =
      q.padding_ns >= 0
          ? q.padding_ns
          : static_cast<int64_t>(config.padding_intervals * static_cast<double>(rates.interval_ns));
  return {q.start_ns - pad, q.end_ns + pad};
}

}  // namespace

bool WindowCoveredBy(const NodeRates& rates, const WindowQuery& q, const WindowConfig& config,
                     int64_t read_from_ns, int64_t read_to_ns) {
  if (!rates.frame || rates.key_of_series.size() != rates.frame->series.size()) return false;
  const int64_t gap = rates.max_gap_ns;
  // A series with no sample in the range pairs across it only within max_gap_ns.
  if (read_to_ns - read_from_ns < gap) return false;
  const std::pair<int64_t, int64_t> window = PaddedWindow(rates, q, config);
  const int64_t start = window.first;
  const int64_t end = window.second;
  // A series' rates inside [first, last] are the same in any frame holding the range; the
  // rate into `first` must end before the window or be too long to count, and the rate out
  // of `last` must begin after it or be too long.
  auto edges_hold = [&](int64_t first, int64_t last) {
    return (first <= start || first - read_from_ns >= gap) &&
           (last >= end || read_to_ns - last >= gap);
  };
  const std::vector<FrameTick>& ticks = rates.frame->ticks;
  auto lo = std::partition_point(ticks.begin(), ticks.end(),
                                 [&](const FrameTick& t) { return t.wall_ns < read_from_ns; });
  auto hi = std::partition_point(lo, ticks.end(),
                                 [&](const FrameTick& t) { return t.wall_ns <= read_to_ns; });
  if (lo == hi) return false;
  if (!edges_hold(lo->wall_ns, std::prev(hi)->wall_ns)) return false;
  constexpr int64_t kUnseen = std::numeric_limits<int64_t>::min();
  std::vector<int64_t> first(rates.frame->series.size(), kUnseen);
  std::vector<int64_t> last(first.size(), kUnseen);
  for (auto it = lo; it != hi; ++it) {
    for (const CgroupCounters& c : it->cgroups) {
      uint32_t key = rates.key_of_series[c.series];
      if (first[key] == kUnseen) first[key] = it->wall_ns;
      last[key] = it->wall_ns;
    }
  }
  for (size_t k = 0; k < first.size(); ++k) {
    if (first[k] != kUnseen && !edges_hold(first[k], last[k])) return false;
  }
  return true;
}

Signals WindowSignalsFromRates(const NodeRates& rates, const WindowQuery& q,
                               const WindowConfig& config) {
  Signals s;
  s.interval_ns = rates.interval_ns;
  std::tie(s.window_start_ns, s.window_end_ns) = PaddedWindow(rates, q, config);
  auto overlaps = [&](int64_t from, int64_t to) {
    return to > s.window_start_ns && from < s.window_end_ns;
  };

  // Which series are the test's own: the pod (or self cgroup) and everything related.
  auto is_own_pod = [&](const CgroupSample& cg) {
    if (cg.scope != Scope::kPod && cg.scope != Scope::kContainer) return false;
    if (!q.pod_uid.empty() && cg.pod_uid == q.pod_uid) return true;
    return !q.pod_name.empty() && cg.pod_name == q.pod_name && cg.namespace_name == q.pod_namespace;
  };
  std::string self = q.self_cgroup;  // set below from self_cgroup_prefix when empty
  auto is_self_cgroup = [&](const CgroupSample& cg) {
    return !self.empty() && (cg.id == self || cg.path == self);
  };
  auto first_cgroup =
      std::partition_point(rates.cgroups.begin(), rates.cgroups.end(),
                           [&](const CgroupRate& r) { return r.to_ns <= s.window_start_ns; });
  auto cgroups_end = first_cgroup;
  while (cgroups_end != rates.cgroups.end() &&
         cgroups_end->to_ns <= s.window_end_ns + rates.max_gap_ns) {
    ++cgroups_end;
  }
  if (self.empty() && !q.self_cgroup_prefix.empty()) {
    bool several = false;
    for (auto it = first_cgroup; it != cgroups_end && !several; ++it) {
      const CgroupSample& cg = SeriesOf(rates, *it);
      if (cg.scope != Scope::kCgroup || !cg.id.starts_with(q.self_cgroup_prefix)) continue;
      several = !self.empty() && self != cg.id;
      self = cg.id;
    }
    if (several) self.clear();
  }
  // Paths of the own series in the window, and which other series are their ancestors.
  std::vector<std::string> own_paths;
  if (!q.self_cgroup.empty() && q.self_cgroup.front() == '/') own_paths.push_back(q.self_cgroup);
  for (auto it = first_cgroup; it != cgroups_end; ++it) {
    const CgroupSample& cg = SeriesOf(rates, *it);
    if ((is_own_pod(cg) || is_self_cgroup(cg)) && !cg.path.empty() &&
        std::find(own_paths.begin(), own_paths.end(), cg.path) == own_paths.end()) {
      own_paths.push_back(cg.path);
    }
  }
  auto is_ancestor = [&](const CgroupSample& cg) {
    if (cg.scope != Scope::kCgroup || is_self_cgroup(cg)) return false;
    for (const std::string& a : q.own_ancestors) {
      if (cg.id == a || cg.path == a) return true;
    }
    return !cg.path.empty() && IsAncestorOfAny(cg.path, own_paths);
  };

  // CPU-µs of the own series per node interval [from, to], for node.cpu.busy_others: the
  // outermost own series only (a child's usage is part of its parent's).
  std::map<std::pair<int64_t, int64_t>, double> own_cpu;
  {
    std::vector<const CgroupRate*> own_rates;
    std::vector<std::string_view> own_series_paths;
    for (auto it = first_cgroup; it != cgroups_end; ++it) {
      if (!overlaps(it->from_ns, it->to_ns) || !it->cpu_us) continue;
      const CgroupSample& cg = SeriesOf(rates, *it);
      if (cg.scope == Scope::kContainer || !(is_own_pod(cg) || is_self_cgroup(cg))) continue;
      own_rates.push_back(&*it);
      if (!cg.path.empty()) own_series_paths.push_back(cg.path);
    }
    for (const CgroupRate* r : own_rates) {
      const std::string& path = SeriesOf(rates, *r).path;
      bool nested = std::any_of(own_series_paths.begin(), own_series_paths.end(),
                                [&](std::string_view p) { return IsPathWithin(path, p); });
      if (!nested) own_cpu[{r->from_ns, r->to_ns}] += *r->cpu_us;
    }
  }

  Acc busy, busy_others, cpu_psi, mem_psi, mem_full, mem_used, io_psi, net_util;
  bool own_cpu_seen = false;
  CountAcc drops;
  double out_segs = 0, retrans = 0;
  bool have_segs = false;
  size_t last_sample = 0;
  bool any_sample = false;
  // Rates are ordered by to_ns and span at most max_gap_ns: scan only [start, end + gap].
  auto first_node =
      std::partition_point(rates.node.begin(), rates.node.end(),
                           [&](const NodeRate& r) { return r.to_ns <= s.window_start_ns; });
  for (auto it = first_node; it != rates.node.end(); ++it) {
    const NodeRate& r = *it;
    if (r.to_ns > s.window_end_ns + rates.max_gap_ns) break;
    if (!overlaps(r.from_ns, r.to_ns)) continue;
    ++s.node_points;
    busy.Add(r.cpu_busy);
    if (r.cpu_busy && r.cpu_busy_us && r.cpu_total_us) {
      auto own = own_cpu.find({r.from_ns, r.to_ns});
      if (own == own_cpu.end()) {
        busy_others.Add(r.cpu_busy);
      } else {
        own_cpu_seen = true;
        busy_others.Add(std::max(0.0, *r.cpu_busy_us - own->second) / *r.cpu_total_us);
      }
    }
    cpu_psi.Add(r.psi_cpu_some);
    mem_psi.Add(r.psi_memory_some);
    mem_full.Add(r.psi_memory_full);
    mem_used.Add(r.mem_used_ratio);
    io_psi.Add(r.psi_io_some);
    net_util.Add(r.net_utilisation);
    drops.Add(r.net_drops);
    s.node_cpu_busy_us += r.cpu_busy_us.value_or(0);
    s.node_net_bytes += r.net_bytes.value_or(0);
    if (r.tcp_out_segs && r.tcp_retrans_segs) {
      have_segs = true;
      out_segs += *r.tcp_out_segs;
      retrans += *r.tcp_retrans_segs;
    }
    last_sample = r.sample_index;
    any_sample = true;
  }
  busy.Put(s.values, kNodeCpuBusy);
  if (own_cpu_seen) busy_others.Put(s.values, kNodeCpuBusyOthers);
  cpu_psi.Put(s.values, kNodeCpuPsiSome);
  mem_psi.Put(s.values, kNodeMemoryPsiSome);
  mem_full.Put(s.values, kNodeMemoryPsiFull);
  mem_used.Put(s.values, kNodeMemoryUsed);
  io_psi.Put(s.values, kNodeIoPsiSome);
  net_util.Put(s.values, kNodeNetUtilisation);
  drops.Put(s.values, kNodeNetDrops);
  if (have_segs && out_segs >= kMinRetransSegments) {
    double ratio = retrans / out_segs;
    s.values[kNodeTcpRetrans] = SignalStat{ratio, ratio, s.node_points};
  }
  if (any_sample && rates.frame) {
    const NodeSample& n = rates.frame->ticks[last_sample].node;
    if (n.mem_total_bytes) s.node_mem_total_bytes = static_cast<double>(*n.mem_total_bytes);
  }

  struct Totals {
    const CgroupSample* cg = nullptr;
    double cpu_us = 0, ws_peak = 0, io_stall_us = 0, net_bytes = 0;
    double usage_peak = 0, mem_stall_us = 0, pgscan = 0, refaults = 0, limit_events = 0;
    std::optional<double> usage_first, usage_last;  // in time order
    bool own = false;                               // the own series, or one of its ancestors
  };
  // Per series key (CgroupSample::id), its slot in `series`; -1 until seen in the window.
  std::vector<uint32_t> local_keys;
  const std::vector<uint32_t>* key_of_series = &rates.key_of_series;
  if (rates.frame && key_of_series->size() != rates.frame->series.size()) {
    std::unordered_map<std::string_view, uint32_t> key_of_id;
    for (const CgroupSample& cg : rates.frame->series) {
      local_keys.push_back(
          key_of_id.try_emplace(cg.id, static_cast<uint32_t>(key_of_id.size())).first->second);
    }
    key_of_series = &local_keys;
  }
  std::vector<int> slot_of_key(key_of_series->size(), -1);
  std::vector<Totals> series;
  Acc pod_cpu_psi, pod_cores, pod_mem_psi, pod_mem_full, pod_ws, pod_io_psi;
  CountAcc pod_oom, pod_drops, pod_limit_events, pod_refaults;
  // CPU throttling of each own series: the pod (or self cgroup), each of its containers and
  // each of its ancestors. Kubernetes sets CPU limits per container, and a container that
  // hits its limit is throttled in its own cgroup, not in the pod's (whose quota is the sum of
  // the limits); a job's limit on an enclosing cgroup (a runner's --cpus, a systemd slice's
  // CPUQuota=) throttles that cgroup, not the test command's.
  struct Throttle {
    const CgroupSample* cg = nullptr;
    const CgroupCounters* latest = nullptr;
    Acc ratio;
    double periods = 0, throttled = 0;
    bool ancestor = false;
  };
  std::vector<Throttle> throttles;
  const CgroupCounters* own_latest = nullptr;
  for (auto it = first_cgroup; it != cgroups_end; ++it) {
    const CgroupRate& r = *it;
    if (!overlaps(r.from_ns, r.to_ns)) continue;
    const CgroupSample& cg = SeriesOf(rates, r);
    bool own_pod = is_own_pod(cg);
    bool self = is_self_cgroup(cg);
    bool ancestor = !own_pod && !self && is_ancestor(cg);
    if ((own_pod || self || ancestor) && r.periods && r.throttled_periods && *r.periods > 0) {
      auto t = std::find_if(throttles.begin(), throttles.end(),
                            [&](const Throttle& x) { return x.cg->id == cg.id; });
      if (t == throttles.end()) {
        t = throttles.emplace(throttles.end());
        t->cg = &cg;
        t->ancestor = ancestor;
      }
      t->latest = &CountersOf(rates, r);
      t->ratio.Add(*r.throttled_periods / *r.periods);
      t->periods += *r.periods;
      t->throttled += *r.throttled_periods;
    }
    if (cg.scope == Scope::kContainer) continue;
    int& slot = slot_of_key[(*key_of_series)[CountersOf(rates, r).series]];
    if (slot < 0) {
      slot = static_cast<int>(series.size());
      series.emplace_back();
    }
    Totals& t = series[static_cast<size_t>(slot)];
    t.cg = &cg;
    t.own = t.own || own_pod || self || ancestor;
    t.cpu_us += r.cpu_us.value_or(0);
    t.ws_peak = std::max(t.ws_peak, r.working_set_bytes.value_or(0));
    if (r.mem_usage_bytes) {
      t.usage_peak = std::max(t.usage_peak, *r.mem_usage_bytes);
      if (!t.usage_first) t.usage_first = r.mem_usage_bytes;
      t.usage_last = r.mem_usage_bytes;
    }
    t.mem_stall_us += r.memory_stall_us.value_or(0);
    t.pgscan += r.mem_pgscan.value_or(0);
    t.refaults += r.mem_refaults.value_or(0);
    t.limit_events += r.mem_limit_events.value_or(0);
    t.io_stall_us += r.io_stall_us.value_or(0);
    t.net_bytes += r.net_bytes.value_or(0);
    if (!(own_pod || self)) continue;
    s.pod_found = true;
    own_latest = &CountersOf(rates, r);
    pod_cpu_psi.Add(r.psi_cpu_some);
    if (r.cpu_us && r.to_ns > r.from_ns) {
      pod_cores.Add(*r.cpu_us * 1e3 / static_cast<double>(r.to_ns - r.from_ns));
    }
    pod_mem_psi.Add(r.psi_memory_some);
    pod_mem_full.Add(r.psi_memory_full);
    pod_ws.Add(r.working_set_ratio);
    pod_io_psi.Add(r.psi_io_some);
    pod_oom.Add(r.oom_kills);
    pod_limit_events.Add(r.mem_limit_events);
    pod_refaults.Add(r.mem_refaults);
    pod_drops.Add(r.net_drops);
  }
  pod_cpu_psi.Put(s.values, kPodCpuPsiSome);
  // The most throttled own series speaks for the pod (ties: the first seen).
  const Throttle* worst = nullptr;
  for (const Throttle& t : throttles) {
    if (t.periods <= 0) continue;
    if (worst == nullptr || t.throttled / t.periods > worst->throttled / worst->periods) worst = &t;
  }
  if (worst != nullptr) {
    worst->ratio.Put(s.values, kPodThrottle);
    s.values[kPodThrottle].mean = worst->throttled / worst->periods;
  }
  pod_cores.Put(s.values, kPodCpuCores);
  pod_mem_psi.Put(s.values, kPodMemoryPsiSome);
  pod_mem_full.Put(s.values, kPodMemoryPsiFull);
  pod_ws.Put(s.values, kPodWorkingSet);
  pod_io_psi.Put(s.values, kPodIoPsiSome);
  pod_oom.Put(s.values, kPodOomKills);
  pod_limit_events.Put(s.values, kPodMemoryLimitEvents);
  pod_refaults.Put(s.values, kPodMemoryRefaults);
  pod_drops.Put(s.values, kPodNetDrops);
  if (worst != nullptr && worst->ancestor) {
    s.throttled_ancestor = SeriesName(*worst->cg);
    s.pod_cpu_limit_cores = worst->latest->cpu_limit_cores;
  } else if (worst != nullptr && worst->cg->scope == Scope::kContainer) {
    s.throttled_container =
        worst->cg->container_name.empty() ? worst->cg->id : worst->cg->container_name;
    s.pod_cpu_limit_cores = worst->latest->cpu_limit_cores;
  } else if (own_latest) {
    s.pod_cpu_limit_cores = own_latest->cpu_limit_cores;
  }
  if (own_latest) {
    if (own_latest->mem_limit_bytes) {
      s.pod_mem_limit_bytes = static_cast<double>(*own_latest->mem_limit_bytes);
    }
  }
  if (!q.pod_name.empty()) {
    s.pod_label = q.pod_namespace + "/" + q.pod_name;
  } else if (!q.self_cgroup.empty()) {
    s.pod_label = q.self_cgroup;
  } else if (!q.pod_uid.empty()) {
    s.pod_label = "pod " + q.pod_uid;
  }

  // Usage exclusive of sampled child cgroups: subtract each series from its nearest sampled
  // ancestor, so a parent slice does not outrank the burner inside it. Series in id order
  // (a path shared by two series names the later id).
  std::sort(series.begin(), series.end(),
            [](const Totals& a, const Totals& b) { return a.cg->id < b.cg->id; });
  std::unordered_map<std::string_view, size_t> index_of_path;
  for (size_t k = 0; k < series.size(); ++k) {
    if (!series[k].cg->path.empty()) index_of_path[series[k].cg->path] = k;
  }
  std::vector<Totals> exclusive = series;
  for (const Totals& t : series) {
    std::string_view p = t.cg->path;
    while (!p.empty()) {
      size_t slash = p.find_last_of('/');
      if (slash == std::string_view::npos || slash == 0) break;
      p = p.substr(0, slash);
      auto parent = index_of_path.find(p);
      if (parent == index_of_path.end()) continue;
      Totals& e = exclusive[parent->second];
      e.cpu_us = std::max(0.0, e.cpu_us - t.cpu_us);
      e.ws_peak = std::max(0.0, e.ws_peak - t.ws_peak);
      e.usage_peak = std::max(0.0, e.usage_peak - t.usage_peak);
      e.mem_stall_us = std::max(0.0, e.mem_stall_us - t.mem_stall_us);
      e.pgscan = std::max(0.0, e.pgscan - t.pgscan);
      e.refaults = std::max(0.0, e.refaults - t.refaults);
      e.limit_events = std::max(0.0, e.limit_events - t.limit_events);
      if (e.usage_first && e.usage_last && t.usage_first && t.usage_last) {
        *e.usage_first -= *t.usage_first;
        *e.usage_last -= *t.usage_last;
      }
      e.io_stall_us = std::max(0.0, e.io_stall_us - t.io_stall_us);
      e.net_bytes = std::max(0.0, e.net_bytes - t.net_bytes);
      break;
    }
  }
  for (const Totals& t : exclusive) {
    if (t.own) continue;
    bool related = false;
    for (const std::string& own : own_paths) related = related || IsRelated(t.cg->path, own);
    if (related) continue;
    NeighbourUsage u;
    u.scope = t.cg->scope;
    u.id = t.cg->id;
    u.name = SeriesName(*t.cg);
    if (t.cg->scope == Scope::kPod) u.namespace_name = t.cg->namespace_name;
    u.cpu_us = t.cpu_us;
    u.working_set_bytes = t.ws_peak;
    u.mem_usage_peak_bytes = t.usage_peak;
    if (t.usage_first && t.usage_last) {
      u.mem_growth_bytes = std::max(0.0, *t.usage_last - *t.usage_first);
    }
    u.memory_stall_us = t.mem_stall_us;
    u.mem_pgscan_pages = t.pgscan;
    u.mem_refault_pages = t.refaults;
    u.mem_limit_events = t.limit_events;
    u.io_stall_us = t.io_stall_us;
    u.net_bytes = t.net_bytes;
    s.neighbours.push_back(std::move(u));
  }
  return s;
}

Signals ComputeWindowSignals(const std::vector<Sample>& samples, const WindowQuery& q) {
  WindowConfig config;
  return WindowSignalsFromRates(ComputeRates(samples, config), q, config);
}

}  // namespace jostle::collector
