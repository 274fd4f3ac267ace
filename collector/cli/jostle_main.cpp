// jostle: the command line for CI jobs and single machines.
//   jostle run     -- wrap a test command: sample, ingest its results, write the report
//   jostle ingest  -- store result files in a database (no server)
//   jostle report  -- render a run's report from a database
//   jostle upload  -- send result files to a jostle-collector
//   jostle pytest-plugin -- print the pytest plugin that writes exact per-test times
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "collector/api/analytics_json.h"
#include "collector/attribution/config.h"
#include "collector/attribution/judgement.h"
#include "collector/attribution/run_report.h"
#include "collector/ci/ci_environment.h"
#include "collector/ci/run_identity.h"
#include "collector/ci/test_split.h"
#include "collector/report/report.h"
#include "collector/results/parse_results.h"
#include "collector/run/pytest_plugin.h"
#include "collector/run/run_command.h"
#include "collector/store/stores.h"
#include "flags/flag_values.h"
#include "http_client/http_client.h"
#include "jostle/version.h"
#include "logging/logging.h"

namespace jostle::collector {
namespace {

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, path);
  std::stringstream body;
  body << in.rdbuf();
  return body.str();
}

// Splits "NS/NAME"; InvalidArgument otherwise.
Status SplitPod(const std::string& pod, std::string* ns, std::string* name) {
  if (pod.empty()) return Status::Ok();
  auto slash = pod.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == pod.size() ||
      pod.find('/', slash + 1) != std::string::npos) {
    return Status::InvalidArgument("--pod '" + pod + "': expected NAMESPACE/NAME");
  }
  *ns = pod.substr(0, slash);
  *name = pod.substr(slash + 1);
  return Status::Ok();
}

std::string LocalTzOffset() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  long off = tm.tm_gmtoff;
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%c%02ld:%02ld", off < 0 ? '-' : '+', std::labs(off) / 3600,
                (std::labs(off) % 3600) / 60);
  return buf;
}

// The run identity flags of upload, ingest and run; empty: not given (then the CI's
// environment fills them unless --no-ci-env).
struct IdentityFlags {
  std::string commit, branch, default_branch, on_default_branch, pr, shard, attempt, url, provider,
      exit_code;
  bool no_ci_env = false;
  bool verbose = false;
};

void AddIdentityFlags(CLI::App* cmd, IdentityFlags& f, bool with_exit) {
  cmd->add_option("--commit", f.commit, "Commit the run built (hex)");
  cmd->add_option("--branch", f.branch, "Branch the run built");
  cmd->add_option("--default-branch", f.default_branch, "The repository's default branch");
  cmd->add_option("--on-default-branch", f.on_default_branch,
                  "Whether the run is on the default branch (true|false), instead of "
                  "--default-branch");
  cmd->add_option("--pr", f.pr, "Pull / merge request number");
  cmd->add_option("--shard", f.shard, "This job's shard, I/N (1-based)");
  cmd->add_option("--attempt", f.attempt, "The CI's retry number of this job (1 = first)");
  cmd->add_option("--url", f.url, "The job's page");
  cmd->add_option("--provider", f.provider,
                  "The CI (github-actions, gitlab-ci, circleci, buildkite, jenkins, ...)");
  if (with_exit) cmd->add_option("--exit-code", f.exit_code, "The test command's exit code");
  cmd->add_flag("--no-ci-env", f.no_ci_env,
                "Do not read the run identity (and run id, job) from the CI's environment");
  cmd->add_flag("-v,--verbose", f.verbose,
                "Print the CI detected, the variables read and the run identity used");
}

// What the flags and the CI's environment say; `run` and `job` are filled from the CI when
// empty. InvalidArgument naming a bad flag.
Result<RunIdentity> ResolveIdentity(const IdentityFlags& f, std::string* run, std::string* job) {
  const std::map<std::string, std::string> given = {{"commit", f.commit},
                                                    {"branch", f.branch},
                                                    {"default_branch", f.default_branch},
                                                    {"on_default_branch", f.on_default_branch},
                                                    {"pr", f.pr},
                                                    {"shard", f.shard},
                                                    {"attempt", f.attempt},
                                                    {"url", f.url},
                                                    {"provider", f.provider},
                                                    {"exit", f.exit_code}};
  auto flags = RunIdentityFromQuery(given);
  if (!flags.ok()) return Status::InvalidArgument("--" + flags.status().message());
  CiEnvironment ci;
  if (!f.no_ci_env) ci = DetectCiEnvironment(ProcessEnvironment(), ReadTextFile);
  if (run->empty()) *run = ci.run_id;
  if (job->empty()) *job = ci.job;
  RunIdentity id = MergeRunIdentity(*flags, ci.identity);
  if (f.verbose) {
    if (ci.provider.empty()) {
      std::fprintf(stderr, "jostle: no CI recognised in the environment%s\n",
                   f.no_ci_env ? " (--no-ci-env)" : "");
    } else {
      std::fprintf(stderr, "jostle: CI %s; variables read:\n", ci.provider.c_str());
      for (const auto& [name, value] : ci.variables) {
        std::fprintf(stderr, "  %s=%s\n", name.c_str(), value.c_str());
      }
      for (const std::string& note : ci.notes) std::fprintf(stderr, "  %s\n", note.c_str());
    }
    std::fprintf(stderr, "jostle: run %s, job %s\n", run->empty() ? "(none)" : run->c_str(),
                 job->empty() ? "(none)" : job->c_str());
    for (const std::string& line : DescribeRunIdentity(id)) {
      std::fprintf(stderr, "  %s\n", line.c_str());
    }
  }
  return id;
}

// "; already stored" for a replay, "; N other files of this job" when others came before.
std::string UploadNote(const UploadSummary& summary) {
  if (summary.already_stored) return "; already stored, nothing changed";
  if (summary.other_files == 0) return "";
  return "; " + std::to_string(summary.other_files) + " other file" +
         (summary.other_files == 1 ? "" : "s") + " of this job, shard and attempt stored before";
}

struct IngestFlags {
  std::string db, run, job, pod, node, tz = "UTC";
  std::vector<std::string> files;
  IdentityFlags identity;
};

int Ingest(const IngestFlags& f) {
  ResultOrigin origin;
  origin.run = f.run;
  origin.job = f.job;
  auto identity = ResolveIdentity(f.identity, &origin.run, &origin.job);
  if (!identity.ok()) {
    spdlog::error("{}", identity.status().message());
    return 2;
  }
  origin.identity = *identity;
  if (origin.run.empty()) {
    spdlog::error("--run: required outside a recognised CI");
    return 2;
  }
  origin.node = f.node;
  if (Status s = SplitPod(f.pod, &origin.pod_namespace, &origin.pod_name); !s.ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  auto tz = ParseTzOffset(f.tz);
  if (!tz.ok()) {
    spdlog::error("--tz: {}", tz.status().message());
    return 2;
  }
  auto store = OpenSqliteStores(f.db);
  if (!store.ok()) {
    spdlog::error("--db {}: {}", f.db, store.status().ToString());
    return 1;
  }
  int rc = 0;
  for (const auto& file : f.files) {
    auto body = ReadWholeFile(file);
    if (!body.ok()) {
      spdlog::error("{}", body.status().ToString());
      rc = 1;
      continue;
    }
    ParseOptions options;
    options.source_name = std::filesystem::path(file).filename().string();
    options.default_tz_offset_s = *tz;
    auto set = ParseResults(*body, "", options);
    if (!set.ok()) {
      spdlog::error("{}: {}", file, set.status().message());
      rc = 1;
      continue;
    }
    origin.source = file;
    origin.digest = ContentDigest(*body);
    auto summary = StoreResults((*store)->samples(), (*store)->results(), origin, *set);
    if (!summary.ok()) {
      spdlog::error("{}: {}", file, summary.status().ToString());
      rc = 1;
      continue;
    }
    std::printf("%s: %d tests, %d failed (%s%s%s)%s\n", file.c_str(), summary->tests,
                summary->failed, set->format.c_str(), set->producer.empty() ? "" : ", ",
                set->producer.c_str(), UploadNote(*summary).c_str());
  }
  return rc;
}

struct ReportFlags {
  std::string db, run, format = "md", output, config, self_cgroup;
  bool rejudge = false;
};

int Report(const ReportFlags& f) {
  AttributionConfig config;
  if (!f.config.empty()) {
    auto loaded = LoadAttributionConfig(f.config);
    if (!loaded.ok()) {
      spdlog::error("--config: {}", loaded.status().ToString());
      return 2;
    }
    config = *loaded;
  }
  auto store = OpenSqliteStores(f.db);
  if (!store.ok()) {
    spdlog::error("--db {}: {}", f.db, store.status().ToString());
    return 1;
  }
  ReportOptions options;
  options.self_cgroup = f.self_cgroup;
  auto report =
      ReadRunReport((*store)->samples(), (*store)->results(), f.run, config,
                    f.rejudge ? JudgementRead::kRejudge : JudgementRead::kAsJudged, options);
  if (!report.ok()) {
    spdlog::error("run {}: {}", f.run, report.status().message());
    return 1;
  }
  std::string out = f.format == "json"   ? RenderJson(*report)
                    : f.format == "html" ? RenderHtml(*report)
                                         : RenderMarkdown(*report);
  if (f.output.empty() || f.output == "-") {
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  std::ofstream file(f.output, std::ios::binary | std::ios::trunc);
  file << out;
  file.flush();
  if (!file) {
    spdlog::error("-o {}: {}", f.output, std::strerror(errno));
    return 1;
  }
  return 0;
}

struct UploadFlags {
  std::string collector, run, job, pod, node, token_file, tz;
  std::vector<std::string> files;
  IdentityFlags identity;
};

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The collector token: --token-file's first line, else $JOSTLE_TOKEN, else none.
Result<std::string> ReadToken(const std::string& token_file) {
  if (token_file.empty()) {
    const char* env = std::getenv("JOSTLE_TOKEN");
    return std::string(env != nullptr ? env : "");
  }
  auto t = ReadWholeFile(token_file);
  if (!t.ok()) return t.status();
  std::string token = *t;
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  return token;
}

std::string BaseUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// GET `path` (with its query) from the collector at `base`; the body of a 200 answer.
Result<std::string> CollectorGet(const std::string& base, const std::string& path,
                                 const std::string& token_file) {
  auto token = ReadToken(token_file);
  if (!token.ok()) return token.status().WithContext("--token-file");
  http::HttpClient client;
  http::HttpRequest req;
  req.method = "GET";
  req.url = BaseUrl(base) + path;
  req.bearer_token = *token;
  auto resp = client.Send(req);
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) {
    return Status::Unavailable("collector answered " + std::to_string(resp->status) + ": " +
                               resp->body);
  }
  return resp->body;
}

int Upload(const UploadFlags& f) {
  std::string run = f.run, job = f.job;
  auto identity = ResolveIdentity(f.identity, &run, &job);
  if (!identity.ok()) {
    spdlog::error("{}", identity.status().message());
    return 2;
  }
  if (run.empty()) {
    spdlog::error("--run: required outside a recognised CI");
    return 2;
  }
  auto token = ReadToken(f.token_file);
  if (!token.ok()) {
    spdlog::error("--token-file: {}", token.status().ToString());
    return 2;
  }
  const std::string base = BaseUrl(f.collector);
  std::string query = "?tz=" + UrlEncode(f.tz.empty() ? LocalTzOffset() : f.tz);
  if (!job.empty()) query += "&job=" + UrlEncode(job);
  for (const auto& [name, value] : RunIdentityQuery(*identity)) {
    query += "&" + name + "=" + UrlEncode(value);
  }
  if (!f.pod.empty()) query += "&pod=" + UrlEncode(f.pod);
  if (!f.node.empty()) query += "&node=" + UrlEncode(f.node);
  http::HttpClient client;
  int rc = 0;
  for (const auto& file : f.files) {
    auto body = ReadWholeFile(file);
    if (!body.ok()) {
      spdlog::error("{}", body.status().ToString());
      rc = 1;
      continue;
    }
    http::HttpRequest req;
    req.method = "POST";
    req.url = base + "/api/v1/runs/" + UrlEncode(run) + "/results" + query;
    req.body = std::move(body).value();
    req.bearer_token = *token;
    auto resp = client.Send(req);
    if (!resp.ok()) {
      spdlog::error("{}: {}", file, resp.status().message());
      rc = 1;
      continue;
    }
    if (resp->status != 200) {
      spdlog::error("{}: collector answered {}: {}", file, resp->status, resp->body);
      rc = 1;
      continue;
    }
    std::printf("%s: %s\n", file.c_str(), resp->body.c_str());
  }
  return rc;
}

// Where `stats` and `split` read history: a collector's API, or a database file.
struct HistorySourceFlags {
  std::string collector, token_file, db;
};

Status CheckHistorySource(const HistorySourceFlags& f) {
  if (f.collector.empty() == f.db.empty()) {
    return Status::InvalidArgument("give one of --collector URL or --db PATH");
  }
  return Status::Ok();
}

struct StatsFlags {
  HistorySourceFlags source;
  std::string since = "14d", branch, job, bucket = "day";
  int limit = 100;
};

int Stats(const StatsFlags& f) {
  if (Status s = CheckHistorySource(f.source); !s.ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  if (!f.source.collector.empty()) {
    std::string query = "?since=" + UrlEncode(f.since) + "&bucket=" + UrlEncode(f.bucket) +
                        "&limit=" + std::to_string(f.limit);
    if (!f.branch.empty()) query += "&branch=" + UrlEncode(f.branch);
    if (!f.job.empty()) query += "&job=" + UrlEncode(f.job);
    auto body = CollectorGet(f.source.collector, "/api/v1/ci-metrics" + query, f.source.token_file);
    if (!body.ok()) {
      spdlog::error("{}", body.status().message());
      return 1;
    }
    std::printf("%s\n", body->c_str());
    return 0;
  }
  MetricsFilter filter;
  auto since = flags::ParseDuration(f.since);
  if (!since.ok()) {
    spdlog::error("--since: {}", since.status().message());
    return 2;
  }
  filter.since_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch() - *since)
                        .count();
  filter.branch = f.branch;
  filter.job = f.job;
  filter.limit = f.limit;
  filter.bucket = f.bucket == "week" ? MetricsFilter::Bucket::kWeek : MetricsFilter::Bucket::kDay;
  auto store = OpenSqliteStores(f.source.db);
  if (!store.ok()) {
    spdlog::error("--db {}: {}", f.source.db, store.status().ToString());
    return 1;
  }
  auto metrics = (*store)->analytics().GetCiMetrics(filter);
  if (!metrics.ok()) {
    spdlog::error("{}", metrics.status().ToString());
    return 1;
  }
  std::printf("%s\n", CiMetricsJson(*metrics, filter)
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                          .c_str());
  return 0;
}

struct SplitFlags {
  HistorySourceFlags source;
  int total = 0, index = 0;
  std::string by = "test", branch, job, since;
  bool order = false;
  std::vector<std::string> items;
};

// test id -> seconds, from the collector's /api/v1/tests/durations or the database.
Result<std::map<std::string, double>> ReadDurations(const SplitFlags& f) {
  if (!f.source.collector.empty()) {
    std::string query = "?per_test=10";
    if (!f.branch.empty()) query += "&branch=" + UrlEncode(f.branch);
    if (!f.job.empty()) query += "&job=" + UrlEncode(f.job);
    if (!f.since.empty()) query += "&since=" + UrlEncode(f.since);
    auto body =
        CollectorGet(f.source.collector, "/api/v1/tests/durations" + query, f.source.token_file);
    if (!body.ok()) return body.status();
    auto j = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return Status::InvalidArgument("collector: durations are not an object");
    std::map<std::string, double> out;
    for (const auto& [test, seconds] : j.items()) {
      if (seconds.is_number()) out[test] = seconds.get<double>();
    }
    return out;
  }
  DurationsFilter filter;
  filter.branch = f.branch;
  filter.job = f.job;
  if (!f.since.empty()) {
    auto since = flags::ParseDuration(f.since);
    if (!since.ok()) return since.status().WithContext("--since");
    filter.since_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch() - *since)
                          .count();
  }
  auto store = OpenSqliteStores(f.source.db);
  if (!store.ok()) return store.status().WithContext("--db " + f.source.db);
  return (*store)->analytics().TestDurations(filter);
}

int Split(const SplitFlags& f) {
  if (Status s = CheckHistorySource(f.source); !s.ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  if (f.index < 1 || f.index > f.total) {
    spdlog::error("--index {}: expected 1..{} (--total)", f.index, f.total);
    return 2;
  }
  std::vector<std::string> items = f.items;
  if (items.empty()) {  // one per line on stdin
    for (std::string line; std::getline(std::cin, line);) {
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
        line.pop_back();
      if (!line.empty()) items.push_back(line);
    }
  }
  auto durations = ReadDurations(f);
  if (!durations.ok()) {
    spdlog::error("{}", durations.status().message());
    return 1;
  }
  const SplitBy by = f.by == "file"        ? SplitBy::kFile
                     : f.by == "classname" ? SplitBy::kClassname
                                           : SplitBy::kTest;
  SplitPlan plan = PlanSplit(items, *durations, by, f.total);
  std::vector<size_t> mine = plan.shards[static_cast<size_t>(f.index - 1)];
  if (f.order) {
    std::stable_sort(mine.begin(), mine.end(),
                     [&](size_t a, size_t b) { return plan.seconds[a] > plan.seconds[b]; });
  }
  int unknown = 0;
  for (size_t k = 0; k < items.size(); ++k) unknown += plan.known[k] ? 0 : 1;
  spdlog::info(
      "split: {} items, {} without history; shard {}/{}: {} items, {:.1f} s (longest "
      "shard {:.1f} s)",
      items.size(), unknown, f.index, f.total, mine.size(),
      plan.shard_seconds[static_cast<size_t>(f.index - 1)],
      *std::max_element(plan.shard_seconds.begin(), plan.shard_seconds.end()));
  for (size_t k : mine) std::printf("%s\n", items[k].c_str());
  return 0;
}

void AddHistorySourceFlags(CLI::App* cmd, HistorySourceFlags& f) {
  cmd->add_option("--collector", f.collector, "Collector base URL (read its API)");
  cmd->add_option("--token-file", f.token_file,
                  "File holding a token with scope read (default: $JOSTLE_TOKEN)");
  cmd->add_option("--db", f.db, "SQLite database (instead of --collector)");
}

}  // namespace
}  // namespace jostle::collector

int main(int argc, char** argv) {
  using namespace jostle::collector;
  CLI::App app{"jostle: was it the machine? Contention reports for CI test failures."};
  app.set_version_flag("--version", std::string(jostle::kVersion));
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();

  RunOptions run;
  CLI::App* run_cmd = app.add_subcommand(
      "run",
      "Run CMD, sampling this machine and its cgroups meanwhile; then ingest the result "
      "files CMD wrote and write report.html, report.md and report.json. Exits with CMD's "
      "exit code.");
  run_cmd->add_option("--results", run.result_globs,
                      "Result files to ingest (glob, repeatable; '*' matches '/' too). "
                      "Default: JUnit XML and pytest report-logs written during the run");
  run_cmd->add_option("--report-dir", run.report_dir, "Where the reports go")
      ->capture_default_str();
  run_cmd->add_option("--db", run.db,
                      "SQLite database; keep it between runs for history "
                      "(default: REPORT_DIR/jostle.db)");
  run_cmd->add_option("--run-id", run.run_id,
                      "Run id (default: the CI's run id, else run-<UTC time>-<pid>)");
  run_cmd->add_option("--job", run.job, "CI job name recorded with the results");
  run_cmd->add_option("--config", run.config, "JSON config: thresholds and alert rules");
  run_cmd->add_option("--webhook", run.webhooks, "Alert webhook URL (repeatable)");
  run_cmd->add_option("--webhook-secret", run.webhook_secret,
                      "Signs webhook deliveries (Standard Webhooks); whsec_<base64> or raw");
  run_cmd->add_option("--interval", run.interval, "Sampling interval")->capture_default_str();
  run_cmd->add_option("--cgroup", run.cgroups,
                      "Also sample this cgroup (repeatable), as jostle-agent --cgroup");
  run_cmd->add_option("--node-name", run.node_name, "Node name (default: the hostname)");
  run_cmd->add_option("--proc-root", run.proc_root)->capture_default_str();
  run_cmd->add_option("--sys-root", run.sys_root)->capture_default_str();
  run_cmd->add_option("--cgroup-root", run.cgroup_root)->capture_default_str();
  run_cmd
      ->add_option("--mode", run.mode,
                   "How CMD's own use is told apart: auto, v1/hybrid-root, v2-root, "
                   "v2-systemd-scope, v2-delegated or process-tree (README: jostle run)")
      ->capture_default_str();
  bool quiet = false;
  run_cmd->add_flag("--quiet", quiet, "No status line on stderr while CMD runs");
  bool print_mode = false;
  run_cmd->add_flag("--print-mode", print_mode,
                    "Print the run mode this machine allows (and what it cannot see); run nothing");
  bool no_pytest_plugin = false;
  run_cmd->add_flag("--no-pytest-plugin", no_pytest_plugin,
                    "Do not load jostle's pytest plugin (exact per-test times) into the "
                    "pytest sessions CMD starts; their JUnit XML is read instead");
  IdentityFlags run_identity;
  AddIdentityFlags(run_cmd, run_identity, /*with_exit=*/false);
  run_cmd->footer("Usage: jostle run [OPTIONS] -- CMD [ARGS...]");

  IngestFlags ingest;
  CLI::App* ingest_cmd = app.add_subcommand("ingest",
                                            "Store result files (JUnit XML, pytest report-log, "
                                            "jostle JSON) in a database");
  ingest_cmd->add_option("--db", ingest.db, "SQLite database")->required();
  ingest_cmd->add_option("--run", ingest.run, "Run id (default: the CI's run id)");
  ingest_cmd->add_option("--job", ingest.job, "CI job name");
  ingest_cmd->add_option("--pod", ingest.pod, "The pod the tests ran in, NAMESPACE/NAME");
  ingest_cmd->add_option("--node", ingest.node, "The node the tests ran on");
  ingest_cmd->add_option("--tz", ingest.tz, "Offset of timestamps written without one")
      ->capture_default_str();
  ingest_cmd->add_option("files", ingest.files, "Result files")->required();
  AddIdentityFlags(ingest_cmd, ingest.identity, /*with_exit=*/true);

  StatsFlags stats;
  CLI::App* stats_cmd = app.add_subcommand(
      "stats",
      "Print the CI analytics (GET /api/v1/ci-metrics) as JSON, from a collector or a "
      "database");
  AddHistorySourceFlags(stats_cmd, stats.source);
  stats_cmd->add_option("--since", stats.since, "Runs started at most this long ago (7d, 2w)")
      ->capture_default_str();
  stats_cmd->add_option("--branch", stats.branch, "Only runs of this branch");
  stats_cmd->add_option("--job", stats.job, "Only this job's tests and jobs");
  stats_cmd->add_option("--bucket", stats.bucket, "day or week")
      ->check(CLI::IsMember({"day", "week"}))
      ->capture_default_str();
  stats_cmd->add_option("--limit", stats.limit, "Tests listed per table (1..1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();

  SplitFlags split;
  CLI::App* split_cmd = app.add_subcommand(
      "split",
      "Print this shard's share of ITEMS (arguments, else stdin one per line), balanced by "
      "historical timings: longest first, items without history count as the mean");
  split_cmd->add_option("--total", split.total, "Number of shards")
      ->required()
      ->check(CLI::Range(1, 10000));
  split_cmd->add_option("--index", split.index, "This shard, 1..--total")->required();
  split_cmd->add_option("--by", split.by, "What an item is: file, classname or test")
      ->check(CLI::IsMember({"file", "classname", "test"}))
      ->capture_default_str();
  AddHistorySourceFlags(split_cmd, split.source);
  split_cmd->add_option("--branch", split.branch, "Timings of this branch's runs only");
  split_cmd->add_option("--job", split.job, "Timings of this job only");
  split_cmd->add_option("--since", split.since, "Timings at most this old (e.g. 14d)");
  split_cmd->add_flag("--order", split.order, "Print the items slowest first");
  split_cmd->add_option("items", split.items, "Items (default: stdin, one per line)");

  ReportFlags report;
  CLI::App* report_cmd = app.add_subcommand("report", "Render a run's contention report");
  report_cmd->add_option("--db", report.db, "SQLite database")->required();
  report_cmd->add_option("--run", report.run, "Run id")->required();
  report_cmd->add_option("--format", report.format, "json, md or html")
      ->check(CLI::IsMember({"json", "md", "html"}))
      ->capture_default_str();
  report_cmd->add_option("-o,--output", report.output, "Output file (default: stdout)");
  report_cmd->add_option("--config", report.config, "JSON config: thresholds");
  report_cmd->add_flag("--rejudge", report.rejudge,
                       "Judge the failures again with today's history (the report says so; the "
                       "verdicts stored with the run stay)");
  report_cmd->add_option("--self-cgroup", report.self_cgroup,
                         "The cgroup the tests ran in, never their own culprit");

  UploadFlags upload;
  CLI::App* upload_cmd = app.add_subcommand("upload", "Send result files to a jostle-collector");
  upload_cmd->add_option("--collector", upload.collector, "Collector base URL")->required();
  upload_cmd->add_option("--run", upload.run, "Run id (default: the CI's run id)");
  upload_cmd->add_option("--job", upload.job, "CI job name");
  upload_cmd->add_option("--pod", upload.pod, "The pod the tests ran in, NAMESPACE/NAME");
  upload_cmd->add_option("--node", upload.node, "The node the tests ran on");
  upload_cmd->add_option("--token-file", upload.token_file,
                         "File holding a 'ci' token (default: $JOSTLE_TOKEN)");
  upload_cmd->add_option("--tz", upload.tz,
                         "Offset of timestamps written without one (default: this machine's)");
  upload_cmd->add_option("files", upload.files, "Result files")->required();
  AddIdentityFlags(upload_cmd, upload.identity, /*with_exit=*/true);

  CLI::App* plugin_cmd = app.add_subcommand(
      "pytest-plugin",
      "Print jostle's pytest plugin (a report-log with exact per-test times), for CI jobs "
      "that upload to a collector: jostle pytest-plugin > jostle_pytest.py; "
      "PYTHONPATH=. pytest -p jostle_pytest --jostle-report-log=report-log.jsonl");

  // Everything after the first "--" is the command of `jostle run`, untouched by CLI11.
  int jostle_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      jostle_argc = i;
      run.command.assign(argv + i + 1, argv + argc);
      break;
    }
  }
  CLI11_PARSE(app, jostle_argc, argv);
  jostle::logging::LogOptions log;
  log.level = log_level;
  if (auto s = jostle::logging::SetupLogging(log); !s.ok()) {
    spdlog::error("--log-level: {}", s.message());
    return 2;
  }
  if (run_cmd->parsed()) {
    if (print_mode) return PrintRunMode(run);
    if (run.command.empty()) {
      std::fprintf(stderr, "jostle run: no command (usage: jostle run [OPTIONS] -- CMD...)\n");
      return 2;
    }
    run.progress = !quiet;
    run.pytest_plugin = !no_pytest_plugin;
    std::string ci_run;
    auto identity = ResolveIdentity(run_identity, &ci_run, &run.job);
    if (!identity.ok()) {
      spdlog::error("{}", identity.status().message());
      return 2;
    }
    run.identity = *identity;
    if (run.run_id.empty() && !ci_run.empty()) run.run_id = ci_run;
    return RunCommand(run);
  }
  if (plugin_cmd->parsed()) {
    std::string_view source = PytestPluginSource();
    std::fwrite(source.data(), 1, source.size(), stdout);
    return 0;
  }
  if (ingest_cmd->parsed()) return Ingest(ingest);
  if (report_cmd->parsed()) return Report(report);
  if (stats_cmd->parsed()) return Stats(stats);
  if (split_cmd->parsed()) return Split(split);
  return Upload(upload);
}
