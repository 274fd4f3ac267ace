#include <cmath>
#include <cstdio>

#include "collector/report/report.h"

namespace jostle::collector {
namespace {

// Escapes text for a Markdown table cell: table pipes, emphasis/link/code characters and
// raw HTML (GitHub renders it) are neutralised; line breaks become spaces.
std::string Cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '|':
        out += "\\|";
        break;
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '#':
      case '~':
        out += '\\';
        out += c;
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", v * 100);
  return buf;
}

std::string Culprits(const FailureReport& f) {
  std::string out;
  int n = 0;
  for (const Culprit& c : f.assessment.culprits) {
    if (n++ == 2) break;
    if (!out.empty()) out += ", ";
    out += Cell(std::string(CulpritKindName(c.kind)) + " " + c.name);
    if (c.kind != CulpritKind::kOwnLimit) out += " (" + Percent(c.share) + ")";
  }
  return out.empty() ? "–" : out;
}

std::string Evidence(const FailureReport& f) {
  const auto& h = f.evidence.history;
  std::string out = "fails " + std::to_string(h.failed_contended) + "/" +
                    std::to_string(h.failed_contended + h.passed_contended) + " contended, " +
                    std::to_string(h.failed_clear) + "/" +
                    std::to_string(h.failed_clear + h.passed_clear) + " clear";
  if (f.evidence.rerun_passed) out += ", passed on rerun";
  if (f.evidence.fisher_p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ", p=%.3g", *f.evidence.fisher_p);
    out += buf;
  }
  out += "; decided by: " + Cell(EvidenceSummary(f.evidence));
  return out;
}

void Table(std::string& md, const std::vector<FailureReport>& rows) {
  md += "| Test | Verdict | Resource | Culprit | Node | History | What to do |\n";
  md += "|---|---|---|---|---|---|---|\n";
  for (const FailureReport& f : rows) {
    md += "| " + Cell(f.test_id) + (f.timing_approximate ? " (approx. timing)" : "") + " | **" +
          VerdictName(f.verdict) + "** | " +
          (f.assessment.resource ? ResourceName(*f.assessment.resource) : "–") + " | " +
          Culprits(f) + " | " + (f.node.empty() ? "?" : Cell(f.node)) + " | " + Evidence(f) +
          " | " + Cell(Advice(f)) + " |\n";
  }
}

}  // namespace

std::string RenderMarkdown(const RunReport& r) {
  std::string md = "### jostle: run " + Cell(r.run) + "\n\n";
  md += "**" + Cell(SummaryLine(r)) + "**\n\n";
  md += std::to_string(r.tests) + " tests, " + std::to_string(r.failed) + " failed, " +
        std::to_string(r.flaky) + " flaky";
  if (!r.nodes.empty()) {
    md += "; nodes:";
    for (const std::string& n : r.nodes) md += " " + Cell(n);
  }
  md += ".\n\n";
  if (!r.run_mode.name.empty()) {
    md += "Run mode: **" + Cell(r.run_mode.name) + "** (" + Cell(r.run_mode.reason) +
          "); cannot see: " + Cell(r.run_mode.cannot_see) + ".\n\n";
  }
  if (!r.failures.empty()) {
    Table(md, r.failures);
    md += "\n";
  }
  if (!r.flaky_tests.empty()) {
    md += "Flaky (failed, then passed on a rerun; judged on the failed attempt):\n\n";
    Table(md, r.flaky_tests);
    md += "\n";
  }
  md +=
      "<sub>Verdicts: **contention** = contended window and known to pass when quiet; "
      "**contention-possible** = contended, no history yet; **fails-regardless** = fails "
      "when quiet too; **no-contention** = quiet window; **no-data** = no samples.</sub>\n";
  return md;
}

}  // namespace jostle::collector
