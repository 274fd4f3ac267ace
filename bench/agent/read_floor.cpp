// The least a 1 Hz cgroup sampler can cost on a host: opens the files jostle-agent reads on
// every tick and preads each of them once per interval, parsing nothing. Run next to the
// agent by bench/agent_process.sh, so the agent's CPU can be set against what the reads
// alone cost in the same run.
//
//   bench_read_floor --cgroup-root DIR --proc-root DIR [--interval-ms 1000]
//
// Every tick, like jostle-agent's defaults: on cgroup v2, each pod's cpu.stat,
// memory.current and three PSI files and each container's cpu.stat; on v1 and hybrid hosts
// (no cgroup.controllers at the root) the same from the controller mounts: cpu/ cpu.stat and
// cpuacct/ cpuacct.usage of pods and containers, memory/ memory.usage_in_bytes of pods and
// unified/ PSI files of pods. Then each pod's net/dev (<proc-root>/<pid>/net/dev of the first
// process listed in its or its containers' cgroup.procs) and the node's stat, meminfo,
// loadavg, pressure/* and 1/net/{dev,snmp}. A pod is a directory named like a kubelet pod
// cgroup ("pod<uid>" or "kubepods-<qos>-pod<uid>.slice"); its subdirectories are its
// containers. Runs until SIGTERM.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

bool IsPodDir(std::string_view name) {
  if (name.substr(0, 3) == "pod") return true;  // cgroupfs driver: pod<uid>
  return name.substr(0, 9) == "kubepods-" && name.find("-pod") != std::string_view::npos;
}

std::vector<std::string> Subdirs(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') out.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  return out;
}

void Open(const std::string& path, std::vector<int>& fds) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) fds.push_back(fd);
}

// The files read every tick in one hierarchy: of each pod, of each of its containers.
struct Files {
  std::vector<const char*> pod, container;
};

// Where each pod's processes are listed (the first hierarchy walked).
std::vector<std::string> pod_proc_lists;

void Walk(const std::string& dir, const Files& files, bool record_pods, std::vector<int>& fds) {
  for (const std::string& name : Subdirs(dir)) {
    std::string path = dir + "/" + name;
    if (!IsPodDir(name)) {
      Walk(path, files, record_pods, fds);
      continue;
    }
    for (const char* f : files.pod) Open(path + "/" + f, fds);
    if (record_pods) pod_proc_lists.push_back(path + "/cgroup.procs");
    for (const std::string& c : Subdirs(path)) {
      for (const char* f : files.container) Open(path + "/" + c + "/" + f, fds);
      if (record_pods) pod_proc_lists.back() += "\n" + path + "/" + c + "/cgroup.procs";
    }
  }
}

void WalkHierarchies(const std::string& root, std::vector<int>& fds) {
  if (::access((root + "/cgroup.controllers").c_str(), F_OK) == 0) {
    Walk(root,
         {{"cpu.stat", "memory.current", "cpu.pressure", "memory.pressure", "io.pressure"},
          {"cpu.stat"}},
         true, fds);
    return;
  }
  Walk(root + "/cpu", {{"cpu.stat"}, {"cpu.stat"}}, true, fds);
  Walk(root + "/cpuacct", {{"cpuacct.usage"}, {"cpuacct.usage"}}, false, fds);
  Walk(root + "/memory", {{"memory.usage_in_bytes"}, {}}, false, fds);
  Walk(root + "/unified", {{"cpu.pressure", "memory.pressure", "io.pressure"}, {}}, false, fds);
}

// The first pid in any of the newline-separated cgroup.procs files, or "".
std::string FirstPid(const std::string& lists) {
  size_t start = 0;
  while (start < lists.size()) {
    size_t end = lists.find('\n', start);
    if (end == std::string::npos) end = lists.size();
    const std::string file = lists.substr(start, end - start);
    start = end + 1;
    char buf[64] = {};
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    return std::string(buf, std::strcspn(buf, "\n"));
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  std::string cgroup_root, proc_root;
  long interval_ms = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--cgroup-root")
      cgroup_root = argv[i + 1];
    else if (flag == "--proc-root")
      proc_root = argv[i + 1];
    else if (flag == "--interval-ms")
      interval_ms = std::stol(argv[i + 1]);
  }
  if (cgroup_root.empty() || proc_root.empty()) {
    std::fprintf(stderr, "usage: %s --cgroup-root DIR --proc-root DIR [--interval-ms N]\n",
                 argv[0]);
    return 2;
  }
  std::vector<int> fds;
  WalkHierarchies(cgroup_root, fds);
  for (const std::string& lists : pod_proc_lists) {
    const std::string pid = FirstPid(lists);
    if (!pid.empty()) Open(proc_root + "/" + pid + "/net/dev", fds);
  }
  for (const char* f : {"stat", "meminfo", "loadavg", "pressure/cpu", "pressure/memory",
                        "pressure/io", "1/net/dev", "1/net/snmp"}) {
    Open(proc_root + "/" + f, fds);
  }
  std::fprintf(stderr, "bench_read_floor: %zu files per tick\n", fds.size());
  char buf[4096];
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    for (int fd : fds) {
      if (::pread(fd, buf, sizeof buf, 0) < 0) std::perror("pread");
    }
    next += std::chrono::milliseconds(interval_ms);
    std::this_thread::sleep_until(next);
  }
}
