#include "collector/attribution/verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "collector/attribution/fisher.h"

namespace jostle::collector {
namespace {

struct Rule {
  const char* signal;
  Resource resource;
  double threshold;
  bool count;  // a count over the window rather than a fraction
};

std::vector<Rule> Rules(const AttributionConfig& c) {
  return {
      {kNodeCpuBusy, Resource::kCpu, c.cpu.node_busy, false},
      {kNodeCpuPsiSome, Resource::kCpu, c.cpu.psi_some, false},
      {kPodCpuPsiSome, Resource::kCpu, c.cpu.psi_some, false},
      {kPodThrottle, Resource::kCpu, c.cpu.throttle_ratio, false},
      {kNodeMemoryPsiSome, Resource::kMemory, c.memory.psi_some, false},
      {kPodMemoryPsiSome, Resource::kMemory, c.memory.psi_some, false},
      {kNodeMemoryPsiFull, Resource::kMemory, c.memory.psi_full, false},
      {kPodMemoryPsiFull, Resource::kMemory, c.memory.psi_full, false},
      {kPodOomKills, Resource::kMemory, c.memory.oom_kills, true},
      {kPodWorkingSet, Resource::kMemory, c.memory.working_set_ratio, false},
      {kNodeIoPsiSome, Resource::kIo, c.io.psi_some, false},
      {kPodIoPsiSome, Resource::kIo, c.io.psi_some, false},
      {kNodeNetUtilisation, Resource::kNetwork, c.network.utilisation, false},
      {kNodeNetDrops, Resource::kNetwork, c.network.drops, true},
      {kPodNetDrops, Resource::kNetwork, c.network.drops, true},
      {kNodeTcpRetrans, Resource::kNetwork, c.network.retrans_ratio, false},
  };
}

bool IsOwnLimitSignal(const std::string& signal) {
  return signal == kPodThrottle || signal == kPodWorkingSet || signal == kPodOomKills;
}

std::string Percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", v * 100);
  return buf;
}

std::string Fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

Culprit OwnLimit(const Crossing& c, const Signals& s) {
  Culprit k;
  k.kind = CulpritKind::kOwnLimit;
  k.name = s.pod_label;
  k.share = c.value;
  if (c.signal == kPodThrottle && !s.throttled_ancestor.empty()) {
    // A limit above the test's cgroup: the job's, the container's, the slice's.
    k.name = s.throttled_ancestor;
    k.detail = "the enclosing cgroup " + s.throttled_ancestor;
    k.detail += s.pod_cpu_limit_cores
                    ? " is limited to " + Fixed(*s.pod_cpu_limit_cores, 2) + " cores"
                    : " has a CPU limit";
    k.detail += ", throttled in " + Percent(c.value) + " of CPU periods";
  } else if (c.signal == kPodThrottle) {
    k.detail = "throttled in " + Percent(c.value) + " of CPU periods";
    if (!s.throttled_container.empty())
      k.detail = "container " + s.throttled_container + " " + k.detail;
    if (s.pod_cpu_limit_cores)
      k.detail += " (cpu limit " + Fixed(*s.pod_cpu_limit_cores, 2) + " cores)";
  } else if (c.signal == kPodWorkingSet) {
    k.detail = "working set at " + Percent(c.value) + " of its memory limit";
    if (s.pod_mem_limit_bytes) {
      k.detail += " (" + Fixed(*s.pod_mem_limit_bytes / (1024.0 * 1024.0), 0) + " MiB)";
    }
  } else {
    k.detail = Fixed(c.value, 0) + " OOM kill(s) in the window";
  }
  return k;
}

double UseOf(const NeighbourUsage& u, Resource r) {
  switch (r) {
    case Resource::kCpu:
      return u.cpu_us;
    case Resource::kMemory:
      return u.working_set_bytes;
    case Resource::kIo:
      return u.io_stall_us;
    case Resource::kNetwork:
      return u.net_bytes;
  }
  return 0;
}

// Memory: what causes pressure, not what sits in memory. Per neighbour, its share of the
// candidates' memory stall time, of their charge growth and, where sampled (cgroup v2), of
// the pages reclaim scanned in them, of their refaulted pages and of their memory.events
// high + max increments, averaged over the components that some candidate has; empty when
// none has any. The peak charge (anon and page cache; the working set where the charge is
// unknown) is a component only when no candidate reclaimed or refaulted in the window (and
// always on v1, which has no such counters): a large static working set is no cause of
// reclaim that others drive.
std::vector<double> MemoryPressureShares(const std::vector<NeighbourUsage>& neighbours) {
  using Component = double (*)(const NeighbourUsage&);
  const Component reclaim[] = {
      [](const NeighbourUsage& u) { return u.mem_pgscan_pages; },
      [](const NeighbourUsage& u) { return u.mem_refault_pages; },
      [](const NeighbourUsage& u) { return u.mem_limit_events; },
  };
  std::vector<Component> components = {
      [](const NeighbourUsage& u) { return u.memory_stall_us; },
      [](const NeighbourUsage& u) { return u.mem_growth_bytes; },
  };
  bool any_reclaim = false;
  for (Component value : reclaim) {
    components.push_back(value);
    for (const NeighbourUsage& u : neighbours) any_reclaim = any_reclaim || value(u) > 0;
  }
  if (!any_reclaim) {
    components.push_back([](const NeighbourUsage& u) {
      return u.mem_usage_peak_bytes > 0 ? u.mem_usage_peak_bytes : u.working_set_bytes;
    });
  }
  std::vector<double> shares(neighbours.size(), 0.0);
  int used = 0;
  for (Component value : components) {
    double total = 0;
    for (const NeighbourUsage& u : neighbours) total += value(u);
    if (total <= 0) continue;
    ++used;
    for (size_t i = 0; i < neighbours.size(); ++i) shares[i] += value(neighbours[i]) / total;
  }
  if (used == 0) return {};
  for (double& v : shares) v /= used;
  return shares;
}

std::string MemoryDetail(const NeighbourUsage& u) {
  auto mib = [](double bytes) { return Fixed(bytes / (1024.0 * 1024.0), 0) + " MiB"; };
  std::string out = "stalled " + Fixed(u.memory_stall_us / 1e6, 1) + " s on memory";
  if (u.mem_growth_bytes > 0) out += ", charge grew " + mib(u.mem_growth_bytes);
  if (u.mem_usage_peak_bytes > 0) out += ", peak charge " + mib(u.mem_usage_peak_bytes);
  if (u.mem_pgscan_pages > 0) out += ", reclaim scanned " + Fixed(u.mem_pgscan_pages, 0) + " pages";
  if (u.mem_refault_pages > 0) out += ", " + Fixed(u.mem_refault_pages, 0) + " pages refaulted";
  if (u.mem_limit_events > 0)
    out += ", " + Fixed(u.mem_limit_events, 0) + " memory.events high/max";
  return out;
}

std::vector<Culprit> RankNeighbours(const Signals& s, Resource r, const CulpritConfig& config) {
  std::vector<double> use;
  for (const NeighbourUsage& u : s.neighbours) use.push_back(UseOf(u, r));
  double total = 0;
  for (double v : use) total += v;
  double node_total = r == Resource::kCpu       ? s.node_cpu_busy_us
                      : r == Resource::kMemory  ? s.node_mem_total_bytes
                      : r == Resource::kNetwork ? s.node_net_bytes
                                                : 0;
  double denominator = node_total > 0 ? std::max(node_total, total) : total;
  if (r == Resource::kMemory) {
    if (std::vector<double> shares = MemoryPressureShares(s.neighbours); !shares.empty()) {
      use = std::move(shares);
      denominator = 1;
    }
  }
  std::vector<Culprit> out;
  if (denominator <= 0) return out;
  std::map<std::string, std::pair<double, int>> namespaces;  // share sum, pod count
  for (size_t i = 0; i < s.neighbours.size(); ++i) {
    const NeighbourUsage& u = s.neighbours[i];
    double share = use[i] / denominator;
    if (u.scope == Scope::kPod && !u.namespace_name.empty()) {
      auto& ns = namespaces[u.namespace_name];
      ns.first += share;
      ns.second += 1;
    }
    if (share <= 0 || share < config.min_share) continue;
    Culprit k;
    k.kind = u.scope == Scope::kPod ? CulpritKind::kPod : CulpritKind::kCgroup;
    k.name = u.name;
    k.share = share;
    if (r == Resource::kMemory) k.detail = MemoryDetail(u);
    out.push_back(std::move(k));
  }
  for (const auto& [name, agg] : namespaces) {
    if (agg.second < 2 || agg.first < config.min_share || agg.first <= 0) continue;
    Culprit k;
    k.kind = CulpritKind::kNamespace;
    k.name = name;
    k.share = agg.first;
    k.detail = std::to_string(agg.second) + " pods";
    out.push_back(std::move(k));
  }
  std::stable_sort(out.begin(), out.end(), [](const Culprit& a, const Culprit& b) {
    if (a.share != b.share) return a.share > b.share;
    return a.name < b.name;
  });
  if (out.size() > static_cast<size_t>(config.max)) out.resize(static_cast<size_t>(config.max));
  return out;
}

}  // namespace

const char* ResourceName(Resource r) {
  switch (r) {
    case Resource::kCpu:
      return "cpu";
    case Resource::kMemory:
      return "memory";
    case Resource::kIo:
      return "io";
    case Resource::kNetwork:
      return "network";
  }
  return "cpu";
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kContention:
      return "contention";
    case Verdict::kContentionPossible:
      return "contention-possible";
    case Verdict::kFailsRegardless:
      return "fails-regardless";
    case Verdict::kNoContention:
      return "no-contention";
    case Verdict::kNoData:
      return "no-data";
  }
  return "no-data";
}

std::optional<Verdict> ParseVerdict(std::string_view name) {
  for (Verdict v : {Verdict::kContention, Verdict::kContentionPossible, Verdict::kFailsRegardless,
                    Verdict::kNoContention, Verdict::kNoData}) {
    if (name == VerdictName(v)) return v;
  }
  return std::nullopt;
}

const char* CulpritKindName(CulpritKind k) {
  switch (k) {
    case CulpritKind::kPod:
      return "pod";
    case CulpritKind::kNamespace:
      return "namespace";
    case CulpritKind::kCgroup:
      return "cgroup";
    case CulpritKind::kOwnLimit:
      return "own-limit";
    case CulpritKind::kProcess:
      return "process";
  }
  return "pod";
}

const char* FeltName(Felt f) {
  switch (f) {
    case Felt::kOwn:
      return "own";
    case Felt::kFelt:
      return "felt";
    case Felt::kUnverified:
      return "unverified";
    case Felt::kNodeOnly:
      return "node-only";
  }
  return "own";
}

namespace {

bool IsNodeSignal(std::string_view signal) { return signal.substr(0, 5) == "node."; }

std::optional<double> Peak(const Signals& s, const char* name) {
  auto it = s.values.find(name);
  if (it == s.values.end()) return std::nullopt;
  return it->second.peak;
}

// Whether the test's own pod or cgroup felt `resource` in the window: its PSI at or above
// felt.psi_some (cpu also: throttled; memory also: OOM-killed, at its limit, a memory.events
// high/max increment or a refaulted page; network: its own drops). kUnverified when the own
// series has no reading that could tell.
Felt FeltBy(const Signals& s, Resource resource, const AttributionConfig& c) {
  std::vector<std::optional<double>> own;  // peaks, compared with the thresholds below
  std::vector<double> thresholds;
  auto add = [&](const char* name, double threshold) {
    if (threshold <= 0) return;
    own.push_back(Peak(s, name));
    thresholds.push_back(threshold);
  };
  switch (resource) {
    case Resource::kCpu:
      add(kPodCpuPsiSome, c.felt.psi_some);
      add(kPodThrottle, c.cpu.throttle_ratio);
      break;
    case Resource::kMemory:
      add(kPodMemoryPsiSome, c.felt.psi_some);
      add(kPodOomKills, c.memory.oom_kills);
      add(kPodWorkingSet, c.memory.working_set_ratio);
      add(kPodMemoryLimitEvents, 1);
      add(kPodMemoryRefaults, 1);
      break;
    case Resource::kIo:
      add(kPodIoPsiSome, c.felt.psi_some);
      break;
    case Resource::kNetwork:
      add(kPodNetDrops, c.network.drops);
      break;
  }
  bool any_reading = false;
  for (size_t i = 0; i < own.size(); ++i) {
    if (!own[i]) continue;
    any_reading = true;
    if (*own[i] >= thresholds[i]) return Felt::kFelt;
  }
  return any_reading ? Felt::kNodeOnly : Felt::kUnverified;
}

}  // namespace

WindowAssessment AssessWindow(const Signals& signals, const AttributionConfig& config) {
  WindowAssessment a;
  for (Rule rule : Rules(config)) {
    if (rule.threshold <= 0) continue;
    // Node CPU saturation by the others when the test's own CPU use is known: a test that
    // keeps a small machine busy by itself has not been crowded out.
    if (rule.signal == kNodeCpuBusy && signals.values.count(kNodeCpuBusyOthers)) {
      rule.signal = kNodeCpuBusyOthers;
    }
    auto it = signals.values.find(rule.signal);
    if (it == signals.values.end()) continue;
    double value = rule.count || !config.window.use_mean ? it->second.peak : it->second.mean;
    if (value < rule.threshold) continue;
    double ratio = value / rule.threshold;
    Felt felt = Felt::kOwn;
    if (IsNodeSignal(rule.signal)) {
      felt = config.felt.psi_some > 0 ? FeltBy(signals, rule.resource, config) : Felt::kFelt;
      // Node-wide network trouble (cross traffic's retransmits, another pod's drops) counts
      // only when the test's own network counters show it.
      if (rule.resource == Resource::kNetwork && felt == Felt::kUnverified) {
        felt = Felt::kNodeOnly;
      }
    }
    a.crossings.push_back(Crossing{rule.signal, rule.resource, value, rule.threshold,
                                   rule.count ? 1.0 + std::log10(ratio) : ratio, felt});
  }
  std::stable_sort(a.crossings.begin(), a.crossings.end(),
                   [](const Crossing& x, const Crossing& y) {
                     bool dx = x.felt != Felt::kNodeOnly, dy = y.felt != Felt::kNodeOnly;
                     if (dx != dy) return dx;
                     return x.severity > y.severity;
                   });
  if (a.crossings.empty() || a.crossings.front().felt == Felt::kNodeOnly) return a;
  a.contended = true;
  a.resource = a.crossings.front().resource;
  a.severity = a.crossings.front().severity;
  bool neighbours_matter = false;
  for (const Crossing& c : a.crossings) {
    if (c.resource != *a.resource || c.felt == Felt::kNodeOnly) continue;
    if (IsOwnLimitSignal(c.signal)) {
      bool seen = std::any_of(a.culprits.begin(), a.culprits.end(),
                              [](const Culprit& k) { return k.kind == CulpritKind::kOwnLimit; });
      if (!seen) a.culprits.push_back(OwnLimit(c, signals));
    } else {
      neighbours_matter = true;
    }
  }
  if (neighbours_matter) {
    for (Culprit& k : RankNeighbours(signals, *a.resource, config.culprits)) {
      a.culprits.push_back(std::move(k));
    }
  }
  return a;
}

const char* BasisName(Basis b) {
  switch (b) {
    case Basis::kNoSamples:
      return "no-samples";
    case Basis::kClearWindow:
      return "clear-window";
    case Basis::kUncertainWindow:
      return "uncertain-window";
    case Basis::kClearRerun:
      return "clear-rerun";
    case Basis::kHistory:
      return "history";
    case Basis::kFailsWhenClear:
      return "fails-when-clear";
    case Basis::kNotDiscriminating:
      return "not-discriminating";
  }
  return "no-samples";
}

namespace {

std::string HistoryLine(const Evidence& e) {
  const HistoryCounts& h = e.history;
  return "fails " + std::to_string(h.failed_contended) + "/" +
         std::to_string(h.failed_contended + h.passed_contended) + " contended, " +
         std::to_string(h.failed_clear) + "/" + std::to_string(h.failed_clear + h.passed_clear) +
         " clear before";
}

std::string PValue(const Evidence& e) {
  if (!e.fisher_p) return "no clear executions to compare with";
  char buf[64];
  std::snprintf(buf, sizeof buf, "one-sided Fisher p = %.3g %s %.3g", *e.fisher_p,
                *e.fisher_p <= e.alpha ? "<=" : ">", e.alpha);
  return buf;
}

}  // namespace

std::string EvidenceSummary(const Evidence& e) {
  switch (e.decided_by) {
    case Basis::kNoSamples:
      return "no samples cover the window";
    case Basis::kClearWindow:
      return "clear window: no signal the test felt crossed its threshold";
    case Basis::kUncertainWindow: {
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "reconstructed start, up to %.1f s later: the window was contended at only %d "
                    "of %d placements over that span, so no contention is claimed",
                    static_cast<double>(e.start_uncertainty_ns) / 1e9, e.placements_contended,
                    e.placements);
      return buf;
    }
    case Basis::kClearRerun:
      return "another attempt in this run passed in a clear window";
    case Basis::kHistory:
      return "history: " + HistoryLine(e) + ", " + PValue(e);
    case Basis::kFailsWhenClear:
      return "fails in clear windows too: " + HistoryLine(e);
    case Basis::kNotDiscriminating:
      return std::string("not discriminating: ") +
             (e.rerun_passed ? "the passing rerun's window was contended too; " : "") +
             HistoryLine(e) + ", " + PValue(e);
  }
  return "";
}

Verdict DecideVerdict(const VerdictInput& in, const HistoryConfig& config, Evidence* evidence) {
  const HistoryCounts& h = in.history;
  Evidence e;
  e.history = h;
  e.rerun_passed = in.rerun_passed;
  e.rerun_passed_clear = in.rerun_passed_clear;
  e.alpha = config.alpha;
  int failed_contended = h.failed_contended + (in.contended ? 1 : 0);
  int failed_clear = h.failed_clear + (in.contended ? 0 : 1);
  int contended_total = failed_contended + h.passed_contended;
  int clear_total = failed_clear + h.passed_clear;
  if (in.has_data && !in.uncertain) {
    if (contended_total > 0) e.failure_rate_contended = double(failed_contended) / contended_total;
    if (clear_total > 0) e.failure_rate_clear = double(failed_clear) / clear_total;
    if (contended_total > 0 && clear_total > 0) {
      e.fisher_p =
          FisherExactGreater(failed_contended, h.passed_contended, failed_clear, h.passed_clear);
    }
  }
  const bool enough_clear = h.failed_clear + h.passed_clear >= config.min_clear;
  const bool never_passed_clear = h.failed_clear > 0 && h.passed_clear == 0 && !in.rerun_passed;
  const double difference = e.failure_rate_contended.value_or(0) - e.failure_rate_clear.value_or(0);
  Verdict v;
  if (!in.has_data) {
    v = Verdict::kNoData;
    e.decided_by = Basis::kNoSamples;
  } else if (in.uncertain && !never_passed_clear) {
    v = Verdict::kNoContention;  // contention is not claimed for part of the span
    e.decided_by = Basis::kUncertainWindow;
  } else if (in.uncertain) {
    v = Verdict::kFailsRegardless;  // whatever its window: it never passes when clear
    e.decided_by = Basis::kFailsWhenClear;
  } else if (!in.contended) {
    v = Verdict::kNoContention;
    e.decided_by = Basis::kClearWindow;
  } else if (in.rerun_passed_clear) {
    v = Verdict::kContention;
    e.decided_by = Basis::kClearRerun;
  } else if (enough_clear && e.fisher_p && *e.fisher_p <= config.alpha &&
             difference >= config.min_rate_difference) {
    v = Verdict::kContention;
    e.decided_by = Basis::kHistory;
  } else if (never_passed_clear ||
             (h.failed_clear > 0 && enough_clear && difference < config.min_rate_difference)) {
    v = Verdict::kFailsRegardless;
    e.decided_by = Basis::kFailsWhenClear;
  } else {
    v = Verdict::kContentionPossible;
    e.decided_by = Basis::kNotDiscriminating;
  }
  if (evidence) *evidence = e;
  return v;
}

}  // namespace jostle::collector
