// The collector's HTTP API (contracts in DESIGN.md "HTTP API"): one handler for HttpServer,
// built over the store's roles (Stores), with a route table that other parts extend (reports,
// analytics).
//
// Routes served here (read_routes.h adds the GET routes of reports, analytics and alerts):
//   POST /api/v1/samples                  agent  a SampleBatch, JSON, gzip allowed
//   POST /api/v1/runs/{run}/results       ci     JUnit XML / report-log / jostle JSON
//   GET  /healthz                         none   the process is up
//   GET  /readyz                          token  the store answers (cached: see below)
//   GET  /metrics                         token  ApiMetrics (Prometheus text; METRICS.md)
// Authentication: with a token set, every route but /healthz needs "Authorization: Bearer
// TOKEN": 401 without one or with an unknown one, 403 when it lacks the route's scope.
// Without a token set every request is allowed (the collector logs a warning at start-up).
// Errors are {"error": "...", "detail": "..."}; a rejected request stores nothing.
//
// /healthz and /readyz must answer at once, whatever the store is doing (the server runs
// them on its network threads): /readyz answers the readiness that a thread of the api
// checks every ApiOptions::readiness_every, never the store itself.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collector/api/api_metrics.h"
#include "collector/api/token_file.h"
#include "collector/store/stores.h"
#include "http_server/http_server.h"
#include "jostle/status.h"
#include "logging/log_limiter.h"

namespace jostle::collector {

struct ApiOptions {
  // Path of the token file (see token_file.h); empty: no authentication.
  std::string token_file;
  // Largest sample batch or result document, in bytes, after gzip decompression.
  size_t max_body_bytes = 20u << 20;
  // Called after results were stored (POST /api/v1/runs/{run}/results answered 200), on the
  // request's thread before the answer is sent: must return at once (the collector queues
  // the run for alert evaluation). Empty: nothing is called.
  std::function<void(const ResultOrigin& origin, const UploadSummary& summary)> on_results;
  // POST /api/v1/samples refuses ticks older than this (0: any age; the collector sets its
  // retention) or more than sample_max_ahead ahead of the collector's clock.
  std::chrono::nanoseconds sample_max_age{0};
  std::chrono::nanoseconds sample_max_ahead = std::chrono::minutes(10);
  // How often readiness is checked (/readyz answers the last check).
  std::chrono::milliseconds readiness_every{1000};
  // The SQLite database file, for the store's size, WAL and free space (/metrics) and the
  // free-space check; empty: not checked.
  std::string db_path;
  // /readyz is 503 while the database's file system has less free space than this.
  uint64_t min_free_bytes = 64ull << 20;
  // /readyz is 503 for this long after a write to the store failed, unless one succeeded
  // since (with no traffic it turns ready again, to be tried).
  std::chrono::milliseconds write_failure_hold{30000};
};

// The last readiness check: ready, or why not.
struct Readiness {
  bool ready = false;
  std::string reason;  // empty when ready
};

// Who may call a route.
enum class Access {
  kPublic,    // no token needed (only /healthz)
  kAnyToken,  // any valid token, whatever its scopes (/readyz, /metrics)
  kAgent,     // a token with scope agent
  kCi,        // a token with scope ci
  kRead,      // a token with scope read
};

// Path parameters of a matched route: {"run": "1234"} for /api/v1/runs/{run}/results.
using PathParams = std::map<std::string, std::string>;
using RouteHandler = std::function<HttpServerResponse(const HttpServerRequest&, const PathParams&)>;

class CollectorApi {
 public:
  // Loads the token file (when given). `stores` must outlive the api.
  static Result<std::unique_ptr<CollectorApi>> Create(Stores& stores, ApiOptions options);
  ~CollectorApi();  // stops the readiness thread

  // Adds a route. `pattern` is a path whose segments are literals or {name} placeholders
  // matching one non-empty segment. Routes are matched in the order added; a path that
  // matches a route with another method answers 405. `query` lists the query parameters the
  // route takes: a request with any other is answered 400 naming them (before the handler
  // runs, after authorization). Call before serving.
  void AddRoute(std::string method, std::string pattern, Access access, RouteHandler handler,
                std::vector<std::string> query = {});

  // The HttpServer handler. Thread-safe.
  HttpServerResponse Handle(const HttpServerRequest& request);
  Handler AsHandler() {
    return [this](const HttpServerRequest& r) { return Handle(r); };
  }

  // Re-reads the token file (e.g. on SIGHUP); on error the old tokens stay in force.
  Status ReloadTokens();
  bool auth_enabled() const { return !options_.token_file.empty(); }

  // The last readiness check; CheckReadiness runs one now (any thread).
  Readiness readiness() const;
  void CheckReadiness();

  ApiMetrics& metrics() { return metrics_; }
  Stores& stores() { return stores_; }
  const ApiOptions& options() const { return options_; }

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Access access;
    RouteHandler handler;
    std::vector<std::string> query;  // accepted query parameters
  };

  CollectorApi(Stores& stores, ApiOptions options);
  void AddBuiltinRoutes();
  // nullopt when the request may proceed (with what its token may do in *grant: every
  // scope and node when auth is off); otherwise the 401/403 answer.
  std::optional<HttpServerResponse> Authorize(const HttpServerRequest& request, Access access,
                                              TokenGrant* grant);
  HttpServerResponse PostSamples(const HttpServerRequest& request, const TokenGrant& grant);
  HttpServerResponse PostResults(const HttpServerRequest& request, const PathParams& params);
  HttpServerResponse Ready();
  Readiness ProbeReadiness();
  void RunReadinessChecks();
  // A write to the store failed / succeeded (any request thread).
  void NoteWriteFailure(const Status& status);
  void NoteWriteSuccess();

  Stores& stores_;
  const ApiOptions options_;
  ApiMetrics metrics_;
  std::vector<Route> routes_;  // written before serving only

  mutable std::mutex tokens_mu_;            // guards tokens_
  std::shared_ptr<const TokenSet> tokens_;  // null when auth is off

  // Error lines of the same kind (status and route) at most once per 10 s, with a count.
  logging::LogLimiter log_limiter_;
  std::atomic<bool> write_failing_{false};
  std::mutex write_mu_;  // guards write_failed_at_, write_failure_
  std::chrono::steady_clock::time_point write_failed_at_;
  std::string write_failure_;

  mutable std::mutex ready_mu_;  // guards readiness_, stop_ready_
  std::condition_variable ready_cv_;
  Readiness readiness_;
  bool stop_ready_ = false;
  std::thread ready_thread_;  // RunReadinessChecks
};

// The HTTP status for an error Status: InvalidArgument 400, Unauthenticated 401,
// PermissionDenied 403, NotFound 404, ResourceExhausted 413, Unsupported 415,
// AlreadyExists 409, Unavailable 503, others 500.
int HttpStatusOf(const Status& status);
// A JSON error answer for `status`, with the short error name for its code.
HttpServerResponse ErrorResponse(const Status& status);

// Validators for request parameters (InvalidArgument naming the parameter when bad).
// Run ids: 1..128 characters of [A-Za-z0-9._:@+-].
Status ValidateRunId(std::string_view run);
// pod=NS/NAME: two DNS-1123 style names ([a-z0-9.-], 1..253 characters each).
Status ParsePodRef(std::string_view text, std::string* ns, std::string* name);
// node=: 1..253 characters of [A-Za-z0-9._-].
Status ValidateNodeName(std::string_view node);
// job=: 1..256 bytes without control characters.
Status ValidateJobName(std::string_view job);
// 400 naming every parameter of `request` that is not in `accepted`; nullopt when none.
std::optional<HttpServerResponse> RejectUnknownQuery(const HttpServerRequest& request,
                                                     const std::vector<std::string>& accepted);

}  // namespace jostle::collector
