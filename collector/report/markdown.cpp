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

// Cell() of at most `max` bytes of `s` (cut at a UTF-8 character boundary, "…" added).
std::string ShortCell(std::string_view s, size_t max) {
  if (s.size() <= max) return Cell(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return Cell(s.substr(0, cut)) + "…";
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
    out += ShortCell(std::string(CulpritKindName(c.kind)) + " " + c.name, 120);
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

std::string Row(const FailureReport& f) {
  return "| " + ShortCell(f.test_id, 200) + (f.timing_approximate ? " (approx. timing)" : "") +
         " | **" + VerdictName(f.verdict) + "** | " +
         (f.assessment.resource ? ResourceName(*f.assessment.resource) : "–") + " | " +
         Culprits(f) + " | " + (f.node.empty() ? "?" : ShortCell(f.node, 80)) + " | " +
         Evidence(f) + " | " + ShortCell(Advice(f), 300) + " |\n";
}

constexpr const char* kTableHead =
    "| Test | Verdict | Resource | Culprit | Node | History | What to do |\n"
    "|---|---|---|---|---|---|---|\n";
// Kept free for the lines after the tables.
constexpr size_t kFooterBytes = 2048;

// The digest of `rows` as a table, as long as the text stays under the budget; the rows
// left out are counted in *omitted (per verdict) and *omitted_total.
void Table(std::string& md, const std::vector<FailureReport>& rows, std::vector<size_t>* omitted,
           size_t* omitted_total) {
  FailureDigest digest = DigestOf(rows, kMarkdownFailuresPerVerdict);
  for (size_t v = 0; v < digest.omitted.size(); ++v) (*omitted)[v] += digest.omitted[v];
  *omitted_total += digest.omitted_total;
  if (digest.shown.empty()) return;
  md += kTableHead;
  for (const FailureReport* f : digest.shown) {
    std::string row = Row(*f);
    if (md.size() + row.size() + kFooterBytes > kMarkdownMaxBytes) {
      ++(*omitted)[static_cast<size_t>(f->verdict)];
      ++*omitted_total;
      continue;
    }
    md += row;
  }
  md += "\n";
}

// "Not shown: 119 990 failures (9 990 contention, 110 000 no-data) …", or "".
std::string OmittedLine(const std::vector<size_t>& omitted, size_t total) {
  if (total == 0) return "";
  std::string line = "Not shown: " + std::to_string(total) + (total == 1 ? " test" : " tests") +
                     " (" + CountsByVerdict(omitted);
  return line +
         "); the JSON report lists every one (`format=json`, paged with `limit` and "
         "`offset`).\n\n";
}

}  // namespace

std::string RenderMarkdown(const RunReport& r) {
  std::string md = "### jostle: run " + Cell(r.run) + "\n\n";
  md += "**" + ShortCell(SummaryLine(r), 1000) + "**\n\n";
  md += std::to_string(r.tests) + " tests, " + std::to_string(r.failed) + " failed, " +
        std::to_string(r.flaky) + " flaky";
  if (!r.nodes.empty()) {
    constexpr size_t kNodesNamed = 20;
    md += "; nodes:";
    for (size_t i = 0; i < r.nodes.size() && i < kNodesNamed; ++i) {
      md += " " + ShortCell(r.nodes[i], 80);
    }
    if (r.nodes.size() > kNodesNamed) {
      md += " and " + std::to_string(r.nodes.size() - kNodesNamed) + " more";
    }
  }
  md += ".\n\n";
  if (!r.run_mode.name.empty()) {
    md += "Run mode: **" + Cell(r.run_mode.name) + "** (" + Cell(r.run_mode.reason) +
          "); cannot see: " + Cell(r.run_mode.cannot_see) + ".\n\n";
  }
  // Warnings say how the verdicts were reached (not judged yet, rejudged): a few, short.
  constexpr size_t kWarningsShown = 5;
  for (size_t i = 0; i < r.warnings.size() && i < kWarningsShown; ++i) {
    md += "> **Warning:** " + ShortCell(r.warnings[i], 300) + "\n";
  }
  if (r.warnings.size() > kWarningsShown) {
    md += "> and " + std::to_string(r.warnings.size() - kWarningsShown) + " more warnings\n";
  }
  if (!r.warnings.empty()) md += "\n";
  std::vector<size_t> omitted(static_cast<size_t>(Verdict::kNoData) + 1, 0);
  size_t omitted_total = 0;
  Table(md, r.failures, &omitted, &omitted_total);
  if (!r.flaky_tests.empty()) {
    md += "Flaky (failed, then passed on a rerun; judged on the failed attempt):\n\n";
    Table(md, r.flaky_tests, &omitted, &omitted_total);
  }
  md += OmittedLine(omitted, omitted_total);
  md +=
      "<sub>Verdicts: **contention** = contended window, and a rerun passed in a clear one "
      "or it fails significantly more often when contended; **contention-possible** = "
      "contended, evidence not discriminating; **fails-regardless** = fails "
      "when quiet too; **no-contention** = quiet window; **no-data** = no samples.</sub>\n";
  return md;
}

}  // namespace jostle::collector
