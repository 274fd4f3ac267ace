// Thresholds and rules of the attribution method (DESIGN.md "Attribution method"), the
// retention periods and the alert rules, loaded from one JSON config file. Every key and
// its default is documented in collector/attribution/CONFIG.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collector/alerts/rules.h"
#include "jostle/status.h"

namespace jostle::collector {

struct WindowConfig {
  // The window of a test run [start, end] is [start − p, end + p] with p this many sampling
  // intervals (the interval is inferred from the spacing of the node's samples).
  double padding_intervals = 1.0;
  // Sampling interval assumed when a node has fewer than two samples, seconds.
  double default_interval_s = 1.0;
  // Two consecutive samples of a series further apart than this many intervals are not
  // turned into a rate (the agent was down or the clock jumped).
  double max_gap_intervals = 5.0;
  // Which statistic of a signal over the window is compared with its threshold: the peak
  // of the per-interval values (false) or their mean (true). JSON: "statistic": "peak"|"mean".
  bool use_mean = false;
  // Reconstructed starts (JUnit without per-test times): when the time the results were
  // written by is not known (ReportOptions::results_end_ns), a test may have started this
  // many seconds later than reconstructed, and this much more for every rerun before it in
  // its file (rerun delays, setup and teardown outside the durations, gaps between suites).
  double reconstructed_slack_s = 5.0;
};

// A threshold of 0 switches its signal off.
struct CpuThresholds {
  double node_busy = 0.90;       // fraction of node CPU time busy (/proc/stat)
  double psi_some = 0.20;        // node or pod cpu PSI "some", fraction of wall time
  double throttle_ratio = 0.25;  // pod throttled periods / periods (cpu.stat)
};

struct MemoryThresholds {
  double psi_some = 0.10;           // node or pod memory PSI "some", fraction of wall time
  double psi_full = 0.05;           // node or pod memory PSI "full", fraction of wall time
  double oom_kills = 1;             // pod OOM kills in the window (count) at or above this
  double working_set_ratio = 0.95;  // pod working set / pod memory limit
};

struct IoThresholds {
  double psi_some = 0.20;  // node or pod io PSI "some", fraction of wall time
};

struct NetworkThresholds {
  double utilisation = 0.80;    // interface bytes/s·8 / link speed
  double drops = 1;             // dropped packets (rx+tx) in the window at or above this
  double retrans_ratio = 0.02;  // TCP RetransSegs / OutSegs over the window
};

// When a node-level signal counts for a test: its own pod or cgroup felt that resource.
struct FeltConfig {
  // Own PSI "some" (cpu, memory, io; fraction of wall time, peak over the window) at or
  // above which the test felt the node's pressure on that resource. 0: node-level signals
  // count whatever the own cgroup felt.
  double psi_some = 0.05;
};

struct CulpritConfig {
  int max = 5;              // culprits listed per failure
  double min_share = 0.01;  // neighbours using less than this share are not listed
};

struct HistoryConfig {
  int limit = 200;           // earlier executions of a test read per failure
  double max_age_days = 14;  // older executions are ignored
  // One-sided Fisher p at or below which "fails more often in contended windows" counts as
  // evidence for "contention" (JSON "alpha"; "fisher_p" is its former name).
  double alpha = 0.05;
  // Clear-window executions in the history needed before the history gives "contention" or
  // "fails-regardless" (a rerun that passed in a clear window decides without them).
  int min_clear = 1;
  // A test that fails in clear windows too is "contention" only when its failure rate
  // under contention exceeds its clear-window rate by at least this much (and p is met).
  double min_rate_difference = 0.30;
  // Which earlier runs are a run's history (those that ended before it started, within
  // retention.results_days): "branch+default" its branch and the default branch, "branch"
  // its branch only, "all" every branch. A run without a known branch takes every branch.
  enum class Baseline { kBranchAndDefault, kBranch, kAll } baseline = Baseline::kBranchAndDefault;
};

struct RetentionConfig {
  double samples_days = 14;
  double results_days = 90;
};

// When the alert webhook fires: the alerts module's rules struct, filled from "alerts".
using AlertRules = alerts::AlertRules;

struct AttributionConfig {
  WindowConfig window;
  CpuThresholds cpu;
  MemoryThresholds memory;
  IoThresholds io;
  NetworkThresholds network;
  FeltConfig felt;
  CulpritConfig culprits;
  HistoryConfig history;
  RetentionConfig retention;
  AlertRules alerts;
};

// Parses the JSON config text; absent keys keep their defaults. Unknown keys, wrong types
// and out-of-range values are refused with the key path ("cpu.node_busy: ...").
// `origin` names the text in messages (a file name).
Result<AttributionConfig> ParseAttributionConfig(std::string_view json,
                                                 std::string_view origin = "config");
// Reads and parses the config file at `path`.
Result<AttributionConfig> LoadAttributionConfig(const std::string& path);

}  // namespace jostle::collector
