// Renderers of a RunReport: JSON (the machine-readable result, schema in
// collector/report/REPORT_SCHEMA.md), Markdown (PR comment / $GITHUB_STEP_SUMMARY) and one
// self-contained HTML file (inline CSS and SVG, no scripts, no external assets).
// Pure functions: no I/O, no clock.
//
// Bounded whatever the run's size: the JSON is written piece by piece as the failures are
// iterated (WriteJson; no document is built), and can be paged; the Markdown and the HTML
// show the summary, the most severe failures of each verdict and how many of each are left
// out (the Markdown always fits a pull-request comment, 65 536 characters).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/attribution/run_report.h"

namespace jostle::collector {

// Takes rendered text and hands it on in pieces of about `piece_bytes` to `emit`. Once
// `emit` returns false (the reader is gone) the rest is dropped and ok() is false, so a
// renderer can stop early. Not thread-safe.
class ReportWriter {
 public:
  explicit ReportWriter(std::function<bool(std::string_view)> emit, size_t piece_bytes = 64u << 10);
  void Append(std::string_view text);
  // Hands on what is buffered; ok().
  bool Flush();
  bool ok() const { return ok_; }

 private:
  std::function<bool(std::string_view)> emit_;
  size_t piece_bytes_;
  std::string buffer_;
  bool ok_ = true;
};

// Which failures the JSON lists: failures[offset, offset + limit) and likewise of the flaky
// tests; every one when limit is nullopt. The totals are always those of the whole run.
struct JsonPage {
  size_t offset = 0;
  std::optional<size_t> limit;
};

// The JSON report (REPORT_SCHEMA.md), written to `out` as it is produced.
void WriteJson(const RunReport& report, const JsonPage& page, ReportWriter& out);
// The whole JSON report as one string (small runs, files, tests).
std::string RenderJson(const RunReport& report, const JsonPage& page = {});
std::string RenderMarkdown(const RunReport& report);
std::string RenderHtml(const RunReport& report);

// Failures per verdict that the HTML and the Markdown show at most; the Markdown stops
// earlier when its text would pass kMarkdownMaxBytes.
inline constexpr size_t kHtmlFailuresPerVerdict = 100;
inline constexpr size_t kMarkdownFailuresPerVerdict = 10;
inline constexpr size_t kMarkdownMaxBytes = 60000;

// The failures a digest shows: for each verdict (contention first), its `per_verdict` most
// severe (by severity, then in execution order); `omitted[v]` counts those of verdict v left
// out (indexed by the Verdict's value).
struct FailureDigest {
  std::vector<const FailureReport*> shown;
  std::vector<size_t> omitted;
  size_t omitted_total = 0;
};
FailureDigest DigestOf(const std::vector<FailureReport>& failures, size_t per_verdict);
// "9990 contention, 110000 no-data": the counts of `per_verdict` (indexed by the Verdict's
// value) that are not 0.
std::string CountsByVerdict(const std::vector<size_t>& per_verdict);

// "3 of 5 failures look like contention (cpu on node ci-1, neighbour stress/burner)".
// Plain text (not escaped), also used by alert messages.
std::string SummaryLine(const RunReport& report);
// What to do about one failure, e.g. "raise the CPU limit of pod ci/runner-1". Plain text.
std::string Advice(const FailureReport& failure);
// The first culprit as "kind name" text ("cgroup /stress.slice"), or "" without culprits.
std::string TopCulprit(const FailureReport& failure);
// ns since the Unix epoch -> "2026-11-23T12:00:00.123Z".
std::string FormatTime(int64_t ns);

}  // namespace jostle::collector
