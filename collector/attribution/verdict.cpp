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
  if (c.signal == kPodThrottle) {
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

std::vector<Culprit> RankNeighbours(const Signals& s, Resource r, const CulpritConfig& config) {
  double total = 0;
  for (const NeighbourUsage& u : s.neighbours) total += UseOf(u, r);
  double node_total = r == Resource::kCpu       ? s.node_cpu_busy_us
                      : r == Resource::kMemory  ? s.node_mem_total_bytes
                      : r == Resource::kNetwork ? s.node_net_bytes
                                                : 0;
  double denominator = node_total > 0 ? std::max(node_total, total) : total;
  std::vector<Culprit> out;
  if (denominator <= 0) return out;
  std::map<std::string, std::pair<double, int>> namespaces;  // share sum, pod count
  for (const NeighbourUsage& u : s.neighbours) {
    double share = UseOf(u, r) / denominator;
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
    a.crossings.push_back(Crossing{rule.signal, rule.resource, value, rule.threshold,
                                   rule.count ? 1.0 + std::log10(ratio) : ratio});
  }
  std::stable_sort(a.crossings.begin(), a.crossings.end(),
                   [](const Crossing& x, const Crossing& y) { return x.severity > y.severity; });
  if (a.crossings.empty()) return a;
  a.contended = true;
  a.resource = a.crossings.front().resource;
  a.severity = a.crossings.front().severity;
  bool neighbours_matter = false;
  for (const Crossing& c : a.crossings) {
    if (c.resource != *a.resource) continue;
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

Verdict DecideVerdict(bool has_data, bool contended, const HistoryCounts& h, bool rerun_passed,
                      const HistoryConfig& config, Evidence* evidence) {
  Evidence e;
  e.history = h;
  e.rerun_passed = rerun_passed;
  int failed_contended = h.failed_contended + (contended ? 1 : 0);
  int failed_clear = h.failed_clear + (contended ? 0 : 1);
  int contended_total = failed_contended + h.passed_contended;
  int clear_total = failed_clear + h.passed_clear;
  if (has_data) {
    if (contended_total > 0) e.failure_rate_contended = double(failed_contended) / contended_total;
    if (clear_total > 0) e.failure_rate_clear = double(failed_clear) / clear_total;
    if (contended_total > 0 && clear_total > 0) {
      e.fisher_p =
          FisherExactTwoSided(failed_contended, h.passed_contended, failed_clear, h.passed_clear);
    }
  }
  Verdict v;
  if (!has_data) {
    v = Verdict::kNoData;
  } else if (!contended) {
    v = Verdict::kNoContention;
  } else if (h.failed_clear + h.passed_clear + (rerun_passed ? 1 : 0) < config.min_clear) {
    v = Verdict::kContentionPossible;
  } else if (h.failed_clear == 0) {
    v = Verdict::kContention;
  } else if (h.passed_clear == 0 && !rerun_passed) {
    v = Verdict::kFailsRegardless;
  } else {
    double diff = e.failure_rate_contended.value_or(0) - e.failure_rate_clear.value_or(0);
    bool marked = diff >= config.min_rate_difference && e.fisher_p.value_or(1) <= config.fisher_p;
    v = marked ? Verdict::kContention : Verdict::kFailsRegardless;
  }
  if (evidence) *evidence = e;
  return v;
}

}  // namespace jostle::collector
