#include "collector/api/read_routes.h"

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "collector/api/analytics_json.h"
#include "collector/attribution/judgement.h"
#include "collector/attribution/run_report.h"
#include "collector/ci/run_identity.h"
#include "collector/report/report.h"
#include "flags/flag_values.h"

namespace jostle::collector {
namespace {

using Json = nlohmann::json;

constexpr const char* kDefaultSince = "14d";

HttpServerResponse JsonAnswer(const Json& j) {
  HttpServerResponse r;
  r.content_type = "application/json";
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Query parameter `name` as an integer in [min, max]; `fallback` when absent.
Result<int> IntParam(const HttpServerRequest& request, const std::string& name, int fallback,
                     int min, int max) {
  std::string text = request.Query(name);
  if (text.empty()) return fallback;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Status::InvalidArgument(name + "='" + text.substr(0, 40) + "': expected an integer " +
                                   std::to_string(min) + ".." + std::to_string(max));
  }
  return value;
}

// since=<duration> back from now, as ns since the epoch.
Result<int64_t> SinceParam(const HttpServerRequest& request) {
  std::string text = request.Query("since", kDefaultSince);
  auto d = flags::ParseDuration(text);
  if (!d.ok()) return d.status().WithContext("since");
  return NowNs() - static_cast<int64_t>(d->count());
}

HttpServerResponse StoreError(const Status& s) {
  if (s.code() == Status::Code::kNotFound || s.code() == Status::Code::kInvalidArgument) {
    return ErrorResponse(s);
  }
  return ErrorResponse(Status::Unavailable("store: " + s.message()));
}

// branch= and job= of the history routes, validated; "" when not given.
Status BranchAndJobParams(const HttpServerRequest& request, std::string* branch, std::string* job) {
  RunIdentity id;
  id.branch = request.Query("branch");
  JOSTLE_RETURN_IF_ERROR(ValidateRunIdentity(id));
  *branch = id.branch;
  *job = request.Query("job");
  if (!job->empty()) JOSTLE_RETURN_IF_ERROR(ValidateJobName(*job));
  return Status::Ok();
}

// branch=, job=, commit=, since= and limit= of GET /api/v1/runs.
Result<RunFilter> RunFilterParam(const HttpServerRequest& request) {
  RunFilter f;
  auto limit = IntParam(request, "limit", 100, 1, 1000);
  if (!limit.ok()) return limit.status();
  f.limit = *limit;
  JOSTLE_RETURN_IF_ERROR(BranchAndJobParams(request, &f.branch, &f.job));
  RunIdentity id;
  id.commit = NormalizeCommit(request.Query("commit"));
  JOSTLE_RETURN_IF_ERROR(ValidateRunIdentity(id));
  f.commit = id.commit;
  if (!request.Query("since").empty()) {
    auto since = SinceParam(request);
    if (!since.ok()) return since.status();
    f.since_ns = *since;
  }
  return f;
}

Json JobsJson(const std::vector<JobSummary>& jobs) {
  Json out = Json::array();
  for (const JobSummary& j : jobs) {
    out.push_back({{"job", j.job},
                   {"shard", j.shard_index ? Json(std::to_string(*j.shard_index) + "/" +
                                                  std::to_string(*j.shard_total))
                                           : Json(nullptr)},
                   {"attempt", j.attempt},
                   {"url", StringOrNull(j.url)},
                   {"exit", j.exit_code ? Json(*j.exit_code) : Json(nullptr)},
                   {"uploads", j.uploads},
                   {"tests", j.tests},
                   {"failed", j.failed}});
  }
  return out;
}

HttpServerResponse ListRunsRoute(CiAnalytics& store, const HttpServerRequest& request) {
  auto filter = RunFilterParam(request);
  if (!filter.ok()) return ErrorResponse(filter.status());
  auto runs = store.ListRuns(*filter);
  if (!runs.ok()) return StoreError(runs.status());
  Json out = Json::array();
  for (const RunSummary& r : *runs) {
    const RunIdentity& id = r.identity;
    out.push_back(
        {{"run", r.run},
         {"commit", StringOrNull(id.commit)},
         {"branch", StringOrNull(id.branch)},
         {"default_branch", StringOrNull(id.default_branch)},
         {"on_default_branch", id.on_default_branch ? Json(*id.on_default_branch) : Json(nullptr)},
         {"pr", StringOrNull(id.pr)},
         {"provider", StringOrNull(id.provider)},
         {"jobs", JobsJson(r.jobs)},
         {"uploads", r.uploads},
         {"tests", r.tests},
         {"failed", r.failed},
         {"flaky", r.flaky},
         {"first_upload", FormatTime(r.first_upload_ns)},
         {"last_upload", FormatTime(r.last_upload_ns)},
         {"start", TimeOrNull(r.first_start_ns)},
         {"end", TimeOrNull(r.last_end_ns)},
         {"report", "/api/v1/runs/" + r.run + "/report"}});
  }
  return JsonAnswer({{"runs", out}});
}

// What a report request asks for: format=json|md|html, and for json the page.
struct ReportForm {
  std::string format;
  JsonPage page;
};

Result<ReportForm> ReportFormParam(const HttpServerRequest& request) {
  ReportForm form;
  form.format = request.Query("format", "json");
  if (form.format != "json" && form.format != "md" && form.format != "html") {
    return Status::InvalidArgument("format='" + form.format.substr(0, 40) +
                                   "': expected json, md or html");
  }
  auto limit = IntParam(request, "limit", 0, 1, 1000000);
  if (!limit.ok()) return limit.status();
  if (*limit > 0) form.page.limit = static_cast<size_t>(*limit);
  auto offset = IntParam(request, "offset", 0, 0, 100000000);
  if (!offset.ok()) return offset.status();
  form.page.offset = static_cast<size_t>(*offset);
  if (form.format != "json" && (form.page.limit || form.page.offset > 0)) {
    return Status::InvalidArgument("limit and offset page the JSON report only (format=json)");
  }
  return form;
}

// 503 with Retry-After: every report slot is taken.
HttpServerResponse ReportsBusy(const ReportSlots& slots) {
  HttpServerResponse r = ErrorResponse(Status::Unavailable(
      std::to_string(slots.capacity()) + " report(s) being built already; retry later"));
  r.headers.emplace_back("Retry-After", "2");
  return r;
}

// The answer for a report once obtained. The JSON is written while the client reads it
// (on the worker thread, holding `slot` and the report until the last piece is sent).
HttpServerResponse ServeReport(std::shared_ptr<const RunReport> report, const ReportForm& form,
                               ReportSlots::Slot slot) {
  HttpServerResponse r;
  // The report goes before the slot, whose release hands the freed memory back: the JSON
  // stream captures them in that order (the last capture is destroyed first).
  if (form.format == "json") {
    r.content_type = "application/json";
    r.stream = [slot = std::move(slot), page = form.page,
                report = std::move(report)](BodyWriter& body) {
      ReportWriter out([&body](std::string_view piece) { return body.Write(piece); });
      WriteJson(*report, page, out);
    };
    return r;
  }
  const bool md = form.format == "md";
  r.content_type = md ? "text/markdown; charset=utf-8" : "text/html; charset=utf-8";
  r.body = md ? RenderMarkdown(*report) : RenderHtml(*report);
  report.reset();
  slot.reset();
  return r;
}

HttpServerResponse ReportRoute(Stores& store, const AttributionConfig& config, ReportSlots& slots,
                               SharedReports& shared, const HttpServerRequest& request,
                               const PathParams& params) {
  const std::string& run = params.at("run");
  if (Status s = ValidateRunId(run); !s.ok()) return ErrorResponse(s);
  auto form = ReportFormParam(request);
  if (!form.ok()) return ErrorResponse(form.status());
  const std::string rejudge = request.Query("rejudge", "0");
  if (rejudge != "0" && rejudge != "1") {
    return ErrorResponse(
        Status::InvalidArgument("rejudge='" + rejudge.substr(0, 40) + "': expected 0 or 1"));
  }
  // Requests for a report being built already wait for that build and take no slot.
  ReportSlots::Slot slot;
  auto report = shared.Get(run + (rejudge == "1" ? "?rejudge" : ""), [&]() -> Result<RunReport> {
    slot = slots.TryAcquire();
    if (!slot) return Status::ResourceExhausted("every report slot is taken");
    return ReadRunReport(store.samples(), store.results(), run, config,
                         rejudge == "1" ? JudgementRead::kRejudge : JudgementRead::kAsJudged);
  });
  if (!report.ok()) {
    if (report.status().code() == Status::Code::kResourceExhausted) return ReportsBusy(slots);
    if (report.status().code() == Status::Code::kNotFound) {
      return ErrorResponse(Status::NotFound("run '" + run + "' has no stored results"));
    }
    return StoreError(report.status());
  }
  return ServeReport(std::move(*report), *form, std::move(slot));
}

HttpServerResponse DurationsRoute(CiAnalytics& store, const HttpServerRequest& request) {
  DurationsFilter filter;
  auto per_test = IntParam(request, "per_test", 10, 1, 1000);
  if (!per_test.ok()) return ErrorResponse(per_test.status());
  filter.per_test = *per_test;
  if (Status s = BranchAndJobParams(request, &filter.branch, &filter.job); !s.ok()) {
    return ErrorResponse(s);
  }
  if (!request.Query("since").empty()) {
    auto since = SinceParam(request);
    if (!since.ok()) return ErrorResponse(since.status());
    filter.since_ns = *since;
  }
  auto durations = store.TestDurations(filter);
  if (!durations.ok()) return StoreError(durations.status());
  Json out = Json::object();
  for (const auto& [test, seconds] : *durations) out[test] = seconds;
  return JsonAnswer(out);
}

// since=, branch=, job=, bucket=day|week and limit= of the analytics routes.
Result<MetricsFilter> MetricsFilterParam(const HttpServerRequest& request) {
  MetricsFilter f;
  auto since = SinceParam(request);
  if (!since.ok()) return since.status();
  f.since_ns = *since;
  auto limit = IntParam(request, "limit", 100, 1, 1000);
  if (!limit.ok()) return limit.status();
  f.limit = *limit;
  JOSTLE_RETURN_IF_ERROR(BranchAndJobParams(request, &f.branch, &f.job));
  const std::string bucket = request.Query("bucket", "day");
  if (bucket != "day" && bucket != "week") {
    return Status::InvalidArgument("bucket='" + bucket.substr(0, 40) + "': expected day or week");
  }
  f.bucket = bucket == "week" ? MetricsFilter::Bucket::kWeek : MetricsFilter::Bucket::kDay;
  return f;
}

HttpServerResponse FlakyRoute(CiAnalytics& store, const HttpServerRequest& request) {
  auto filter = MetricsFilterParam(request);
  if (!filter.ok()) return ErrorResponse(filter.status());
  auto flaky = store.FlakyTests(*filter);
  if (!flaky.ok()) return StoreError(flaky.status());
  return JsonAnswer(FlakyTestsJson(*flaky, *filter));
}

HttpServerResponse CiMetricsRoute(CiAnalytics& store, const HttpServerRequest& request) {
  auto filter = MetricsFilterParam(request);
  if (!filter.ok()) return ErrorResponse(filter.status());
  auto m = store.GetCiMetrics(*filter);
  if (!m.ok()) return StoreError(m.status());
  return JsonAnswer(CiMetricsJson(*m, *filter));
}

HttpServerResponse AlertsRoute(AlertLog& store, const HttpServerRequest& request) {
  auto limit = IntParam(request, "limit", 100, 1, 1000);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto alerts = store.ListAlerts(*limit);
  if (!alerts.ok()) return StoreError(alerts.status());
  Json out = Json::array();
  for (const AlertRecord& a : *alerts) {
    out.push_back({{"run", a.run},
                   {"job", StringOrNull(a.job)},
                   {"target", a.target},
                   {"target_key", a.target_key},
                   {"delivered", a.delivered},
                   {"status", a.status},
                   {"attempts", a.attempts},
                   {"error", StringOrNull(a.error)},
                   {"at", FormatTime(a.at_ns)}});
  }
  return JsonAnswer({{"alerts", out}});
}

}  // namespace

void AddReadRoutes(CollectorApi& api, const AttributionConfig& config, ReportSlots& slots) {
  Stores& stores = api.stores();
  CiAnalytics& analytics = stores.analytics();
  AlertLog& alerts = stores.alerts();
  api.AddRoute("GET", "/api/v1/runs", Access::kRead,
               [&analytics](const HttpServerRequest& r, const PathParams&) {
                 return ListRunsRoute(analytics, r);
               },
               {"branch", "job", "commit", "since", "limit"});
  api.AddRoute("GET", "/api/v1/runs/{run}/report", Access::kRead,
               [&stores, config, &slots, shared = std::make_shared<SharedReports>()](
                   const HttpServerRequest& r, const PathParams& p) {
                 return ReportRoute(stores, config, slots, *shared, r, p);
               },
               {"format", "rejudge", "limit", "offset"});
  api.AddRoute("GET", "/api/v1/tests/durations", Access::kRead,
               [&analytics](const HttpServerRequest& r, const PathParams&) {
                 return DurationsRoute(analytics, r);
               },
               {"per_test", "branch", "job", "since"});
  api.AddRoute("GET", "/api/v1/tests/flaky", Access::kRead,
               [&analytics](const HttpServerRequest& r, const PathParams&) {
                 return FlakyRoute(analytics, r);
               },
               {"since", "branch", "job", "limit"});
  api.AddRoute("GET", "/api/v1/ci-metrics", Access::kRead,
               [&analytics](const HttpServerRequest& r, const PathParams&) {
                 return CiMetricsRoute(analytics, r);
               },
               {"since", "branch", "job", "bucket", "limit"});
  api.AddRoute(
      "GET", "/api/v1/alerts", Access::kRead,
      [&alerts](const HttpServerRequest& r, const PathParams&) { return AlertsRoute(alerts, r); },
      {"limit"});
}

}  // namespace jostle::collector
