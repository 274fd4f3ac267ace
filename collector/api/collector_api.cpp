#include "collector/api/collector_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "collector/api/batch_checks.h"
#include "collector/ci/run_identity.h"
#include "collector/results/parse_results.h"
#include "collector/store/sqlite_db.h"
#include "jostle/wire.h"

namespace jostle::collector {
namespace {

using Json = nlohmann::json;

HttpServerResponse JsonOk(const Json& j) {
  HttpServerResponse r;
  r.status = 200;
  r.content_type = "application/json";
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

bool Match(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
           PathParams* params) {
  if (pattern.size() != path.size()) return false;
  PathParams found;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const auto& p = pattern[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (path[i].empty()) return false;
      found[p.substr(1, p.size() - 2)] = path[i];
    } else if (p != path[i]) {
      return false;
    }
  }
  *params = std::move(found);
  return true;
}

// The media type of a Content-Type value, lower-cased, parameters dropped.
std::string MediaType(std::string_view content_type) {
  std::string out(content_type.substr(0, content_type.find(';')));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  while (!out.empty() && out.front() == ' ') out.erase(out.begin());
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool AllOf(std::string_view s, size_t max_len, bool (*ok)(char)) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// What the sample handler of one HTTP thread keeps between requests: the inflated body and
// the decoded batch, whose buffers the next batch reuses (DecodeBatchInto, GunzipInto), so
// steady-state ingest allocates almost nothing per sample. Used only within one
// PostSamples call on this thread; PutBatch returns before the next request is handled.
struct IngestScratch {
  std::string inflated;
  SampleBatch batch;
};
thread_local IngestScratch t_ingest;

// What the token of the request being handled on this thread may do: set by Handle around
// the route's handler (routes run on the thread that called Handle), read by PostSamples.
thread_local const TokenGrant* t_grant = nullptr;

// Beyond these, a thread frees its scratch after the request rather than holding a rare
// large batch's memory: 4 MiB of JSON, 20 000 sample rows.
constexpr size_t kKeptInflatedBytes = 4u << 20;
constexpr int64_t kKeptRows = 20000;

int64_t RowsOf(const SampleBatch& batch) {
  int64_t rows = 0;
  for (const auto& s : batch.samples) rows += 1 + static_cast<int64_t>(s.cgroups.size());
  return rows;
}

template <typename T>
void AppendInteger(std::string& out, T v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// The answer to a sample batch, {"rows":N,"seq":N,"stored":true|false}: the text JsonOk
// writes for these members (sorted by name), without a JSON document per request.
HttpServerResponse BatchAnswer(bool stored, uint64_t seq, int64_t rows) {
  HttpServerResponse r;
  r.status = 200;
  r.content_type = "application/json";
  r.body.reserve(64);
  r.body = "{\"rows\":";
  AppendInteger(r.body, rows);
  r.body += ",\"seq\":";
  AppendInteger(r.body, seq);
  r.body += stored ? ",\"stored\":true}" : ",\"stored\":false}";
  return r;
}

}  // namespace

int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kUnauthenticated:
      return 401;
    case Status::Code::kPermissionDenied:
      return 403;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kAlreadyExists:
      return 409;
    case Status::Code::kResourceExhausted:
      return 413;
    case Status::Code::kUnsupported:
      return 415;
    case Status::Code::kUnavailable:
      return 503;
    case Status::Code::kIOError:
    case Status::Code::kInternal:
      return 500;
  }
  return 500;
}

HttpServerResponse ErrorResponse(const Status& status) {
  int code = HttpStatusOf(status);
  const char* error = "internal";
  switch (code) {
    case 400:
      error = "malformed";
      break;
    case 401:
      error = "unauthenticated";
      break;
    case 403:
      error = "forbidden";
      break;
    case 404:
      error = "not found";
      break;
    case 409:
      error = "conflict";
      break;
    case 413:
      error = "too large";
      break;
    case 415:
      error = "unsupported format";
      break;
    case 503:
      error = "unavailable";
      break;
    default:
      break;
  }
  return JsonError(code, error, status.message());
}

Status ValidateRunId(std::string_view run) {
  auto ok = [](char c) {
    return IsAlnum(c) || c == '.' || c == '_' || c == ':' || c == '@' || c == '+' || c == '-';
  };
  if (!AllOf(run, 128, ok)) {
    return Status::InvalidArgument("run id '" + std::string(run.substr(0, 160)) +
                                   "': expected 1..128 characters of A-Z a-z 0-9 . _ : @ + -");
  }
  return Status::Ok();
}

Status ParsePodRef(std::string_view text, std::string* ns, std::string* name) {
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  };
  size_t slash = text.find('/');
  std::string_view n = text.substr(0, slash);
  std::string_view p =
      slash == std::string_view::npos ? std::string_view() : text.substr(slash + 1);
  if (slash == std::string_view::npos || !AllOf(n, 253, ok) || !AllOf(p, 253, ok)) {
    return Status::InvalidArgument("pod '" + std::string(text.substr(0, 300)) +
                                   "': expected NAMESPACE/NAME (lower-case a-z 0-9 . -)");
  }
  *ns = std::string(n);
  *name = std::string(p);
  return Status::Ok();
}

Status ValidateNodeName(std::string_view node) {
  auto ok = [](char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; };
  if (!AllOf(node, 253, ok)) {
    return Status::InvalidArgument("node '" + std::string(node.substr(0, 300)) +
                                   "': expected 1..253 characters of A-Z a-z 0-9 . _ -");
  }
  return Status::Ok();
}

Status ValidateJobName(std::string_view job) {
  if (job.empty() || job.size() > 256) {
    return Status::InvalidArgument("job: expected 1..256 characters");
  }
  for (char c : job) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("job: contains control characters");
    }
  }
  return Status::Ok();
}

std::optional<HttpServerResponse> RejectUnknownQuery(const HttpServerRequest& request,
                                                     const std::vector<std::string>& accepted) {
  std::string unknown;
  int count = 0;
  for (const auto& [name, value] : request.query) {
    if (std::find(accepted.begin(), accepted.end(), name) != accepted.end()) continue;
    std::string shown = name.size() > 64 ? name.substr(0, 64) + "..." : name;
    unknown += (unknown.empty() ? "'" : ", '") + shown + "'";
    ++count;
  }
  if (unknown.empty()) return std::nullopt;
  std::string known;
  for (const std::string& a : accepted) known += (known.empty() ? "" : ", ") + a;
  return ErrorResponse(Status::InvalidArgument(
      std::string(count > 1 ? "unknown query parameters " : "unknown query parameter ") + unknown +
      " for " + request.method + " " + request.path +
      (known.empty() ? " (it takes none)" : " (it takes " + known + ")")));
}

CollectorApi::CollectorApi(Stores& stores, ApiOptions options)
    : stores_(stores), options_(std::move(options)) {}

Result<std::unique_ptr<CollectorApi>> CollectorApi::Create(Stores& stores, ApiOptions options) {
  std::unique_ptr<CollectorApi> api(new CollectorApi(stores, std::move(options)));
  if (api->auth_enabled()) JOSTLE_RETURN_IF_ERROR(api->ReloadTokens());
  api->AddBuiltinRoutes();
  api->CheckReadiness();
  api->ready_thread_ = std::thread([p = api.get()] { p->RunReadinessChecks(); });
  return api;
}

CollectorApi::~CollectorApi() {
  {
    std::lock_guard lock(ready_mu_);
    stop_ready_ = true;
  }
  ready_cv_.notify_all();
  if (ready_thread_.joinable()) ready_thread_.join();
}

void CollectorApi::RunReadinessChecks() {
  std::unique_lock lock(ready_mu_);
  while (!ready_cv_.wait_for(lock, options_.readiness_every, [this] { return stop_ready_; })) {
    lock.unlock();
    CheckReadiness();
    lock.lock();
  }
}

Readiness CollectorApi::ProbeReadiness() {
  if (!options_.db_path.empty()) {
    auto files = sqlite::StatStoreFiles(options_.db_path);
    if (!files.ok()) return {false, "store: " + files.status().ToString()};
    metrics_.SetStoreFiles(files->db_bytes, files->wal_bytes, files->free_bytes);
    if (files->free_bytes < options_.min_free_bytes) {
      return {false, "store: " + std::to_string(files->free_bytes) + " bytes free beside " +
                         options_.db_path + ", below the " +
                         std::to_string(options_.min_free_bytes) + " bytes required"};
    }
  }
  if (write_failing_.load()) {
    std::lock_guard lock(write_mu_);
    if (std::chrono::steady_clock::now() - write_failed_at_ < options_.write_failure_hold) {
      return {false, "store writes are failing: " + write_failure_};
    }
  }
  auto runs = stores_.analytics().ListRuns(RunFilter::Latest(1));
  if (!runs.ok()) return {false, "store: " + runs.status().ToString()};
  return {true, ""};
}

void CollectorApi::NoteWriteFailure(const Status& status) {
  {
    std::lock_guard lock(write_mu_);
    write_failed_at_ = std::chrono::steady_clock::now();
    write_failure_ = status.ToString();
  }
  if (!write_failing_.exchange(true)) CheckReadiness();
}

void CollectorApi::NoteWriteSuccess() {
  if (write_failing_.exchange(false)) CheckReadiness();
}

void CollectorApi::CheckReadiness() {
  Readiness r = ProbeReadiness();
  metrics_.SetReady(r.ready);
  std::lock_guard lock(ready_mu_);
  if (r.ready != readiness_.ready || r.reason != readiness_.reason) {
    if (r.ready) {
      spdlog::info("readiness: ready");
    } else {
      spdlog::warn("readiness: not ready: {}", r.reason);
    }
  }
  readiness_ = std::move(r);
}

Readiness CollectorApi::readiness() const {
  std::lock_guard lock(ready_mu_);
  return readiness_;
}

Status CollectorApi::ReloadTokens() {
  if (!auth_enabled()) return Status::Ok();
  auto set = TokenSet::Load(options_.token_file);
  if (!set.ok()) return set.status().WithContext("token file");
  for (const auto& w : set->warnings()) spdlog::warn("token file: {}", w);
  std::lock_guard lock(tokens_mu_);
  tokens_ = std::make_shared<const TokenSet>(std::move(set.value()));
  return Status::Ok();
}

void CollectorApi::AddRoute(std::string method, std::string pattern, Access access,
                            RouteHandler handler, std::vector<std::string> query) {
  Route r;
  r.query = std::move(query);
  r.method = std::move(method);
  r.segments = SplitPath(pattern);
  r.pattern = std::move(pattern);
  r.access = access;
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void CollectorApi::AddBuiltinRoutes() {
  AddRoute("GET", "/healthz", Access::kPublic, [](const HttpServerRequest&, const PathParams&) {
    return JsonOk({{"status", "ok"}});
  });
  AddRoute("GET", "/readyz", Access::kAnyToken,
           [this](const HttpServerRequest&, const PathParams&) { return Ready(); });
  AddRoute("GET", "/metrics", Access::kAnyToken,
           [this](const HttpServerRequest&, const PathParams&) {
             StoreScrape scrape;
             if (auto latest = stores_.samples().LatestSampleTimes(); latest.ok()) {
               scrape.ready = true;
               scrape.latest_sample_ns = std::move(latest.value());
             }
             HttpServerResponse r;
             r.content_type = "text/plain; version=0.0.4; charset=utf-8";
             r.body = metrics_.Render(scrape);
             return r;
           });
  AddRoute("POST", "/api/v1/samples", Access::kAgent,
           [this](const HttpServerRequest& r, const PathParams&) {
             static const TokenGrant kAnything{kScopeAgent | kScopeCi | kScopeRead, {}};
             return PostSamples(r, t_grant != nullptr ? *t_grant : kAnything);
           });
  std::vector<std::string> results_query = {"job", "pod", "node", "tz", "source"};
  for (const std::string& p : RunIdentityParams()) results_query.push_back(p);
  AddRoute(
      "POST", "/api/v1/runs/{run}/results", Access::kCi,
      [this](const HttpServerRequest& r, const PathParams& p) { return PostResults(r, p); },
      std::move(results_query));
}

std::optional<HttpServerResponse> CollectorApi::Authorize(const HttpServerRequest& request,
                                                          Access access, TokenGrant* grant) {
  *grant = TokenGrant{kScopeAgent | kScopeCi | kScopeRead, {}};
  if (access == Access::kPublic) return std::nullopt;
  std::shared_ptr<const TokenSet> tokens;
  {
    std::lock_guard lock(tokens_mu_);
    tokens = tokens_;
  }
  if (!tokens) return std::nullopt;
  auto header = request.Header("authorization");
  std::string_view token = header ? BearerToken(*header) : std::string_view();
  if (token.empty()) {
    metrics_.CountAuthFailure("missing");
    auto r = JsonError(401, "unauthenticated", "missing 'Authorization: Bearer TOKEN' header");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"jostle\"");
    return r;
  }
  *grant = tokens->Grant(token);
  unsigned scopes = grant->scopes;
  if (scopes == 0) {
    metrics_.CountAuthFailure("unknown");
    auto r = JsonError(401, "unauthenticated", "unknown token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"jostle\", error=\"invalid_token\"");
    return r;
  }
  unsigned needed = 0;
  if (access == Access::kAgent) needed = kScopeAgent;
  if (access == Access::kCi) needed = kScopeCi;
  if (access == Access::kRead) needed = kScopeRead;
  if ((scopes & needed) != needed) {
    metrics_.CountAuthFailure("scope");
    return JsonError(403, "forbidden",
                     "token has scopes '" + ScopeNames(scopes) + "'; " + request.method + " " +
                         request.path + " needs '" + ScopeNames(needed) + "'");
  }
  return std::nullopt;
}

HttpServerResponse CollectorApi::Handle(const HttpServerRequest& request) {
  auto path = SplitPath(request.path);
  const Route* matched = nullptr;
  PathParams params;
  std::string allowed;
  for (const auto& route : routes_) {
    PathParams p;
    if (!Match(route.segments, path, &p)) continue;
    if (route.method == request.method || (route.method == "GET" && request.method == "HEAD")) {
      matched = &route;
      params = std::move(p);
      break;
    }
    if (allowed.find(route.method) == std::string::npos) {
      allowed += allowed.empty() ? route.method : ", " + route.method;
    }
  }
  HttpServerResponse out;
  std::string label = "unmatched";
  if (matched == nullptr && !allowed.empty()) {
    out = JsonError(405, "method not allowed",
                    request.method + " " + request.path + " is not served; allowed: " + allowed);
    out.headers.emplace_back("Allow", allowed);
  } else if (matched == nullptr) {
    out = JsonError(404, "not found", "no route for " + request.method + " " + request.path);
  } else {
    label = matched->pattern;
    TokenGrant grant;
    if (auto denied = Authorize(request, matched->access, &grant)) {
      out = std::move(*denied);
    } else if (auto unknown = RejectUnknownQuery(request, matched->query)) {
      out = std::move(*unknown);
    } else {
      struct Scoped {  // t_grant for the handler's call only
        explicit Scoped(const TokenGrant* g) { t_grant = g; }
        ~Scoped() { t_grant = nullptr; }
      } scoped(&grant);
      try {
        out = matched->handler(request, params);
      } catch (const std::exception& e) {
        spdlog::error("api: {} {} failed: {}", request.method, request.path, e.what());
        out = JsonError(500, "internal", e.what());
      }
    }
  }
  if (request.method == "HEAD") out.body.clear();
  metrics_.CountRequest(label, request.method, out.status);
  uint64_t suppressed = 0;
  if (out.status >= 400 &&
      log_limiter_.Allow(std::to_string(out.status) + " " + request.method + " " + label,
                         &suppressed)) {
    spdlog::log(out.status >= 500 ? spdlog::level::err : spdlog::level::info,
                "api: {} {} from {} -> {} {}{}", request.method, request.path, request.remote,
                out.status, out.body, log_limiter_.Suffix(suppressed));
  }
  return out;
}

HttpServerResponse CollectorApi::Ready() {
  Readiness r = readiness();
  if (!r.ready) return JsonError(503, "unavailable", r.reason);
  return JsonOk({{"status", "ready"}});
}

HttpServerResponse CollectorApi::PostSamples(const HttpServerRequest& request,
                                             const TokenGrant& grant) {
  auto started = std::chrono::steady_clock::now();
  auto reject = [this](Status s) {
    HttpServerResponse r = ErrorResponse(s);
    metrics_.CountSampleError(r.status);
    return r;
  };
  std::string media = MediaType(request.Header("content-type").value_or(""));
  // What curl and friends send when the caller named no type: read as JSON.
  if (media == "application/x-www-form-urlencoded" || media == "application/octet-stream" ||
      media == "text/plain") {
    media.clear();
  }
  if (!media.empty() && media != "application/json") {
    return reject(
        Status::Unsupported("Content-Type '" + media + "': a sample batch is application/json"));
  }
  std::string encoding = MediaType(request.Header("content-encoding").value_or(""));
  IngestScratch& scratch = t_ingest;
  struct Trim {  // after the request, whatever way it ends
    IngestScratch& s;
    ~Trim() {
      if (s.inflated.capacity() > kKeptInflatedBytes) std::string().swap(s.inflated);
      if (RowsOf(s.batch) > kKeptRows) s.batch = SampleBatch{};
    }
  } trim{scratch};
  std::string_view json = request.body;
  if (encoding == "gzip" || encoding == "x-gzip") {
    Status g = GunzipInto(request.body, options_.max_body_bytes, &scratch.inflated);
    if (!g.ok()) {
      if (g.code() == Status::Code::kResourceExhausted) {
        return reject(Status::ResourceExhausted(
            "gzip body inflates beyond " + std::to_string(options_.max_body_bytes) + " bytes"));
      }
      return reject(Status::InvalidArgument("gzip body: " + g.message()));
    }
    json = scratch.inflated;
  } else if (!encoding.empty() && encoding != "identity") {
    return reject(
        Status::Unsupported("Content-Encoding '" + encoding + "': expected gzip or identity"));
  }
  if (json.empty()) return reject(Status::InvalidArgument("empty body: expected a sample batch"));
  SampleBatch* batch = &scratch.batch;
  if (Status s = DecodeBatchInto(json, batch); !s.ok()) return reject(s);
  BatchLimits limits;
  limits.now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  limits.max_age_ns = options_.sample_max_age.count();
  limits.max_ahead_ns = options_.sample_max_ahead.count();
  if (Status s = CheckBatch(*batch, limits); !s.ok()) return reject(s);
  if (!grant.MayWriteNode(batch->node)) {
    std::string patterns;
    for (const auto& p : grant.node_patterns) patterns += (patterns.empty() ? "" : ", ") + p;
    metrics_.CountAuthFailure("node");
    return JsonError(403, "forbidden",
                     "this token may write samples only for nodes matching '" + patterns +
                         "'; the batch is for node '" + batch->node + "'");
  }
  auto stored = stores_.samples().PutBatch(*batch);
  if (!stored.ok()) {
    Status s = stored.status();
    if (s.code() != Status::Code::kInvalidArgument) NoteWriteFailure(s);
    // The answer is logged by Handle (once per 10 s of its kind); this says which batch.
    spdlog::debug("api: storing batch {} seq {} failed: {}", batch->node, batch->seq, s.ToString());
    if (s.code() == Status::Code::kInvalidArgument || s.code() == Status::Code::kUnavailable) {
      return reject(s);
    }
    return reject(Status::Unavailable("store: " + s.message()));
  }
  NoteWriteSuccess();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int64_t rows = RowsOf(*batch);
  metrics_.CountBatch(*stored, rows, seconds);
  return BatchAnswer(*stored, batch->seq, *stored ? rows : 0);
}

HttpServerResponse CollectorApi::PostResults(const HttpServerRequest& request,
                                             const PathParams& params) {
  auto reject = [this](Status s) {
    HttpServerResponse r = ErrorResponse(s);
    metrics_.CountResultError(r.status);
    return r;
  };
  ResultOrigin origin;
  origin.run = params.at("run");
  if (Status s = ValidateRunId(origin.run); !s.ok()) return reject(s);
  origin.job = request.Query("job");
  if (!origin.job.empty()) {
    if (Status s = ValidateJobName(origin.job); !s.ok()) return reject(s);
  }
  auto identity = RunIdentityFromQuery(request.query);
  if (!identity.ok()) return reject(identity.status());
  origin.identity = std::move(*identity);
  std::string pod = request.Query("pod");
  if (!pod.empty()) {
    if (Status s = ParsePodRef(pod, &origin.pod_namespace, &origin.pod_name); !s.ok()) {
      return reject(s);
    }
  }
  origin.node = request.Query("node");
  if (!origin.node.empty()) {
    if (Status s = ValidateNodeName(origin.node); !s.ok()) return reject(s);
  }
  ParseOptions parse;
  parse.max_bytes = options_.max_body_bytes;
  std::string tz = request.Query("tz");
  if (!tz.empty()) {
    auto offset = ParseTzOffset(tz);
    if (!offset.ok()) return reject(offset.status().WithContext("tz"));
    parse.default_tz_offset_s = *offset;
  }
  origin.source = request.Query("source", "upload");
  parse.source_name = origin.source;
  if (request.body.empty()) return reject(Status::InvalidArgument("empty body"));
  auto set = ParseResults(request.body, request.Header("content-type").value_or(""), parse);
  if (!set.ok()) return reject(set.status());
  origin.digest = ContentDigest(request.body);
  auto summary = StoreResults(stores_.samples(), stores_.results(), origin, *set);
  if (!summary.ok()) {
    Status s = summary.status();
    spdlog::debug("api: storing results of run {} failed: {}", origin.run, s.ToString());
    const bool refused = s.code() == Status::Code::kInvalidArgument ||
                         s.code() == Status::Code::kNotFound ||
                         s.code() == Status::Code::kAlreadyExists;
    if (!refused) NoteWriteFailure(s);
    if (refused) {
      return reject(s);
    }
    return reject(Status::Unavailable("store: " + s.message()));
  }
  NoteWriteSuccess();
  // A replay (a CI retry after a lost answer) is acknowledged and counted nowhere again.
  if (!summary->already_stored) {
    metrics_.CountResults(summary->tests, summary->failed);
    metrics_.CountTests(origin.job, *set);
    if (options_.on_results) options_.on_results(origin, *summary);
  }
  Json j = {{"tests", summary->tests},
            {"failed", summary->failed},
            {"format", set->format},
            {"producer", set->producer},
            {"warnings", set->warnings},
            {"upload", summary->upload_id},
            {"digest", origin.digest},
            {"already_stored", summary->already_stored},
            {"other_files", summary->other_files}};
  return JsonOk(j);
}

}  // namespace jostle::collector
