// The JSON report of one large CI run, from a SQLite file, in a fresh process.
//
//   bench_report --db bench/out/report_bench.db [--fresh] [--json OUT] [--export-dir DIR]
//
// Data (generated through Store::PutBatch / Store::PutResults on the first call and kept in
// --db; later calls reuse it): 20 nodes x 1 hour x 1 Hz, 50 pod cgroups per tick (3.6 M
// cgroup sample rows + 72 000 node rows). Each node has busy episodes in which one batch pod
// burns the CPUs. Run "bench-run" has 10 000 tests spread over the nodes and the hour,
// failing more often inside busy episodes (about 5% in all, a fifth of them passing on a
// rerun); runs "bench-hist-1" and "bench-hist-2" are earlier runs of the same tests in the
// same hour, so every failed test has history to classify.
//
// A measurement works on a copy of the generated file, <db>.work (--fresh: copied again
// before measuring, so cached history classifications start empty; a file of an older
// schema is migrated in place first, outside the timed region). Timed: open the store,
// BuildRunReport(run "bench-run"), RenderJson; each phase, the total and its CPU seconds are
// printed as `key value` lines, with the process's peak RSS.
//
// --export-dir DIR writes the data the DuckDB comparison loads (bench/report_duckdb) as CSV:
// node_samples.csv, cgroup_samples.csv (node, wall_ns, series, namespace, pod, cpu_usage_us)
// and failures.csv (the run's failed final attempts).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "collector/attribution/run_report.h"
#include "collector/report/report.h"
#include "collector/store/stores.h"

namespace jostle::collector {
namespace {

constexpr int kNodes = 20;
constexpr int kTicks = 3600;
constexpr int kPods = 50;
constexpr int kCiPods = 40;  // pods 0..39 run tests (namespace ci); 40..49 are batch jobs
constexpr int kTicksPerBatch = 10;
constexpr int kTests = 10000;
constexpr int kCpus = 8;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'790'000'000 * kSecond;
constexpr const char* kRun = "bench-run";

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// User + system CPU seconds of this process so far.
double CpuSeconds() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

std::string NodeName(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "ci-node-%02d", n);
  return buf;
}

std::string PodUid(int n, int p) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "6b1f%04d-%04d-4000-8000-00000000%04d", n, p, n * kPods + p);
  return buf;
}

std::string PodName(int n, int p) {
  return (p < kCiPods ? "runner-" : "batch-") + std::to_string(n) + "-" + std::to_string(p);
}

const char* Namespace(int p) { return p < kCiPods ? "ci" : "batch"; }

// Busy episodes of one node: [start tick, end tick) with the burning pod.
struct Episode {
  int from = 0, to = 0, pod = 0;
};

std::vector<std::vector<Episode>> Episodes() {
  std::mt19937_64 rng(7);
  std::vector<std::vector<Episode>> out(kNodes);
  for (int n = 0; n < kNodes; ++n) {
    int t = static_cast<int>(rng() % 300);
    while (t < kTicks) {
      int len = 30 + static_cast<int>(rng() % 90);
      out[n].push_back({t, std::min(kTicks, t + len), kCiPods + static_cast<int>(rng() % 10)});
      t += len + 240 + static_cast<int>(rng() % 600);
    }
  }
  return out;
}

bool Busy(const std::vector<Episode>& eps, int tick, int* pod) {
  for (const Episode& e : eps) {
    if (tick >= e.from && tick < e.to) {
      if (pod) *pod = e.pod;
      return true;
    }
  }
  return false;
}

Status Generate(const std::string& path) {
  SqliteStoreOptions options;
  options.durable_commits = false;
  auto opened = OpenSqliteStores(path, options);
  if (!opened.ok()) return opened.status();
  Stores& store = **opened;
  const auto episodes = Episodes();
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  for (int n = 0; n < kNodes; ++n) {
    // Cumulative counters of the node and of each pod.
    uint64_t busy_us = 0, total_us = 0, psi_cpu = 0, psi_mem = 0, psi_io = 0, out_segs = 0;
    uint64_t retrans = 0, rx = 0, tx = 0;
    std::vector<uint64_t> pod_cpu(kPods, 0), pod_periods(kPods, 0), pod_throttled(kPods, 0);
    std::vector<uint64_t> pod_psi(kPods, 0), pod_rx(kPods, 0);
    SampleBatch batch;
    uint64_t seq = 0;
    for (int tick = 0; tick < kTicks; ++tick) {
      int burner = -1;
      const bool busy = Busy(episodes[static_cast<size_t>(n)], tick, &burner);
      Sample s;
      s.wall_ns = kT0 + tick * kSecond;
      s.mono_ns = 5000 * kSecond + (s.wall_ns - kT0);
      double used_cores = 0;
      for (int p = 0; p < kPods; ++p) {
        double cores = p == burner ? 6.5 : (p < kCiPods ? 0.05 + 0.1 * jitter(rng) : 0.02);
        used_cores += cores;
        pod_cpu[p] += static_cast<uint64_t>(cores * 1e6);
        pod_periods[p] += 10;
        pod_throttled[p] += p == burner ? 4 : 0;
        pod_psi[p] += static_cast<uint64_t>((busy ? 0.35 : 0.01) * 1e6 * jitter(rng));
        pod_rx[p] += 20000 + static_cast<uint64_t>(jitter(rng) * 5000);
        CgroupSample c;
        c.scope = Scope::kPod;
        c.pod_uid = PodUid(n, p);
        c.id = c.pod_uid;
        c.path =
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + c.id + ".slice";
        c.namespace_name = Namespace(p);
        c.pod_name = PodName(n, p);
        c.qos = "burstable";
        c.labels = {{"app", p < kCiPods ? "gitlab-runner" : "nightly-batch"}};
        c.cpu_usage_us = pod_cpu[p];
        c.cpu_periods = pod_periods[p];
        c.cpu_throttled_periods = pod_throttled[p];
        c.cpu_throttled_us = pod_throttled[p] * 20000;
        c.cpu_limit_cores = p < kCiPods ? 2.0 : 8.0;
        c.mem_usage_bytes = (1ull << 30) + static_cast<uint64_t>(tick) * 4096;
        c.mem_working_set_bytes = (800ull << 20) + static_cast<uint64_t>(tick) * 4096;
        c.mem_limit_bytes = 4ull << 30;
        c.oom_kills = 0;
        c.psi_cpu = PsiTotals{pod_psi[p], pod_psi[p] / 2};
        c.psi_memory = PsiTotals{static_cast<uint64_t>(tick) * 10, static_cast<uint64_t>(tick)};
        c.psi_io = PsiTotals{static_cast<uint64_t>(tick) * 200, static_cast<uint64_t>(tick) * 50};
        c.net = NetCounters{"*", pod_rx[p], pod_rx[p] / 1000, 0, 0, pod_rx[p] / 2, pod_rx[p] / 2000,
                            0,   0,         std::nullopt};
        s.cgroups.push_back(std::move(c));
      }
      double busy_frac = std::min(0.99, used_cores / kCpus + 0.25 + 0.05 * jitter(rng));
      busy_us += static_cast<uint64_t>(busy_frac * kCpus * 1e6);
      total_us += static_cast<uint64_t>(kCpus * 1e6);
      psi_cpu += static_cast<uint64_t>((busy ? 0.4 : 0.02) * 1e6);
      psi_mem += 1000;
      psi_io += 20000;
      out_segs += 5000;
      retrans += 5;
      rx += 2'000'000;
      tx += 1'000'000;
      NodeSample& node = s.node;
      node.cpu_busy_us = busy_us;
      node.cpu_total_us = total_us;
      node.cpus = kCpus;
      node.mem_total_bytes = 64ull << 30;
      node.mem_available_bytes = 30ull << 30;
      node.psi_cpu = PsiTotals{psi_cpu, 0};
      node.psi_memory = PsiTotals{psi_mem, psi_mem / 2};
      node.psi_io = PsiTotals{psi_io, psi_io / 2};
      node.net = {NetCounters{"eth0", rx, rx / 1000, 0, 0, tx, tx / 1000, 0, 0, 10000}};
      node.tcp_out_segs = out_segs;
      node.tcp_retrans_segs = retrans;
      node.load1 = busy ? 9.0 : 2.0;
      node.load5 = 3.0;
      node.load15 = 2.5;
      batch.samples.push_back(std::move(s));
      if (batch.samples.size() == kTicksPerBatch || tick == kTicks - 1) {
        batch.node = NodeName(n);
        batch.boot_id = "boot-" + batch.node;
        batch.agent_start_ns = kT0 - kSecond;
        batch.seq = seq++;
        batch.agent_version = "0.1.0";
        batch.interval_ns = kSecond;
        auto put = store.samples().PutBatch(batch);
        if (!put.ok()) return put.status();
        batch = SampleBatch{};
      }
    }
    std::printf("generated %s\n", NodeName(n).c_str());
    std::fflush(stdout);
  }

  // Three runs of the same tests; "bench-run" is judged, the other two are its history.
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (const char* run : {"bench-hist-1", "bench-hist-2", kRun}) {
    // One upload per (node, ci pod): a CI job sharded over pods.
    std::vector<std::vector<TestCase>> uploads(kNodes * kCiPods);
    for (int i = 0; i < kTests; ++i) {
      int n = static_cast<int>(rng() % kNodes);
      int p = static_cast<int>(rng() % kCiPods);
      double start_s = 5 + unit(rng) * (kTicks - 20);
      double duration = 0.05 + unit(rng) * unit(rng) * 6;
      int tick = static_cast<int>(start_s);
      bool busy = Busy(episodes[static_cast<size_t>(n)], tick, nullptr);
      bool fails = unit(rng) < (busy ? 0.30 : 0.025);
      TestCase c;
      c.id = "tests/test_mod_" + std::to_string(i / 50) + ".py::test_case_" + std::to_string(i);
      c.suite = "tests";
      c.classname = "tests.test_mod_" + std::to_string(i / 50);
      c.name = "test_case_" + std::to_string(i);
      c.file = "tests/test_mod_" + std::to_string(i / 50) + ".py";
      TestAttempt a;
      a.outcome = fails ? Outcome::kFailed : Outcome::kPassed;
      a.start_ns = kT0 + static_cast<int64_t>(start_s * 1e9);
      a.duration_s = duration;
      if (fails) a.message = "AssertionError: took longer than its budget";
      c.attempts.push_back(a);
      if (fails && unit(rng) < 0.2) {
        TestAttempt retry = a;
        retry.outcome = Outcome::kPassed;
        retry.message.clear();
        retry.start_ns = *a.start_ns + static_cast<int64_t>((duration + 0.5) * 1e9);
        c.attempts.push_back(retry);
      }
      uploads[static_cast<size_t>(n * kCiPods + p)].push_back(std::move(c));
    }
    for (int n = 0; n < kNodes; ++n) {
      for (int p = 0; p < kCiPods; ++p) {
        auto& tests = uploads[static_cast<size_t>(n * kCiPods + p)];
        if (tests.empty()) continue;
        ResultOrigin origin;
        origin.run = run;
        origin.job = "pytest-" + std::to_string(n) + "-" + std::to_string(p);
        origin.pod_namespace = Namespace(p);
        origin.pod_name = PodName(n, p);
        origin.node = NodeName(n);
        origin.source = "report.xml";
        ResultSet set;
        set.format = "junit";
        set.tests = std::move(tests);
        auto put = StoreResults(store.samples(), store.results(), origin, set);
        if (!put.ok()) return put.status();
      }
    }
  }
  return store.Checkpoint();
}

// CSV for the DuckDB comparison, read back through the Store interface.
Status Export(const std::string& path, const std::string& dir) {
  auto opened = OpenSqliteStores(path);
  if (!opened.ok()) return opened.status();
  Stores& store = **opened;
  std::filesystem::create_directories(dir);
  std::ofstream node_csv(dir + "/node_samples.csv"), cg_csv(dir + "/cgroup_samples.csv");
  node_csv << "node,wall_ns,cpu_busy_us,cpu_total_us\n";
  cg_csv << "node,wall_ns,series,namespace,pod,cpu_usage_us\n";
  for (int n = 0; n < kNodes; ++n) {
    std::string node = NodeName(n);
    auto samples = store.samples().Samples(node, kT0 - 60 * kSecond, kT0 + (kTicks + 60) * kSecond);
    if (!samples.ok()) return samples.status();
    for (const Sample& s : *samples) {
      node_csv << node << ',' << s.wall_ns << ',' << s.node.cpu_busy_us.value_or(0) << ','
               << s.node.cpu_total_us.value_or(0) << '\n';
      for (const CgroupSample& c : s.cgroups) {
        if (c.scope != Scope::kPod) continue;
        cg_csv << node << ',' << s.wall_ns << ',' << c.id << ',' << c.namespace_name << ','
               << c.pod_name << ',' << c.cpu_usage_us.value_or(0) << '\n';
      }
    }
  }
  auto executions = store.results().RunExecutions(kRun);
  if (!executions.ok()) return executions.status();
  std::ofstream failures(dir + "/failures.csv");
  failures << "test_id,job,node,namespace,pod,start_ns,end_ns\n";
  for (const TestExecution& e : *executions) {
    if (!e.final_attempt || (e.outcome != Outcome::kFailed && e.outcome != Outcome::kError)) {
      continue;
    }
    int64_t end = *e.start_ns + static_cast<int64_t>(std::llround(e.duration_s * 1e9));
    failures << e.test_id << ',' << e.job << ',' << e.node << ',' << e.pod_namespace << ','
             << e.pod_name << ',' << *e.start_ns << ',' << end << '\n';
  }
  return Status::Ok();
}

int Main(int argc, char** argv) {
  std::string db = "bench/out/report_bench.db", json_out, export_dir;
  bool fresh = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--db" && i + 1 < argc) {
      db = argv[++i];
    } else if (a == "--json" && i + 1 < argc) {
      json_out = argv[++i];
    } else if (a == "--export-dir" && i + 1 < argc) {
      export_dir = argv[++i];
    } else if (a == "--fresh") {
      fresh = true;
    } else {
      std::fprintf(stderr,
                   "usage: bench_report [--db FILE] [--fresh] [--json OUT] [--export-dir DIR]\n");
      return 2;
    }
  }
  namespace fs = std::filesystem;
  if (!fs::exists(db)) {
    if (!fs::path(db).parent_path().empty()) fs::create_directories(fs::path(db).parent_path());
    std::string tmp = db + ".tmp";
    for (const char* ext : {"", "-wal", "-shm"}) fs::remove(tmp + ext);
    auto t = Clock::now();
    Status st = Generate(tmp);
    if (!st.ok()) {
      std::fprintf(stderr, "generate %s: %s\n", tmp.c_str(), st.ToString().c_str());
      return 1;
    }
    for (const char* ext : {"-wal", "-shm"}) fs::remove(tmp + ext);
    fs::rename(tmp, db);
    std::printf("generate_s %.1f\n", Since(t));
  }
  if (!export_dir.empty()) {
    auto t = Clock::now();
    Status st = Export(db, export_dir);
    if (!st.ok()) {
      std::fprintf(stderr, "export: %s\n", st.ToString().c_str());
      return 1;
    }
    std::printf("export_s %.1f\n", Since(t));
    return 0;
  }
  std::string work = db + ".work";
  if (fresh || !fs::exists(work)) {
    // A file generated by an older jostle is migrated once, in place and untimed, so the
    // timed open of each copy does not migrate it again.
    {
      auto generated = OpenSqliteStores(db);
      if (!generated.ok()) {
        std::fprintf(stderr, "open %s: %s\n", db.c_str(), generated.status().ToString().c_str());
        return 1;
      }
      Status st = (*generated)->Checkpoint();
      if (!st.ok()) {
        std::fprintf(stderr, "checkpoint %s: %s\n", db.c_str(), st.ToString().c_str());
        return 1;
      }
    }
    for (const char* ext : {"", "-wal", "-shm"}) fs::remove(work + ext);
    fs::copy_file(db, work);
  }

  const double cpu0 = CpuSeconds();
  auto t0 = Clock::now();
  auto store = OpenSqliteStores(work);
  if (!store.ok()) {
    std::fprintf(stderr, "open %s: %s\n", work.c_str(), store.status().ToString().c_str());
    return 1;
  }
  double open_s = Since(t0);
  auto t1 = Clock::now();
  auto report = BuildRunReport((*store)->samples(), (*store)->results(), kRun, AttributionConfig{});
  if (!report.ok()) {
    std::fprintf(stderr, "report: %s\n", report.status().ToString().c_str());
    return 1;
  }
  double build_s = Since(t1);
  auto t2 = Clock::now();
  std::string json = RenderJson(*report);
  double render_s = Since(t2);
  double total_s = Since(t0);
  double cpu_s = CpuSeconds() - cpu0;

  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("open_s %.3f\nbuild_s %.3f\nrender_json_s %.3f\ntotal_s %.3f\ncpu_s %.3f\n", open_s,
              build_s, render_s, total_s, cpu_s);
  std::printf("tests %d\nfailed %d\nflaky %d\njson_bytes %zu\nmax_rss_mib %.0f\n", report->tests,
              report->failed, report->flaky, json.size(),
              static_cast<double>(usage.ru_maxrss) / 1024);
  for (const auto& [verdict, count] : report->verdict_counts) {
    std::printf("verdict.%s %d\n", verdict.c_str(), count);
  }
  if (!json_out.empty()) std::ofstream(json_out) << json;
  return 0;
}

}  // namespace
}  // namespace jostle::collector

int main(int argc, char** argv) { return jostle::collector::Main(argc, argv); }
