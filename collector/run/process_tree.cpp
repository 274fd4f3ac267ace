#include "collector/run/process_tree.h"

#include <dirent.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "collector/run/command_cgroup.h"

namespace jostle::collector {
namespace {

std::string ReadSmall(const std::string& path) {
  std::ifstream in(path);
  std::stringstream body;
  body << in.rdbuf();
  return body.str();
}

bool ToU64(std::string_view s, uint64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// The number after `key` at the start of a line ("Uid:\t1000\t...", "read_bytes: 42").
std::optional<uint64_t> LineValue(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? end : end - at);
    if (line.substr(0, key.size()) == key) {
      std::istringstream in{std::string(line.substr(key.size()))};
      uint64_t v = 0;
      if (in >> v) return v;
      return std::nullopt;
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

uint64_t ReapedChildrenUs() {
  struct rusage ru {};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  auto us = [](const timeval& t) {
    return static_cast<uint64_t>(t.tv_sec) * 1'000'000 + static_cast<uint64_t>(t.tv_usec);
  };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

std::string UserName(uid_t uid) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

}  // namespace

Result<ProcStat> ParseProcPidStat(std::string_view text) {
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return Status::InvalidArgument("stat: no (comm) field");
  }
  ProcStat st;
  uint64_t pid = 0;
  std::string_view pid_text = text.substr(0, open);
  while (!pid_text.empty() && pid_text.back() == ' ') pid_text.remove_suffix(1);
  if (!ToU64(pid_text, &pid)) return Status::InvalidArgument("stat: pid is not a number");
  st.pid = static_cast<pid_t>(pid);
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  // Fields from 3 on (state), numbered as in proc(5).
  std::vector<std::string_view> f;
  std::string_view rest = text.substr(close + 1);
  size_t at = 0;
  while (at < rest.size()) {
    while (at < rest.size() && (rest[at] == ' ' || rest[at] == '\n')) ++at;
    size_t end = at;
    while (end < rest.size() && rest[end] != ' ' && rest[end] != '\n') ++end;
    if (end > at) f.push_back(rest.substr(at, end - at));
    at = end;
  }
  // f[0] is field 3 (state); field N is f[N - 3]. Needed up to 24 (rss).
  if (f.size() < 22 || f[0].size() != 1) {
    return Status::InvalidArgument("stat: " + std::to_string(f.size() + 2) + " fields, 24 needed");
  }
  uint64_t v[25] = {};
  for (int n : {4, 6, 14, 15, 16, 17, 22, 24}) {
    if (!ToU64(f[static_cast<size_t>(n - 3)], &v[n])) {
      return Status::InvalidArgument("stat: field " + std::to_string(n) + " is not a number");
    }
  }
  st.state = f[0][0];
  st.ppid = static_cast<pid_t>(v[4]);
  st.session = static_cast<pid_t>(v[6]);
  st.cpu_ticks = v[14] + v[15];
  st.child_cpu_ticks = v[16] + v[17];
  st.start_ticks = v[22];
  st.rss_pages = v[24];
  return st;
}

std::optional<uid_t> ParseStatusUid(std::string_view text) {
  auto v = LineValue(text, "Uid:");
  if (!v) return std::nullopt;
  return static_cast<uid_t>(*v);
}

std::optional<uint64_t> ParseProcIoBytes(std::string_view text) {
  auto r = LineValue(text, "read_bytes:");
  auto w = LineValue(text, "write_bytes:");
  if (!r || !w) return std::nullopt;
  return *r + *w;
}

std::string TreeSeriesName(pid_t jostle_pid) {
  return std::string("process-tree:") + kCommandCgroupPrefix + std::to_string(jostle_pid);
}

ProcessTree::ProcessTree(std::string proc_root, pid_t jostle_pid, ContainerFacts container,
                         std::string cgroup_root)
    : proc_root_(std::move(proc_root)),
      jostle_pid_(jostle_pid),
      container_(std::move(container)),
      cgroup_root_(std::move(cgroup_root)),
      us_per_tick_(1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK))),
      page_size_(::sysconf(_SC_PAGESIZE)) {}

void ProcessTree::SetCommand(pid_t command) {
  reaped_base_us_.store(ReapedChildrenUs());
  command_.store(command);
}

uint32_t ProcessTree::KeyOf(const ProcStat& st, const std::string& dir) {
  auto [it, added] =
      key_of_.try_emplace({st.pid, st.start_ticks}, static_cast<uint32_t>(known_.size()));
  if (added) {
    Known k;
    k.pid = st.pid;
    k.start_ticks = st.start_ticks;
    k.comm = st.comm;
    k.uid = ParseStatusUid(ReadSmall(dir + "/status")).value_or(0);
    std::string id = ContainerIdInProcCgroup(ReadSmall(dir + "/cgroup"));
    k.container = id.substr(0, 12);
    k.first_tick = ticks_.size();
    known_.push_back(std::move(k));
    in_tree_.push_back(false);
  }
  return it->second;
}

void ProcessTree::ReapOrphans(const std::vector<ProcStat>& all, pid_t command) {
  for (const ProcStat& st : all) {
    if (st.state == 'Z' && st.ppid == jostle_pid_ && st.pid != command) {
      ::waitpid(st.pid, nullptr, WNOHANG);
    }
  }
}

void ProcessTree::AddOwnLimits(CgroupSample& s) const {
  if (!container_.in_container) return;
  s.cpu_limit_cores = container_.cpu_limit_cores;
  s.mem_limit_bytes = container_.mem_limit_bytes;
  if (!container_.cpu_limit_cores) return;
  std::string stat = ReadSmall(cgroup_root_ + "/cpu.stat");
  s.cpu_periods = LineValue(stat, "nr_periods");
  s.cpu_throttled_periods = LineValue(stat, "nr_throttled");
}

namespace {

// Every process under `proc` (a /proc mount) and its directory.
void ScanProcesses(const std::string& proc, std::vector<ProcStat>* all,
                   std::vector<std::string>* dirs) {
  DIR* d = ::opendir(proc.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string dir = proc + "/" + e->d_name;
    auto st = ParseProcPidStat(ReadSmall(dir + "/stat"));
    if (!st.ok()) continue;  // gone mid-read
    all->push_back(std::move(st).value());
    dirs->push_back(std::move(dir));
  }
  ::closedir(d);
}

}  // namespace

std::optional<CgroupSample> ProcessTree::Tick(int64_t wall_ns) {
  const pid_t command = command_.load();
  // Reaped children first: a child reaped between this and the /proc read below is missed
  // for one tick (counted at the next), never counted twice.
  const uint64_t reaped_us = ReapedChildrenUs();
  // The tree is followed in this process's own pid namespace; neighbours are read from
  // proc_root (the host's /proc, mounted into a container, has other pids for the same
  // processes: there the tree's members are known by start time and name).
  std::vector<ProcStat> all;
  std::vector<std::string> dirs;
  ScanProcesses("/proc", &all, &dirs);
  std::map<pid_t, size_t> index_of;
  std::vector<uint32_t> keys(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    index_of[all[i].pid] = i;
    keys[i] = KeyOf(all[i], dirs[i]);
  }
  // The tree: jostle's children once the command runs (jostle is their subreaper), the
  // command's session, and descendants of members, to a fixed point.
  if (command > 0) {
    bool grew = true;
    while (grew) {
      grew = false;
      for (size_t i = 0; i < all.size(); ++i) {
        if (in_tree_[keys[i]] || all[i].pid == jostle_pid_) continue;
        const ProcStat& st = all[i];
        bool member = st.pid == command || st.ppid == jostle_pid_ || st.session == command;
        if (!member) {
          auto parent = index_of.find(st.ppid);
          member = parent != index_of.end() && in_tree_[keys[parent->second]];
        }
        if (member) in_tree_[keys[i]] = grew = true;
      }
    }
  }
  uint64_t tree_cpu_ticks = 0, tree_rss_pages = 0;
  tree_pids_.clear();
  std::set<std::pair<uint64_t, std::string>> ours;  // (start, comm) of the tree and jostle
  for (size_t i = 0; i < all.size(); ++i) {
    const ProcStat& st = all[i];
    if (st.pid == jostle_pid_) ours.emplace(st.start_ticks, st.comm);
    if (!in_tree_[keys[i]]) continue;
    tree_cpu_ticks += st.cpu_ticks + st.child_cpu_ticks;
    tree_rss_pages += st.rss_pages;
    tree_pids_.push_back(st.pid);
    ours.emplace(st.start_ticks, st.comm);
  }
  const bool other_root = proc_root_ != "/proc";
  if (other_root) {
    std::vector<ProcStat> host;
    std::vector<std::string> host_dirs;
    ScanProcesses(proc_root_, &host, &host_dirs);
    std::vector<uint32_t> host_keys;
    for (size_t i = 0; i < host.size(); ++i) host_keys.push_back(KeyOf(host[i], host_dirs[i]));
    if (command > 0) ReapOrphans(all, command);
    all = std::move(host);
    dirs = std::move(host_dirs);
    keys = std::move(host_keys);
  } else if (command > 0) {
    ReapOrphans(all, command);
  }
  TickRecord rec;
  rec.wall_ns = wall_ns;
  for (size_t i = 0; i < all.size(); ++i) {
    const ProcStat& st = all[i];
    bool own = other_root ? ours.count({st.start_ticks, st.comm}) != 0 : st.pid == jostle_pid_;
    if (in_tree_[keys[i]] || own) continue;
    Point p;
    p.key = keys[i];
    p.cpu_us = static_cast<uint64_t>(static_cast<double>(st.cpu_ticks) * us_per_tick_);
    p.rss_bytes = st.rss_pages * static_cast<uint64_t>(page_size_);
    p.io_bytes = ParseProcIoBytes(ReadSmall(dirs[i] + "/io")).value_or(0);
    rec.points.push_back(p);
  }
  ticks_.push_back(std::move(rec));
  if (command <= 0) return std::nullopt;
  CgroupSample s;
  s.scope = Scope::kCgroup;
  s.id = s.path = TreeSeriesName(jostle_pid_);
  // A cumulative counter never goes back: a process that exits between the reaped-time read
  // and the /proc read is missing for one tick, which must not read as a counter reset
  // (after which its whole CPU time would land in one interval).
  const uint64_t cpu_us =
      static_cast<uint64_t>(static_cast<double>(tree_cpu_ticks) * us_per_tick_) +
      (reaped_us - std::min(reaped_us, reaped_base_us_.load()));
  tree_cpu_us_ = std::max(tree_cpu_us_, cpu_us);
  s.cpu_usage_us = tree_cpu_us_;
  s.mem_usage_bytes = s.mem_working_set_bytes = tree_rss_pages * static_cast<uint64_t>(page_size_);
  AddOwnLimits(s);
  return s;
}

std::vector<pid_t> ProcessTree::TreePids() const { return tree_pids_; }

std::vector<Culprit> ProcessTree::TopNeighbours(int64_t from_ns, int64_t to_ns, Resource resource,
                                                double node_busy_us, double node_mem_bytes,
                                                size_t n) const {
  if (resource == Resource::kNetwork || ticks_.empty()) return {};
  // Ticks in the window, and the last one before it (the baseline of cumulative counters).
  auto first = std::lower_bound(ticks_.begin(), ticks_.end(), from_ns,
                                [](const TickRecord& t, int64_t at) { return t.wall_ns < at; });
  auto last = std::upper_bound(ticks_.begin(), ticks_.end(), to_ns,
                               [](int64_t at, const TickRecord& t) { return at < t.wall_ns; });
  if (first == last) return {};
  const size_t first_index = static_cast<size_t>(first - ticks_.begin());
  struct Use {
    std::optional<Point> base, end;
    uint64_t rss_peak = 0;
  };
  std::map<uint32_t, Use> use;
  if (first != ticks_.begin()) {
    for (const Point& p : std::prev(first)->points) use[p.key].base = p;
  }
  for (auto t = first; t != last; ++t) {
    for (const Point& p : t->points) {
      Use& u = use[p.key];
      // Without a reading before the window, its first reading in it is the baseline,
      // unless it first appeared inside the window after the first tick (it started there:
      // its counters start at 0).
      const size_t seen = known_[p.key].first_tick;
      bool started_inside = seen > 0 && seen >= first_index;
      if (!u.base && !u.end && !started_inside) u.base = p;
      u.end = p;
      u.rss_peak = std::max(u.rss_peak, p.rss_bytes);
    }
  }
  struct Ranked {
    uint32_t key;
    double amount;
  };
  std::vector<Ranked> ranked;
  double io_total = 0;
  for (const auto& [key, u] : use) {
    if (!u.end) continue;
    Point base = u.base.value_or(Point{});
    double amount = 0;
    if (resource == Resource::kCpu) {
      amount = static_cast<double>(u.end->cpu_us - std::min(u.end->cpu_us, base.cpu_us));
    } else if (resource == Resource::kMemory) {
      amount = static_cast<double>(u.rss_peak);
    } else {
      amount = static_cast<double>(u.end->io_bytes - std::min(u.end->io_bytes, base.io_bytes));
      io_total += amount;
    }
    if (amount > 0) ranked.push_back({key, amount});
  }
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    return a.amount != b.amount ? a.amount > b.amount : a.key < b.key;
  });
  if (ranked.size() > n) ranked.resize(n);
  double whole = resource == Resource::kCpu      ? node_busy_us
                 : resource == Resource::kMemory ? node_mem_bytes
                                                 : io_total;
  std::vector<Culprit> out;
  for (const Ranked& r : ranked) {
    const Known& k = known_[r.key];
    Culprit c;
    c.kind = CulpritKind::kProcess;
    c.name = "pid " + std::to_string(k.pid) + " " + k.comm;
    c.share = whole > 0 ? std::min(1.0, r.amount / whole) : 0;
    c.detail =
        "user " + UserName(k.uid) + (k.container.empty() ? "" : ", container " + k.container);
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

bool IsAncestorOrSelf(const std::string& ancestor, const std::string& path) {
  if (ancestor == path || ancestor == "/") return true;
  return path.size() > ancestor.size() && path.compare(0, ancestor.size(), ancestor) == 0 &&
         path[ancestor.size()] == '/';
}

}  // namespace

void AddProcessCulprits(const ProcessTree& tree, const std::vector<std::string>& own_cgroups,
                        std::vector<FailureReport>& failures) {
  for (FailureReport& f : failures) {
    const WindowAssessment& a = f.assessment;
    if (!a.contended || !a.resource) continue;
    std::vector<Culprit> kept;
    for (const Culprit& c : a.culprits) {
      bool holds_command =
          c.kind == CulpritKind::kCgroup &&
          std::any_of(own_cgroups.begin(), own_cgroups.end(),
                      [&](const std::string& own) { return IsAncestorOrSelf(c.name, own); });
      if (!holds_command) kept.push_back(c);
    }
    std::vector<Culprit> processes =
        tree.TopNeighbours(f.signals.window_start_ns, f.signals.window_end_ns, *a.resource,
                           f.signals.node_cpu_busy_us, f.signals.node_mem_total_bytes, 5);
    kept.insert(kept.end(), processes.begin(), processes.end());
    std::stable_sort(kept.begin(), kept.end(), [](const Culprit& x, const Culprit& y) {
      bool xo = x.kind == CulpritKind::kOwnLimit, yo = y.kind == CulpritKind::kOwnLimit;
      if (xo != yo) return xo;
      return !xo && x.share > y.share;
    });
    f.assessment.culprits = std::move(kept);
  }
}

}  // namespace jostle::collector
