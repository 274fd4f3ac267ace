#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "collector/report/report.h"

namespace jostle::collector {
namespace {

using Json = nlohmann::ordered_json;

Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

template <typename T>
Json Optional(const std::optional<T>& v) {
  if (!v) return nullptr;
  if constexpr (std::is_floating_point_v<T>) return Number(*v);
  return Json(*v);
}

Json TimeOrNull(const std::optional<int64_t>& ns) {
  return ns ? Json(FormatTime(*ns)) : Json(nullptr);
}

Json Failure(const FailureReport& f) {
  Json j;
  j["test"] = f.test_id;
  j["name"] = f.name;
  j["suite"] = f.suite;
  j["classname"] = f.classname;
  j["file"] = f.file;
  j["job"] = f.job;
  j["node"] = f.node.empty() ? Json(nullptr) : Json(f.node);
  j["pod"] = f.pod.empty() ? Json(nullptr) : Json(f.pod);
  j["attempt"] = f.attempt;
  j["attempts"] = f.attempts;
  j["outcome"] = OutcomeName(f.outcome);
  j["message"] = f.message;
  j["start"] = TimeOrNull(f.start_ns);
  j["end"] = TimeOrNull(f.end_ns);
  j["start_ns"] = Optional(f.start_ns);
  j["end_ns"] = Optional(f.end_ns);
  j["timing"] = f.timing_approximate ? "approximate" : "exact";
  j["flaky"] = f.flaky;
  j["verdict"] = VerdictName(f.verdict);
  j["resource"] =
      f.assessment.resource ? Json(ResourceName(*f.assessment.resource)) : Json(nullptr);
  j["severity"] = f.assessment.contended ? Number(f.assessment.severity) : Json(nullptr);
  j["window"] = f.signals.window_end_ns > 0
                    ? Json{{"start", FormatTime(f.signals.window_start_ns)},
                           {"end", FormatTime(f.signals.window_end_ns)},
                           {"interval_s", static_cast<double>(f.signals.interval_ns) / 1e9},
                           {"node_points", f.signals.node_points},
                           {"pod_found", f.signals.pod_found}}
                    : Json(nullptr);
  Json signals = Json::object();
  for (const auto& [name, stat] : f.signals.values) {
    signals[name] = {
        {"peak", Number(stat.peak)}, {"mean", Number(stat.mean)}, {"points", stat.points}};
  }
  j["signals"] = std::move(signals);
  j["limits"] = {{"cpu_cores", Optional(f.signals.pod_cpu_limit_cores)},
                 {"memory_bytes", Optional(f.signals.pod_mem_limit_bytes)}};
  Json crossed = Json::array();
  for (const Crossing& c : f.assessment.crossings) {
    crossed.push_back({{"signal", c.signal},
                       {"resource", ResourceName(c.resource)},
                       {"value", Number(c.value)},
                       {"threshold", Number(c.threshold)},
                       {"severity", Number(c.severity)},
                       {"felt", FeltName(c.felt)}});
  }
  j["thresholds_crossed"] = std::move(crossed);
  Json culprits = Json::array();
  for (const Culprit& c : f.assessment.culprits) {
    Json k = {{"kind", CulpritKindName(c.kind)}, {"name", c.name}, {"share", Number(c.share)}};
    if (!c.detail.empty()) k["detail"] = c.detail;
    culprits.push_back(std::move(k));
  }
  j["culprits"] = std::move(culprits);
  const Evidence& e = f.evidence;
  j["evidence"] = {
      {"history",
       {{"failed_contended", e.history.failed_contended},
        {"passed_contended", e.history.passed_contended},
        {"failed_clear", e.history.failed_clear},
        {"passed_clear", e.history.passed_clear},
        {"no_data", e.history.no_data}}},
      {"rerun_passed", e.rerun_passed},
      {"rerun_passed_clear", e.rerun_passed_clear},
      {"failure_rate_contended", Optional(e.failure_rate_contended)},
      {"failure_rate_clear", Optional(e.failure_rate_clear)},
      {"fisher_p", Optional(e.fisher_p)},
      {"alpha", Number(e.alpha)},
      {"start_uncertainty_s", static_cast<double>(e.start_uncertainty_ns) / 1e9},
      {"placements", e.placements},
      {"placements_contended", e.placements_contended},
      {"decided_by", BasisName(e.decided_by)},
      {"summary", EvidenceSummary(e)},
  };
  j["reason"] = f.reason.empty() ? Json(nullptr) : Json(f.reason);
  j["advice"] = Advice(f);
  return j;
}

std::string Dump(const Json& j) {
  // Invalid UTF-8 in names from result files is replaced, never thrown.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json Summary(const RunReport& r) {
  Json verdicts = Json::object();
  for (const char* name :
       {"contention", "contention-possible", "fails-regardless", "no-contention", "no-data"}) {
    auto it = r.verdict_counts.find(name);
    verdicts[name] = it == r.verdict_counts.end() ? 0 : it->second;
  }
  return {{"line", SummaryLine(r)}, {"tests", r.tests}, {"executions", r.executions},
          {"failed", r.failed},     {"flaky", r.flaky}, {"verdicts", verdicts}};
}

Json Page(const RunReport& r, const JsonPage& page) {
  return {{"offset", page.offset},
          {"limit", page.limit ? Json(*page.limit) : Json(nullptr)},
          {"failures", r.failures.size()},
          {"flaky", r.flaky_tests.size()}};
}

Json Nodes(const RunReport& r) {
  Json nodes = Json::array();
  for (const std::string& name : r.nodes) {
    Json n = {{"name", name}, {"sampled", false}};
    for (const NodeTimeline& t : r.timelines) {
      if (t.node != name) continue;
      n["sampled"] = !t.t_ns.empty();
      n["cpus"] = t.cpus;
      n["mem_total_bytes"] = t.mem_total_bytes;
      n["points"] = t.t_ns.size();
      double peak = 0;
      for (double v : t.cpu_busy) {
        if (std::isfinite(v)) peak = std::max(peak, v);
      }
      n["cpu_busy_peak"] = peak;
    }
    nodes.push_back(std::move(n));
  }
  return nodes;
}

// `key`: the page of `rows`, one failure per line.
void WriteFailures(const char* key, const std::vector<FailureReport>& rows, const JsonPage& page,
                   ReportWriter& out) {
  out.Append(std::string(",\n\"") + key + "\": [");
  size_t end = rows.size();
  if (page.limit) end = std::min(end, page.offset + *page.limit);
  for (size_t i = page.offset; i < end && out.ok(); ++i) {
    out.Append(i == page.offset ? "\n" : ",\n");
    out.Append(Dump(Failure(rows[i])));
  }
  out.Append("\n]");
}

}  // namespace

void WriteJson(const RunReport& r, const JsonPage& page, ReportWriter& out) {
  // The totals (summary, page) come before the lists, so a reader can stop early.
  out.Append("{\"schema\": \"jostle.report/1\",\n\"run\": " + Dump(r.run));
  out.Append(",\n\"summary\": " + Dump(Summary(r)));
  out.Append(",\n\"page\": " + Dump(Page(r, page)));
  if (!r.run_mode.name.empty()) {
    Json mode = {{"name", r.run_mode.name},
                 {"reason", r.run_mode.reason},
                 {"cannot_see", r.run_mode.cannot_see}};
    out.Append(",\n\"run_mode\": " + Dump(mode));
  }
  out.Append(",\n\"start\": " + Dump(TimeOrNull(r.start_ns)) +
             ",\n\"end\": " + Dump(TimeOrNull(r.end_ns)));
  WriteFailures("failures", r.failures, page, out);
  WriteFailures("flaky", r.flaky_tests, page, out);
  out.Append(",\n\"nodes\": " + Dump(Nodes(r)));
  out.Append(",\n\"warnings\": " + Dump(Json(r.warnings)) + "\n}\n");
  out.Flush();
}

std::string RenderJson(const RunReport& r, const JsonPage& page) {
  std::string text;
  ReportWriter out([&text](std::string_view piece) {
    text.append(piece);
    return true;
  });
  WriteJson(r, page, out);
  return text;
}

}  // namespace jostle::collector
