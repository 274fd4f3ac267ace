// The verdicts of one CI run: every failed test (and every flaky one, judged on its failed
// attempt) with its window, signals, verdict, culprits and evidence, plus per-node timelines
// for charts. AttributeRun is pure; BuildRunReport is the thin loader over the store's
// SampleSource and ResultStore.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/attribution/config.h"
#include "collector/attribution/signals.h"
#include "collector/attribution/verdict.h"
#include "collector/store/result_store.h"
#include "collector/store/sample_source.h"
#include "jostle/results.h"
#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::collector {

// One judged test execution.
struct FailureReport {
  std::string test_id;
  std::string name;
  std::string suite;
  std::string classname;
  std::string file;
  std::string job;
  std::string node;                    // empty when unknown
  std::string pod;                     // "namespace/name", empty when not given
  int attempt = 0;                     // 0-based attempt judged
  int attempts = 1;                    // attempts of this test in the run
  Outcome outcome = Outcome::kFailed;  // of the judged attempt
  std::string message;
  std::optional<int64_t> start_ns;  // wall clock, ns
  std::optional<int64_t> end_ns;
  bool timing_approximate = false;
  bool flaky = false;  // failed, then passed on a rerun in this run
  Verdict verdict = Verdict::kNoData;
  std::string reason;  // why no-data; empty otherwise
  Signals signals;
  WindowAssessment assessment;
  Evidence evidence;
};

// A test marked on a timeline.
struct TimelineMark {
  std::string test_id;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  Verdict verdict = Verdict::kNoData;
};

// One node over the run, one point per rate interval (t_ns = end of the interval).
struct NodeTimeline {
  std::string node;
  double cpus = 0;  // online CPUs (0 when unknown)
  double mem_total_bytes = 0;
  std::vector<int64_t> t_ns;
  std::vector<double> cpu_busy;  // fraction of node CPU time; NaN when unknown
  std::vector<double> mem_used;  // 1 − MemAvailable/MemTotal; NaN when unknown
  std::vector<double> psi_cpu;   // node PSI some, fractions; NaN when unknown
  std::vector<double> psi_memory;
  std::vector<double> psi_io;
  // CPU cores used per group (pod namespace, or cgroup path outside Kubernetes), the
  // largest groups first, the rest folded into "other"; each series has t_ns.size() values.
  std::vector<std::pair<std::string, std::vector<double>>> cpu_cores_by_group;
  std::vector<TimelineMark> marks;
};

// `jostle run`: how the command's own use was told apart from its neighbours' (its run mode,
// collector/run/run_mode.h), why that mode, and what the mode cannot see. Empty elsewhere.
struct RunModeNote {
  std::string
      name;  // "v1/hybrid-root", "v2-root", "v2-systemd-scope", "v2-delegated", "process-tree"
  std::string reason;
  std::string cannot_see;
};

struct RunReport {
  std::string run;
  int tests = 0;                              // distinct tests in the run
  int executions = 0;                         // attempts in the run
  int failed = 0;                             // tests whose last attempt failed or errored
  int flaky = 0;                              // tests that failed and then passed
  std::map<std::string, int> verdict_counts;  // every verdict name → failures with it
  std::optional<int64_t> start_ns;            // earliest test start in the run
  std::optional<int64_t> end_ns;              // latest test end
  std::vector<std::string> nodes;             // nodes the run's tests ran on
  std::vector<FailureReport> failures;        // failed tests, in execution order
  std::vector<FailureReport> flaky_tests;     // flaky tests, judged on their last failed attempt
  std::vector<NodeTimeline> timelines;
  std::vector<std::string> warnings;
  RunModeNote run_mode;
};

// An earlier execution of a test and how its window was classified.
struct HistoryEntry {
  Outcome outcome = Outcome::kPassed;
  std::optional<bool> contended;  // nullopt: no samples covered its window
};

struct ReportOptions {
  // The cgroup (id or path) of the test command, for `jostle run`: never its own culprit.
  std::string self_cgroup;
  // `jostle run`: every run's command cgroup is named with this prefix; an earlier run's
  // execution (history) is judged with the one such cgroup in its window as its own
  // (WindowQuery::self_cgroup_prefix), since self_cgroup names this run's.
  std::string history_self_cgroup_prefix;
  // Ancestors of self_cgroup in every hierarchy, as sampled (WindowQuery::own_ancestors).
  std::vector<std::string> self_ancestors;
  // When every result file of the run had been written (wall clock, ns; `jostle run`: when
  // its command ended). Bounds how late a reconstructed start can be (StartUncertainty).
  std::optional<int64_t> results_end_ns;
  // BuildRunReport: a node whose part of the run spans more than this many sampling
  // intervals (WindowConfig::default_interval_s) is read sparsely: full resolution only
  // around the windows it judges, and its timeline from one sample per step of
  // span / max_timeline_points (each point the average over its step, from the cumulative
  // counters). Shorter runs are read whole and their timelines keep every interval.
  int max_timeline_points = 300;
  // BuildRunReport: take an earlier execution's classification from the store's cache
  // (TestExecution::contended) when it is there, and store the ones it computes with
  // ResultStore::SetContendedBatch (only for windows the node's samples already cover in
  // full).
  bool history_cache = true;
  // BuildRunReport: store the classifications it computes (with history_cache). false for
  // reads that must not write (a GET of a report).
  bool store_history_cache = true;
  // BuildRunReport: read the judged tests' history at all (false when the verdicts and
  // evidence come from a stored judgement).
  bool read_history = true;
  // BuildRunReport: history is the runs that ended before this run started (its verdicts as
  // of the run); false: every other run up to now (a rejudge with today's history). Either
  // way within retention.results_days and config.history.baseline's branches.
  bool as_of_run = true;
};

// Per execution (same order), how much later than its reconstructed start it may have
// started, ns; 0 for exact times. Executions of one upload and job with approximate timing
// form a chain, in start order, that ran one after another; gaps (rerun delays, setup and
// teardown, suites) only delay them. With options.results_end_ns the latest start of chain
// member k is results_end_ns minus the durations of k and every later member; without it,
// config.reconstructed_slack_s times (1 + reruns at or before k in the chain). At most 1 h.
std::vector<int64_t> StartUncertainty(const std::vector<TestExecution>& executions,
                                      const ReportOptions& options, const WindowConfig& config);

// The window of an execution's attempt; nullopt without a start time.
std::optional<WindowQuery> QueryOf(const TestExecution& e, const ReportOptions& options);

// Whether a window was contended; nullopt when no samples cover it.
std::optional<bool> ClassifyWindow(const NodeRates& rates, const WindowQuery& q,
                                   const AttributionConfig& config);

// The pure core. `executions`: every attempt of the run, nodes resolved where possible
// (empty node: unknown). `samples_by_node`: each node's samples covering the run, in time
// order. `history`: per test id, earlier executions from other runs.
RunReport AttributeRun(std::string_view run, const std::vector<TestExecution>& executions,
                       const std::map<std::string, std::vector<Sample>>& samples_by_node,
                       const std::map<std::string, std::vector<HistoryEntry>>& history,
                       const AttributionConfig& config, const ReportOptions& options = {});

// Loads the run's executions, resolves nodes of pods, fetches each node's samples (one range
// query per node, or for long runs the samples around the windows it judges plus the sparse
// timeline points; see ReportOptions), classifies the history of each judged test, and
// attributes the run as AttributeRun does. Around a window, a long run's node is read one
// interval beyond the padded window first, and again with the wide margin
// (max_gap_intervals + 1) only when a window is not covered by that read (WindowCoveredBy):
// the signals are those of the wide read. Nodes are read in parallel, each on its own store
// connection; a node's samples are released once its windows and timeline are computed.
// NotFound when the run has no executions.
Result<RunReport> BuildRunReport(SampleSource& samples, ResultStore& results, std::string_view run,
                                 const AttributionConfig& config,
                                 const ReportOptions& options = {});

}  // namespace jostle::collector
