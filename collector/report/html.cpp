#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "collector/report/report.h"

namespace jostle::collector {
namespace {

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Num(double v, int digits = 1) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Percent(double v) { return Num(v * 100, 0) + "%"; }

std::string ClockTime(int64_t ns) {
  std::time_t t = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

const char* VerdictColor(Verdict v) {
  switch (v) {
    case Verdict::kContention:
      return "#d9480f";
    case Verdict::kContentionPossible:
      return "#f59f00";
    case Verdict::kFailsRegardless:
      return "#5f3dc4";
    case Verdict::kNoContention:
      return "#2b8a3e";
    case Verdict::kNoData:
      return "#868e96";
  }
  return "#868e96";
}

constexpr const char* kPalette[] = {"#4263eb", "#e8590c", "#2f9e44", "#ae3ec9",
                                    "#1098ad", "#f08c00", "#868e96", "#c2255c"};

// One time-series chart as inline SVG.
class Chart {
 public:
  Chart(std::string title, int64_t t0, int64_t t1, double ymax, std::string unit)
      : title_(std::move(title)),
        t0_(t0),
        t1_(std::max(t1, t0 + 1)),
        ymax_(ymax > 0 ? ymax : 1),
        unit_(std::move(unit)) {}

  void Stacked(const std::vector<int64_t>& t,
               const std::vector<std::pair<std::string, std::vector<double>>>& groups) {
    std::vector<double> base(t.size(), 0.0);
    for (size_t g = 0; g < groups.size(); ++g) {
      const auto& values = groups[g].second;
      std::string upper, lower;
      for (size_t i = 0; i < t.size(); ++i) {
        double v = std::isfinite(values[i]) ? values[i] : 0;
        upper += (i ? " " : "") + X(t[i]) + "," + Y(base[i] + v);
      }
      for (size_t i = t.size(); i-- > 0;) {
        lower += " " + X(t[i]) + "," + Y(base[i]);
        base[i] += std::isfinite(values[i]) ? values[i] : 0;
      }
      const char* color = kPalette[g % std::size(kPalette)];
      body_ += "<polygon points=\"" + upper + lower + "\" fill=\"" + color +
               "\" fill-opacity=\"0.75\" stroke=\"none\"><title>" + Esc(groups[g].first) +
               "</title></polygon>\n";
      legend_.emplace_back(groups[g].first, color);
    }
  }

  void Line(const std::string& name, const std::vector<int64_t>& t,
            const std::vector<double>& values, const char* color, double scale = 1) {
    std::string d;
    bool pen = false;
    for (size_t i = 0; i < t.size(); ++i) {
      if (!std::isfinite(values[i])) {
        pen = false;
        continue;
      }
      d += (pen ? " L" : " M") + X(t[i]) + "," + Y(values[i] * scale);
      pen = true;
    }
    if (d.empty()) return;
    body_ += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + color +
             "\" stroke-width=\"1.8\"><title>" + Esc(name) + "</title></path>\n";
    legend_.emplace_back(name, color);
  }

  void HLine(double y, const std::string& label) {
    body_ += "<line x1=\"" + Num(kLeft, 0) + "\" x2=\"" + Num(kWidth - kRight, 0) + "\" y1=\"" +
             Y(y) + "\" y2=\"" + Y(y) + "\" stroke=\"#495057\" stroke-dasharray=\"4 3\"/>" +
             "<text x=\"" + Num(kWidth - kRight - 4, 0) + "\" y=\"" + Num(std::stod(Y(y)) - 3, 1) +
             "\" text-anchor=\"end\" class=\"ax\">" + Esc(label) + "</text>\n";
  }

  void Marks(const std::vector<TimelineMark>& marks) { marks_ = &marks; }

  std::string Svg() const {
    std::string svg = "<figure><figcaption>" + Esc(title_) + "</figcaption>\n";
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 " +
           Num(kWidth, 0) + " " + Num(kHeight, 0) + "\" role=\"img\" aria-label=\"" + Esc(title_) +
           "\">\n";
    svg += "<rect x=\"" + Num(kLeft, 0) + "\" y=\"" + Num(kTop, 0) + "\" width=\"" +
           Num(kWidth - kLeft - kRight, 0) + "\" height=\"" + Num(PlotHeight(), 0) +
           "\" fill=\"#f8f9fa\" stroke=\"#dee2e6\"/>\n";
    for (int k = 0; k <= 2; ++k) {
      double v = ymax_ * k / 2;
      svg += "<text x=\"" + Num(kLeft - 4, 0) + "\" y=\"" + Y(v) +
             "\" text-anchor=\"end\" dominant-baseline=\"middle\" class=\"ax\">" +
             Num(v, ymax_ < 3 ? 2 : 1) + Esc(unit_) + "</text>\n";
    }
    for (int k = 0; k <= 4; ++k) {
      int64_t t = t0_ + (t1_ - t0_) * k / 4;
      const char* anchor = k == 0 ? "start" : k == 4 ? "end" : "middle";
      svg += "<text x=\"" + X(t) + "\" y=\"" + Num(kHeight - 6, 0) + "\" text-anchor=\"" + anchor +
             "\" class=\"ax\">" + ClockTime(t) + "</text>\n";
    }
    if (marks_) {
      for (const TimelineMark& m : *marks_) {
        double x0 = std::stod(X(std::max(m.start_ns, t0_)));
        double x1 = std::stod(X(std::min(m.end_ns, t1_)));
        svg += "<rect class=\"mark\" x=\"" + Num(x0, 1) + "\" y=\"" + Num(kTop, 0) + "\" width=\"" +
               Num(std::max(2.0, x1 - x0), 1) + "\" height=\"" + Num(PlotHeight(), 0) +
               "\" fill=\"" + VerdictColor(m.verdict) + "\" fill-opacity=\"0.18\" stroke=\"" +
               VerdictColor(m.verdict) + "\" stroke-width=\"1\"><title>" + Esc(m.test_id) + " — " +
               VerdictName(m.verdict) + "</title></rect>\n";
        svg += "<polygon points=\"" + Num(x0, 1) + "," + Num(kTop + PlotHeight(), 0) + " " +
               Num(x0 - 5, 1) + "," + Num(kTop + PlotHeight() + 8, 0) + " " + Num(x0 + 5, 1) + "," +
               Num(kTop + PlotHeight() + 8, 0) + "\" fill=\"" + VerdictColor(m.verdict) + "\"/>\n";
      }
    }
    svg += body_;
    svg += "</svg>\n<div class=\"legend\">";
    for (const auto& [name, color] : legend_) {
      svg += "<span><i style=\"background:" + color + "\"></i>" + Esc(name) + "</span>";
    }
    svg += "</div></figure>\n";
    return svg;
  }

 private:
  static constexpr double kWidth = 1160, kHeight = 190, kLeft = 56, kRight = 10, kTop = 8,
                          kBottom = 30;
  static double PlotHeight() { return kHeight - kTop - kBottom; }
  std::string X(int64_t t) const {
    double f = static_cast<double>(t - t0_) / static_cast<double>(t1_ - t0_);
    return Num(kLeft + std::clamp(f, 0.0, 1.0) * (kWidth - kLeft - kRight), 1);
  }
  std::string Y(double v) const {
    return Num(kTop + PlotHeight() - std::clamp(v / ymax_, 0.0, 1.0) * PlotHeight(), 1);
  }

  std::string title_;
  int64_t t0_, t1_;
  double ymax_;
  std::string unit_;
  std::string body_;
  std::vector<std::pair<std::string, std::string>> legend_;
  const std::vector<TimelineMark>* marks_ = nullptr;
};

std::string NodeCharts(const NodeTimeline& t) {
  std::string out = "<section class=\"node\"><h3>Node " + Esc(t.node);
  if (t.cpus > 0) out += " <small>" + Num(t.cpus, 0) + " CPUs";
  if (t.mem_total_bytes > 0) {
    out += ", " + Num(t.mem_total_bytes / (1024.0 * 1024 * 1024), 1) + " GiB";
  }
  if (t.cpus > 0) out += "</small>";
  out += "</h3>\n";
  if (t.t_ns.size() < 1) return out + "<p>No samples in the run's time range.</p></section>\n";
  int64_t t0 = t.t_ns.front(), t1 = t.t_ns.back();
  for (const TimelineMark& m : t.marks) {
    t0 = std::min(t0, m.start_ns);
    t1 = std::max(t1, m.end_ns);
  }
  double peak_cores = 0;
  for (size_t i = 0; i < t.t_ns.size(); ++i) {
    double sum = 0;
    for (const auto& g : t.cpu_cores_by_group) sum += std::isfinite(g.second[i]) ? g.second[i] : 0;
    peak_cores = std::max(peak_cores, sum);
  }
  double cores_max = std::max(t.cpus, peak_cores);
  Chart cpu("CPU cores used, by namespace / cgroup (node busy as a line)", t0, t1,
            cores_max > 0 ? cores_max : 1, "");
  cpu.Stacked(t.t_ns, t.cpu_cores_by_group);
  if (t.cpus > 0) cpu.Line("node busy (all CPUs)", t.t_ns, t.cpu_busy, "#212529", t.cpus);
  cpu.Marks(t.marks);
  out += cpu.Svg();
  Chart mem("Memory used (1 − MemAvailable/MemTotal)", t0, t1, 1.0, "");
  mem.Line("memory used", t.t_ns, t.mem_used, "#1098ad");
  mem.Marks(t.marks);
  out += mem.Svg();
  double psi_max = 0.25;
  for (const auto* s : {&t.psi_cpu, &t.psi_memory, &t.psi_io}) {
    for (double v : *s) {
      if (std::isfinite(v)) psi_max = std::max(psi_max, v);
    }
  }
  Chart psi("Pressure stall (PSI some, fraction of time)", t0, t1, std::min(1.0, psi_max * 1.1),
            "");
  psi.Line("cpu", t.t_ns, t.psi_cpu, "#e8590c");
  psi.Line("memory", t.t_ns, t.psi_memory, "#1098ad");
  psi.Line("io", t.t_ns, t.psi_io, "#ae3ec9");
  psi.Marks(t.marks);
  out += psi.Svg();
  return out + "</section>\n";
}

std::string CulpritCell(const FailureReport& f) {
  std::string out;
  for (const Culprit& c : f.assessment.culprits) {
    out += "<div><span class=\"kind\">" + std::string(CulpritKindName(c.kind)) + "</span> " +
           Esc(c.name);
    if (c.kind != CulpritKind::kOwnLimit) out += " <b>" + Percent(c.share) + "</b>";
    if (!c.detail.empty()) out += " <small>" + Esc(c.detail) + "</small>";
    out += "</div>";
  }
  return out.empty() ? "–" : out;
}

std::string SignalCell(const FailureReport& f) {
  if (f.verdict == Verdict::kNoData) return Esc(f.reason);
  std::string out;
  for (const Crossing& c : f.assessment.crossings) {
    out += "<div>" + Esc(c.signal) + " " + Num(c.value, 2) + " ≥ " + Num(c.threshold, 2);
    if (c.felt == Felt::kNodeOnly) out += " <small>(node-only: the test did not feel it)</small>";
    out += "</div>";
  }
  if (out.empty()) {
    for (const char* name : {kNodeCpuBusy, kNodeCpuPsiSome, kNodeMemoryPsiSome, kNodeIoPsiSome}) {
      auto it = f.signals.values.find(name);
      if (it != f.signals.values.end()) {
        out += "<div>" + std::string(name) + " " + Num(it->second.peak, 2) + "</div>";
      }
    }
  }
  return out.empty() ? "–" : out;
}

std::string EvidenceCell(const FailureReport& f) {
  const auto& h = f.evidence.history;
  std::string out = "contended: " + std::to_string(h.failed_contended) + " failed / " +
                    std::to_string(h.passed_contended) +
                    " passed<br>clear: " + std::to_string(h.failed_clear) + " failed / " +
                    std::to_string(h.passed_clear) + " passed";
  if (f.evidence.rerun_passed) out += "<br>passed on rerun";
  if (f.evidence.fisher_p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", *f.evidence.fisher_p);
    out += "<br>Fisher p = " + std::string(buf);
  }
  out += "<br><b>decided by</b>: " + Esc(EvidenceSummary(f.evidence));
  return out;
}

// The digest of `rows` (kHtmlFailuresPerVerdict of each verdict, most severe first) and a
// line counting the rest.
std::string Table(const std::vector<FailureReport>& all, const char* id) {
  FailureDigest digest = DigestOf(all, kHtmlFailuresPerVerdict);
  std::string out = std::string("<table id=\"") + id +
                    "\"><thead><tr><th>Test</th><th>Verdict</th><th>Resource</th>"
                    "<th>Culprits</th><th>Signals</th><th>History</th><th>Where / when</th>"
                    "<th>What to do</th></tr></thead><tbody>\n";
  for (const FailureReport* row : digest.shown) {
    const FailureReport& f = *row;
    out += "<tr><td class=\"test\">" + Esc(f.test_id);
    if (!f.message.empty()) out += "<small>" + Esc(f.message.substr(0, 300)) + "</small>";
    out += "</td><td><span class=\"verdict\" style=\"background:" +
           std::string(VerdictColor(f.verdict)) + "\">" + VerdictName(f.verdict) +
           "</span></td><td>" +
           (f.assessment.resource ? ResourceName(*f.assessment.resource) : "–") + "</td><td>" +
           CulpritCell(f) + "</td><td>" + SignalCell(f) + "</td><td>" + EvidenceCell(f) +
           "</td><td>" + (f.node.empty() ? "node ?" : "node " + Esc(f.node));
    if (!f.pod.empty()) out += "<br>pod " + Esc(f.pod);
    if (!f.job.empty()) out += "<br>job " + Esc(f.job);
    if (f.start_ns) {
      out += "<br>" + Esc(FormatTime(*f.start_ns)) + " +" +
             Num(static_cast<double>(*f.end_ns - *f.start_ns) / 1e9, 2) + " s";
      if (f.timing_approximate) out += " (approximate)";
    }
    out += "</td><td>" + Esc(Advice(f)) + "</td></tr>\n";
  }
  out += "</tbody></table>\n";
  if (digest.omitted_total > 0) {
    out += "<p class=\"omitted\">Not shown: " + std::to_string(digest.omitted_total) + " (" +
           CountsByVerdict(digest.omitted);
    out +=
        "); the JSON report lists every one (<code>format=json</code>, paged with "
        "<code>limit</code> and <code>offset</code>).</p>\n";
  }
  return out;
}

constexpr const char* kStyle = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#212529;background:#fff}
h1{font-size:22px;margin:0 0 4px}h1 span{color:#868e96;font-weight:normal}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dee2e6;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}h3 small{color:#868e96;font-weight:normal}
.summary{font-size:17px;font-weight:600;margin:8px 0}
.counts{display:flex;gap:10px;flex-wrap:wrap;padding:0;list-style:none}
.counts li{padding:4px 10px;border-radius:12px;color:#fff;font-size:13px}
figure{margin:6px 0 14px}figcaption{font-size:13px;color:#495057;margin-bottom:2px}
svg.chart{width:100%;max-width:1160px;height:auto;display:block}
.ax{font-size:11px;fill:#495057}
.legend{font-size:12px;color:#495057}.legend span{margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid #dee2e6;padding:5px 7px;vertical-align:top;text-align:left}
th{background:#f1f3f5}td.test{font-family:ui-monospace,Menlo,monospace;overflow-wrap:anywhere;min-width:240px}
td small{display:block;color:#868e96;font-family:system-ui,sans-serif}
.verdict{color:#fff;border-radius:10px;padding:2px 8px;white-space:nowrap;font-size:12px}
.kind{color:#868e96;font-size:11px;text-transform:uppercase}
footer{margin-top:28px;color:#868e96;font-size:12px}
)css";

}  // namespace

std::string RenderHtml(const RunReport& r) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>jostle report: " +
      Esc(r.run) + "</title><style>" + kStyle + "</style></head><body>\n";
  h += "<header><h1>jostle report <span>run " + Esc(r.run) + "</span></h1>\n";
  h += "<p class=\"summary\">" + Esc(SummaryLine(r)) + "</p>\n<p>" + std::to_string(r.tests) +
       " tests, " + std::to_string(r.executions) + " executions, " + std::to_string(r.failed) +
       " failed, " + std::to_string(r.flaky) + " flaky";
  if (r.start_ns) h += "; " + Esc(FormatTime(*r.start_ns)) + " to " + Esc(FormatTime(*r.end_ns));
  h += ".</p>\n";
  if (!r.run_mode.name.empty()) {
    h += "<p class=\"run-mode\">Run mode: <b>" + Esc(r.run_mode.name) + "</b> (" +
         Esc(r.run_mode.reason) + "); cannot see: " + Esc(r.run_mode.cannot_see) + ".</p>\n";
  }
  h += "<ul class=\"counts\">";
  for (Verdict v : {Verdict::kContention, Verdict::kContentionPossible, Verdict::kFailsRegardless,
                    Verdict::kNoContention, Verdict::kNoData}) {
    auto it = r.verdict_counts.find(VerdictName(v));
    int n = it == r.verdict_counts.end() ? 0 : it->second;
    h += "<li style=\"background:" + std::string(VerdictColor(v)) + "\">" + VerdictName(v) +
         " <b>" + std::to_string(n) + "</b></li>";
  }
  h += "</ul></header>\n";
  h += "<section id=\"timelines\"><h2>Nodes</h2>\n";
  if (r.timelines.empty()) h += "<p>No node samples cover this run.</p>\n";
  for (const NodeTimeline& t : r.timelines) h += NodeCharts(t);
  h += "</section>\n<section id=\"failures\"><h2>Failures</h2>\n";
  if (r.failures.empty()) {
    h += "<p>No failed tests.</p>\n";
  } else {
    h += Table(r.failures, "failure-table");
  }
  h += "</section>\n";
  if (!r.flaky_tests.empty()) {
    h += "<section id=\"flaky\"><h2>Flaky tests</h2><p>Failed, then passed on a rerun; judged "
         "on the failed attempt.</p>\n" +
         Table(r.flaky_tests, "flaky-table") + "</section>\n";
  }
  if (!r.warnings.empty()) {
    h += "<section id=\"warnings\"><h2>Warnings</h2><ul>";
    for (const std::string& w : r.warnings) h += "<li>" + Esc(w) + "</li>";
    h += "</ul></section>\n";
  }
  h += "<footer>Verdicts: contention = the window was contended, and a rerun passed in a clear "
       "window or the test fails significantly more often when contended; contention-possible = "
       "contended, evidence not discriminating; fails-regardless = it "
       "also fails in clear windows; no-contention = clear window; no-data = no samples cover "
       "the window. Generated by jostle.</footer>\n</body></html>\n";
  return h;
}

}  // namespace jostle::collector
