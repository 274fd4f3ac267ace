// The verdict of one failed test execution: which thresholds its window crossed, the
// resource, the culprits, and the verdict from the test's history (DESIGN.md "Verdicts").
// Pure functions over Signals and counts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/attribution/config.h"
#include "collector/attribution/signals.h"

namespace jostle::collector {

enum class Resource { kCpu, kMemory, kIo, kNetwork };
const char* ResourceName(Resource r);  // "cpu", "memory", "io", "network"

enum class Verdict { kContention, kContentionPossible, kFailsRegardless, kNoContention, kNoData };
// "contention", "contention-possible", "fails-regardless", "no-contention", "no-data"
const char* VerdictName(Verdict v);
std::optional<Verdict> ParseVerdict(std::string_view name);

// Whether the test felt a crossed signal (Crossing::felt; the report's
// thresholds_crossed[].felt).
enum class Felt {
  kOwn,         // a signal of the test's own pod or cgroup (or an ancestor's limit)
  kFelt,        // a node-level signal the own cgroup felt (its PSI, its throttling, its drops)
  kUnverified,  // a node-level signal; the own cgroup has no reading to tell: it counts
  kNodeOnly,    // a node-level signal the own cgroup did not feel: shown, never decisive
};
const char* FeltName(Felt f);  // "own", "felt", "unverified", "node-only"

// One signal at or above its threshold.
struct Crossing {
  std::string signal;  // a Signals::values key, e.g. "node.cpu.busy"
  Resource resource = Resource::kCpu;
  double value = 0;  // the statistic compared (peak, or mean; total for counts)
  double threshold = 0;
  // value/threshold for fractions; 1 + log10(value/threshold) for counts (drops, OOM kills)
  double severity = 0;
  Felt felt = Felt::kOwn;
};

// kProcess: a process outside the command's process tree, named by `jostle run` in its
// process-tree mode (collector/run/process_tree.h), not by AssessWindow.
enum class CulpritKind { kPod, kNamespace, kCgroup, kOwnLimit, kProcess };
// "pod", "namespace", "cgroup", "own-limit", "process"
const char* CulpritKindName(CulpritKind k);

struct Culprit {
  CulpritKind kind = CulpritKind::kPod;
  std::string name;  // "ns/pod", "ns", a cgroup path, the test's own pod/cgroup, "pid N comm"
  // Neighbours: their share of the node's use of the resource in the window (cpu: CPU
  // seconds / node busy CPU seconds; memory: mean share of the candidates' memory stall,
  // charge growth, pages reclaim scanned, refaults and memory.events high/max, with the peak
  // charge only when none reclaimed (peak working set / node memory without any); io: io stall
  // time / all candidates' io stall; network: bytes / node bytes). own-limit: the value of
  // the limiting signal (throttle ratio, or working set / limit).
  double share = 0;
  std::string detail;  // e.g. "cpu limit 0.5 cores, throttled in 40% of periods"
};

struct WindowAssessment {
  bool contended = false;            // a decisive crossing (any but node-only) was found
  std::optional<Resource> resource;  // of the most severe crossing
  double severity = 0;               // of the most severe crossing
  std::vector<Crossing> crossings;   // decisive ones most severe first, then node-only ones
  std::vector<Culprit> culprits;     // own-limit first, then by share
};

// Compares every signal with its threshold, tells which node-level crossings the test's own
// cgroup felt (config.felt), and ranks the culprits of the most severe decisive one.
WindowAssessment AssessWindow(const Signals& signals, const AttributionConfig& config);

// Earlier executions of the same test (other runs, and other attempts in this run),
// classified by their own window. The judged execution is not counted here.
struct HistoryCounts {
  int failed_contended = 0;
  int passed_contended = 0;
  int failed_clear = 0;
  int passed_clear = 0;
  int no_data = 0;  // executions whose window had no samples
  bool operator==(const HistoryCounts&) const = default;
};

// What decided a verdict (Evidence::decided_by; the report's evidence.decided_by).
enum class Basis {
  kNoSamples,          // no samples cover the window
  kClearWindow,        // no signal the test felt crossed its threshold in its window
  kUncertainWindow,    // reconstructed start: only part of the span it may have run in was
                       // contended
  kClearRerun,         // another attempt of the test in this run passed in a clear window
  kHistory,            // fails significantly more often in contended windows (one-sided
                       // Fisher p <= alpha)
  kFailsWhenClear,     // fails in clear windows too: never passed in one, or about as often
  kNotDiscriminating,  // contended, but no clear pass in this run and no significant history
};
// "no-samples", "clear-window", "uncertain-window", "clear-rerun", "history",
// "fails-when-clear", "not-discriminating"
const char* BasisName(Basis b);

// What the verdict of one failed execution is decided from.
struct VerdictInput {
  bool has_data = false;   // samples cover the window
  bool contended = false;  // the window (every placement of an uncertain one) was contended
  // A reconstructed window of which some placements were contended and others clear.
  bool uncertain = false;
  HistoryCounts history;
  bool rerun_passed = false;        // a later attempt in this run passed
  bool rerun_passed_clear = false;  // another attempt in this run passed in a clear window
};

struct Evidence {
  HistoryCounts history;
  bool rerun_passed = false;
  bool rerun_passed_clear = false;
  // Failure rates including the judged failure; clear is absent without clear executions.
  std::optional<double> failure_rate_contended;
  std::optional<double> failure_rate_clear;
  // One-sided Fisher p ("failures more frequent in contended windows") of {failed, passed} ×
  // {contended, clear}, judged failure included; absent without clear executions.
  std::optional<double> fisher_p;
  double alpha = 0.05;  // HistoryConfig::alpha the p was compared with
  Basis decided_by = Basis::kNoSamples;
  // A reconstructed start: how much later it may have started, and of the placements of its
  // window over that span, how many were judged and how many were contended (set by the
  // caller; the verdict claims contention only when every placement was).
  int64_t start_uncertainty_ns = 0;
  int placements = 0;
  int placements_contended = 0;
};

// One sentence saying which evidence decided, e.g. "history: fails 3/3 contended, 0/4 clear,
// one-sided Fisher p = 0.029 <= 0.05".
std::string EvidenceSummary(const Evidence& e);

// The verdict rule, in order:
//   no samples → no-data; a reconstructed window only partly contended → no-contention: no
//   contention is claimed for part of the span (fails-regardless when it failed in clear
//   windows and never passed in one);
//   clear window → no-contention; another attempt in this run passed in a clear window →
//   contention; at least history.min_clear clear executions, one-sided Fisher p <= alpha and
//   the contended failure rate above the clear one by history.min_rate_difference →
//   contention; failed in clear windows and never passed in one (no rerun passed), or failed
//   in them about as often (rate difference below min_rate_difference, min_clear met) →
//   fails-regardless; otherwise contention-possible.
Verdict DecideVerdict(const VerdictInput& in, const HistoryConfig& config, Evidence* evidence);

}  // namespace jostle::collector
