#include "collector/attribution/run_report.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
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
constexpr size_t kMaxTimelineGroups = 6;

bool IsFailure(Outcome o) { return o == Outcome::kFailed || o == Outcome::kError; }

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
  std::vector<const TestExecution*> attempts;  // by attempt
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
  return q;
}

std::optional<bool> ClassifyWindow(const NodeRates& rates, const WindowQuery& q,
                                   const AttributionConfig& config) {
  Signals s = WindowSignalsFromRates(rates, q, config.window);
  if (s.node_points == 0) return std::nullopt;
  return AssessWindow(s, config).contended;
}

namespace {

// AttributeRun over rates already computed from each node's samples. `timeline_rates`: per
// node, the rates to draw its timeline from instead of `rates` (sparse reads).
RunReport Attribute(std::string_view run, const std::vector<TestExecution>& executions,
                    const std::map<std::string, NodeRates>& rates,
                    const std::map<std::string, std::vector<HistoryEntry>>& history,
                    const AttributionConfig& config, const ReportOptions& options,
                    const std::map<std::string, NodeRates>& timeline_rates) {
  RunReport report;
  report.run = std::string(run);
  for (Verdict v : {Verdict::kContention, Verdict::kContentionPossible, Verdict::kFailsRegardless,
                    Verdict::kNoContention, Verdict::kNoData}) {
    report.verdict_counts[VerdictName(v)] = 0;
  }

  // Attempts of one test in one job, in attempt order; groups in order of first appearance.
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, Group> groups;
  std::set<std::string> nodes;
  for (const TestExecution& e : executions) {
    auto key = std::make_pair(e.job, e.test_id);
    auto [it, inserted] = groups.try_emplace(key);
    if (inserted) order.push_back(key);
    it->second.attempts.push_back(&e);
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

  auto classify = [&](const TestExecution& e) -> std::optional<bool> {
    auto q = QueryOf(e, options);
    auto r = rates.find(e.node);
    if (!q || r == rates.end()) return std::nullopt;
    return ClassifyWindow(r->second, *q, config);
  };

  auto judge = [&](const Group& g, const TestExecution& e, bool rerun_passed) {
    FailureReport f;
    f.test_id = e.test_id;
    f.name = e.name;
    f.suite = e.suite;
    f.classname = e.classname;
    f.file = e.file;
    f.job = e.job;
    f.node = e.node;
    if (!e.pod_name.empty()) f.pod = e.pod_namespace + "/" + e.pod_name;
    f.attempt = e.attempt;
    f.attempts = static_cast<int>(g.attempts.size());
    f.outcome = e.outcome;
    f.message = e.message;
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
    for (const TestExecution* other : g.attempts) {
      if (other != &e) add(other->outcome, classify(*other));
    }

    auto q = QueryOf(e, options);
    bool has_data = false;
    if (e.node.empty()) {
      f.reason = e.pod_name.empty() ? "node unknown: the results name neither a node nor a pod"
                                    : "pod unknown: no agent has reported pod " + f.pod;
    } else if (!q) {
      f.reason = "no start time: the result file gives no timestamp for this test";
    } else {
      auto r = rates.find(e.node);
      const SampleFrame* samples = r == rates.end() ? nullptr : r->second.frame.get();
      if (r != rates.end()) f.signals = WindowSignalsFromRates(r->second, *q, config.window);
      if (r == rates.end() || f.signals.node_points == 0) {
        if (r == rates.end()) {
          f.signals.window_start_ns = q->start_ns;
          f.signals.window_end_ns = q->end_ns;
        }
        f.reason = NoDataReason(e.node, samples, f.signals);
      } else {
        has_data = true;
        f.assessment = AssessWindow(f.signals, config);
      }
    }
    f.verdict = DecideVerdict(has_data, f.assessment.contended, counts, rerun_passed,
                              config.history, &f.evidence);
    return f;
  };

  for (const auto& key : order) {
    Group& g = groups[key];
    std::stable_sort(
        g.attempts.begin(), g.attempts.end(),
        [](const TestExecution* a, const TestExecution* b) { return a->attempt < b->attempt; });
    const TestExecution& last = *g.attempts.back();
    if (IsFailure(last.outcome)) {
      ++report.failed;
      report.failures.push_back(judge(g, last, false));
      ++report.verdict_counts[VerdictName(report.failures.back().verdict)];
      continue;
    }
    const TestExecution* failed_attempt = nullptr;
    for (const TestExecution* a : g.attempts) {
      if (IsFailure(a->outcome)) failed_attempt = a;
    }
    if (failed_attempt && last.outcome == Outcome::kPassed) {
      ++report.flaky;
      report.flaky_tests.push_back(judge(g, *failed_attempt, true));
    }
  }

  if (report.start_ns) {
    for (const std::string& node : report.nodes) {
      auto r = rates.find(node);
      if (r == rates.end()) continue;
      int64_t pad = static_cast<int64_t>(config.window.padding_intervals *
                                         static_cast<double>(r->second.interval_ns));
      auto sparse = timeline_rates.find(node);
      const NodeRates& drawn = sparse == timeline_rates.end() ? r->second : sparse->second;
      NodeTimeline t = BuildTimeline(node, drawn, *report.start_ns - pad, *report.end_ns + pad);
      for (const auto* list : {&report.failures, &report.flaky_tests}) {
        for (const FailureReport& f : *list) {
          if (f.node != node || !f.start_ns) continue;
          t.marks.push_back(TimelineMark{f.test_id, *f.start_ns, *f.end_ns, f.verdict});
        }
      }
      report.timelines.push_back(std::move(t));
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

}  // namespace

RunReport AttributeRun(std::string_view run, const std::vector<TestExecution>& executions,
                       const std::map<std::string, std::vector<Sample>>& samples_by_node,
                       const std::map<std::string, std::vector<HistoryEntry>>& history,
                       const AttributionConfig& config, const ReportOptions& options) {
  std::map<std::string, NodeRates> rates;
  for (const auto& [node, samples] : samples_by_node) {
    rates.emplace(node, ComputeRates(samples, config.window));
  }
  return Attribute(run, executions, rates, history, config, options, {});
}

Result<RunReport> BuildRunReport(Store& store, std::string_view run,
                                 const AttributionConfig& config, const ReportOptions& options) {
  auto executions = store.RunExecutions(run);
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
      auto node = store.NodeOfPod(e.pod_namespace, e.pod_name, *e.start_ns);
      if (!node.ok()) return node.status();
      it = pod_nodes.emplace(key, *node).first;
    }
    if (it->second) e.node = *it->second;
    return Status::Ok();
  };

  std::map<std::string, std::pair<int64_t, int64_t>> node_ranges;
  std::set<std::string> judged_tests;
  std::set<std::pair<std::string, std::string>> judged_groups;  // (job, test id)
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
  for (const std::string& test_id : judged_tests) {
    auto earlier = store.TestHistory(test_id, run, config.history.limit);
    if (!earlier.ok()) return earlier.status().WithContext("history of " + test_id);
    std::vector<HistoryEntry>& entries = history[test_id];
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
      if (q && !e.node.empty()) pending.push_back({test_id, entries.size(), e.id, e.node, *q});
      entries.push_back(entry);
    }
  }

  // What to read per node: short runs whole; long runs around the windows to judge (every
  // attempt of a test with a failure, and pending history) plus sparse timeline points.
  const auto pad = static_cast<int64_t>(config.window.padding_intervals * interval);
  auto around = [&](int64_t start, int64_t end) {
    return std::make_pair(start - pad - margin, end + pad + margin);
  };
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> reads;
  std::set<std::string> sparse_nodes;
  for (const auto& [node, range] : node_ranges) {
    auto whole = std::make_pair(range.first - pad - margin, range.second + pad + margin);
    if (options.max_timeline_points > 0 &&
        static_cast<double>(whole.second - whole.first) > options.max_timeline_points * interval) {
      sparse_nodes.insert(node);
    } else {
      reads[node].push_back(whole);
    }
  }
  for (const TestExecution& e : *executions) {
    if (!e.start_ns || !sparse_nodes.count(e.node) || !judged_groups.count({e.job, e.test_id})) {
      continue;
    }
    reads[e.node].push_back(around(*e.start_ns, EndOf(e)));
  }
  for (const Pending& p : pending)
    reads[p.node].push_back(around(p.query.start_ns, p.query.end_ns));

  // Per node: one read around its windows, and for a sparse node one for its timeline
  // points (the first tick of each step, CPU usage only per cgroup). Nodes are read in
  // parallel, each read on its own store connection.
  struct NodeRead {
    std::string node;
    std::vector<std::pair<int64_t, int64_t>> ranges;  // empty: no window read
    bool sparse = false;
    Status status;
    std::optional<NodeRates> rates;
    std::optional<NodeRates> timeline;
  };
  std::vector<NodeRead> node_reads;
  {
    std::set<std::string> read_nodes(sparse_nodes);
    for (const auto& [node, ranges] : reads) read_nodes.insert(node);
    for (const std::string& node : read_nodes) {
      NodeRead& r = node_reads.emplace_back();
      r.node = node;
      if (auto it = reads.find(node); it != reads.end()) r.ranges = Merge(std::move(it->second));
      r.sparse = sparse_nodes.count(node) > 0;
    }
  }
  auto read_node = [&](NodeRead& r) -> Status {
    auto spacing = static_cast<int64_t>(interval);
    if (!r.ranges.empty()) {
      auto got = store.SampleCounters(r.node, r.ranges, FrameRead{});
      if (!got.ok()) return got.status().WithContext("samples of node " + r.node);
      r.rates = ComputeRates(std::make_shared<const SampleFrame>(std::move(*got)), config.window);
      if (r.rates->interval_ns > 0) spacing = r.rates->interval_ns;
    }
    if (!r.sparse) return Status::Ok();
    const auto& range = node_ranges.at(r.node);
    int64_t from = range.first - 2 * spacing, to = range.second + 2 * spacing;
    int64_t step = std::max(spacing, (to - from) / options.max_timeline_points + 1);
    std::vector<std::pair<int64_t, int64_t>> steps;
    for (int64_t t = from; t < to + step; t += step) steps.emplace_back(t, t + spacing - 1);
    auto points = store.SampleCounters(r.node, steps,
                                       FrameRead{RangeRead::kFirstTick, CgroupFields::kCpuUsage});
    if (!points.ok()) return points.status().WithContext("samples of node " + r.node);
    WindowConfig stepped = config.window;
    stepped.max_gap_intervals = 2.5;  // of the step: a missing point is a gap in the chart
    r.timeline = ComputeRates(std::make_shared<const SampleFrame>(std::move(*points)), stepped);
    return Status::Ok();
  };
  {
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < node_reads.size(); i = next++) {
        node_reads[i].status = read_node(node_reads[i]);
      }
    };
    // The store's read pool holds up to 4 connections by default.
    size_t threads = std::min<size_t>(std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4),
                                      node_reads.size());
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
  std::map<std::string, NodeRates> rates;
  std::map<std::string, NodeRates> timeline_rates;
  for (NodeRead& r : node_reads) {
    JOSTLE_RETURN_IF_ERROR(r.status);
    if (r.rates) rates.emplace(r.node, std::move(*r.rates));
    if (r.timeline) timeline_rates.emplace(r.node, std::move(*r.timeline));
  }

  std::vector<ContendedFact> cache;
  for (const Pending& p : pending) {
    auto r = rates.find(p.node);
    if (r == rates.end()) continue;
    std::optional<bool> contended = ClassifyWindow(r->second, p.query, config);
    history[p.test_id][p.index].contended = contended;
    // Cache only a window the node's samples cover past its end: later samples cannot
    // change it.
    const std::vector<FrameTick>& samples = r->second.frame->ticks;
    if (!options.history_cache || !contended || samples.empty() ||
        samples.back().wall_ns < p.query.end_ns + pad + r->second.interval_ns) {
      continue;
    }
    Signals s = WindowSignalsFromRates(r->second, p.query, config.window);
    auto assessment = AssessWindow(s, config);
    std::string resource = assessment.resource ? ResourceName(*assessment.resource) : "";
    cache.push_back(ContendedFact{p.execution_id, contended, std::move(resource)});
  }
  JOSTLE_RETURN_IF_ERROR(store.SetContendedBatch(cache).WithContext(
      "caching the windows of " + std::to_string(cache.size()) + " earlier executions"));

  return Attribute(run, *executions, rates, history, config, options, timeline_rates);
}

}  // namespace jostle::collector
