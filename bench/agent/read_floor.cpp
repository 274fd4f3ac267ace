// The least a 1 Hz cgroup sampler can cost on a host: opens the files jostle-agent reads on
// every tick and preads each of them once per interval, parsing nothing. Run next to the
// agent by bench/agent_process.sh, so the agent's CPU can be set against what the reads
// alone cost in the same run.
//
//   bench_read_floor --cgroup-root DIR --proc-root DIR [--interval-ms 1000]
//
// Every tick, like jostle-agent's defaults: each pod's cpu.stat, memory.current and three
// PSI files, each container's cpu.stat, each pod's net/dev (every <proc-root>/<pid>/net/dev
// but 1's), and the node's stat, meminfo, loadavg, pressure/* and 1/net/{dev,snmp}.
// A pod is a directory named like a kubelet pod cgroup ("pod<uid>" or
// "kubepods-<qos>-pod<uid>.slice"); its subdirectories are its containers. Runs until
// SIGTERM.
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

void Walk(const std::string& dir, std::vector<int>& fds) {
  for (const std::string& name : Subdirs(dir)) {
    std::string path = dir + "/" + name;
    if (!IsPodDir(name)) {
      Walk(path, fds);
      continue;
    }
    for (const char* f :
         {"cpu.stat", "memory.current", "cpu.pressure", "memory.pressure", "io.pressure"}) {
      Open(path + "/" + f, fds);
    }
    for (const std::string& c : Subdirs(path)) Open(path + "/" + c + "/cpu.stat", fds);
  }
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
  Walk(cgroup_root, fds);
  for (const std::string& pid : Subdirs(proc_root)) {
    if (pid != "1" && pid.find_first_not_of("0123456789") == std::string::npos) {
      Open(proc_root + "/" + pid + "/net/dev", fds);
    }
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
