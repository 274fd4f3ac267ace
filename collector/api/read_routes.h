// The GET routes of the collector's API over stored runs (scope read), added to a
// CollectorApi with AddRoute. Every answer but the Markdown/HTML report is JSON; errors are
// {"error", "detail"}.
//
//   GET /api/v1/runs?branch=B&job=J&commit=C&since=D&limit=N
//       {"runs": [{"run", "commit", "branch", "default_branch", "on_default_branch", "pr",
//                  "provider" (each null when not given), "jobs": [{"job", "shard" ("I/N" |
//                  null), "attempt", "url" | null, "exit" | null, "uploads", "tests",
//                  "failed"}], "uploads", "tests", "failed", "flaky", "first_upload",
//                  "last_upload", "start" | null, "end" | null,
//                  "report": "/api/v1/runs/<run>/report"}]}
//       most recently uploaded first; limit 1..1000, default 100. Filters: branch (exact), job
//       (runs with an upload of that job), commit (runs whose commit starts with it, 4+ hex
//       digits), since (runs whose first test started, or without test times whose first
//       upload came, at most D ago). Times are RFC 3339 UTC.
//   GET /api/v1/runs/{run}/report?format=json|md|html&rejudge=0|1&limit=N&offset=K
//       (default json, 0) the run's report (collector/report/REPORT_SCHEMA.md) as
//       application/json, text/markdown; charset=utf-8 or text/html; charset=utf-8. Verdicts
//       and evidence are those stored with the run when it was judged
//       (collector/attribution/judgement.h); rejudge=1 computes them with today's history and
//       the report says so. Never writes to the store. The JSON is streamed (chunked) and
//       lists failures[K, K+N) and flaky[K, K+N) (every one without limit), its "summary" and
//       "page" giving the totals first; the Markdown and HTML show the most severe failures
//       of each verdict and count the rest. Reports are built and written on at most
//       ReportSlots' capacity at once: beyond, 503 with Retry-After; requests
//       for a report being built share that build (SharedReports). 404 for a run without
//       results, 400 for a bad run id, format, rejudge, limit (1..1000000) or offset.
//   GET /api/v1/tests/durations?per_test=N&branch=B&job=J&since=D
//       pytest-split's .test_durations: {"<test id>": mean seconds of its last N passed
//       attempts, ...}, keyed by pytest node id for pytest's tests whatever format reported
//       them; N 1..1000, default 10. Only runs of branch B, job J's executions, attempts
//       since D (no time bound without since).
//   GET /api/v1/tests/flaky?since=D&branch=B&job=J&limit=N
//       {"since", "tests": [{"test", "runs", "flaky_runs", "rate", "commits", "contended",
//                            "passed", "failed", "passed_on_retry", "last_seen"}]}: tests with
//       flaky test runs (passed on retry, or failed and passed on the same commit), most
//       flaky runs first; "contended" counts its failures judged contention or
//       contention-possible. limit 1..1000, default 100.
//   GET /api/v1/ci-metrics?since=D&branch=B&job=J&bucket=day|week&limit=N
//       {"since", "bucket", "branch", "job", "runs", "jobs", "test_runs",
//        "pipeline_duration": [{"bucket", "count", "p50_s", "p90_s", "max_s"}],
//        "pain_level": [{"bucket", "runs", "tests", "failed", "mean", "max"}],
//        "job_duration": [{"job", "count", "p50_s", "p90_s", "max_s", "buckets": [...]}],
//        "job_failure_rate": [{"job", "jobs", "failed", "rate",
//                              "buckets": [{"bucket", "jobs", "failed", "rate"}]}],
//        "test_duration": [{"test", "runs", "mean_s", "max_s",
//                           "buckets": [{"bucket", "runs", "mean_s"}]}],
//        "test_failure_rate": [{"test", "runs", "failed", "rate"}],
//        "last_jobs": [{"run", "job", "shard", "attempt", "start", "duration_s", "tests",
//                       "failed", "exit", "outcome"}],
//        "slowest": [{"test", "mean_s", "max_s", "runs"}],
//        "flaky": [as /tests/flaky],
//        "contention_share": [{"bucket", "failures", "judged", "contention", "share"}]}
//       over the runs that started since D (on branch B; only job J's executions and jobs),
//       bucketed by run start (UTC days, or ISO weeks from Monday). Definitions in
//       collector/store/ci_analytics.h and README "CI analytics".
//   GET /api/v1/alerts?limit=N
//       the webhook delivery log, newest first: {"alerts": [{"run", "job" | null, "target",
//       "target_key", "delivered", "status", "attempts", "error" | null, "at"}]}.
// `since` is a duration back from now ("2w", "7d", "36h", "90m"); default 14d (no filter on
// /runs). Every route answers 400 naming any query parameter it does not take.
#pragma once

#include "collector/api/collector_api.h"
#include "collector/attribution/config.h"
#include "collector/report/report_slots.h"

namespace jostle::collector {

// Adds the routes above to `api`; reports are judged with `config`, at most
// `slots.capacity()` at once. `slots` must outlive the api.
void AddReadRoutes(CollectorApi& api, const AttributionConfig& config, ReportSlots& slots);

}  // namespace jostle::collector
