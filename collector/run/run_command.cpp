#include "collector/run/run_command.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "agent/sampler/sampler.h"
#include "collector/attribution/config.h"
#include "collector/attribution/run_report.h"
#include "collector/report/report.h"
#include "collector/results/parse_results.h"
#include "collector/run/command_cgroup.h"
#include "collector/store/store.h"
#include "flags/flag_values.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

// The command's pid, for the signal handler (which can only see globals).
std::atomic<pid_t> g_child{0};

void ForwardSignal(int sig, siginfo_t* info, void*) {
  // A terminal's Ctrl-C already reached the whole foreground group, CMD included; forward
  // only signals sent to jostle itself (kill, a CI runner cancelling the job).
  if (info != nullptr && info->si_code == SI_KERNEL) return;
  pid_t child = g_child.load();
  if (child > 0) ::kill(child, sig);
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

bool IsDefaultResultFile(const fs::path& rel) {
  std::string name = rel.filename().string();
  std::string ext = rel.extension().string();
  if (ext == ".xml") {
    if (name.find("junit") != std::string::npos || name.rfind("TEST-", 0) == 0) return true;
    for (const auto& part : rel.parent_path()) {
      std::string p = part.string();
      if (p == "test-results" || p == "test-reports" || p == "surefire-reports") return true;
    }
    return false;
  }
  return name.find("report-log") != std::string::npos ||
         name.find(".reportlog.json") != std::string::npos;
}

// The sampling side of a run: one tick per interval into the store.
class RunSampler {
 public:
  RunSampler(Store& store, std::unique_ptr<agent::Sampler> sampler, agent::BatchAssembler batches,
             std::chrono::nanoseconds interval, bool progress)
      : store_(store),
        sampler_(std::move(sampler)),
        batches_(std::move(batches)),
        progress_(progress),
        loop_(interval, [this] { Tick(); }) {}

  void Start() { loop_.Start(); }
  // Stops ticking and stores what is pending.
  void Stop() {
    loop_.Stop();
    Flush();
    if (progress_) std::fputs("\r\033[K", stderr);
  }
  uint64_t ticks() const { return ticks_; }

 private:
  void Tick() {
    Sample s = sampler_->Tick();
    if (progress_) ShowProgress(s);
    pending_.push_back(std::move(s));
    ticks_++;
    if (pending_.size() >= 5) Flush();
  }

  void Flush() {
    if (pending_.empty()) return;
    SampleBatch batch = batches_.Make(std::move(pending_), sampler_->HostFacts());
    pending_.clear();
    auto stored = store_.PutBatch(batch);
    if (!stored.ok()) spdlog::warn("samples not stored: {}", stored.status().ToString());
  }

  void ShowProgress(const Sample& s) {
    std::string line = "jostle: sampling, " + std::to_string(ticks_) + " s";
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

  Store& store_;
  std::unique_ptr<agent::Sampler> sampler_;
  agent::BatchAssembler batches_;
  bool progress_;
  // Sampling thread only.
  std::vector<Sample> pending_;
  std::optional<Sample> last_;
  std::atomic<uint64_t> ticks_{0};
  agent::TickLoop loop_;  // last: stopped before the members it uses go away
};

// Starts CMD in `cgroup` (when there is one) and waits for it; returns its exit code.
Result<int> RunChild(const std::vector<std::string>& command, const CommandCgroup* cgroup) {
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  int exec_error[2];
  if (::pipe2(exec_error, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    // Child: wait until the parent has moved us into the cgroup, then exec.
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
    ::execvp(argv[0], argv.data());
    int err = errno;
    (void)!::write(exec_error[1], &err, sizeof(err));
    ::_exit(127);
  }
  ::close(gate[0]);
  ::close(exec_error[1]);
  g_child.store(pid);
  if (cgroup != nullptr) {
    if (Status s = cgroup->Add(pid); !s.ok()) {
      spdlog::warn("command not moved into its cgroup: {}", s.ToString());
    }
  }
  ::close(gate[1]);  // releases the child
  int err = 0;
  ssize_t n;
  while ((n = ::read(exec_error[0], &err, sizeof(err))) < 0 && errno == EINTR) {
  }
  ::close(exec_error[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      g_child.store(0);
      return Status::FromErrno(errno, "waitpid");
    }
  }
  g_child.store(0);
  if (n == static_cast<ssize_t>(sizeof(err))) {
    return Status::FromErrno(err, "cannot run '" + command[0] + "'");
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

struct Ingested {
  int files = 0;
  int tests = 0;
  int failed = 0;
};

Ingested IngestResults(Store& store, const std::vector<std::string>& files,
                       const ResultOrigin& base, int tz_offset_s) {
  Ingested total;
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
    ResultOrigin origin = base;
    origin.source = file;
    auto summary = store.PutResults(origin, *set);
    if (!summary.ok()) {
      spdlog::warn("{}: not stored: {}", file, summary.status().ToString());
      continue;
    }
    total.files++;
    total.tests += summary->tests;
    total.failed += summary->failed;
  }
  return total;
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
      if (globs.empty()) {
        match = IsDefaultResultFile(rel);
      } else {
        for (const auto& g : relative) {
          if (::fnmatch(g.c_str(), rel.c_str(), 0) == 0) match = true;
        }
      }
      if (match && fresh(p)) found.insert(p.string());
    }
  }
  return {found.begin(), found.end()};
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
  auto store = OpenSqliteStore(db);
  if (!store.ok()) {
    spdlog::error("--db {}: {}", db, store.status().ToString());
    return 2;
  }
  std::string run = o.run_id.empty() ? DefaultRunId() : o.run_id;
  std::string node = o.node_name.empty() ? HostName() : o.node_name;
  bool progress = o.progress && ::isatty(STDERR_FILENO);

  // The command's own cgroup, so its use is told apart from its neighbours'.
  std::string cgroup_name = "jostle-run-" + std::to_string(::getpid());
  std::optional<CommandCgroup> cgroup;
  if (auto created = CommandCgroup::Create(o.cgroup_root, cgroup_name); created.ok()) {
    cgroup.emplace(std::move(created).value());
  } else {
    spdlog::warn(
        "no cgroup of its own for the command ({}); its use is counted as the "
        "node's",
        created.status().message());
  }

  agent::HostPaths paths{o.proc_root, o.sys_root, o.cgroup_root};
  agent::CgroupOptions cgroup_options;
  cgroup_options.extra_cgroups = o.cgroups;
  if (cgroup) cgroup_options.extra_cgroups.push_back(cgroup->name());
  cgroup_options.rescan_every_ticks = 2;  // neighbours that start mid-run are seen quickly
  auto sampler = agent::Sampler::Open(paths, cgroup_options, nullptr);
  if (!sampler.ok()) {
    spdlog::error("cannot sample this machine: {}", sampler.status().ToString());
    return 2;
  }
  std::string boot_id = agent::ReadBootId(paths).value_or("");
  int64_t started_ns = agent::WallNowNs();
  RunSampler sampling(**store, std::move(sampler).value(),
                      agent::BatchAssembler(node, boot_id, started_ns, interval->count()),
                      *interval, progress);

  struct sigaction forward {};
  forward.sa_sigaction = ForwardSignal;
  forward.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&forward.sa_mask);
  struct sigaction saved[std::size(kForwardedSignals)];
  for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
    ::sigaction(kForwardedSignals[i], &forward, &saved[i]);
  }
  sampling.Start();
  // One tick before the command starts, so its first test's window is covered.
  std::this_thread::sleep_for(*interval);
  auto exit_code = RunChild(o.command, cgroup ? &*cgroup : nullptr);
  // And one interval after it ends.
  if (exit_code.ok()) std::this_thread::sleep_for(*interval);
  sampling.Stop();
  for (size_t i = 0; i < std::size(kForwardedSignals); ++i) {
    ::sigaction(kForwardedSignals[i], &saved[i], nullptr);
  }
  if (cgroup) cgroup->Remove();
  if (!exit_code.ok()) {
    spdlog::error("{}", exit_code.status().message());
    return 127;
  }

  // Results the command wrote.
  auto files = FindResultFiles(".", o.result_globs, started_ns, o.report_dir);
  ResultOrigin origin;
  origin.run = run;
  origin.job = o.job;
  origin.node = node;
  Ingested ingested = IngestResults(**store, files, origin, LocalUtcOffsetSeconds());

  ReportOptions report_options;
  if (cgroup) report_options.self_cgroup = cgroup_name;
  RunReport report;
  if (ingested.files > 0) {
    auto built = BuildRunReport(**store, run, config, report_options);
    if (!built.ok()) {
      spdlog::error("report: {}", built.status().ToString());
      return *exit_code;
    }
    report = std::move(built).value();
  } else {
    auto samples = (*store)->Samples(node, started_ns, agent::WallNowNs());
    std::map<std::string, std::vector<Sample>> by_node;
    if (samples.ok()) by_node[node] = std::move(samples).value();
    report = AttributeRun(run, {}, by_node, {}, config, report_options);
    report.warnings.push_back(
        o.result_globs.empty()
            ? "no result files found (looked for JUnit XML and pytest report-logs written "
              "during the run); this report covers resources only"
            : "no result files matched --results; this report covers resources only");
  }
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
    std::ofstream(summary, std::ios::app) << markdown << "\n";
  }
  std::fputs(markdown.c_str(), stdout);
  if (ingested.files == 0) {
    std::fprintf(stdout, "\nNo result files found: the report covers resources only.\n");
  }
  std::fprintf(stdout, "\nReport: %s\n", fs::absolute(dir / "report.html", ec).string().c_str());
  std::fflush(stdout);
  return *exit_code;
}

}  // namespace jostle::collector
