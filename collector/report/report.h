// Renderers of a RunReport: JSON (the machine-readable result, schema in
// collector/report/REPORT_SCHEMA.md), Markdown (PR comment / $GITHUB_STEP_SUMMARY) and one
// self-contained HTML file (inline CSS and SVG, no scripts, no external assets).
// Pure functions: no I/O, no clock.
#pragma once

#include <cstdint>
#include <string>

#include "collector/attribution/run_report.h"

namespace jostle::collector {

std::string RenderJson(const RunReport& report);
std::string RenderMarkdown(const RunReport& report);
std::string RenderHtml(const RunReport& report);

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
