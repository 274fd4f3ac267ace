// Cost of one CgroupSampler::Read cycle over generated cgroup v2 trees (systemd driver) of
// 100 and 1000 pods with 5 containers each, on tmpfs (/dev/shm); and the cost of re-reading
// one real cgroup file by pread at offset 0 on a kept-open fd versus open/read/close.
//
//   build-*/bin/bench_cgroup_cycle [--benchmark_filter=...]
//
// Cycle benchmarks, BM_ReadCycle/<pods>/<mode>: mode 1 "default" = CgroupOptions as
// jostle-agent uses them (every-tick files kept open first, within max_open_files);
// mode 0 "reopen" keeps no file open (every file is opened, read and closed when due);
// mode 2 "every-tick" reads containers' memory and PSI on every tick, as pods', with up
// to 18000 files kept open (the sampler's behaviour before containers' detail was
// deferred); mode 3 "container-cpu-every-10" is the default with containers' CPU read
// every 10 ticks (jostle-agent --container-cpu-every 10); mode 4 "default-reused-samples" is
// the default with Read(std::vector<CgroupSample>&) reusing the last cycle's samples, as
// jostle-agent does (modes 0-3 take a new vector each cycle). A cycle includes the amortised rescan
// (every 10th Read) and the periodic reads (memory.stat every 5th Read, containers' detail every
// 10th, limits every 60th).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/cgroup/cgroup_sampler.h"
#include "agent/procfs/open_file.h"

namespace {

namespace fs = std::filesystem;
using jostle::agent::CgroupOptions;
using jostle::agent::CgroupSampler;
using jostle::agent::HostPaths;

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

void WriteCgroup(const std::string& dir, int n, const std::string& procs) {
  fs::create_directories(dir);
  Write(dir + "/cgroup.procs", procs);
  Write(dir + "/cpu.stat", "usage_usec " + std::to_string(n * 1000 + 1) +
                               "\nuser_usec 10\nsystem_usec 5\nnr_periods 100\nnr_throttled 3"
                               "\nthrottled_usec 4000\nnr_bursts 0\nburst_usec 0\n");
  Write(dir + "/cpu.max", "200000 100000\n");
  Write(dir + "/memory.current", std::to_string(n * 4096 + 1048576) + "\n");
  Write(dir + "/memory.max", "max\n");
  std::string stat;
  for (const char* k : {"anon",
                        "file",
                        "kernel",
                        "kernel_stack",
                        "pagetables",
                        "percpu",
                        "sock",
                        "shmem",
                        "file_mapped",
                        "file_dirty",
                        "file_writeback",
                        "anon_thp",
                        "inactive_anon",
                        "active_anon",
                        "inactive_file",
                        "active_file",
                        "unevictable",
                        "slab_reclaimable",
                        "slab_unreclaimable",
                        "slab",
                        "workingset_refault_anon",
                        "workingset_refault_file",
                        "workingset_activate_anon",
                        "workingset_activate_file",
                        "pgfault",
                        "pgmajfault",
                        "pgrefill",
                        "pgscan",
                        "pgsteal",
                        "pgactivate",
                        "pgdeactivate",
                        "pglazyfree",
                        "thp_fault_alloc"}) {
    stat += std::string(k) + " " + std::to_string(n * 7 + 4096) + "\n";
  }
  Write(dir + "/memory.stat", stat);
  Write(dir + "/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
  const std::string psi =
      "some avg10=0.00 avg60=0.00 avg300=0.00 total=12345\n"
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=678\n";
  Write(dir + "/cpu.pressure", psi);
  Write(dir + "/memory.pressure", psi);
  Write(dir + "/io.pressure", psi);
}

// <base>/<pods>/{sys/fs/cgroup,proc}: a v2 host with `pods` burstable pods of 5 containers.
std::string MakeHost(int pods) {
  std::string root =
      "/dev/shm/jostle-bench-cgroup-" + std::to_string(getpid()) + "/" + std::to_string(pods);
  if (fs::exists(root + "/done")) return root;
  std::string cg = root + "/sys/fs/cgroup";
  fs::create_directories(cg);
  Write(cg + "/cgroup.controllers", "cpu io memory pids\n");
  fs::create_directories(root + "/proc/1/ns");
  fs::create_symlink("net:[4026531993]", root + "/proc/1/ns/net");
  const std::string netdev =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:  1000  10 0 0 0 0 0 0  1000  10 0 0 0 0 0 0\n"
      "  eth0: 99999 999 0 1 0 0 0 0 88888 888 0 2 0 0 0 0\n";
  std::string qos = cg + "/kubepods.slice/kubepods-burstable.slice";
  for (int p = 0; p < pods; ++p) {
    char uid[40];
    std::snprintf(uid, sizeof(uid), "%08x_1111_4a4a_8b8b_%012x", p, p);
    std::string pod = qos + "/kubepods-burstable-pod" + uid + ".slice";
    WriteCgroup(pod, p, "");
    int pid = 100000 + p;
    for (int c = 0; c < 5; ++c) {
      char cid[80];
      std::snprintf(cid, sizeof(cid), "%056x%08x", p, c);
      WriteCgroup(pod + "/cri-containerd-" + cid + ".scope", p * 5 + c,
                  c == 0 ? std::to_string(pid) + "\n" : "");
    }
    std::string proc = root + "/proc/" + std::to_string(pid);
    fs::create_directories(proc + "/ns");
    fs::create_directories(proc + "/net");
    fs::create_symlink("net:[" + std::to_string(4026532000 + p) + "]", proc + "/ns/net");
    Write(proc + "/net/dev", netdev);
  }
  Write(root + "/done", "");
  return root;
}

double ThreadCpuUs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

void BM_ReadCycle(benchmark::State& state) {
  int pods = static_cast<int>(state.range(0));
  int mode = static_cast<int>(state.range(1));
  std::string root = MakeHost(pods);
  CgroupOptions options;
  options.self_cgroup_file.clear();
  if (mode == 0) options.max_open_files = 0;
  if (mode == 2) {
    options.max_open_files = 18000;
    options.container_detail_every_ticks = 1;
  }
  if (mode == 3) options.container_cpu_every_ticks = 10;
  auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), options);
  if (!sampler.ok()) {
    state.SkipWithError(sampler.status().ToString().c_str());
    return;
  }
  // The first Read opens every file and reads every memory.stat: not a steady-state cycle.
  std::vector<jostle::CgroupSample> kept = sampler->Read();
  size_t samples = kept.size();
  double cpu_us = 0;
  for (auto _ : state) {
    double start = ThreadCpuUs();
    if (mode == 4) {
      sampler->Read(kept);  // last cycle's samples reused, as jostle-agent does
    } else {
      auto out = sampler->Read();
      benchmark::DoNotOptimize(out);
    }
    cpu_us += ThreadCpuUs() - start;
    benchmark::DoNotOptimize(kept);
  }
  state.SetLabel(mode == 0   ? "reopen"
                 : mode == 1 ? "default"
                 : mode == 2 ? "every-tick"
                 : mode == 3 ? "container-cpu-every-10"
                             : "default-reused-samples");
  state.counters["pods"] = pods;
  state.counters["samples"] = static_cast<double>(samples);
  state.counters["open_files"] = static_cast<double>(sampler->stats().open_files);
  double cycle_cpu_us = cpu_us / static_cast<double>(state.iterations());
  state.counters["cpu_us_per_cycle"] = cycle_cpu_us;
  state.counters["cpu_us_per_pod"] = cycle_cpu_us / pods;
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  state.counters["max_rss_mib"] = static_cast<double>(ru.ru_maxrss) / 1024.0;  // process-wide
}
// 60 cycles: six rescans, twelve memory.stat rounds, six rounds of containers' detail and
// one of limits.
BENCHMARK(BM_ReadCycle)
    ->ArgsProduct({{100, 1000}, {1, 0, 2, 3, 4}})
    ->Iterations(60)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Open = layout detection + one full listing of the tree.
void BM_OpenAndScan(benchmark::State& state) {
  int pods = static_cast<int>(state.range(0));
  std::string root = MakeHost(pods);
  CgroupOptions options;
  options.self_cgroup_file.clear();
  for (auto _ : state) {
    auto sampler = CgroupSampler::Open(HostPaths::UnderRoot(root), options);
    benchmark::DoNotOptimize(sampler);
  }
  state.counters["pods"] = pods;
}
BENCHMARK(BM_OpenAndScan)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Real cgroup files of this machine: kept-open pread at 0 versus open/read/close.
void BM_PreadAtZero(benchmark::State& state, std::string path) {
  auto file = jostle::agent::OpenFile::Open(path);
  if (!file.ok()) {
    state.SkipWithError(file.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto text = file->Read();
    benchmark::DoNotOptimize(text);
  }
}

void BM_OpenReadClose(benchmark::State& state, std::string path) {
  char buf[8192];
  for (auto _ : state) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      state.SkipWithError("open failed");
      return;
    }
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
    }
    ::close(fd);
    benchmark::DoNotOptimize(buf);
  }
}

void RegisterRealFiles() {
  std::string memory_self = "/sys/fs/cgroup/memory";
  std::ifstream self("/proc/self/cgroup");
  for (std::string line; std::getline(self, line);) {
    auto pos = line.find(":memory:");
    if (pos != std::string::npos) memory_self += line.substr(pos + 8);
  }
  const std::vector<std::string> files = {
      "/sys/fs/cgroup/cpu.stat",               // pure v2 hosts
      "/sys/fs/cgroup/memory.current",         // pure v2 hosts
      "/sys/fs/cgroup/unified/cpu.stat",       // hybrid
      "/sys/fs/cgroup/unified/cpu.pressure",   // hybrid
      "/sys/fs/cgroup/cpu/cpu.stat",           // v1
      "/sys/fs/cgroup/cpuacct/cpuacct.usage",  // v1
      memory_self + "/memory.usage_in_bytes",  // v1
      memory_self + "/memory.stat",            // v1, the expensive one
  };
  for (const std::string& f : files) {
    if (!fs::exists(f)) continue;
    benchmark::RegisterBenchmark(("BM_PreadAtZero/" + f).c_str(), BM_PreadAtZero, f)
        ->Unit(benchmark::kNanosecond);
    benchmark::RegisterBenchmark(("BM_OpenReadClose/" + f).c_str(), BM_OpenReadClose, f)
        ->Unit(benchmark::kNanosecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  RegisterRealFiles();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  fs::remove_all("/dev/shm/jostle-bench-cgroup-" + std::to_string(getpid()));
  return 0;
}
