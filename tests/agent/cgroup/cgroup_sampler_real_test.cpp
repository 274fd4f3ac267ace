// CgroupSampler against the real cgroup filesystem of this machine. Creates two pod-like
// cgroups (cgroupfs driver layout) beneath this process's own cgroup in every hierarchy the
// sampler reads, runs a CPU burner under a 20 ms / 100 ms quota in one of them, and checks
// that the burner's usage and throttling rise while the idle sibling's do not. A third pod
// has its process one level below its container's cgroup ("ctr/container", as crun puts
// it under a systemd scope). Everything it creates is removed in TearDown. Skips when
// cgroups cannot be written here.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/cgroup/cgroup_parsers.h"
#include "agent/cgroup/cgroup_sampler.h"
#include "support/real_parts.h"

namespace jostle::agent {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, const std::string& text, std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    *error = path + ": " + std::strerror(err);
    return false;
  }
  return true;
}

std::string NewUuid() {
  std::string u = Slurp("/proc/sys/kernel/random/uuid");
  while (!u.empty() && u.back() == '\n') u.pop_back();
  return u;
}

// One place in one hierarchy where the test builds its tree.
struct Place {
  std::string mount;  // /sys/fs/cgroup/cpu, /sys/fs/cgroup/unified, or the v2 root
  std::string base;   // <mount><own cgroup>/jostle-test-<pid>
  bool v2 = false;
  bool cpu = false;  // quota is set here
};

class RealCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) JOSTLE_SKIP_MISSING_REAL("needs root to create cgroups");
    auto self = ParseProcCgroup(Slurp("/proc/self/cgroup"), "/proc/self/cgroup");
    if (!self.ok()) JOSTLE_SKIP_MISSING_REAL(self.status().ToString());
    std::string suffix = "/jostle-test-" + std::to_string(::getpid());
    auto own = [&](const std::string& controller) {
      auto it = self->find(controller);
      std::string p = it == self->end() ? "/" : it->second;
      return p == "/" ? std::string() : p;
    };
    std::string root = kCgroupRoot;
    if (fs::exists(root + "/cgroup.controllers")) {
      places_.push_back({root, root + own("") + suffix, true, true});
    } else {
      std::vector<fs::path> seen;
      for (const char* c : {"cpu", "cpuacct", "memory"}) {
        std::error_code ec;
        fs::path real = fs::canonical(root + "/" + c, ec);
        if (ec) continue;
        if (std::find(seen.begin(), seen.end(), real) != seen.end()) {
          if (std::string(c) == "cpu") places_.back().cpu = true;
          continue;
        }
        seen.push_back(real);
        places_.push_back({real.string(), real.string() + own(c) + suffix, false,
                           std::string(c) == "cpu" ||
                               real.filename().string().find("cpu,") != std::string::npos});
      }
      if (fs::exists(root + "/unified/cgroup.controllers")) {
        unified_ = {root + "/unified", root + "/unified" + own("") + suffix, true, false};
      }
    }
    if (places_.empty()) JOSTLE_SKIP_MISSING_REAL("no cgroup hierarchy under " << root);
    pod_burn_ = NewUuid();
    pod_idle_ = NewUuid();
    pod_nested_ = NewUuid();
    ASSERT_EQ(pod_burn_.size(), 36u);
    for (const Place& p : places_) {
      std::string err;
      if (!MakeTree(p, &err)) JOSTLE_SKIP_MISSING_REAL("cannot create cgroups here: " << err);
    }
    if (unified_) {
      std::string err;
      if (!MakeTree(*unified_, &err)) {
        unified_.reset();  // PSI is then not checked
      } else {
        places_.push_back(*unified_);
      }
    }
  }

  bool MakeTree(const Place& p, std::string* err) {
    for (const std::string& rel :
         {std::string(), std::string("/kubepods"), std::string("/kubepods/burstable"),
          PodRel(pod_burn_), PodRel(pod_burn_) + "/burner", PodRel(pod_idle_),
          PodRel(pod_idle_) + "/idle", PodRel(pod_nested_), PodRel(pod_nested_) + "/ctr",
          PodRel(pod_nested_) + "/ctr/container"}) {
      std::string dir = p.base + rel;
      if (::mkdir(dir.c_str(), 0755) != 0) {
        *err = dir + ": " + std::strerror(errno);
        return false;
      }
      created_.push_back(dir);
    }
    if (p.v2 && p.cpu) {
      // Enable the cpu controller down to the pods (fails if the parent has processes).
      for (const std::string& rel : {std::string(), std::string("/kubepods"),
                                     std::string("/kubepods/burstable"), PodRel(pod_burn_)}) {
        if (!WriteFile(p.base + rel + "/cgroup.subtree_control", "+cpu", err)) return false;
      }
      return WriteFile(p.base + PodRel(pod_burn_) + "/cpu.max", "20000 100000", err);
    }
    if (p.cpu) {
      return WriteFile(p.base + PodRel(pod_burn_) + "/cpu.cfs_period_us", "100000", err) &&
             WriteFile(p.base + PodRel(pod_burn_) + "/cpu.cfs_quota_us", "20000", err);
    }
    return true;
  }

  static std::string PodRel(const std::string& uid) { return "/kubepods/burstable/pod" + uid; }

  void StartBurner() {
    burner_ = ::fork();
    ASSERT_GE(burner_, 0) << std::strerror(errno);
    if (burner_ == 0) {
      volatile uint64_t x = 0;
      for (;;) x = x + 1;
    }
    for (const Place& p : places_) {
      std::string err;
      ASSERT_TRUE(WriteFile(p.base + PodRel(pod_burn_) + "/burner/cgroup.procs",
                            std::to_string(burner_), &err))
          << err;
    }
  }

  // A sleeping process in the nested pod's ctr/container.
  void StartSleeper() {
    sleeper_ = ::fork();
    ASSERT_GE(sleeper_, 0) << std::strerror(errno);
    if (sleeper_ == 0) {
      for (;;) ::pause();
    }
    for (const Place& p : places_) {
      std::string err;
      ASSERT_TRUE(WriteFile(p.base + PodRel(pod_nested_) + "/ctr/container/cgroup.procs",
                            std::to_string(sleeper_), &err))
          << err;
    }
  }

  void TearDown() override {
    for (pid_t pid : {burner_, sleeper_}) {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
    // Deepest first; a cgroup whose last task just died may need a moment to empty.
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
      for (int attempt = 0; attempt < 50; ++attempt) {
        if (::rmdir(it->c_str()) == 0 || errno == ENOENT) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      EXPECT_FALSE(fs::exists(*it)) << "left behind: " << *it;
    }
  }

  static const CgroupSample* Find(const std::vector<CgroupSample>& samples, Scope scope,
                                  const std::string& id) {
    for (const auto& s : samples) {
      if (s.scope == scope && s.id == id) return &s;
    }
    return nullptr;
  }

  std::vector<Place> places_;
  std::optional<Place> unified_;
  std::vector<std::string> created_;
  std::string pod_burn_, pod_idle_, pod_nested_;
  pid_t burner_ = -1;
  pid_t sleeper_ = -1;
};

TEST_F(RealCgroupTest, BurnerUsesCpuAndIsThrottledIdleSiblingIsNot) {
  StartBurner();
  StartSleeper();
  HostPaths paths;  // /proc, /sys, /sys/fs/cgroup
  CgroupOptions options;
  options.rescan_every_ticks = 1000;
  auto sampler = CgroupSampler::Open(paths, options);
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  EXPECT_EQ(sampler->host_facts().at("cgroup_driver"), "cgroupfs");

  auto t0 = sampler->Read();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto t1 = sampler->Read();

  const CgroupSample* burn0 = Find(t0, Scope::kPod, pod_burn_);
  const CgroupSample* burn1 = Find(t1, Scope::kPod, pod_burn_);
  const CgroupSample* idle0 = Find(t0, Scope::kPod, pod_idle_);
  const CgroupSample* idle1 = Find(t1, Scope::kPod, pod_idle_);
  const CgroupSample* cont1 = Find(t1, Scope::kContainer, pod_burn_ + "/burner");
  ASSERT_TRUE(burn0 && burn1 && idle0 && idle1 && cont1);
  EXPECT_EQ(burn1->qos, "burstable");
  ASSERT_TRUE(burn0->cpu_usage_us && burn1->cpu_usage_us);
  ASSERT_TRUE(burn0->cpu_throttled_periods && burn1->cpu_throttled_periods);
  ASSERT_TRUE(idle0->cpu_usage_us && idle1->cpu_usage_us);
  ASSERT_TRUE(idle0->cpu_throttled_periods && idle1->cpu_throttled_periods);
  // 20 ms per 100 ms over ~1.5 s is ~300 ms of CPU; ask for a third of it.
  EXPECT_GE(*burn1->cpu_usage_us - *burn0->cpu_usage_us, 100000u);
  EXPECT_GE(*burn1->cpu_throttled_periods - *burn0->cpu_throttled_periods, 5u);
  EXPECT_GT(*burn1->cpu_throttled_us, *burn0->cpu_throttled_us);
  EXPECT_EQ(burn1->cpu_limit_cores, 0.2);
  EXPECT_GT(*cont1->cpu_usage_us, 0u);
  EXPECT_EQ(*idle1->cpu_usage_us, *idle0->cpu_usage_us);
  EXPECT_EQ(*idle1->cpu_throttled_periods, *idle0->cpu_throttled_periods);
  EXPECT_FALSE(idle1->cpu_limit_cores.has_value());
  EXPECT_TRUE(burn1->mem_usage_bytes.has_value());
  EXPECT_TRUE(burn1->mem_working_set_bytes.has_value());
  if (unified_) {
    ASSERT_TRUE(burn1->psi_cpu.has_value());
    EXPECT_TRUE(burn1->psi_cpu->some_us.has_value());
  }
  // The burner lives in this test's network namespace: hostNetwork when that is pid 1's.
  // When pid 1's namespace cannot be read (some sandboxes), no pod is hostNetwork.
  std::error_code ec;
  fs::path host_ns = fs::read_symlink("/proc/1/ns/net", ec);
  bool same_ns = !ec && fs::read_symlink("/proc/self/ns/net") == host_ns;
  EXPECT_EQ(burn1->host_network, same_ns);
  EXPECT_EQ(burn1->net.has_value(), !same_ns);
  if (burn1->net) {
    EXPECT_EQ(burn1->net->interface, "*");
  }
  EXPECT_FALSE(idle1->net.has_value());  // no process to look through
  EXPECT_FALSE(idle1->host_network);
  // The nested pod's process is found below its container's cgroup; "container" is not a
  // container of its own.
  const CgroupSample* nested1 = Find(t1, Scope::kPod, pod_nested_);
  ASSERT_NE(nested1, nullptr);
  EXPECT_EQ(nested1->host_network, same_ns);
  EXPECT_EQ(nested1->net.has_value(), !same_ns);
  EXPECT_NE(Find(t1, Scope::kContainer, pod_nested_ + "/ctr"), nullptr);
  EXPECT_EQ(Find(t1, Scope::kContainer, pod_nested_ + "/container"), nullptr);

  // The idle pod is removed while its files are open: the next Read drops it quietly.
  for (const Place& p : places_) {
    ASSERT_EQ(::rmdir((p.base + PodRel(pod_idle_) + "/idle").c_str()), 0) << std::strerror(errno);
    ASSERT_EQ(::rmdir((p.base + PodRel(pod_idle_)).c_str()), 0) << std::strerror(errno);
  }
  uint64_t vanished = sampler->stats().vanished;
  auto t2 = sampler->Read();
  EXPECT_EQ(Find(t2, Scope::kPod, pod_idle_), nullptr);
  EXPECT_EQ(Find(t2, Scope::kContainer, pod_idle_ + "/idle"), nullptr);
  EXPECT_EQ(sampler->stats().vanished, vanished + 2);
  EXPECT_NE(Find(t2, Scope::kPod, pod_burn_), nullptr);
}

// cgroup.pressure = 0 (kernels from 6.5) hides a cgroup's *.pressure files, as psi=0 hides
// them everywhere on recent kernels: a kept-open file then reads ENODEV and reopening it
// gives ENOENT. Its PSI fields go absent while everything else keeps coming, and come
// back at a rescan once PSI is turned on again.
TEST_F(RealCgroupTest, PsiHiddenForAPodIsAbsentUntilShownAgain) {
  if (!unified_ && !(places_.front().v2)) JOSTLE_SKIP_MISSING_REAL("no cgroup v2 hierarchy here");
  const Place& v2 = unified_ ? *unified_ : places_.front();
  const std::string knob = v2.base + PodRel(pod_burn_) + "/cgroup.pressure";
  if (!fs::exists(knob)) JOSTLE_SKIP_MISSING_REAL("no cgroup.pressure on this kernel");
  StartBurner();
  HostPaths paths;
  CgroupOptions options;
  options.rescan_every_ticks = 2;
  auto sampler = CgroupSampler::Open(paths, options);
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  auto t0 = sampler->Read();
  const CgroupSample* pod = Find(t0, Scope::kPod, pod_burn_);
  ASSERT_NE(pod, nullptr);
  if (!pod->psi_cpu) JOSTLE_SKIP_MISSING_REAL("no PSI on this kernel");
  std::string err;
  ASSERT_TRUE(WriteFile(knob, "0", &err)) << err;
  for (int tick = 1; tick <= 3; ++tick) {  // the kept files, then reopening, then a rescan
    auto t = sampler->Read();
    pod = Find(t, Scope::kPod, pod_burn_);
    ASSERT_NE(pod, nullptr) << "tick " << tick;
    EXPECT_FALSE(pod->psi_cpu.has_value()) << "tick " << tick;
    EXPECT_FALSE(pod->psi_memory.has_value()) << "tick " << tick;
    EXPECT_TRUE(pod->cpu_usage_us.has_value()) << "tick " << tick;
    EXPECT_TRUE(pod->mem_usage_bytes.has_value()) << "tick " << tick;
    ASSERT_NE(Find(t, Scope::kContainer, pod_burn_ + "/burner"), nullptr);
    EXPECT_TRUE(Find(t, Scope::kContainer, pod_burn_ + "/burner")->psi_cpu.has_value())
        << "only the pod's PSI is hidden";
  }
  EXPECT_EQ(sampler->stats().vanished, 0u);
  ASSERT_TRUE(WriteFile(knob, "1", &err)) << err;
  bool back = false;
  for (int tick = 0; tick < options.rescan_every_ticks + 1 && !back; ++tick) {
    auto t = sampler->Read();
    pod = Find(t, Scope::kPod, pod_burn_);
    ASSERT_NE(pod, nullptr);
    back = pod->psi_cpu.has_value();
  }
  EXPECT_TRUE(back) << "PSI is read again after the next rescan";
}

}  // namespace
}  // namespace jostle::agent
