// The BPF cgroup reader trial: reads the CPU time of every cgroup under ROOT (a cgroup v2
// directory) through files, as the agent does (cpu.stat kept open, pread and parsed each
// pass), and through the BPF cgroup iterator of cgroup_cpu.bpf.c in four variants; checks
// that both give the same usage for every cgroup and prints the CPU time per pass of each.
//
//   bpf_reader_trial ROOT PASSES
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cgroup_cpu.skel.h"

namespace {

namespace fs = std::filesystem;
using Usage = std::map<uint64_t, uint64_t>;  // cgroup inode -> usage, µs

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct CpuStatFile {
  uint64_t ino;
  int fd;
};

std::vector<CpuStatFile> OpenCpuStats(const fs::path& root) {
  std::vector<CpuStatFile> files;
  auto add = [&](const fs::path& dir) {
    struct stat st{};
    if (stat(dir.c_str(), &st) != 0) return;
    int fd = open((dir / "cpu.stat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) files.push_back({static_cast<uint64_t>(st.st_ino), fd});
  };
  add(root);
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_directory()) add(e.path());
  return files;
}

size_t ReadFiles(const std::vector<CpuStatFile>& files, Usage* out) {
  char b[1024];
  size_t n_read = 0;
  for (const auto& f : files) {
    ssize_t n = pread(f.fd, b, sizeof b - 1, 0);
    if (n <= 0) continue;
    b[n] = 0;
    const char* p = std::strstr(b, "usage_usec ");
    uint64_t usage = p ? std::strtoull(p + 11, nullptr, 10) : 0;
    ++n_read;
    if (out) (*out)[f.ino] = usage;
  }
  return n_read;
}

struct Variant {
  const char* name;
  bool flush_each, binary;
};

class Iterator {
 public:
  Iterator(const Variant& v, int root_fd) : binary_(v.binary), buf_(1 << 20) {
    skel_ = cgroup_cpu_bpf__open();
    if (!skel_) return;
    skel_->rodata->flush_each = v.flush_each;
    skel_->rodata->binary = v.binary;
    if (cgroup_cpu_bpf__load(skel_) != 0) return;
    union bpf_iter_link_info info{};
    info.cgroup.cgroup_fd = static_cast<__u32>(root_fd);
    info.cgroup.order = BPF_CGROUP_ITER_DESCENDANTS_PRE;
    DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info,
                        .link_info_len = sizeof(info));
    link_ = bpf_program__attach_iter(skel_->progs.dump_cpu, &opts);
  }
  ~Iterator() {
    bpf_link__destroy(link_);
    cgroup_cpu_bpf__destroy(skel_);
  }
  bool ok() const { return link_ != nullptr; }

  // One pass over every cgroup; returns how many it reported.
  size_t Read(Usage* out) {
    int it = bpf_iter_create(bpf_link__fd(link_));
    if (it < 0) return 0;
    size_t len = 0;
    for (ssize_t n; (n = read(it, buf_.data() + len, buf_.size() - len - 1)) > 0;)
      len += static_cast<size_t>(n);
    close(it);
    buf_[len] = 0;
    size_t count = 0;
    if (binary_) {
      struct Record {
        uint64_t id, sum_exec_ns, user_ns, system_ns;
      };
      for (size_t o = 0; o + sizeof(Record) <= len; o += sizeof(Record), ++count) {
        Record r;
        std::memcpy(&r, buf_.data() + o, sizeof r);
        if (out) (*out)[r.id] = r.sum_exec_ns / 1000;
      }
      return count;
    }
    for (char* p = buf_.data(); *p; ++count) {
      uint64_t id = std::strtoull(p, &p, 10), sum_exec_ns = std::strtoull(p, &p, 10);
      p = std::strchr(p, '\n');
      if (!p) break;
      ++p;
      if (out) (*out)[id] = sum_exec_ns / 1000;
    }
    return count;
  }

 private:
  bool binary_;
  std::vector<char> buf_;
  cgroup_cpu_bpf* skel_ = nullptr;
  bpf_link* link_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s ROOT PASSES\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  const int passes = std::atoi(argv[2]);
  std::vector<CpuStatFile> files = OpenCpuStats(root);
  int root_fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (files.empty() || root_fd < 0 || passes <= 0) {
    std::fprintf(stderr, "%s: no cgroup v2 directory with cpu.stat\n", root.c_str());
    return 2;
  }
  const Variant variants[] = {{"text, flush each cgroup", true, false},
                              {"text, flush the root once", false, false},
                              {"records, flush each cgroup", true, true},
                              {"records, flush the root once", false, true}};
  std::printf("%zu cgroups, %d passes\n", files.size(), passes);
  int status = 0;
  for (const Variant& v : variants) {
    Iterator iter(v, root_fd);
    if (!iter.ok()) {
      std::fprintf(stderr, "cannot load or attach the cgroup iterator: %s\n",
                   std::strerror(errno));
      return 1;
    }
    // Values: both ways back to back; equal, or within the 2 ms a cgroup may run between.
    Usage by_file, by_bpf;
    ReadFiles(files, &by_file);
    size_t reported = iter.Read(&by_bpf);
    int same = 0, differ = 0, missing = 0;
    for (const auto& [ino, usage] : by_file) {
      auto it = by_bpf.find(ino);
      if (it == by_bpf.end()) {
        ++missing;
      } else {
        (it->second >= usage ? it->second - usage : usage - it->second) <= 2000 ? ++same
                                                                                 : ++differ;
      }
    }
    // Cost: the files' floor and the iterator, alternating blocks of passes.
    double file_s = 0, bpf_s = 0;
    for (int block = 0; block < 10; ++block) {
      double t0 = CpuSeconds();
      for (int i = 0; i < passes / 10; ++i) ReadFiles(files, nullptr);
      double t1 = CpuSeconds();
      for (int i = 0; i < passes / 10; ++i) iter.Read(nullptr);
      file_s += t1 - t0;
      bpf_s += CpuSeconds() - t1;
    }
    const double n = static_cast<double>(passes / 10 * 10);
    std::printf(
        "%-30s reported %zu; usage equal %d, differ %d, missing %d; per pass: files %.0f us, "
        "bpf %.0f us; bpf/files %.2f\n",
        v.name, reported, same, differ, missing, file_s / n * 1e6, bpf_s / n * 1e6,
        bpf_s / file_s);
    if (differ || missing) status = 1;
  }
  return status;
}
