// jostle-collector serve: stores agent samples and CI results, answers the HTTP API.
//
// Start-up is an ordered list of steps, each returning a Status: load config, validate
// flags, open store, start pruner, start alerts, start server. Teardown runs whatever was started,
// in reverse order, on every exit path. SIGTERM/SIGINT stop the server gracefully (requests in
// flight finish), then the store is checkpointed and the process exits 0. SIGHUP re-reads
// the token file. Alerts: after results of a run are stored, the run is judged once the
// agents' samples cover its tests (run_alert_scheduler.h), its failures are counted in
// /metrics by verdict, and every --webhook is told, once per run, when failures look like
// contention; deliveries never hold up an upload.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "collector/alerts/run_alert_scheduler.h"
#include "collector/alerts/signature.h"
#include "collector/api/collector_api.h"
#include "collector/api/read_routes.h"
#include "collector/attribution/config.h"
#include "collector/attribution/judgement.h"
#include "collector/attribution/run_report.h"
#include "collector/attribution/verdict.h"
#include "collector/report/report_slots.h"
#include "collector/store/stores.h"
#include "flags/flag_values.h"
#include "http_server/http_server.h"
#include "jostle/version.h"
#include "logging/logging.h"

namespace jostle::collector {
namespace {

struct ServeFlags {
  std::string db;
  std::string listen = "0.0.0.0:8080";
  std::string token_file;
  std::vector<std::string> webhooks;
  std::string webhook_secret_file;
  std::string public_url;
  std::string alert_delay = "5s";
  std::string alert_max_wait = "2m";
  std::string config;
  std::string retention;  // empty: the config's retention.samples_days (default 14d)
  std::string max_body = "20MiB";
  std::string min_free_space = "64MiB";
  std::string prune_interval = "1h";
  int threads = 4;
  int report_workers = 2;
  int max_connections = 1024;
  int max_connections_per_address = 64;
  std::string log_level = "info";
  bool log_json = false;
};

// What the steps build; destroyed in reverse order by Teardown.
struct Collector {
  ServeFlags flags;
  AttributionConfig config;
  std::chrono::nanoseconds retention{};          // samples (--retention, samples_days)
  std::chrono::nanoseconds results_retention{};  // runs, their results, the alert log
  std::chrono::nanoseconds prune_interval{};
  uint64_t max_body = 0;
  uint64_t min_free = 0;
  std::string webhook_secret;  // from --webhook-secret-file; empty: unsigned
  std::chrono::nanoseconds alert_delay{};
  std::chrono::nanoseconds alert_max_wait{};
  std::unique_ptr<Stores> store;
  // Reports built and written at once, by the report route and the alert scheduler.
  std::unique_ptr<ReportSlots> report_slots;
  std::unique_ptr<RunAlertScheduler> alerts;
  std::unique_ptr<CollectorApi> api;
  std::unique_ptr<HttpServer> server;

  // Pruner thread; stop_ and the condition variable wake it for shutdown.
  std::thread pruner;
  std::mutex pruner_mu;
  std::condition_variable pruner_cv;
  bool pruner_stop = false;  // guarded by pruner_mu
};

Status LoadConfig(Collector& c) {
  if (c.flags.config.empty()) return Status::Ok();
  auto config = LoadAttributionConfig(c.flags.config);
  if (!config.ok()) return config.status().WithContext("--config");
  c.config = std::move(config.value());
  spdlog::info("config: loaded {}", c.flags.config);
  return Status::Ok();
}

Status ValidateFlags(Collector& c) {
  if (c.flags.db.empty()) return Status::InvalidArgument("--db is required");
  if (c.flags.retention.empty()) {
    c.retention = std::chrono::nanoseconds(
        static_cast<int64_t>(c.config.retention.samples_days * 86400.0 * 1e9));
  } else {
    auto r = flags::ParseDuration(c.flags.retention);
    if (!r.ok()) return r.status().WithContext("--retention");
    c.retention = *r;
  }
  c.results_retention = std::chrono::nanoseconds(
      static_cast<int64_t>(c.config.retention.results_days * 86400.0 * 1e9));
  auto interval = flags::ParseDuration(c.flags.prune_interval);
  if (!interval.ok()) return interval.status().WithContext("--prune-interval");
  c.prune_interval = *interval;
  auto max_body = flags::ParseByteSize(c.flags.max_body);
  if (!max_body.ok()) return max_body.status().WithContext("--max-body");
  if (*max_body < 1024) return Status::InvalidArgument("--max-body: below 1 KiB");
  c.max_body = *max_body;
  auto min_free = flags::ParseByteSize(c.flags.min_free_space);
  if (!min_free.ok()) return min_free.status().WithContext("--min-free-space");
  c.min_free = *min_free;
  if (c.flags.threads < 1 || c.flags.threads > 256) {
    return Status::InvalidArgument("--threads: expected 1..256");
  }
  if (c.flags.report_workers < 1 || c.flags.report_workers > c.flags.threads) {
    return Status::InvalidArgument("--report-workers: expected 1..--threads");
  }
  c.report_slots = std::make_unique<ReportSlots>(c.flags.report_workers);
  if (c.flags.max_connections < 16 || c.flags.max_connections > 1000000) {
    return Status::InvalidArgument("--max-connections: expected 16..1000000");
  }
  if (c.flags.max_connections_per_address < 0 ||
      c.flags.max_connections_per_address > c.flags.max_connections) {
    return Status::InvalidArgument("--max-connections-per-address: expected 0..--max-connections");
  }
  auto listen = ParseListenAddress(c.flags.listen);
  if (!listen.ok()) return listen.status().WithContext("--listen");
  for (const auto& w : c.flags.webhooks) {
    if (w.rfind("http://", 0) != 0 && w.rfind("https://", 0) != 0) {
      return Status::InvalidArgument("--webhook '" + alerts::MaskUrl(w) +
                                     "': expected an http(s) URL");
    }
  }
  const std::string& url = c.flags.public_url;
  if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("--public-url '" + url + "': expected an http(s) URL");
  }
  auto delay = flags::ParseDuration(c.flags.alert_delay, /*allow_zero=*/true);
  if (!delay.ok()) return delay.status().WithContext("--alert-delay");
  auto max_wait = flags::ParseDuration(c.flags.alert_max_wait, /*allow_zero=*/true);
  if (!max_wait.ok()) return max_wait.status().WithContext("--alert-max-wait");
  if (*max_wait < *delay) {
    return Status::InvalidArgument("--alert-max-wait: shorter than --alert-delay");
  }
  c.alert_delay = *delay;
  c.alert_max_wait = *max_wait;
  if (!c.flags.webhook_secret_file.empty()) {
    std::ifstream in(c.flags.webhook_secret_file);
    if (!in) {
      return Status::InvalidArgument("--webhook-secret-file " + c.flags.webhook_secret_file +
                                     ": cannot be read");
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    const char* space = " \t\r\n";
    secret.erase(0, secret.find_first_not_of(space));
    secret.erase(secret.find_last_not_of(space) + 1);
    if (secret.empty()) {
      return Status::InvalidArgument("--webhook-secret-file " + c.flags.webhook_secret_file +
                                     ": empty");
    }
    if (auto key = alerts::DecodeSecret(secret); !key.ok()) {
      return key.status().WithContext("--webhook-secret-file " + c.flags.webhook_secret_file);
    }
    c.webhook_secret = std::move(secret);
  }
  return Status::Ok();
}

Status OpenStore(Collector& c) {
  auto store = OpenSqliteStores(c.flags.db);
  if (!store.ok()) return store.status().WithContext("--db " + c.flags.db);
  c.store = std::move(store.value());
  spdlog::info("store: {} open", c.flags.db);
  return Status::Ok();
}

void PruneOnce(Collector& c) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  RetentionCutoffs cutoffs;
  cutoffs.samples_before_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.retention).count();
  cutoffs.results_before_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.results_retention).count();
  for (const auto& [what, deleted] : PruneStores(*c.store, cutoffs)) {
    if (!deleted.ok()) {
      spdlog::warn("pruner: {}: {}", what, deleted.status().ToString());
    } else if (*deleted > 0) {
      spdlog::info("pruner: deleted {} rows of {} older than the retention period", *deleted, what);
    }
  }
}

Status StartPruner(Collector& c) {
  c.pruner = std::thread([&c] {
    std::unique_lock lock(c.pruner_mu);
    while (!c.pruner_stop) {
      lock.unlock();
      PruneOnce(c);
      lock.lock();
      c.pruner_cv.wait_for(lock, c.prune_interval, [&c] { return c.pruner_stop; });
    }
  });
  return Status::Ok();
}

// The failures of a judged run as the collector's failure metrics count them.
std::vector<JudgedFailure> JudgedFailuresOf(const RunReport& report) {
  std::vector<JudgedFailure> out;
  for (const FailureReport& f : report.failures) {
    out.push_back({f.job + "\n" + f.test_id, VerdictName(f.verdict),
                   f.assessment.resource ? ResourceName(*f.assessment.resource) : "", f.node});
  }
  return out;
}

// Runs are judged once their samples are in, for jostle_ci_failures_total, and with
// --webhook their alerts are sent. The callbacks reach c.api, which is built before the
// server takes uploads and reset only after the scheduler has stopped (Teardown).
Status StartAlerts(Collector& c) {
  RunAlertSchedulerOptions options;
  for (const auto& url : c.flags.webhooks) {
    options.targets.push_back({url, c.webhook_secret, alerts::PayloadFormat::kAuto});
  }
  options.config = c.config;
  options.report_slots = c.report_slots.get();
  options.public_url = c.flags.public_url;
  options.min_delay = std::chrono::duration_cast<std::chrono::milliseconds>(c.alert_delay);
  options.max_wait = std::chrono::duration_cast<std::chrono::milliseconds>(c.alert_max_wait);
  options.on_judged = [&c](const RunReport& report) {
    // The run's verdicts as of the run: stored once judged, rendered by later reads.
    if (Status s = StoreJudgement(c.store->results(), report); !s.ok()) {
      spdlog::warn("judgement of run {}: {}", report.run, s.ToString());
    }
    c.api->metrics().CountJudgedFailures(report.run, JudgedFailuresOf(report));
  };
  options.on_delivery = [&c](const alerts::DeliveryResult& d) {
    c.api->metrics().CountWebhookDelivery(d.target, d.delivered);
  };
  auto scheduler = RunAlertScheduler::Create(*c.store, std::move(options));
  if (!scheduler.ok()) return scheduler.status().WithContext("--webhook");
  c.alerts = std::move(scheduler.value());
  if (c.flags.webhooks.empty()) {
    spdlog::info("alerts: no --webhook; runs are judged for the failure metrics only");
    return Status::Ok();
  }
  spdlog::info("alerts: {} webhook(s), {}; report links {}", c.flags.webhooks.size(),
               c.webhook_secret.empty() ? "unsigned" : "signed",
               c.flags.public_url.empty() ? "off (no --public-url)" : c.flags.public_url);
  return Status::Ok();
}

Status StartServer(Collector& c) {
  ApiOptions api_options;
  api_options.token_file = c.flags.token_file;
  api_options.max_body_bytes = c.max_body;
  // A tick the pruner would delete at once is refused instead of stored.
  api_options.sample_max_age = c.retention;
  if (c.flags.db != ":memory:") api_options.db_path = c.flags.db;
  api_options.min_free_bytes = c.min_free;
  {
    RunAlertScheduler* alerts = c.alerts.get();
    api_options.on_results = [alerts](const ResultOrigin& origin, const UploadSummary&) {
      alerts->OnResults(origin.run);
    };
  }
  auto api = CollectorApi::Create(*c.store, api_options);
  if (!api.ok()) return api.status().WithContext("--token-file");
  c.api = std::move(api.value());
  AddReadRoutes(*c.api, c.config, *c.report_slots);
  if (!c.api->auth_enabled()) {
    spdlog::warn(
        "no --token-file: every request is accepted without a token; give one outside a "
        "trusted network");
  }
  HttpServerOptions server_options;
  server_options.listen = c.flags.listen;
  // Gzip bodies are inflated up to max_body; the wire size cannot be larger than that.
  server_options.max_body_bytes = c.max_body;
  server_options.workers = c.flags.threads;
  // Probes are answered on the network threads, never behind a report in the worker queue.
  server_options.inline_paths = {"/healthz", "/readyz"};
  server_options.max_connections = static_cast<size_t>(c.flags.max_connections);
  server_options.max_connections_per_address =
      static_cast<size_t>(c.flags.max_connections_per_address);
  auto server = HttpServer::Start(server_options, c.api->AsHandler());
  if (!server.ok()) return server.status().WithContext("--listen");
  c.server = std::move(server.value());
  spdlog::info("jostle-collector {} listening on {}", kVersion, c.server->address());
  return Status::Ok();
}

void Teardown(Collector& c) {
  if (c.server) {
    spdlog::info("stopping: finishing requests in flight");
    c.server->Stop();
    c.server.reset();
  }
  if (c.alerts) {
    // Deliveries already queued get a few seconds; runs not yet judged are dropped (their
    // uploads are stored; a later upload of the run judges it again).
    c.alerts->Stop(std::chrono::seconds(5));
    c.alerts.reset();
  }
  c.api.reset();  // after the scheduler, whose callbacks count into its metrics
  if (c.pruner.joinable()) {
    {
      std::lock_guard lock(c.pruner_mu);
      c.pruner_stop = true;
    }
    c.pruner_cv.notify_all();
    c.pruner.join();
  }
  if (c.store) {
    if (Status s = c.store->Checkpoint(); !s.ok()) {
      spdlog::warn("checkpoint: {}", s.ToString());
    } else {
      spdlog::info("store: checkpointed");
    }
    c.store.reset();
  }
}

int Serve(const ServeFlags& flags, sigset_t signals) {
  Collector c;
  c.flags = flags;
  logging::LogOptions log;
  log.level = flags.log_level;
  log.json = flags.log_json;
  log.name = "jostle-collector";
  if (Status s = logging::SetupLogging(log); !s.ok()) {
    spdlog::error("--log-level: {}", s.ToString());
    return 2;
  }
  const std::vector<std::pair<const char*, std::function<Status(Collector&)>>> steps = {
      {"load config", LoadConfig},   {"validate flags", ValidateFlags},
      {"open store", OpenStore},     {"start pruner", StartPruner},
      {"start alerts", StartAlerts}, {"start server", StartServer},
  };
  for (const auto& [name, step] : steps) {
    if (Status s = step(c); !s.ok()) {
      spdlog::error("{}: {}", name, s.ToString());
      Teardown(c);
      return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
    }
  }
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      Status s = c.api->ReloadTokens();
      if (s.ok()) {
        spdlog::info("SIGHUP: token file re-read");
      } else {
        spdlog::error("SIGHUP: {} (old tokens stay)", s.ToString());
      }
      continue;
    }
    spdlog::info("signal {}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  Teardown(c);
  return 0;
}

}  // namespace
}  // namespace jostle::collector

int main(int argc, char** argv) {
  using jostle::collector::ServeFlags;
  // Block the shutdown signals before any thread starts; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{
      "jostle-collector: stores node samples from jostle-agent and CI test results, "
      "and serves contention reports over HTTP."};
  app.set_version_flag("--version", std::string(jostle::kVersion));
  app.require_subcommand(1);
  ServeFlags f;
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Serve the HTTP API (POST /api/v1/samples, POST /api/v1/runs/RUN/results, "
      "GET /api/v1/runs, /api/v1/runs/RUN/report, /api/v1/tests/durations, "
      "/api/v1/tests/flaky, /api/v1/ci-metrics, /api/v1/alerts, /metrics, /healthz, /readyz) "
      "until SIGTERM/SIGINT; SIGHUP re-reads --token-file.");
  serve->add_option("--db", f.db, "SQLite database file (created and migrated if absent)")
      ->required();
  serve->add_option("--listen", f.listen, "HOST:PORT to listen on; port 0 picks a free one")
      ->capture_default_str();
  serve->add_option("--token-file", f.token_file,
                    "File of 'SCOPES TOKEN' lines (scopes: agent, ci, read; '#' comments). "
                    "Without it every request is accepted (a warning is logged)");
  serve->add_option("--webhook", f.webhooks,
                    "Alert webhook URL; repeat for several. Slack incoming-webhook URLs get a "
                    "Slack message, others the generic JSON payload");
  serve->add_option("--webhook-secret-file", f.webhook_secret_file,
                    "File holding the Standard Webhooks secret ('whsec_<base64>' or raw) that "
                    "signs every webhook delivery; without it deliveries are unsigned");
  serve->add_option("--public-url", f.public_url,
                    "Base URL of this collector as seen by webhook readers; alerts link to "
                    "<URL>/api/v1/runs/RUN/report?format=html");
  serve
      ->add_option("--alert-delay", f.alert_delay,
                   "Judge a run for alerts no sooner than this after its last upload")
      ->capture_default_str();
  serve
      ->add_option("--alert-max-wait", f.alert_max_wait,
                   "Judge a run at the latest this long after its first upload, even when "
                   "the agents' samples have not yet covered its tests")
      ->capture_default_str();
  serve->add_option("--config", f.config,
                    "JSON config: attribution thresholds, retention, alert rules "
                    "(absent keys keep documented defaults)");
  serve->add_option("--retention", f.retention,
                    "Keep samples and results this long, e.g. 14d, 36h (default: the "
                    "config's retention.samples_days, 14d)");
  serve
      ->add_option("--max-body", f.max_body,
                   "Largest request body, also after gzip decompression, e.g. 20MiB")
      ->capture_default_str();
  serve
      ->add_option("--min-free-space", f.min_free_space,
                   "/readyz answers 503 while the database's file system has less free space "
                   "than this (it also does for 30 s after a write to the store failed)")
      ->capture_default_str();
  serve
      ->add_option("--prune-interval", f.prune_interval,
                   "How often samples past the retention period are deleted")
      ->capture_default_str();
  serve
      ->add_option("--threads", f.threads,
                   "Threads running requests (reports, uploads); requests beyond these and "
                   "64 queued get 503 with Retry-After. /healthz and /readyz never wait for them")
      ->capture_default_str();
  serve
      ->add_option("--report-workers", f.report_workers,
                   "Run reports built and written at once (GET .../report and the alert "
                   "scheduler's judging); a report request beyond gets 503 with Retry-After. "
                   "Each can hold a large run in memory")
      ->capture_default_str();
  serve
      ->add_option("--max-connections", f.max_connections,
                   "Open connections at most; beyond, 503. The last eighth is kept for "
                   "clients holding fewer than two, and from three quarters on, connections "
                   "slow to send a request's headers are closed after 1 s")
      ->capture_default_str();
  serve
      ->add_option("--max-connections-per-address", f.max_connections_per_address,
                   "Open connections one client IP address may hold (behind a NAT or proxy "
                   "all its clients share one); 0: no limit")
      ->capture_default_str();
  serve->add_option("--log-level", f.log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();
  serve->add_flag("--log-json", f.log_json, "Log one JSON object per line");
  CLI11_PARSE(app, argc, argv);
  return jostle::collector::Serve(f, signals);
}
