// The verdict of one failed test execution: which thresholds its window crossed, the
// resource, the culprits, and the verdict from the test's history (DESIGN.md "Verdicts").
// Pure functions over Signals and counts.
#pragma once

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

// One signal at or above its threshold.
struct Crossing {
  std::string signal;  // a Signals::values key, e.g. "node.cpu.busy"
  Resource resource = Resource::kCpu;
  double value = 0;  // the statistic compared (peak, or mean; total for counts)
  double threshold = 0;
  // value/threshold for fractions; 1 + log10(value/threshold) for counts (drops, OOM kills)
  double severity = 0;
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
  // seconds / node busy CPU seconds; memory: peak working set / node memory; io: io stall
  // time / all candidates' io stall; network: bytes / node bytes). own-limit: the value of
  // the limiting signal (throttle ratio, or working set / limit).
  double share = 0;
  std::string detail;  // e.g. "cpu limit 0.5 cores, throttled in 40% of periods"
};

struct WindowAssessment {
  bool contended = false;
  std::optional<Resource> resource;  // of the most severe crossing
  double severity = 0;               // of the most severe crossing
  std::vector<Crossing> crossings;   // most severe first
  std::vector<Culprit> culprits;     // own-limit first, then by share
};

// Compares every signal with its threshold and ranks the culprits.
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

struct Evidence {
  HistoryCounts history;
  bool rerun_passed = false;  // a later attempt in this run passed
  // Failure rates including the judged failure; clear is absent without clear executions.
  std::optional<double> failure_rate_contended;
  std::optional<double> failure_rate_clear;
  // Two-sided Fisher p of {failed, passed} × {contended, clear}, judged failure included;
  // absent without clear executions.
  std::optional<double> fisher_p;
};

// The verdict rule:
//   no samples → no-data; clear window → no-contention; contended and fewer than
//   history.min_clear clear executions (a passed rerun counts as one) → contention-possible;
//   never failed in a clear window → contention; failed in clear windows but never passed in
//   one (and no rerun passed) → fails-regardless; otherwise contention when the contended
//   failure rate exceeds the clear one by history.min_rate_difference and Fisher p <=
//   history.fisher_p, else fails-regardless.
Verdict DecideVerdict(bool has_data, bool contended, const HistoryCounts& history,
                      bool rerun_passed, const HistoryConfig& config, Evidence* evidence);

}  // namespace jostle::collector
