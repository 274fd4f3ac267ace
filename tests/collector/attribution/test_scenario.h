// Builds one node's Sample vector tick by tick from per-interval values (busy fraction, PSI
// fractions, cores used per cgroup...), keeping the cumulative counters the agent would send.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "jostle/sample.h"

namespace jostle::testing {

inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kT0 = 1'790'000'000LL * kSecond;  // a fixed wall-clock origin

struct CgroupTick {
  Scope scope = Scope::kCgroup;
  std::string id;
  std::string path;
  std::string namespace_name;
  std::string pod_name;
  std::string pod_uid;         // containers' (pods' is their id)
  std::string container_name;  // containers only
  double cores = 0;            // CPU cores used during the interval
  double throttled = 0;        // fraction of the 10 periods per second throttled
  std::optional<double> cpu_limit_cores;
  std::optional<uint64_t> ws_bytes;
  std::optional<uint64_t> limit_bytes;
  uint64_t oom_kills = 0;  // new OOM kills in this interval
  double psi_cpu = 0, psi_memory = 0, psi_io = 0;
  std::optional<uint64_t> net_bytes;    // bytes in this interval (own netns)
  std::optional<uint64_t> usage_bytes;  // memory charge (anon + page cache) at the sample
  // Reclaim in this interval (cgroup v2 memory.stat, memory.events); absent: not sampled
  // (cgroup v1 and hybrid hosts).
  std::optional<uint64_t> pgscan, refaults, high_events, max_events;
};

struct Tick {
  double busy = 0.1;  // node busy fraction
  double psi_cpu = 0, psi_memory_some = 0, psi_memory_full = 0, psi_io = 0;
  double mem_used = 0.3;
  uint64_t net_bytes = 0;  // eth0 rx bytes in this interval (1000 Mbit/s link)
  uint64_t drops = 0;
  uint64_t out_segs = 1000, retrans = 0;
  std::vector<CgroupTick> cgroups;
};

class NodeScenario {
 public:
  explicit NodeScenario(int64_t t0 = kT0, int cpus = 4, int64_t interval = kSecond)
      : t_(t0), mono_(1000 * kSecond), cpus_(cpus), interval_(interval) {}

  // Appends a sample `interval` after the previous one, with counters advanced by `tick`.
  NodeScenario& Add(const Tick& tick) {
    double dt_us = static_cast<double>(interval_) / 1e3;
    if (!samples_.empty()) {
      t_ += interval_;
      mono_ += interval_;
      busy_ += static_cast<uint64_t>(tick.busy * dt_us * cpus_);
      total_ += static_cast<uint64_t>(dt_us * cpus_);
      psi_cpu_ += static_cast<uint64_t>(tick.psi_cpu * dt_us);
      psi_mem_ += static_cast<uint64_t>(tick.psi_memory_some * dt_us);
      psi_mem_full_ += static_cast<uint64_t>(tick.psi_memory_full * dt_us);
      psi_io_ += static_cast<uint64_t>(tick.psi_io * dt_us);
      rx_ += tick.net_bytes;
      drops_ += tick.drops;
      out_ += tick.out_segs;
      retrans_ += tick.retrans;
    }
    Sample s;
    s.wall_ns = t_;
    s.mono_ns = mono_;
    s.node.cpu_busy_us = busy_;
    s.node.cpu_total_us = total_;
    s.node.cpus = static_cast<uint32_t>(cpus_);
    s.node.mem_total_bytes = 8ULL << 30;
    s.node.mem_available_bytes =
        static_cast<uint64_t>((1.0 - tick.mem_used) * static_cast<double>(8ULL << 30));
    s.node.psi_cpu = PsiTotals{psi_cpu_, std::nullopt};
    s.node.psi_memory = PsiTotals{psi_mem_, psi_mem_full_};
    s.node.psi_io = PsiTotals{psi_io_, psi_io_};
    NetCounters eth0;
    eth0.interface = "eth0";
    eth0.rx_bytes = rx_;
    eth0.rx_drops = drops_;
    eth0.speed_mbps = 1000;
    s.node.net.push_back(eth0);
    s.node.tcp_out_segs = out_;
    s.node.tcp_retrans_segs = retrans_;
    for (const CgroupTick& c : tick.cgroups) {
      Counters& k = cg_[c.id];
      bool first = !k.seen;
      k.seen = true;
      if (!first && !samples_.empty()) {
        k.cpu += static_cast<uint64_t>(c.cores * dt_us);
        k.periods += 10;
        k.throttled += static_cast<uint64_t>(c.throttled * 10 + 0.5);
        k.oom += c.oom_kills;
        k.psi_cpu += static_cast<uint64_t>(c.psi_cpu * dt_us);
        k.psi_mem += static_cast<uint64_t>(c.psi_memory * dt_us);
        k.psi_io += static_cast<uint64_t>(c.psi_io * dt_us);
        k.net += c.net_bytes.value_or(0);
        k.pgscan += c.pgscan.value_or(0);
        k.refaults += c.refaults.value_or(0);
        k.high += c.high_events.value_or(0);
        k.max += c.max_events.value_or(0);
      }
      CgroupSample g;
      g.scope = c.scope;
      g.id = c.id;
      g.path = c.path;
      g.namespace_name = c.namespace_name;
      g.pod_name = c.pod_name;
      g.pod_uid = c.scope == Scope::kPod ? c.id : c.pod_uid;
      g.container_name = c.container_name;
      g.cpu_usage_us = k.cpu;
      g.cpu_periods = k.periods;
      g.cpu_throttled_periods = k.throttled;
      g.cpu_limit_cores = c.cpu_limit_cores;
      g.mem_usage_bytes = c.usage_bytes;
      g.mem_working_set_bytes = c.ws_bytes;
      if (c.pgscan) g.mem_pgscan = k.pgscan;
      if (c.refaults) g.mem_workingset_refaults = k.refaults;
      if (c.high_events) g.mem_high_events = k.high;
      if (c.max_events) g.mem_max_events = k.max;
      g.mem_limit_bytes = c.limit_bytes;
      g.oom_kills = k.oom;
      g.psi_cpu = PsiTotals{k.psi_cpu, k.psi_cpu};
      g.psi_memory = PsiTotals{k.psi_mem, k.psi_mem};
      g.psi_io = PsiTotals{k.psi_io, k.psi_io};
      if (c.net_bytes) {
        NetCounters n;
        n.interface = "*";
        n.rx_bytes = k.net;
        g.net = n;
      }
      s.cgroups.push_back(std::move(g));
    }
    samples_.push_back(std::move(s));
    return *this;
  }
  NodeScenario& Repeat(int n, const Tick& tick) {
    for (int i = 0; i < n; ++i) Add(tick);
    return *this;
  }
  const std::vector<Sample>& samples() const { return samples_; }
  std::vector<Sample>& mutable_samples() { return samples_; }

 private:
  struct Counters {
    bool seen = false;
    uint64_t cpu = 0, periods = 0, throttled = 0, oom = 0, psi_cpu = 0, psi_mem = 0, psi_io = 0,
             net = 0, pgscan = 0, refaults = 0, high = 0, max = 0;
  };
  int64_t t_, mono_;
  int cpus_;
  int64_t interval_;
  uint64_t busy_ = 0, total_ = 0, psi_cpu_ = 0, psi_mem_ = 0, psi_mem_full_ = 0, psi_io_ = 0,
           rx_ = 0, drops_ = 0, out_ = 0, retrans_ = 0;
  std::map<std::string, Counters> cg_;
  std::vector<Sample> samples_;
};

// The test's own pod on the node, using `cores`.
inline CgroupTick OwnPod(double cores, double throttled = 0) {
  CgroupTick c;
  c.scope = Scope::kPod;
  c.id = "uid-ci";
  c.path = "/kubepods.slice/kubepods-poduid_ci.slice";
  c.namespace_name = "ci";
  c.pod_name = "runner-1";
  c.cores = cores;
  c.throttled = throttled;
  c.cpu_limit_cores = 1.0;
  c.ws_bytes = 100 << 20;
  c.limit_bytes = 1ULL << 30;
  return c;
}

inline CgroupTick Pod(const std::string& ns, const std::string& name, double cores) {
  CgroupTick c;
  c.scope = Scope::kPod;
  c.id = "uid-" + ns + "-" + name;
  c.path = "/kubepods.slice/kubepods-pod" + ns + "_" + name + ".slice";
  c.namespace_name = ns;
  c.pod_name = name;
  c.cores = cores;
  c.ws_bytes = 200 << 20;
  return c;
}

inline CgroupTick Cgroup(const std::string& path, double cores) {
  CgroupTick c;
  c.scope = Scope::kCgroup;
  c.id = path;
  c.path = path;
  c.cores = cores;
  return c;
}

}  // namespace jostle::testing
