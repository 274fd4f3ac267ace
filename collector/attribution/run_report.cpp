#include "collector/attribution/run_report.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <system_error>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace jostle::collector {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kSecondNs = 1'000'000'000;
// A window with an uncertain start is judged at most at this many placements.
constexpr int64_t kMaxPlacements = 60;
constexpr size_t kMaxTimelineGroups = 6;

int64_t EndOf(const TestExecution& e) {
  return *e.start_ns + static_cast<int64_t>(std::llround(std::max(0.0, e.duration_s) * 1e9));
}

std::string Seconds(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) / 1e9);
  return buf;
}

// Why no samples cover a window of `node`.
std::string NoDataReason(const std::string& node, const SampleFrame* frame, const Signals& s) {
  const std::vector<FrameTick>* samples = frame == nullptr ? nullptr : &frame->ticks;
  if (samples == nullptr || samples->empty()) {
    return "no agent on node " + node + ": no samples from it around this run";
  }
  int64_t first = samples->front().wall_ns, last = samples->back().wall_ns;
  if (last < s.window_end_ns) {
    return "window not covered yet: the latest sample from node " + node + " is " +
           Seconds(s.window_end_ns - last) + " before the window ends";
  }
  if (first > s.window_start_ns) {
    return "no agent on node " + node + " at that time: its first sample is " +
           Seconds(first - s.window_start_ns) + " after the window starts";
  }
  int64_t before = first, after = last;
  for (const FrameTick& x : *samples) {
    if (x.wall_ns <= s.window_start_ns) before = x.wall_ns;
    if (x.wall_ns >= s.window_end_ns) {
      after = x.wall_ns;
      break;
    }
  }
  return "clock gap: no usable samples from node " + node + " for " + Seconds(after - before) +
         " around the window";
}

struct Group {
  std::vector<TestExecution*> attempts;  // by attempt
};

NodeTimeline BuildTimeline(const std::string& node, const NodeRates& rates, int64_t from_ns,
                           int64_t to_ns) {
  NodeTimeline t;
  t.node = node;
  const std::vector<FrameTick>& samples = rates.frame->ticks;
  std::unordered_map<size_t, size_t> point_of_sample;
  for (const NodeRate& r : rates.node) {
    if (r.to_ns <= from_ns || r.from_ns >= to_ns) continue;
    point_of_sample[r.sample_index] = t.t_ns.size();
    t.t_ns.push_back(r.to_ns);
    t.cpu_busy.push_back(r.cpu_busy.value_or(kNaN));
    t.mem_used.push_back(r.mem_used_ratio.value_or(kNaN));
    t.psi_cpu.push_back(r.psi_cpu_some.value_or(kNaN));
    t.psi_memory.push_back(r.psi_memory_some.value_or(kNaN));
    t.psi_io.push_back(r.psi_io_some.value_or(kNaN));
    const NodeSample& n = samples[r.sample_index].node;
    if (n.cpus) t.cpus = *n.cpus;
    if (n.mem_total_bytes) t.mem_total_bytes = static_cast<double>(*n.mem_total_bytes);
  }
  // Per point, cores used by each series, exclusive of its sampled child cgroups.
  std::map<std::string, std::string> group_of_path;  // cgroup path -> group name
  std::unordered_map<std::string_view, bool> seen;   // series ids already looked at
  for (const CgroupRate& r : rates.cgroups) {
    const CgroupSample& cg = SeriesOf(rates, r);
    if (!seen.emplace(cg.id, true).second) continue;
    if (cg.scope == Scope::kContainer || cg.path.empty()) continue;
    std::string group = cg.scope == Scope::kPod
                            ? (cg.namespace_name.empty() ? "pods" : cg.namespace_name)
                            : cg.path;
    group_of_path.emplace(cg.path, group);
  }
  std::map<std::string, std::string> parent_of;  // path -> nearest sampled ancestor path
  for (const auto& [path, group] : group_of_path) {
    std::string p = path;
    while (true) {
      size_t slash = p.find_last_of('/');
      if (slash == std::string::npos || slash == 0) break;
      p.resize(slash);
      if (group_of_path.count(p)) {
        parent_of[path] = p;
        break;
      }
    }
  }
  // Paths by index, so the per-point work below does no string handling.
  std::vector<std::string> paths;
  std::map<std::string, size_t> index_of_path;
  for (const auto& [path, group] : group_of_path) {
    index_of_path.emplace(path, paths.size());
    paths.push_back(path);
  }
  std::vector<int> parent_index(paths.size(), -1);
  for (const auto& [path, parent] : parent_of) {
    parent_index[index_of_path[path]] = static_cast<int>(index_of_path[parent]);
  }
  std::unordered_map<std::string_view, size_t> index_of_id;
  std::vector<double> cores(t.t_ns.size() * paths.size(), 0.0);
  for (const CgroupRate& r : rates.cgroups) {
    auto it = point_of_sample.find(r.sample_index);
    if (it == point_of_sample.end() || !r.cpu_us || r.to_ns <= r.from_ns) continue;
    const CgroupSample& cg = SeriesOf(rates, r);
    if (cg.scope == Scope::kContainer || cg.path.empty()) continue;
    auto id = index_of_id.find(cg.id);
    if (id == index_of_id.end()) id = index_of_id.emplace(cg.id, index_of_path[cg.path]).first;
    cores[it->second * paths.size() + id->second] +=
        *r.cpu_us * 1e3 / static_cast<double>(r.to_ns - r.from_ns);
  }
  std::map<std::string, std::vector<double>> by_group;
  std::vector<std::vector<double>*> series_of_path(paths.size());
  for (size_t k = 0; k < paths.size(); ++k) {
    auto& series = by_group[group_of_path[paths[k]]];
    series.assign(t.t_ns.size(), 0.0);
    series_of_path[k] = &series;
  }
  std::vector<double> exclusive(paths.size());
  for (size_t i = 0; i < t.t_ns.size(); ++i) {
    const double* row = &cores[i * paths.size()];
    exclusive.assign(row, row + paths.size());
    for (size_t k = 0; k < paths.size(); ++k) {
      if (parent_index[k] >= 0) {
        double& e = exclusive[static_cast<size_t>(parent_index[k])];
        e = std::max(0.0, e - row[k]);
      }
    }
    for (size_t k = 0; k < paths.size(); ++k) (*series_of_path[k])[i] += exclusive[k];
  }
  std::vector<std::pair<double, std::string>> totals;
  for (const auto& [group, series] : by_group) {
    double sum = 0;
    for (double v : series) sum += v;
    totals.emplace_back(sum, group);
  }
  std::sort(totals.begin(), totals.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<double> other(t.t_ns.size(), 0.0);
  bool have_other = false;
  for (size_t k = 0; k < totals.size(); ++k) {
    const auto& series = by_group[totals[k].second];
    if (k < kMaxTimelineGroups) {
      t.cpu_cores_by_group.emplace_back(totals[k].second, series);
    } else {
      have_other = true;
      for (size_t i = 0; i < series.size(); ++i) other[i] += series[i];
    }
  }
  if (have_other) t.cpu_cores_by_group.emplace_back("other", std::move(other));
  return t;
}

}  // namespace

std::optional<WindowQuery> QueryOf(const TestExecution& e, const ReportOptions& options) {
  if (!e.start_ns) return std::nullopt;
  WindowQuery q;
  q.start_ns = *e.start_ns;
  q.end_ns = EndOf(e);
  q.pod_namespace = e.pod_namespace;
  q.pod_name = e.pod_name;
  q.self_cgroup = options.self_cgroup;
  q.own_ancestors = options.self_ancestors;
  return q;
}

std::vector<int64_t> StartUncertainty(const std::vector<TestExecution>& executions,
                                      const ReportOptions& options, const WindowConfig& config) {
  constexpr int64_t kMaxUncertaintyNs = 3600 * kSecondNs;
  std::vector<int64_t> out(executions.size(), 0);
  std::map<std::pair<int64_t, std::string>, std::vector<size_t>> chains;  // (upload, job)
  for (size_t i = 0; i < executions.size(); ++i) {
    const TestExecution& e = executions[i];
    if (e.timing_approximate && e.start_ns) chains[{e.upload_id, e.job}].push_back(i);
  }
  for (auto& [key, chain] : chains) {
    std::stable_sort(chain.begin(), chain.end(), [&](size_t a, size_t b) {
      const TestExecution& x = executions[a];
      const TestExecution& y = executions[b];
      return std::tie(*x.start_ns, x.attempt) < std::tie(*y.start_ns, y.attempt);
    });
    int64_t later_ns = 0;  // durations of this member and every later one
    for (size_t k = chain.size(); k-- > 0;) {
      const TestExecution& e = executions[chain[k]];
      later_ns += EndOf(e) - *e.start_ns;
      if (options.results_end_ns) {
        out[chain[k]] = *options.results_end_ns - *e.start_ns - later_ns;
      }
    }
    int reruns = 0;
    for (size_t index : chain) {
      const TestExecution& e = executions[index];
      if (e.attempt > 0) ++reruns;
      if (!options.results_end_ns) {
        out[index] = static_cast<int64_t>(config.reconstructed_slack_s * (1 + reruns) * 1e9);
      }
      out[index] = std::clamp<int64_t>(out[index], 0, kMaxUncertaintyNs);
    }
  }
  return out;
}

std::optional<bool> ClassifyWindow(const NodeRates& rates, const WindowQuery& q,
                                   const AttributionConfig& config) {
  Signals s = WindowSignalsFromRates(rates, q, config.window);
  if (s.node_points == 0) return std::nullopt;
  return AssessWindow(s, config).contended;
}

namespace {

// Samples are read this many sampling intervals beyond a padded window first; the window
// is read again with the wide margin when WindowCoveredBy says that was not enough.
constexpr double kNearMarginIntervals = 1.0;

// What the attribution sees of one execution's window.
struct WindowResult {
  bool node_read = false;      // samples of the node were read (there may be none)
  Signals signals;             // without a read: only the window bounds (unpadded)
  std::string no_data_reason;  // set when !node_read or signals.node_points == 0
  // An uncertain start: whether the window was contended at each placement over the span
  // (shift 0 first); nullopt where no samples cover it. Empty for an exact start.
  std::vector<std::optional<bool>> placements;
};

// The query `q` with its start `uncertainty_ns` later at most: the span every placement of
// its window lies in.
WindowQuery Span(WindowQuery q, int64_t uncertainty_ns) {
  q.end_ns += uncertainty_ns;
  return q;
}

WindowResult WindowOf(const std::string& node, const NodeRates* rates, const WindowQuery& q,
                      const AttributionConfig& config, int64_t uncertainty_ns) {
  WindowResult w;
  if (rates == nullptr) {
    w.signals.window_start_ns = q.start_ns;
    w.signals.window_end_ns = q.end_ns;
    w.no_data_reason = NoDataReason(node, nullptr, w.signals);
    return w;
  }
  w.node_read = true;
  w.signals = WindowSignalsFromRates(*rates, q, config.window);
  if (w.signals.node_points == 0) {
    w.no_data_reason = NoDataReason(node, rates->frame.get(), w.signals);
    return w;
  }
  if (uncertainty_ns <= 0) return w;
  int64_t step = std::max(rates->interval_ns, uncertainty_ns / (kMaxPlacements - 1) + 1);
  for (int64_t shift = 0;; shift = std::min(shift + step, uncertainty_ns)) {
    WindowQuery placed = q;
    placed.start_ns += shift;
    placed.end_ns += shift;
    w.placements.push_back(ClassifyWindow(*rates, placed, config));
    if (shift == uncertainty_ns) break;
  }
  return w;
}

// Whether the window was contended: at every placement, when its start is uncertain
// (nullopt when some but not all placements were; `contended_placements` counts them).
std::optional<bool> ContendedOver(const WindowResult& w, const WindowAssessment& nominal,
                                  int* contended_placements) {
  *contended_placements = 0;
  if (w.placements.empty()) return nominal.contended;
  int clear = 0;
  for (const std::optional<bool>& p : w.placements) {
    if (p == true) ++*contended_placements;
    if (p == false) ++clear;
  }
  if (clear == 0 && *contended_placements > 0) return true;
  if (*contended_placements == 0) return false;
  return std::nullopt;
}

// Where Attribute finds the windows it judges and the timelines it draws.
struct WindowSource {
  // The window `q` of execution `e` (which has a start time) on e.node.
  // `uncertainty_ns`: how much later it may have started (StartUncertainty).
  std::function<WindowResult(const TestExecution& e, const WindowQuery& q, int64_t uncertainty_ns)>
      window;
  // The node's timeline over the run [start_ns, end_ns] and its padding, without marks;
  // nullopt when no samples of the node were read.
  std::function<std::optional<NodeTimeline>(const std::string& node, int64_t start_ns,
                                            int64_t end_ns)>
      timeline;
};

// The timeline of a node whose window rates are `rates`, drawn from `drawn` (the same
// rates, or a sparse read of the node).
NodeTimeline TimelineOf(const std::string& node, const NodeRates& rates, const NodeRates& drawn,
                        int64_t start_ns, int64_t end_ns, const WindowConfig& config) {
  auto pad =
      static_cast<int64_t>(config.padding_intervals * static_cast<double>(rates.interval_ns));
  return BuildTimeline(node, drawn, start_ns - pad, end_ns + pad);
}

// AttributeRun over the windows and timelines `source` gives. The strings of each judged
// execution are moved into its FailureReport (the executions are spent).
RunReport Attribute(std::string_view run, std::vector<TestExecution>& executions,
                    const std::map<std::string, std::vector<HistoryEntry>>& history,
                    const AttributionConfig& config, const ReportOptions& options,
                    const WindowSource& source) {
  RunReport report;
  report.run = std::string(run);
  for (Verdict v : {Verdict::kContention, Verdict::kContentionPossible, Verdict::kFailsRegardless,
                    Verdict::kNoContention, Verdict::kNoData}) {
    report.verdict_counts[VerdictName(v)] = 0;
  }

  // Attempts of one test in one job, in attempt order; groups in order of first appearance.
  std::vector<Group> groups;
  std::set<std::string> nodes;
  {
    std::map<std::pair<std::string_view, std::string_view>, size_t> group_of;  // (job, test id)
    for (TestExecution& e : executions) {
      auto [it, inserted] = group_of.try_emplace({e.job, e.test_id}, groups.size());
      if (inserted) groups.emplace_back();
      groups[it->second].attempts.push_back(&e);
    }
  }
  for (const TestExecution& e : executions) {
    if (!e.node.empty()) nodes.insert(e.node);
    if (e.start_ns) {
      int64_t end = EndOf(e);
      report.start_ns = report.start_ns ? std::min(*report.start_ns, *e.start_ns) : *e.start_ns;
      report.end_ns = report.end_ns ? std::max(*report.end_ns, end) : end;
    }
  }
  report.nodes.assign(nodes.begin(), nodes.end());
  report.executions = static_cast<int>(executions.size());
  report.tests = static_cast<int>(groups.size());

  const std::vector<int64_t> uncertainty = StartUncertainty(executions, options, config.window);
  auto uncertainty_of = [&](const TestExecution& e) {
    return uncertainty[static_cast<size_t>(&e - executions.data())];
  };
  // An uncertain window contended only at some placements classifies as neither.
  auto classify = [&](const TestExecution& e) -> std::optional<bool> {
    auto q = QueryOf(e, options);
    if (!q) return std::nullopt;
    WindowResult w = source.window(e, *q, uncertainty_of(e));
    if (!w.node_read || w.signals.node_points == 0) return std::nullopt;
    int contended_placements = 0;
    return ContendedOver(w, AssessWindow(w.signals, config), &contended_placements);
  };

  auto judge = [&](const Group& g, TestExecution& e, bool rerun_passed) {
    FailureReport f;
    if (!e.pod_name.empty()) f.pod = e.pod_namespace + "/" + e.pod_name;
    f.attempt = e.attempt;
    f.attempts = static_cast<int>(g.attempts.size());
    f.outcome = e.outcome;
    f.start_ns = e.start_ns;
    if (e.start_ns) f.end_ns = EndOf(e);
    f.timing_approximate = e.timing_approximate;
    f.flaky = rerun_passed;

    HistoryCounts counts;
    auto add = [&](Outcome outcome, std::optional<bool> contended) {
      if (outcome == Outcome::kSkipped) return;
      if (!contended) {
        ++counts.no_data;
      } else if (IsFailure(outcome)) {
        ++(*contended ? counts.failed_contended : counts.failed_clear);
      } else {
        ++(*contended ? counts.passed_contended : counts.passed_clear);
      }
    };
    if (auto h = history.find(e.test_id); h != history.end()) {
      for (const HistoryEntry& entry : h->second) add(entry.outcome, entry.contended);
    }
    bool rerun_passed_clear = false;
    for (const TestExecution* other : g.attempts) {
      if (other == &e) continue;
      std::optional<bool> contended = classify(*other);
      add(other->outcome, contended);
      if (other->outcome == Outcome::kPassed && contended == false) rerun_passed_clear = true;
    }

    auto q = QueryOf(e, options);
    bool has_data = false;
    std::optional<bool> contended;
    int placements = 0, placements_contended = 0;
    if (e.node.empty()) {
      f.reason = e.pod_name.empty() ? "node unknown: the results name neither a node nor a pod"
                                    : "pod unknown: no agent has reported pod " + f.pod;
    } else if (!q) {
      f.reason = "no start time: the result file gives no timestamp for this test";
    } else {
      WindowResult w = source.window(e, *q, uncertainty_of(e));
      f.signals = std::move(w.signals);
      if (!w.node_read || f.signals.node_points == 0) {
        f.reason = std::move(w.no_data_reason);
      } else {
        has_data = true;
        f.assessment = AssessWindow(f.signals, config);
        contended = ContendedOver(w, f.assessment, &placements_contended);
        placements = static_cast<int>(w.placements.size());
      }
    }
    VerdictInput in;
    in.has_data = has_data;
    in.contended = contended == true;
    in.uncertain = has_data && !contended;
    in.history = counts;
    in.rerun_passed = rerun_passed;
    in.rerun_passed_clear = rerun_passed_clear;
    f.verdict = DecideVerdict(in, config.history, &f.evidence);
    f.evidence.start_uncertainty_ns = uncertainty_of(e);
    f.evidence.placements = placements;
    f.evidence.placements_contended = placements_contended;
    // A real failure, or a clear window: nobody else is to blame.
    if (f.verdict == Verdict::kFailsRegardless || f.verdict == Verdict::kNoContention) {
      f.assessment.culprits.clear();
    }
    f.test_id = std::move(e.test_id);
    f.name = std::move(e.name);
    f.suite = std::move(e.suite);
    f.classname = std::move(e.classname);
    f.file = std::move(e.file);
    f.job = std::move(e.job);
    f.node = std::move(e.node);
    f.message = std::move(e.message);
    return f;
  };

  // Per group, the attempt judged (nullptr: none) and whether it is a flaky test's.
  std::vector<std::pair<TestExecution*, bool>> judged(groups.size(), {nullptr, false});
  for (size_t k = 0; k < groups.size(); ++k) {
    Group& g = groups[k];
    std::stable_sort(
        g.attempts.begin(), g.attempts.end(),
        [](const TestExecution* a, const TestExecution* b) { return a->attempt < b->attempt; });
    TestExecution* last = g.attempts.back();
    if (IsFailure(last->outcome)) {
      ++report.failed;
      judged[k] = {last, false};
      continue;
    }
    TestExecution* failed_attempt = nullptr;
    for (TestExecution* a : g.attempts) {
      if (IsFailure(a->outcome)) failed_attempt = a;
    }
    if (failed_attempt && last->outcome == Outcome::kPassed) {
      ++report.flaky;
      judged[k] = {failed_attempt, true};
    }
  }
  report.failures.reserve(static_cast<size_t>(report.failed));
  report.flaky_tests.reserve(static_cast<size_t>(report.flaky));
  for (size_t k = 0; k < groups.size(); ++k) {
    auto [e, flaky] = judged[k];
    if (e == nullptr) continue;
    if (!flaky) {
      report.failures.push_back(judge(groups[k], *e, false));
      ++report.verdict_counts[VerdictName(report.failures.back().verdict)];
    } else {
      report.flaky_tests.push_back(judge(groups[k], *e, true));
    }
  }

  if (report.start_ns) {
    for (const std::string& node : report.nodes) {
      std::optional<NodeTimeline> t = source.timeline(node, *report.start_ns, *report.end_ns);
      if (!t) continue;
      for (const auto* list : {&report.failures, &report.flaky_tests}) {
        for (const FailureReport& f : *list) {
          if (f.node != node || !f.start_ns) continue;
          t->marks.push_back(TimelineMark{f.test_id, *f.start_ns, *f.end_ns, f.verdict});
        }
      }
      report.timelines.push_back(std::move(*t));
    }
  }
  return report;
}

// [from, to] ranges, sorted and with overlapping ones merged.
std::vector<std::pair<int64_t, int64_t>> Merge(std::vector<std::pair<int64_t, int64_t>> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& r : ranges) {
    if (!out.empty() && r.first <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

// The earlier runs a run's verdicts read (ReportOptions::as_of_run, history.baseline,
// retention.results_days back from the run's start, or from now for today's history).
HistoryQuery HistoryQueryOf(std::string_view run, const AttributionConfig& config,
                            const ReportOptions& options, std::optional<int64_t> run_start) {
  HistoryQuery q;
  q.run = run;
  q.as_of_run = options.as_of_run;
  q.limit = config.history.limit;
  using Baseline = HistoryConfig::Baseline;
  q.branches = config.history.baseline == Baseline::kBranch ? HistoryQuery::Branches::kBranch
               : config.history.baseline == Baseline::kAll
                   ? HistoryQuery::Branches::kAny
                   : HistoryQuery::Branches::kBranchAndDefault;
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t from = options.as_of_run && run_start ? *run_start : now;
  q.since_ns = from - static_cast<int64_t>(config.retention.results_days * 86400e9);
  return q;
}

}  // namespace

RunReport AttributeRun(std::string_view run, const std::vector<TestExecution>& executions,
                       const std::map<std::string, std::vector<Sample>>& samples_by_node,
                       const std::map<std::string, std::vector<HistoryEntry>>& history,
                       const AttributionConfig& config, const ReportOptions& options) {
  std::map<std::string, NodeRates> rates;
  for (const auto& [node, samples] : samples_by_node) {
    rates.emplace(node, ComputeRates(samples, config.window));
  }
  std::vector<TestExecution> spent = executions;
  WindowSource source;
  source.window = [&](const TestExecution& e, const WindowQuery& q, int64_t uncertainty_ns) {
    auto r = rates.find(e.node);
    return WindowOf(e.node, r == rates.end() ? nullptr : &r->second, q, config, uncertainty_ns);
  };
  source.timeline = [&](const std::string& node, int64_t start_ns,
                        int64_t end_ns) -> std::optional<NodeTimeline> {
    auto r = rates.find(node);
    if (r == rates.end()) return std::nullopt;
    return TimelineOf(node, r->second, r->second, start_ns, end_ns, config.window);
  };
  return Attribute(run, spent, history, config, options, source);
}

Result<RunReport> BuildRunReport(SampleSource& samples, ResultStore& results, std::string_view run,
                                 const AttributionConfig& config, const ReportOptions& options) {
  auto executions = results.RunExecutionsForReport(run);
  if (!executions.ok()) return executions.status().WithContext("run " + std::string(run));
  if (executions->empty()) {
    return Status::NotFound("run " + std::string(run) + " has no test results");
  }
  const double interval = config.window.default_interval_s * 1e9;
  // Samples are read this far around a padded window: the rate that overlaps the window's
  // start begins at most max_gap_intervals before it (and the one over its end ends at most
  // that long after it).
  const auto margin = static_cast<int64_t>((config.window.max_gap_intervals + 1) * interval);

  std::map<std::pair<std::string, std::string>, std::optional<std::string>> pod_nodes;
  auto resolve = [&](TestExecution& e) -> Status {
    if (!e.node.empty() || e.pod_name.empty() || !e.start_ns) return Status::Ok();
    auto key = std::make_pair(e.pod_namespace, e.pod_name);
    auto it = pod_nodes.find(key);
    if (it == pod_nodes.end()) {
      auto node = samples.NodeOfPod(e.pod_namespace, e.pod_name, *e.start_ns);
      if (!node.ok()) return node.status();
      it = pod_nodes.emplace(key, *node).first;
    }
    if (it->second) e.node = *it->second;
    return Status::Ok();
  };

  std::map<std::string, std::pair<int64_t, int64_t>> node_ranges;
  // Views of the executions' strings, which stay put until Attribute.
  std::set<std::string_view> judged_tests;
  std::set<std::pair<std::string_view, std::string_view>> judged_groups;  // (job, test id)
  for (TestExecution& e : *executions) {
    JOSTLE_RETURN_IF_ERROR(resolve(e));
    if (IsFailure(e.outcome)) {
      judged_tests.insert(e.test_id);
      judged_groups.emplace(e.job, e.test_id);
    }
    if (e.node.empty() || !e.start_ns) continue;
    auto [it, inserted] = node_ranges.try_emplace(e.node, *e.start_ns, EndOf(e));
    it->second.first = std::min(it->second.first, *e.start_ns);
    it->second.second = std::max(it->second.second, EndOf(e));
  }
  // The run's span and nodes, as Attribute takes them (timelines are drawn while reading).
  std::optional<int64_t> run_start, run_end;
  std::set<std::string> run_nodes;
  for (const TestExecution& e : *executions) {
    if (!e.node.empty()) run_nodes.insert(e.node);
    if (!e.start_ns) continue;
    run_start = run_start ? std::min(*run_start, *e.start_ns) : *e.start_ns;
    run_end = run_end ? std::max(*run_end, EndOf(e)) : EndOf(e);
  }

  int64_t oldest = std::numeric_limits<int64_t>::min();
  for (const auto& [node, range] : node_ranges) {
    int64_t age = static_cast<int64_t>(config.history.max_age_days * 86400e9);
    oldest = std::max(oldest, range.first - age);
  }
  // History: cached classifications are taken as they are; the others are classified below
  // from the samples read for them.
  struct Pending {
    std::string test_id;
    size_t index = 0;  // into history[test_id]
    int64_t execution_id = 0;
    std::string node;
    WindowQuery query;
  };
  std::map<std::string, std::vector<HistoryEntry>> history;
  std::vector<Pending> pending;
  HistoryQuery history_query = HistoryQueryOf(run, config, options, run_start);
  for (std::string_view test_id :
       options.read_history ? judged_tests : std::set<std::string_view>{}) {
    history_query.test_id = test_id;
    auto earlier = results.TestHistory(history_query);
    if (!earlier.ok()) return earlier.status().WithContext("history of " + std::string(test_id));
    // Kept only when there is some: a test without history has no entry.
    std::vector<HistoryEntry> entries;
    for (TestExecution& e : *earlier) {
      if (e.outcome == Outcome::kSkipped) continue;
      if (e.start_ns && *e.start_ns < oldest) continue;
      HistoryEntry entry{e.outcome, std::nullopt};
      if (options.history_cache && e.contended) {
        entry.contended = e.contended;
        entries.push_back(entry);
        continue;
      }
      JOSTLE_RETURN_IF_ERROR(resolve(e));
      auto q = QueryOf(e, options);
      if (q && !options.history_self_cgroup_prefix.empty()) {
        q->self_cgroup.clear();  // that run's command cgroup had a name of its own
        q->self_cgroup_prefix = options.history_self_cgroup_prefix;
      }
      if (q && !e.node.empty()) {
        pending.push_back({std::string(test_id), entries.size(), e.id, e.node, *q});
      }
      entries.push_back(entry);
    }
    if (!entries.empty()) history.emplace(test_id, std::move(entries));
  }

  // What to read per node: short runs whole; long runs around the windows to judge (every
  // attempt of a test with a failure, and pending history) plus sparse timeline points.
  // Around a window, `near` is read first (the window and kNearMarginIntervals, at least
  // max_gap_intervals in all) and `around` (the window +- max_gap_intervals + 1) only for a
  // node where a window is not covered by its near read (WindowCoveredBy).
  const auto pad = static_cast<int64_t>(config.window.padding_intervals * interval);
  const auto near_margin = static_cast<int64_t>(kNearMarginIntervals * interval);
  const auto min_span = static_cast<int64_t>(config.window.max_gap_intervals * interval);
  auto around = [&](int64_t start, int64_t end) {
    return std::make_pair(start - pad - margin, end + pad + margin);
  };
  // `end_margin`: pending history windows read one interval more after their end, so that
  // a sample past the window tells they can be cached.
  auto near = [&](int64_t start, int64_t end, int64_t end_margin) {
    int64_t from = start - pad - near_margin, to = end + pad + end_margin;
    if (to - from < min_span) {
      int64_t more = min_span - (to - from);
      from -= more / 2;
      to += more - more / 2;
    }
    return std::make_pair(from, to);
  };
  struct Window {
    const TestExecution* execution = nullptr;  // a run execution, or
    size_t pending = 0;                        // (execution == nullptr) pending[pending]
    WindowQuery query;
    int64_t uncertainty_ns = 0;  // StartUncertainty: the window is judged over its span
    std::pair<int64_t, int64_t> near;
  };
  // Per node: the windows it judges, what to read for them, and what was found.
  struct NodeRead {
    std::string node;
    std::vector<std::pair<int64_t, int64_t>> ranges;  // wide; empty: no window read
    bool whole = false;   // read every sample of the node's part of the run (no near read)
    bool sparse = false;  // the timeline comes from its own sparse read
    std::vector<Window> windows;
    Status status;
    bool read = false;                  // window samples were read
    std::vector<WindowResult> results;  // per window
    std::optional<NodeTimeline> timeline;
    bool frame_empty = true;  // of the window read
    int64_t last_wall_ns = 0;
    int64_t interval_ns = 0;
  };
  std::map<std::string, NodeRead> node_reads;
  for (const auto& [node, range] : node_ranges) {
    NodeRead& r = node_reads[node];
    auto whole = std::make_pair(range.first - pad - margin, range.second + pad + margin);
    if (options.max_timeline_points > 0 &&
        static_cast<double>(whole.second - whole.first) > options.max_timeline_points * interval) {
      r.sparse = true;
    } else {
      r.ranges.push_back(whole);
      r.whole = true;
    }
  }
  const std::vector<int64_t> uncertainty = StartUncertainty(*executions, options, config.window);
  for (size_t i = 0; i < executions->size(); ++i) {
    const TestExecution& e = (*executions)[i];
    if (!e.start_ns || e.node.empty() || !judged_groups.count({e.job, e.test_id})) continue;
    NodeRead& r = node_reads.at(e.node);
    WindowQuery q = *QueryOf(e, options);
    int64_t span_end = q.end_ns + uncertainty[i];
    if (r.sparse) r.ranges.push_back(around(q.start_ns, span_end));
    r.windows.push_back({&e, 0, q, uncertainty[i], near(q.start_ns, span_end, near_margin)});
    // A read of the whole run covers the uncertain span of its last tests too.
    if (r.whole) r.ranges.push_back(around(q.start_ns, span_end));
  }
  for (size_t k = 0; k < pending.size(); ++k) {
    const Pending& p = pending[k];
    NodeRead& r = node_reads[p.node];
    r.ranges.push_back(around(p.query.start_ns, p.query.end_ns));
    r.windows.push_back(
        {nullptr, k, p.query, 0,
         near(p.query.start_ns, p.query.end_ns, near_margin + static_cast<int64_t>(interval))});
  }
  std::vector<NodeRead*> work_list;
  for (auto& [node, r] : node_reads) {
    r.node = node;
    r.ranges = Merge(std::move(r.ranges));
    // A node read whole for its windows draws its timeline from that read: keep it whole.
    if (!r.sparse && run_nodes.count(node)) r.whole = true;
    work_list.push_back(&r);
  }

  // Per node, on its own store connection (nodes in parallel): the window read (near, or
  // wide when near is not enough), every window's signals, then the frame is dropped; for
  // a sparse node with windows, one read for its timeline points (the first tick of each
  // step, CPU usage only per cgroup).
  auto read_node = [&](NodeRead& r) -> Status {
    auto spacing = static_cast<int64_t>(interval);
    if (!r.ranges.empty()) {
      std::optional<NodeRates> rates;
      if (!r.whole) {
        std::vector<std::pair<int64_t, int64_t>> near_ranges;
        near_ranges.reserve(r.windows.size());
        for (const Window& w : r.windows) near_ranges.push_back(w.near);
        auto got = samples.SampleCounters(r.node, Merge(std::move(near_ranges)), FrameRead{});
        if (!got.ok()) return got.status().WithContext("samples of node " + r.node);
        rates = ComputeRates(std::make_shared<const SampleFrame>(std::move(*got)), config.window);
        r.results.reserve(r.windows.size());
        for (const Window& w : r.windows) {
          WindowResult result = WindowOf(r.node, &*rates, w.query, config, w.uncertainty_ns);
          if (result.signals.node_points == 0 ||
              !WindowCoveredBy(*rates, Span(w.query, w.uncertainty_ns), config.window, w.near.first,
                               w.near.second)) {
            rates.reset();
            r.results.clear();
            break;
          }
          r.results.push_back(std::move(result));
        }
      }
      if (!rates) {
        auto got = samples.SampleCounters(r.node, r.ranges, FrameRead{});
        if (!got.ok()) return got.status().WithContext("samples of node " + r.node);
        rates = ComputeRates(std::make_shared<const SampleFrame>(std::move(*got)), config.window);
        r.results.reserve(r.windows.size());
        for (const Window& w : r.windows) {
          r.results.push_back(WindowOf(r.node, &*rates, w.query, config, w.uncertainty_ns));
        }
      }
      r.read = true;
      r.interval_ns = rates->interval_ns;
      r.frame_empty = rates->frame->ticks.empty();
      if (!r.frame_empty) r.last_wall_ns = rates->frame->ticks.back().wall_ns;
      if (rates->interval_ns > 0) spacing = rates->interval_ns;
      if (!r.sparse && run_start && run_nodes.count(r.node)) {
        r.timeline = TimelineOf(r.node, *rates, *rates, *run_start, *run_end, config.window);
      }
    }
    if (!r.sparse || !r.read || !run_start) return Status::Ok();
    const auto& range = node_ranges.at(r.node);
    int64_t from = range.first - 2 * spacing, to = range.second + 2 * spacing;
    int64_t step = std::max(spacing, (to - from) / options.max_timeline_points + 1);
    std::vector<std::pair<int64_t, int64_t>> steps;
    for (int64_t t = from; t < to + step; t += step) steps.emplace_back(t, t + spacing - 1);
    auto points = samples.SampleCounters(r.node, steps,
                                         FrameRead{RangeRead::kFirstTick, CgroupFields::kCpuUsage});
    if (!points.ok()) return points.status().WithContext("samples of node " + r.node);
    WindowConfig stepped = config.window;
    stepped.max_gap_intervals = 2.5;  // of the step: a missing point is a gap in the chart
    NodeRates drawn =
        ComputeRates(std::make_shared<const SampleFrame>(std::move(*points)), stepped);
    auto pad_ns =
        static_cast<int64_t>(config.window.padding_intervals * static_cast<double>(r.interval_ns));
    r.timeline = BuildTimeline(r.node, drawn, *run_start - pad_ns, *run_end + pad_ns);
    return Status::Ok();
  };
  {
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < work_list.size(); i = next++) {
        work_list[i]->status = read_node(*work_list[i]);
      }
    };
    // The store's read pool holds up to 4 connections by default.
    size_t threads = std::min<size_t>(std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4),
                                      work_list.size());
    std::vector<std::thread> pool;
    for (size_t k = 1; k < threads; ++k) {
      try {
        pool.emplace_back(work);
      } catch (const std::system_error&) {
        break;  // no more threads: the ones running (and this one) read the rest
      }
    }
    work();
    for (std::thread& t : pool) t.join();
  }
  std::unordered_map<const TestExecution*, WindowResult> windows;
  std::vector<const WindowResult*> pending_windows(pending.size(), nullptr);
  std::map<std::string, NodeTimeline> timelines;
  for (NodeRead* r : work_list) {
    JOSTLE_RETURN_IF_ERROR(r->status);
    if (r->timeline) timelines.emplace(r->node, std::move(*r->timeline));
    if (!r->read) continue;
    for (size_t k = 0; k < r->windows.size(); ++k) {
      const Window& w = r->windows[k];
      if (w.execution) {
        windows.emplace(w.execution, std::move(r->results[k]));
      } else {
        pending_windows[w.pending] = &r->results[k];
      }
    }
  }

  std::vector<ContendedFact> cache;
  for (size_t k = 0; k < pending.size(); ++k) {
    const Pending& p = pending[k];
    const WindowResult* w = pending_windows[k];
    if (w == nullptr || w->signals.node_points == 0) continue;
    WindowAssessment assessment = AssessWindow(w->signals, config);
    std::optional<bool> contended = assessment.contended;
    history[p.test_id][p.index].contended = contended;
    // Cache only a window the node's samples cover past its end: later samples cannot
    // change it.
    const NodeRead& r = node_reads.at(p.node);
    if (!options.history_cache || r.frame_empty ||
        r.last_wall_ns < p.query.end_ns + pad + r.interval_ns) {
      continue;
    }
    std::string resource = assessment.resource ? ResourceName(*assessment.resource) : "";
    cache.push_back(ContendedFact{p.execution_id, contended, std::move(resource)});
  }
  if (!options.store_history_cache) cache.clear();
  JOSTLE_RETURN_IF_ERROR(results.SetContendedBatch(cache).WithContext(
      "caching the windows of " + std::to_string(cache.size()) + " earlier executions"));

  WindowSource source;
  source.window = [&](const TestExecution& e, const WindowQuery& q, int64_t) {
    auto it = windows.find(&e);
    if (it != windows.end()) return it->second;
    return WindowOf(e.node, nullptr, q, config, 0);
  };
  source.timeline = [&](const std::string& node, int64_t, int64_t) -> std::optional<NodeTimeline> {
    auto it = timelines.find(node);
    if (it == timelines.end()) return std::nullopt;
    return std::move(it->second);
  };
  return Attribute(run, *executions, history, config, options, source);
}

}  // namespace jostle::collector
