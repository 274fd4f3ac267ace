// jostle-agent: samples this node and its pods/cgroups every --interval and sends the
// samples to the collector, a JSON-lines file and/or /metrics.
//
// Start-up is an ordered list of steps, each returning a Status: validate flags, open the
// host readers, start the pod resolver, open outputs (file, shipper, /metrics server),
// start sampling. Teardown runs whatever was started, in reverse order, on every exit
// path. SIGTERM/SIGINT: the partial batch is flushed, the shipper gets a few seconds to
// deliver (the rest goes to the spool), then the process exits 0.
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/kube/chain_pod_directory.h"
#include "agent/kube/kube_pod_directory.h"
#include "agent/kube/log_dir_pod_directory.h"
#include "agent/kube/pod_json.h"
#include "agent/metrics/prometheus.h"
#include "agent/sampler/sampler.h"
#include "agent/sampler/sampling_loop.h"
#include "agent/shipper/batch_line.h"
#include "agent/shipper/shipper.h"
#include "agent/shipper/tick_journal.h"
#include "flags/flag_values.h"
#include "http_server/http_server.h"
#include "jostle/version.h"
#include "jostle/wire.h"
#include "logging/logging.h"

namespace jostle::agent {
namespace {

struct AgentFlags {
  std::string node_name;
  std::string interval = "1s";
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string kube = "auto";
  std::string kube_token_file;
  std::string pod_labels;
  std::string pod_log_dir = "/var/log/pods";
  std::vector<std::string> cgroups;
  int cgroup_depth = 2;
  int container_cpu_every = 1;
  int max_open_files = static_cast<int>(CgroupOptions{}.max_open_files);
  std::string collector;
  std::string token_file;
  std::string spool_dir;
  std::string spool_max = "256MiB";
  int batch_ticks = 10;
  std::string listen;
  std::string output;
  bool once = false;
  std::string log_level = "info";
  bool log_json = false;
};

struct Agent;

// The agent's outputs as one sink of the sampling loop: --output and the tick journal get
// each tick's text as it is added, the shipper each batch's gzip at its end. Sampling
// thread (or main, at shutdown).
class AgentOutputs : public BatchSink {
 public:
  explicit AgentOutputs(Agent& a) : a_(a) {}
  Status Begin(const SampleBatch& head) override;
  Status Add(const Sample& sample) override;
  void End() override;

 private:
  Agent& a_;
};

// What the steps build; torn down in reverse order.
struct Agent {
  AgentFlags flags;
  HostPaths paths;
  std::chrono::nanoseconds interval{};
  std::string boot_id;
  std::unique_ptr<KubePodDirectory> kube;
  std::unique_ptr<LogDirPodDirectory> log_dir_pods;
  std::unique_ptr<ChainPodDirectory> pods;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<BatchAssembler> batches;
  std::unique_ptr<Shipper> shipper;
  // The batch being filled, on disk a tick at a time (--collector with --spool-dir), so
  // that kill -9 loses at most the tick in flight. Sampling thread only.
  std::unique_ptr<TickJournal> journal;
  std::FILE* output = nullptr;  // stdout or an appended file; owned unless stdout
  bool output_failed = false;   // a write of the current line failed
  // The batch being filled, encoded a tick at a time as text (--output) and/or gzip
  // (--collector): no tick's Sample waits for the end of its batch. Sampling thread only.
  BatchLineBuilder pending;
  Sample next;  // the sample being taken (last-but-one tick's, reused); sampling thread only
  std::unique_ptr<AgentOutputs> outputs;
  std::unique_ptr<SamplingLoop> sampling;  // ticks into `outputs` when there is one
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<TickLoop> loop;

  // Guards the fields below: written by the sampling thread, read by /metrics.
  std::mutex mu;
  // The newest sample, which /metrics shows (swapped with `next` after each tick); absent
  // before the first tick.
  Sample latest;
  bool have_latest = false;
  AgentSelfStats self;
  std::unique_ptr<PrometheusRenderer> renderer;  // made with the node name, after flags
  size_t metrics_bytes = 0;                      // size of the last /metrics body
};

std::string DefaultNodeName() {
  if (const char* env = std::getenv("NODE_NAME"); env != nullptr && *env != '\0') return env;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return "localhost";
  return host;
}

Status ValidateFlags(Agent& a) {
  auto interval = flags::ParseDuration(a.flags.interval);
  if (!interval.ok()) return interval.status().WithContext("--interval");
  if (*interval < std::chrono::milliseconds(100)) {
    return Status::InvalidArgument("--interval: at least 100ms");
  }
  a.interval = *interval;
  if (a.flags.node_name.empty()) a.flags.node_name = DefaultNodeName();
  if (a.flags.container_cpu_every < 1 || a.flags.container_cpu_every > 3600) {
    return Status::InvalidArgument("--container-cpu-every: expected 1..3600");
  }
  if (a.flags.batch_ticks < 1 || a.flags.batch_ticks > 3600) {
    return Status::InvalidArgument("--batch-ticks: expected 1..3600");
  }
  if (!a.flags.collector.empty() && a.flags.collector.rfind("http://", 0) != 0 &&
      a.flags.collector.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("--collector '" + a.flags.collector +
                                   "': expected an http(s) URL");
  }
  if (!a.flags.listen.empty()) {
    auto listen = ParseListenAddress(a.flags.listen);
    if (!listen.ok()) return listen.status().WithContext("--listen");
  }
  if (a.flags.collector.empty() && a.flags.output.empty() && a.flags.listen.empty()) {
    return Status::InvalidArgument(
        "nothing to do: give --collector URL, --output FILE|- or --listen HOST:PORT");
  }
  a.paths = HostPaths{a.flags.proc_root, a.flags.sys_root, a.flags.cgroup_root};
  a.renderer = std::make_unique<PrometheusRenderer>(a.flags.node_name);
  return Status::Ok();
}

Status StartPodResolver(Agent& a) {
  if (a.flags.kube == "off") return Status::Ok();
  std::vector<const PodDirectory*> chain;
  // auto outside a pod: no API, names from the pod log directory only.
  bool in_cluster = std::getenv("KUBERNETES_SERVICE_HOST") != nullptr;
  if (a.flags.kube != "auto" || in_cluster) {
    auto url = ResolveKubeApiUrl(a.flags.kube);
    if (!url.ok()) return url.status().WithContext("--kube");
    KubeConfig config;
    config.api_url = *url;
    config.node_name = a.flags.node_name;
    if (!a.flags.kube_token_file.empty()) config.token_file = a.flags.kube_token_file;
    config.labels = PodLabelFilter::Parse(a.flags.pod_labels);
    a.kube = std::make_unique<KubePodDirectory>(config);
    if (Status s = a.kube->Start(); !s.ok()) return s.WithContext("kubernetes client");
    chain.push_back(a.kube.get());
    spdlog::info("pods: watching {} for pods on node {}", *url, a.flags.node_name);
  }
  a.log_dir_pods = std::make_unique<LogDirPodDirectory>(a.flags.pod_log_dir);
  chain.push_back(a.log_dir_pods.get());
  a.pods = std::make_unique<ChainPodDirectory>(chain);
  return Status::Ok();
}

Status OpenSampler(Agent& a) {
  auto boot_id = ReadBootId(a.paths);
  if (!boot_id.ok()) {
    // Without a boot id batches are still unique per agent start; say so once.
    spdlog::warn("boot id: {}; batches carry an empty boot id", boot_id.status().ToString());
  } else {
    a.boot_id = *boot_id;
  }
  CgroupOptions options;
  options.extra_cgroups = a.flags.cgroups;
  options.plain_cgroup_depth = a.flags.cgroup_depth;
  options.container_cpu_every_ticks = a.flags.container_cpu_every;
  options.max_open_files = static_cast<size_t>(a.flags.max_open_files);
  auto sampler = Sampler::Open(a.paths, options, a.pods.get());
  if (!sampler.ok()) return sampler.status();
  a.sampler = std::move(sampler.value());
  a.batches = std::make_unique<BatchAssembler>(a.flags.node_name, a.boot_id, WallNowNs(),
                                               a.interval.count());
  std::string facts;
  for (const auto& [k, v] : a.sampler->HostFacts()) facts += " " + k + "=" + v;
  spdlog::info("sampling node {} every {} ms:{}", a.flags.node_name, a.interval.count() / 1'000'000,
               facts);
  return Status::Ok();
}

Status OpenOutputs(Agent& a) {
  if (a.flags.output == "-") {
    a.output = stdout;
  } else if (!a.flags.output.empty()) {
    a.output = std::fopen(a.flags.output.c_str(), "a+e");
    if (a.output == nullptr) return Status::FromErrno(errno, "--output " + a.flags.output);
    // A line cut short (the agent was killed while its batch was being written) is left
    // as it is; the next batch starts on a line of its own.
    if (std::fseek(a.output, -1, SEEK_END) == 0 && std::fgetc(a.output) != '\n') {
      a.output_failed = true;
    }
    std::fseek(a.output, 0, SEEK_END);  // from reading to writing
  }
  if (!a.flags.collector.empty()) {
    ShipperOptions options;
    options.collector_url = a.flags.collector;
    options.token_file = a.flags.token_file;
    options.spool_dir = a.flags.spool_dir;
    auto spool_max = flags::ParseByteSize(a.flags.spool_max);
    if (!spool_max.ok()) return spool_max.status().WithContext("--spool-max");
    options.spool_max_bytes = *spool_max;
    // zlib level 3: on this agent's JSON (~0.5 MB of text per tick at 100 pods) level 6
    // cost ~0.4% of a core; level 3 takes ~0.2% less for 20% more bytes (level 1: the same
    // CPU, 41% more bytes). bench/BENCHMARKS.md, jostle-agent whole process. The payload is
    // still a gzip of the same text.
    options.gzip_level = 3;
    auto shipper = Shipper::Start(options);
    if (!shipper.ok()) return shipper.status().WithContext("--collector");
    a.shipper = std::move(shipper.value());
    a.pending.set_gzip_level(options.gzip_level);
    if (!options.spool_dir.empty()) a.journal = std::make_unique<TickJournal>(options.spool_dir);
  }
  a.outputs = std::make_unique<AgentOutputs>(a);
  BatchSink* sink = a.output != nullptr || a.shipper ? a.outputs.get() : nullptr;
  a.sampling = std::make_unique<SamplingLoop>(*a.sampler, *a.batches, a.flags.batch_ticks, sink);
  return Status::Ok();
}

HttpServerResponse ServeAgentHttp(Agent& a, const HttpServerRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    return JsonError(405, "method not allowed", "the agent serves GET /metrics and /healthz");
  }
  if (req.path == "/healthz") return {200, "text/plain; charset=utf-8", {}, "ok\n", {}};
  if (req.path == "/metrics") {
    std::lock_guard lock(a.mu);
    if (!a.have_latest) return {503, "text/plain; charset=utf-8", {}, "no sample yet\n", {}};
    AgentSelfStats self = a.self;
    if (a.shipper) {
      ShipperStats shipped = a.shipper->stats();
      self.spool_bytes = shipped.spool_bytes;
      self.batches_shipped_total = shipped.batches_shipped;
      self.batches_dropped_total =
          shipped.batches_dropped_queue + shipped.batches_dropped_spool + shipped.batches_rejected;
      self.batches_unauthorized_total = shipped.batches_unauthorized;
      self.batches_recovered_total = shipped.batches_recovered;
    }
    // Rendered per scrape straight into the response body: keeping the text between
    // scrapes would save ~1 ms per extra scrape of a tick but hold ~2 MB at 100 pods, and
    // the body would still be a copy (bench/BENCHMARKS.md, /metrics rendering).
    HttpServerResponse response{200, kPrometheusContentType, {}, {}, {}};
    // Sized from the last body, the first from the number of cgroups (about 3.2 KiB each
    // at 100 pods), so that the text is not copied as it grows; untouched room costs no
    // memory (a body this large is mapped for itself).
    response.body.reserve(a.metrics_bytes > 0 ? a.metrics_bytes + 4096
                                              : 64 * 1024 + a.latest.cgroups.size() * 4096);
    a.renderer->Render(a.latest, self, response.body);
    a.metrics_bytes = response.body.size();
    return response;
  }
  return JsonError(404, "not found", "the agent serves /metrics and /healthz");
}

Status StartServer(Agent& a) {
  if (a.flags.listen.empty()) return Status::Ok();
  HttpServerOptions options;
  options.listen = a.flags.listen;
  options.io_threads = 1;
  options.workers = 1;
  options.inline_paths = {"/healthz"};
  options.max_body_bytes = 1024;
  options.max_connections = 64;
  auto server = HttpServer::Start(
      options, [&a](const HttpServerRequest& req) { return ServeAgentHttp(a, req); });
  if (!server.ok()) return server.status().WithContext("--listen");
  a.server = std::move(server.value());
  spdlog::info("serving /metrics and /healthz on {}", a.server->address());
  return Status::Ok();
}

// Appends a piece of the batch line being written to --output. After a failed write the
// rest of that line is skipped (one warning per line) and the next line starts on a line of
// its own.
void WriteOutput(Agent& a, std::string_view piece) {
  if (a.output_failed) return;
  if (std::fwrite(piece.data(), 1, piece.size(), a.output) != piece.size()) {
    a.output_failed = true;
    spdlog::warn("{}; the rest of this batch's line is skipped",
                 Status::FromErrno(errno, "--output: write failed").ToString());
  }
}

// Closes the batch being filled and hands it to every output.
void AgentOutputs::End() {
  Agent& a = a_;
  if (!a.pending.started() || a.pending.samples() == 0) return;
  if (Status s = a.pending.Finish(); !s.ok()) {
    spdlog::error("batch of {} samples dropped: {}", a.pending.samples(), s.ToString());
    return;
  }
  if (a.output != nullptr) {
    WriteOutput(a, "\n");
    if (!a.output_failed && std::fflush(a.output) != 0) {
      spdlog::warn("{}", Status::FromErrno(errno, "--output: write failed").ToString());
    }
  }
  if (a.shipper) {
    a.shipper->ShipPayload(a.pending.TakeGzip(), a.journal ? a.journal->Finish() : std::string());
  }
}

// Starts the batch that the next tick begins: its text goes to --output and to the tick
// journal as each tick is added.
Status AgentOutputs::Begin(const SampleBatch& head) {
  Agent& a = a_;
  BatchLineBuilder::TextOut text_out;
  bool to_output = a.output != nullptr;
  if (to_output && a.output_failed) {
    // The last line broke off: this one starts on a line of its own.
    a.output_failed = false;
    WriteOutput(a, "\n");
  }
  TickJournal* journal = nullptr;
  if (a.journal) {
    if (Status s = a.journal->Begin(head.seq, head.agent_start_ns); !s.ok()) {
      spdlog::warn("tick journal: {}; this batch is kept in memory only", s.ToString());
    } else {
      journal = a.journal.get();
    }
  }
  if (to_output || journal != nullptr) {
    text_out = [&a, to_output, journal](std::string_view piece) {
      if (to_output) WriteOutput(a, piece);
      if (journal != nullptr && !journal->failed()) {
        if (Status s = journal->Append(piece); !s.ok()) {
          spdlog::warn("tick journal: {}; the rest of this batch is kept in memory only",
                       s.ToString());
        }
      }
    };
  }
  return a.pending.Start(head, std::move(text_out), a.shipper != nullptr);
}

Status AgentOutputs::Add(const Sample& sample) { return a_.pending.Add(sample); }

// Takes one sample into `a.latest` (for /metrics) and into the pending batch.
void TakeSample(Agent& a) {
  const double took = a.sampling->Tick(a.next);
  std::lock_guard lock(a.mu);
  std::swap(a.next, a.latest);
  a.have_latest = true;
  a.self.samples_total++;
  a.self.sample_duration_seconds = took;
  a.self.read_errors["node"] = a.sampler->read_errors();
}

Status StartSampling(Agent& a) {
  a.loop = std::make_unique<TickLoop>(a.interval, [&a] { TakeSample(a); });
  a.loop->Start();
  return Status::Ok();
}

void Teardown(Agent& a) {
  if (a.loop) {
    a.loop->Stop();
    a.loop.reset();
  }
  if (a.sampling) a.sampling->Flush();
  if (a.server) a.server->Stop();
  if (a.shipper) {
    a.shipper->Stop(std::chrono::seconds(5));
    a.shipper.reset();
  }
  if (a.output != nullptr && a.output != stdout) std::fclose(a.output);
  a.output = nullptr;
  if (a.kube) a.kube->Stop();
}

// --once: two readings one interval apart (so rates can be derived), one batch, exit.
Status RunOnce(Agent& a) {
  TakeSample(a);
  std::this_thread::sleep_for(a.interval);
  TakeSample(a);
  a.sampling->Flush();
  return Status::Ok();
}

int Run(const AgentFlags& flags, sigset_t signals) {
  Agent a;
  a.flags = flags;
  logging::LogOptions log;
  log.level = flags.log_level;
  log.json = flags.log_json;
  log.name = "jostle-agent";
  if (Status s = logging::SetupLogging(log); !s.ok()) {
    spdlog::error("--log-level: {}", s.ToString());
    return 2;
  }
  std::vector<std::pair<const char*, std::function<Status(Agent&)>>> steps = {
      {"validate flags", ValidateFlags},
      {"start pod resolver", StartPodResolver},
      {"open host readers", OpenSampler},
      {"open outputs", OpenOutputs},
  };
  if (flags.once) {
    steps.emplace_back("sample once", RunOnce);
  } else {
    steps.emplace_back("start /metrics server", StartServer);
    steps.emplace_back("start sampling", StartSampling);
  }
  for (const auto& [name, step] : steps) {
    if (Status s = step(a); !s.ok()) {
      spdlog::error("{}: {}", name, s.ToString());
      Teardown(a);
      return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
    }
  }
  if (!flags.once) {
    int sig = 0;
    while (sigwait(&signals, &sig) != 0) {
    }
    spdlog::info("signal {}: flushing and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  Teardown(a);
  return 0;
}

}  // namespace
}  // namespace jostle::agent

int main(int argc, char** argv) {
  using jostle::agent::AgentFlags;
#ifdef __GLIBC__
  // One malloc arena for the agent's few threads: with one per thread, memory the /metrics
  // thread freed stays resident in its arena while the sampling thread grows another
  // (peak RSS 16.5 -> 14.7 MiB at 100 pods, same CPU; bench/BENCHMARKS.md).
  mallopt(M_ARENA_MAX, 1);
#endif
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{
      "jostle-agent: samples CPU, memory, I/O pressure and network of this node and of every "
      "pod/cgroup on it, for jostle-collector, a JSON-lines file or Prometheus."};
  app.set_version_flag("--version", std::string(jostle::kVersion));
  AgentFlags f;
  app.add_option("--node-name", f.node_name,
                 "Node name on samples (default $NODE_NAME, else "
                 "the hostname)");
  app.add_option("--interval", f.interval, "Sampling interval, e.g. 1s, 500ms")
      ->capture_default_str();
  app.add_option("--proc-root", f.proc_root, "The host's procfs (in a pod: a hostPath mount)")
      ->capture_default_str();
  app.add_option("--sys-root", f.sys_root, "The host's sysfs")->capture_default_str();
  app.add_option("--cgroup-root", f.cgroup_root,
                 "The host's cgroup mount: the v2 root, or the parent of the v1 controller "
                 "mounts (hybrid hosts: with unified/ inside)")
      ->capture_default_str();
  app.add_option("--kube", f.kube,
                 "Pod names from the Kubernetes API: auto (in-cluster when "
                 "KUBERNETES_SERVICE_HOST is set), off, or an API server URL")
      ->capture_default_str();
  app.add_option("--kube-token-file", f.kube_token_file,
                 "Bearer token file for --kube URL (default: the service-account token)");
  app.add_option("--pod-labels", f.pod_labels,
                 "Comma-separated pod label keys to carry on samples; * for all");
  app.add_option("--pod-log-dir", f.pod_log_dir,
                 "Where <namespace>_<pod>_<uid> directories name pods when the API is "
                 "unreachable")
      ->capture_default_str();
  app.add_option("--cgroup", f.cgroups,
                 "Also sample this cgroup (repeatable): /abs/path from the hierarchy root, "
                 "or rel/path below this process's own cgroup");
  app.add_option("--cgroup-depth", f.cgroup_depth,
                 "Levels below the root where every other cgroup (services, docker scopes) "
                 "is found; up to 64 more below that, shallowest first; 0 for none")
      ->capture_default_str();
  app.add_option("--container-cpu-every", f.container_cpu_every,
                 "Read containers' CPU every N ticks, carried in between (pods' and other "
                 "cgroups' CPU is read every tick whatever N). Default 1: every tick. Above 1, "
                 "an idle container's CPU counters move in steps every N ticks, a busy one's "
                 "(its CPU moved at its last read) stay per tick; a tick reads fewer files "
                 "(about 45% fewer at 5 idle containers per pod)")
      ->capture_default_str();
  app.add_option("--max-open-files", f.max_open_files,
                 "Cgroup files kept open between reads (re-read with pread, ~4x cheaper "
                 "than opening them each time); the rest are opened when due. Files read "
                 "every tick come first, files read every few ticks may take 3/4 of it. "
                 "Each kept cgroupfs file holds ~5.5 KiB of kernel memory charged to the "
                 "agent's cgroup (100 pods x 5 containers keep ~3250 files at the default: "
                 "~17 MiB; 1200 keeps the every-tick files: ~6.5 MiB, for 0.1-0.2% of a core "
                 "more). 0: open every file each time")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  app.add_option("--collector", f.collector,
                 "jostle-collector base URL, e.g. "
                 "http://jostle-collector:8080");
  app.add_option("--token-file", f.token_file,
                 "File holding the collector bearer token "
                 "(re-read when it changes)");
  app.add_option("--spool-dir", f.spool_dir,
                 "Directory where batches wait while the collector is unreachable");
  app.add_option("--spool-max", f.spool_max,
                 "Spool size cap; oldest batches are dropped "
                 "first")
      ->capture_default_str();
  app.add_option("--batch-ticks", f.batch_ticks, "Samples per batch sent to outputs")
      ->capture_default_str();
  app.add_option("--listen", f.listen, "HOST:PORT serving /metrics and /healthz");
  app.add_option("--output", f.output,
                 "Append each batch as a JSON line to FILE; - for stdout. A line is "
                 "written as its batch's ticks are taken and ends with the batch");
  app.add_flag("--once", f.once, "Take two readings one interval apart, write one batch, and exit");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();
  app.add_flag("--log-json", f.log_json, "Log one JSON object per line");
  CLI11_PARSE(app, argc, argv);
  return jostle::agent::Run(f, signals);
}
