#include "collector/run/run_command.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "agent/sampler/sampler.h"
#include "agent/sampler/sampling_loop.h"
#include "collector/alerts/run_alerts.h"
#include "collector/attribution/config.h"
#include "collector/attribution/run_report.h"
#include "collector/report/report.h"
#include "collector/results/parse_results.h"
#include "collector/run/ancestor_cgroups.h"
#include "collector/run/command_isolation.h"
#include "collector/run/pytest_plugin.h"
#include "collector/run/systemd_scope.h"
#include "collector/store/stores.h"
#include "flags/flag_values.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

// The command's pid, for the signal handler (which can only see globals).
std::atomic<pid_t> g_child{0};
// A forwarded signal that arrived before the command started (0: none).
std::atomic<int> g_early_signal{0};

void ForwardSignal(int sig, siginfo_t* info, void*) {
  pid_t child = g_child.load();
  if (child <= 0) {
    // Before CMD exists: remember it, and CMD is not started.
    g_early_signal.store(sig);
    return;
  }
  // A terminal's Ctrl-C already reached the whole foreground group, CMD included; forward
  // only signals sent to jostle itself (kill, a CI runner cancelling the job).
  if (info != nullptr && info->si_code == SI_KERNEL) return;
  ::kill(child, sig);
}

constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return "localhost";
  return host;
}

std::string DefaultRunId() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "run-%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf) + "-" + std::to_string(::getpid());
}

int LocalUtcOffsetSeconds() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  return static_cast<int>(tm.tm_gmtoff);
}

// The first bytes of a file ("" when unreadable).
std::string Head(const fs::path& p, size_t bytes) {
  std::ifstream in(p, std::ios::binary);
  std::string head(bytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(bytes));
  head.resize(static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
  return head;
}

// Whether `p` is a JUnit XML file or a pytest report-log, by extension and content.
bool LooksLikeResultFile(const fs::path& p) {
  std::string ext = p.extension().string();
  if (ext == ".xml") {
    // The root element comes after an optional XML declaration, comments and whitespace.
    std::string head = Head(p, 4096);
    size_t pos = 0;
    while ((pos = head.find('<', pos)) != std::string::npos) {
      if (head.compare(pos, 2, "<?") == 0 || head.compare(pos, 2, "<!") == 0) {
        size_t end =
            head.compare(pos, 4, "<!--") == 0 ? head.find("-->", pos) : head.find('>', pos);
        if (end == std::string::npos) return false;
        pos = end + 1;
        continue;
      }
      return head.compare(pos, 10, "<testsuite") == 0;  // also <testsuites
    }
    return false;
  }
  if (ext == ".json" || ext == ".jsonl" || ext == ".log") {
    std::string head = Head(p, 4096);
    std::string first = head.substr(0, head.find('\n'));
    return first.find("\"$report_type\"") != std::string::npos ||  // pytest report-log
           (first.find("\"Action\"") != std::string::npos &&       // go test -json
            first.find("\"Time\"") != std::string::npos);
  }
  return false;
}

// "pkg/test_mod.py::TestX::test_y" (report-log) and "pkg.test_mod.TestX" + "test_y" (JUnit
// classname + name) both become "pkg.test_mod.TestX.test_y".
std::string ModuleKey(const TestCase& t, bool reportlog) {
  std::string key = reportlog ? t.id : t.classname + "." + t.name;
  if (reportlog) {
    size_t py = key.find(".py::");
    if (py != std::string::npos) key.replace(py, 5, "::");
    for (size_t at; (at = key.find("::")) != std::string::npos;) key.replace(at, 2, ".");
    std::replace(key.begin(), key.end(), '/', '.');
  }
  return key;
}

// The cgroups above the command's (this process's own and its ancestors, every hierarchy),
// sampled so that a limit on any of them is seen as the command's own.
std::vector<std::string> OwnAncestorCgroups(const std::string& cgroup_root) {
  std::ifstream in("/proc/self/cgroup");
  std::stringstream text;
  text << in.rdbuf();
  auto names = AncestorCgroupNames(text.str(), "/proc/self/cgroup");
  if (!names.ok()) {
    spdlog::warn("limits above the command's cgroup are not read: {}", names.status().ToString());
    return {};
  }
  std::vector<std::string> out = std::move(names).value();
  if (auto root = LimitedNamespaceRoot(cgroup_root)) out.push_back(*root);
  return out;
}

// Stores each batch of a run's sampling loop in the run's SampleSource when it ends.
class StoreSink final : public agent::BatchSink {
 public:
  explicit StoreSink(SampleSource& store) : store_(store) {}
  Status Begin(const SampleBatch& head) override {
    batch_ = head;
    return Status::Ok();
  }
  Status Add(const Sample& sample) override {
    batch_.samples.push_back(sample);
    return Status::Ok();
  }
  void End() override {
    auto stored = store_.PutBatch(batch_);
    if (!stored.ok()) spdlog::warn("samples not stored: {}", stored.status().ToString());
    batch_.samples.clear();
  }

 private:
  SampleSource& store_;
  SampleBatch batch_;
};

// The sampling side of a run: the agent's sampling loop, one tick per interval into the
// store, a batch every 5 ticks; `tree`'s series (the command's process tree) joins every
// sample.
class RunSampler {
 public:
  // `tree` may be null.
  RunSampler(SampleSource& store, std::unique_ptr<agent::Sampler> sampler, ProcessTree* tree,
             agent::BatchAssembler batches, std::chrono::nanoseconds interval, bool progress)
      : sampler_(std::move(sampler)),
        batches_(std::move(batches)),
        sink_(store),
        sampling_(*sampler_, batches_, 5, &sink_, ExtendWith(tree)),
        progress_(progress),
        interval_(interval),
        loop_(interval, [this] { Tick(); }) {}

  void Start() { loop_.Start(); }
  // Stops ticking and stores what is pending.
  void Stop() {
    loop_.Stop();
    sampling_.Flush();
    if (progress_) std::fputs("\r\033[K", stderr);
  }
  uint64_t ticks() const { return ticks_; }

  // Blocks until a sample stamped at or after `wall_ns` has been taken, or `give_up()` says
  // to stop waiting (checked every 50 ms). Returns whether such a sample was taken.
  template <typename GiveUp>
  bool WaitForSampleAt(int64_t wall_ns, GiveUp give_up) {
    std::unique_lock<std::mutex> lock(mu_);
    while (last_sample_ns_ < wall_ns) {
      if (give_up()) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    return true;
  }
  int64_t first_sample_ns() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_sample_ns_;
  }

 private:
  static agent::SamplingLoop::Extend ExtendWith(ProcessTree* tree) {
    if (tree == nullptr) return {};
    return [tree](Sample& s) {
      if (auto own = tree->Tick(s.wall_ns)) s.cgroups.push_back(std::move(*own));
    };
  }

  void Tick() {
    Sample s;  // fresh: the process tree's series is not the sampler's to reuse
    sampling_.Tick(s);
    if (progress_) ShowProgress(s);
    ticks_++;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (first_sample_ns_ == 0) first_sample_ns_ = s.wall_ns;
      last_sample_ns_ = s.wall_ns;
    }
    cv_.notify_all();
  }

  void ShowProgress(const Sample& s) {
    auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(interval_ * ticks_.load());
    std::string line = "jostle: sampling, " + std::to_string(elapsed.count()) + " s";
    if (last_ && s.node.cpu_busy_us && s.node.cpu_total_us && last_->node.cpu_busy_us &&
        last_->node.cpu_total_us && *s.node.cpu_total_us > *last_->node.cpu_total_us) {
      double busy = static_cast<double>(*s.node.cpu_busy_us - *last_->node.cpu_busy_us) /
                    static_cast<double>(*s.node.cpu_total_us - *last_->node.cpu_total_us);
      line += ", node CPU " + std::to_string(static_cast<int>(std::lround(busy * 100))) + "%";
    }
    if (s.node.mem_total_bytes && s.node.mem_available_bytes && *s.node.mem_total_bytes > 0) {
      double used = 1.0 - static_cast<double>(*s.node.mem_available_bytes) /
                              static_cast<double>(*s.node.mem_total_bytes);
      line += ", memory " + std::to_string(static_cast<int>(std::lround(used * 100))) + "%";
    }
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    last_ = s;
  }

  std::unique_ptr<agent::Sampler> sampler_;
  agent::BatchAssembler batches_;
  StoreSink sink_;
  agent::SamplingLoop sampling_;  // sampling thread only, after the loop has started
  bool progress_;
  std::chrono::nanoseconds interval_;
  std::optional<Sample> last_;  // sampling thread only
  std::atomic<uint64_t> ticks_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t first_sample_ns_ = 0;  // guarded by mu_; wall clock of the first sample
  int64_t last_sample_ns_ = 0;   // guarded by mu_; wall clock of the latest sample
  agent::TickLoop loop_;         // last: stopped before the members it uses go away
};

// How CMD ended, or why it never ran.
struct ChildExit {
  int code = 0;       // CMD's exit code, 128+N for signal N, 126/127 when exec failed
  std::string error;  // why CMD did not run; empty when it ran
};

// Starts CMD with environment `env`, hands its pid to `isolation` (its cgroup or process
// tree) before it execs, and waits for it. The forwarded
// signals are blocked around fork, so one that arrives meanwhile is forwarded once g_child is set;
// the child restores their default action before exec.
Result<ChildExit> RunChild(const std::vector<std::string>& command, CommandIsolation& isolation,
                           const std::vector<std::string>& env) {
  // Built before fork: the child only execs.
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  int exec_error[2];
  if (::pipe2(exec_error, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(gate[0]);
    ::close(gate[1]);
    return Status::FromErrno(err, "pipe");
  }
  sigset_t forwarded, previous;
  sigemptyset(&forwarded);
  for (int sig : kForwardedSignals) sigaddset(&forwarded, sig);
  ::sigprocmask(SIG_BLOCK, &forwarded, &previous);
  if (int early = g_early_signal.load(); early != 0) {
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    for (int fd : {gate[0], gate[1], exec_error[0], exec_error[1]}) ::close(fd);
    return ChildExit{128 + early, std::string("signal ") + strsignal(early) +
                                      " arrived before the command started; not started"};
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    return Status::FromErrno(err, "fork");
  }
  if (pid == 0) {
    // Child: default signal actions, wait until the parent has moved us into the cgroup,
    // then exec with nothing blocked.
    for (int sig : kForwardedSignals) ::signal(sig, SIG_DFL);
    ::close(gate[1]);
    ::close(exec_error[0]);
    char go;
    while (::read(gate[0], &go, 1) < 0 && errno == EINTR) {
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv;
    for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvpe(argv[0], argv.data(), envp.data());
    int err = errno;
    (void)!::write(exec_error[1], &err, sizeof(err));
    ::_exit(err == ENOENT ? 127 : 126);
  }
  g_child.store(pid);
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
  ::close(gate[0]);
  ::close(exec_error[1]);
  isolation.Started(pid);
  ::close(gate[1]);  // releases the child
  int err = 0;
  ssize_t n;
  while ((n = ::read(exec_error[0], &err, sizeof(err))) < 0 && errno == EINTR) {
  }
  ::close(exec_error[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      int wait_err = errno;
      g_child.store(0);
      return Status::FromErrno(wait_err, "waitpid");
    }
  }
  g_child.store(0);
  if (n == static_cast<ssize_t>(sizeof(err))) {
    return ChildExit{err == ENOENT ? 127 : 126,
                     "cannot run '" + command[0] + "': " + std::strerror(err)};
  }
  if (WIFSIGNALED(status)) return ChildExit{128 + WTERMSIG(status), ""};
  return ChildExit{WEXITSTATUS(status), ""};
}

struct Ingested {
  int files = 0;
  int tests = 0;
  int failed = 0;
};

// Stores the results of `files`. The first `plugin_logs` of them are the bundled pytest
// plugin's report-logs: another report-log of the same tests (pytest-reportlog's, written by
// the same session) is not stored twice, nor is pytest's JUnit of them.
Ingested IngestResults(Stores& store, const std::vector<std::string>& files, size_t plugin_logs,
                       const ResultOrigin& base, int tz_offset_s) {
  std::vector<std::string> parsed_files;
  std::set<std::string> plugin_tests;  // test ids in the plugin's report-logs
  std::vector<bool> set_from_plugin;   // per parsed set
  std::vector<std::string> digests;    // per parsed set: its file's ContentDigest
  std::vector<ResultSet> sets;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    ParseOptions options;
    options.source_name = fs::path(file).filename().string();
    options.default_tz_offset_s = tz_offset_s;
    auto set = ParseResults(body.str(), "", options);
    if (!set.ok()) {
      spdlog::warn("{}: not ingested: {}", file, set.status().message());
      continue;
    }
    const bool from_plugin = static_cast<size_t>(&file - files.data()) < plugin_logs;
    if (from_plugin) {
      for (const TestCase& t : set->tests) plugin_tests.insert(t.id);
    }
    set_from_plugin.push_back(from_plugin);
    digests.push_back(ContentDigest(body.str()));
    parsed_files.push_back(file);
    sets.push_back(std::move(set).value());
  }
  std::set<size_t> skip;
  for (size_t i = 0; i < sets.size(); ++i) {
    if (set_from_plugin[i] || sets[i].format != "pytest-reportlog" || sets[i].tests.empty() ||
        plugin_tests.empty()) {
      continue;
    }
    bool all = std::all_of(sets[i].tests.begin(), sets[i].tests.end(),
                           [&](const TestCase& t) { return plugin_tests.count(t.id) != 0; });
    if (all) {
      skip.insert(i);
      spdlog::info("{}: same tests as jostle's pytest report-log of this run; not ingested twice",
                   parsed_files[i]);
    }
  }
  for (size_t i : DuplicateJunitSets(sets)) {
    skip.insert(i);
    spdlog::info(
        "{}: same tests as a pytest report-log of this run (which has exact per-test "
        "times); not ingested twice",
        parsed_files[i]);
  }
  Ingested total;
  for (size_t i = 0; i < sets.size(); ++i) {
    if (skip.count(i) != 0) continue;
    ResultOrigin origin = base;
    origin.source = parsed_files[i];
    origin.digest = digests[i];  // a file stored again (same run id) is a replay
    auto summary = StoreResults(store.samples(), store.results(), origin, sets[i]);
    if (!summary.ok()) {
      spdlog::warn("{}: not stored: {}", parsed_files[i], summary.status().ToString());
      continue;
    }
    total.files++;
    total.tests += summary->tests;
    total.failed += summary->failed;
  }
  return total;
}

// A line about the machine over the whole run, for a report without test results:
// the signals over [from, to] as if it were one test's window.
std::string ResourceSummary(const std::vector<Sample>& samples, int64_t from_ns, int64_t to_ns,
                            const std::string& self_cgroup, const AttributionConfig& config) {
  if (samples.size() < 2) return "too few samples to say anything about the machine";
  NodeRates rates = ComputeRates(samples, config.window);
  WindowQuery q;
  q.start_ns = from_ns;
  q.end_ns = to_ns;
  q.padding_ns = 0;
  q.self_cgroup = self_cgroup;
  Signals signals = WindowSignalsFromRates(rates, q, config.window);
  WindowAssessment a = AssessWindow(signals, config);
  std::string line = "over the run: ";
  if (auto it = signals.values.find(kNodeCpuBusy); it != signals.values.end()) {
    line += "node CPU busy peak " + std::to_string(std::lround(it->second.peak * 100)) +
            "% (mean " + std::to_string(std::lround(it->second.mean * 100)) + "%); ";
  }
  if (!a.contended) return line + "no contention signal crossed its threshold";
  line += std::string("contended (") + ResourceName(*a.resource) + ")";
  if (!a.culprits.empty()) {
    line += ", mostly by " + std::string(CulpritKindName(a.culprits.front().kind)) + " " +
            a.culprits.front().name;
  }
  return line;
}

Status WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.flush();
  if (!out) return Status::FromErrno(errno, path.string());
  return Status::Ok();
}

}  // namespace

std::vector<std::string> FindResultFiles(const std::string& dir,
                                         const std::vector<std::string>& globs, int64_t since_ns,
                                         const std::string& exclude_dir) {
  std::set<std::string> found;
  auto fresh = [since_ns](const fs::path& p) {
    std::error_code ec;
    auto mtime = fs::last_write_time(p, ec);
    if (ec) return false;
    auto sys = std::chrono::file_clock::to_sys(mtime);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(sys.time_since_epoch()).count() >=
           since_ns;
  };
  std::vector<std::string> relative;
  for (const auto& g : globs) {
    if (!g.empty() && g[0] == '/') {
      glob_t matches{};
      if (::glob(g.c_str(), 0, nullptr, &matches) == 0) {
        for (size_t i = 0; i < matches.gl_pathc; ++i) {
          if (fresh(matches.gl_pathv[i])) found.insert(matches.gl_pathv[i]);
        }
      }
      globfree(&matches);
    } else {
      relative.push_back(g.rfind("./", 0) == 0 ? g.substr(2) : g);
    }
  }
  if (globs.empty() || !relative.empty()) {
    std::error_code ec;
    fs::path exclude = exclude_dir.empty() ? fs::path() : fs::weakly_canonical(exclude_dir, ec);
    auto options = fs::directory_options::skip_permission_denied;
    for (auto it = fs::recursive_directory_iterator(dir, options, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const fs::path& p = it->path();
      std::string name = p.filename().string();
      if (it->is_directory(ec)) {
        if (name == ".git" || name == "node_modules" || it.depth() >= 8 ||
            (!exclude.empty() && fs::weakly_canonical(p, ec) == exclude)) {
          it.disable_recursion_pending();
        }
        continue;
      }
      if (!it->is_regular_file(ec)) continue;
      fs::path rel = fs::relative(p, dir, ec);
      bool match = false;
      if (!fresh(p)) continue;
      if (globs.empty()) {
        match = LooksLikeResultFile(p);
      } else {
        for (const auto& g : relative) {
          if (::fnmatch(g.c_str(), rel.c_str(), 0) == 0) match = true;
        }
      }
      if (match) found.insert(p.string());
    }
  }
  return {found.begin(), found.end()};
}

std::vector<size_t> DuplicateJunitSets(const std::vector<ResultSet>& sets) {
  std::set<std::string> in_reportlogs;
  for (const ResultSet& set : sets) {
    if (set.format != "pytest-reportlog") continue;
    for (const TestCase& t : set.tests) in_reportlogs.insert(ModuleKey(t, true));
  }
  std::vector<size_t> duplicates;
  if (in_reportlogs.empty()) return duplicates;
  for (size_t i = 0; i < sets.size(); ++i) {
    if (sets[i].format != "junit" || sets[i].tests.empty()) continue;
    bool all = true;
    for (const TestCase& t : sets[i].tests) {
      all = all && in_reportlogs.count(ModuleKey(t, false)) != 0;
    }
    if (all) duplicates.push_back(i);
  }
  return duplicates;
}

namespace {

IsolationOptions IsolationOf(const RunOptions& o) {
  IsolationOptions i;
  i.mode = o.mode;
  i.proc_root = o.proc_root;
  i.cgroup_root = o.cgroup_root;
  i.cgroups = o.cgroups;
  return i;
}

}  // namespace

int PrintRunMode(const RunOptions& o) {
  auto plan = PlanRunMode(IsolationOf(o));
  if (!plan.ok()) {
    spdlog::error("{}", plan.status().message());
    return 2;
  }
  std::printf("mode: %s\nreason: %s\ncannot see: %s\n", RunModeName(plan->mode),
              plan->reason.c_str(), plan->cannot_see.c_str());
  return 0;
}

int RunCommand(const RunOptions& o) {
  if (o.command.empty()) {
    spdlog::error("jostle run: no command given (usage: jostle run [options] -- CMD...)");
    return 2;
  }
  auto interval = flags::ParseDuration(o.interval);
  if (!interval.ok()) {
    spdlog::error("--interval: {}", interval.status().message());
    return 2;
  }
  if (interval->count() <= 0) {
    spdlog::error("--interval {}: must be more than 0", o.interval);
    return 2;
  }
  AttributionConfig config;
  if (!o.config.empty()) {
    auto loaded = LoadAttributionConfig(o.config);
    if (!loaded.ok()) {
      spdlog::error("--config: {}", loaded.status().ToString());
      return 2;
    }
    config = *loaded;
  }
  std::error_code ec;
  fs::create_directories(o.report_dir, ec);
  if (ec) {
    spdlog::error("--report-dir {}: {}", o.report_dir, ec.message());
    return 2;
  }
  std::string db = o.db.empty() ? (fs::path(o.report_dir) / "jostle.db").string() : o.db;
  if (auto parent = fs::path(db).parent_path(); !parent.empty()) fs::create_directories(parent, ec);
  auto store = OpenSqliteStores(db);
  if (!store.ok()) {
    spdlog::error("--db {}: {}", db, store.status().ToString());
    return 2;
  }
  std::string run = o.run_id.empty() ? DefaultRunId() : o.run_id;
  std::string node = o.node_name.empty() ? HostName() : o.node_name;
  bool progress = o.progress && ::isatty(STDERR_FILENO);

  // The command's own cgroup, or its process tree, so its use is told apart from its
  // neighbours'.
  auto isolation = CommandIsolation::SetUp(IsolationOf(o));
  if (!isolation.ok()) {
    spdlog::error("{}", isolation.status().message());
    return 2;
  }
  CommandIsolation& own = **isolation;

  agent::HostPaths paths{o.proc_root, o.sys_root, o.cgroup_root};
  agent::CgroupOptions cgroup_options;
  cgroup_options.extra_cgroups = own.sampler_cgroups();
  // This process's cgroups and those above them (in v2-root mode this process sits in
  // jostle-self, beside the command's cgroup, and is the command's own all the same).
  std::vector<std::string> ancestors = OwnAncestorCgroups(o.cgroup_root);
  cgroup_options.extra_cgroups.insert(cgroup_options.extra_cgroups.end(), ancestors.begin(),
                                      ancestors.end());
  cgroup_options.rescan_every_ticks = 2;  // neighbours that start mid-run are seen quickly
  cgroup_options.limits_every_ticks = 2;  // a limit set or changed mid-run is seen quickly
  auto sampler = agent::Sampler::Open(paths, cgroup_options, nullptr);
  if (!sampler.ok()) {
    spdlog::error("cannot sample this machine: {}", sampler.status().ToString());
    return 2;
  }
  std::string boot_id = agent::ReadBootId(paths).value_or("");
  int64_t started_ns = agent::WallNowNs();
  RunSampler sampling((*store)->samples(), std::move(sampler).value(), own.tree(),
                      agent::BatchAssembler(node, boot_id, started_ns, interval->count()),
                      *interval, progress);

  g_early_signal.store(0);
  struct sigaction forward {};
  forward.sa_sigaction = ForwardSignal;
  forward.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&forward.sa_mask);
  struct sigaction saved[std::size(kForwardedSignals)];
  for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
    ::sigaction(kForwardedSignals[i], &forward, &saved[i]);
  }
  auto early_signal = [] { return g_early_signal.load() != 0; };
  sampling.Start();
  // CMD starts one interval after the first sample, so its first test's padded window is
  // covered by a rate.
  if (sampling.WaitForSampleAt(std::numeric_limits<int64_t>::min() + 1, early_signal)) {
    sampling.WaitForSampleAt(sampling.first_sample_ns() + interval->count(), early_signal);
  }
  // Result files are those modified from here on (minus the coarse kernel clock's lag
  // behind the wall clock that stamps mtimes, a few ms).
  int64_t command_start_ns = agent::WallNowNs() - 50'000'000;
  std::vector<std::string> env;
  const std::string scope_var = std::string(kRunScopeEnv) + "=";
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind(scope_var, 0) != 0) env.emplace_back(*e);
  }
  std::optional<PytestPlugin> plugin;
  struct RemoveOnExit {
    std::optional<PytestPlugin>& plugin;
    ~RemoveOnExit() {}
  } remove_plugin{plugin};
  if (o.pytest_plugin) {
    if (auto installed = InstallPytestPlugin(); installed.ok()) {
      plugin = std::move(installed).value();
      env = PytestPluginEnvironment(*plugin, env);
    } else {
      spdlog::warn(
          "pytest plugin not installed ({}); pytest's start times will be rebuilt "
          "from its result files",
          installed.status().message());
    }
  }
  auto child = RunChild(o.command, own, env);
  int64_t command_end_ns = agent::WallNowNs();
  if (child.ok() && child->error.empty()) {
    // And until a sample at least one interval after it ended, for its last test's window.
    sampling.WaitForSampleAt(command_end_ns + interval->count(), [] { return false; });
  }
  sampling.Stop();
  for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
    ::sigaction(kForwardedSignals[i], &saved[i], nullptr);
  }
  own.Finish();
  if (!child.ok()) {
    spdlog::error("jostle run: {}", child.status().ToString());
    return 2;
  }
  if (!child->error.empty()) {
    spdlog::error("jostle run: {}", child->error);
    return child->code;
  }
  int exit_code = child->code;

  // Results the command wrote.
  auto files = FindResultFiles(".", o.result_globs, command_start_ns, o.report_dir);
  ResultOrigin origin;
  origin.run = run;
  origin.job = o.job;
  origin.node = node;
  origin.identity = o.identity;
  if (exit_code >= 0 && exit_code <= 255) origin.identity.exit_code = exit_code;
  std::vector<std::string> plugin_logs;
  if (plugin) {
    plugin_logs = PytestPluginLogs(*plugin);
    files.insert(files.begin(), plugin_logs.begin(), plugin_logs.end());
  }
  Ingested ingested =
      IngestResults(**store, files, plugin_logs.size(), origin, LocalUtcOffsetSeconds());

  ReportOptions report_options;
  report_options.self_cgroup = own.self_series();
  report_options.self_ancestors = ancestors;
  report_options.results_end_ns = command_end_ns;
  report_options.history_self_cgroup_prefix = kCommandCgroupPrefix;
  RunReport report;
  bool have_tests = false;
  if (ingested.files > 0) {
    auto built =
        BuildRunReport((*store)->samples(), (*store)->results(), run, config, report_options);
    if (built.ok()) {
      report = std::move(built).value();
      have_tests = true;
    } else if (!built.status().IsNotFound()) {
      spdlog::error("report: {}", built.status().ToString());
    }
  }
  if (!have_tests) {
    auto samples = (*store)->samples().Samples(node, started_ns, agent::WallNowNs());
    std::map<std::string, std::vector<Sample>> by_node;
    std::string resources = "no samples were stored";
    if (samples.ok()) {
      resources = ResourceSummary(*samples, command_start_ns, command_end_ns,
                                  report_options.self_cgroup, config);
      by_node[node] = std::move(samples).value();
    }
    report = AttributeRun(run, {}, by_node, {}, config, report_options);
    report.warnings.push_back(
        (o.result_globs.empty()
             ? std::string("no result files found (looked for JUnit XML and pytest "
                           "report-logs written during the run, under the working directory)")
             : std::string("no result files matched --results")) +
        "; this report covers resources only: " + resources);
  }
  if (ProcessTree* tree = own.tree()) {
    AddProcessCulprits(*tree, own.own_cgroups(), report.failures);
    AddProcessCulprits(*tree, own.own_cgroups(), report.flaky_tests);
  }
  report.run_mode = {RunModeName(own.plan().mode), own.plan().reason, own.plan().cannot_see};
  fs::path dir(o.report_dir);
  std::string markdown = RenderMarkdown(report);
  for (const auto& [name, content] :
       {std::pair<const char*, std::string>{"report.json", RenderJson(report)},
        {"report.md", markdown},
        {"report.html", RenderHtml(report)}}) {
    if (Status s = WriteFile(dir / name, content); !s.ok()) {
      spdlog::error("report: {}", s.ToString());
    }
  }
  if (const char* summary = std::getenv("GITHUB_STEP_SUMMARY"); summary && *summary) {
    std::ofstream out(summary, std::ios::app);
    out << markdown << "\n";
    out.flush();
    if (!out)
      spdlog::warn("GITHUB_STEP_SUMMARY {}: not appended: {}", summary, std::strerror(errno));
  }
  std::fputs(markdown.c_str(), stdout);
  if (!have_tests) {
    std::fprintf(stdout, "\nNo result files found%s: the report covers resources only.\n",
                 o.result_globs.empty() ? "" : " matching --results");
  }
  std::fprintf(stdout, "\nReport: %s\n", fs::absolute(dir / "report.html", ec).string().c_str());
  std::fflush(stdout);

  // Alerts: after the report is on disk; a failing webhook never changes the exit code.
  if (!o.webhooks.empty()) {
    std::vector<alerts::WebhookTarget> targets;
    for (const auto& url : o.webhooks) {
      alerts::WebhookTarget t;
      t.url = url;
      t.secret = o.webhook_secret;
      targets.push_back(std::move(t));
    }
    StoreAlertState state((*store)->alerts());
    RunAlertOptions alert_options;
    alert_options.job = o.job;
    for (const auto& line : SendRunAlerts(report, targets, config.alerts, state, alert_options)) {
      std::fprintf(stdout, "%s\n", line.c_str());
    }
    std::fflush(stdout);
  }
  return exit_code;
}

}  // namespace jostle::collector
