// The sampling tick shared by jostle-agent and `jostle run`: the node, every cgroup, pod
// names applied from a PodDirectory; batch identity; and the loop that ticks on time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/cgroup/cgroup_sampler.h"
#include "agent/kube/pod_meta.h"
#include "agent/procfs/host_paths.h"
#include "agent/procfs/node_reader.h"
#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::agent {

// Fills namespace, pod, container names, QoS (when the cgroup path gave none) and labels
// of pod and container samples from `pods`. Samples of unknown pods keep their UID only.
void ApplyPodNames(const PodDirectory& pods, std::vector<CgroupSample>& samples);

// Reads one Sample per call. Not thread-safe: one thread calls Tick.
class Sampler {
 public:
  // `pods` may be null (no Kubernetes); it must outlive the Sampler.
  static Result<std::unique_ptr<Sampler>> Open(const HostPaths& paths, CgroupOptions options,
                                               const PodDirectory* pods);
  Sample Tick();
  // The same as Tick() into `out`, reusing its cgroup samples (CgroupSampler::Read(vector&)):
  // pass the Sample an earlier call filled to avoid copying every cgroup's identity strings.
  void Tick(Sample& out);
  // Facts for SampleBatch::host: node reader's and cgroup sampler's merged.
  std::map<std::string, std::string> HostFacts() const;
  uint64_t read_errors() const { return node_.read_errors(); }

 private:
  Sampler(NodeReader node, CgroupSampler cgroups, const PodDirectory* pods)
      : node_(std::move(node)), cgroups_(std::move(cgroups)), pods_(pods) {}
  NodeReader node_;
  CgroupSampler cgroups_;
  const PodDirectory* pods_;
};

// Gives batches their identity: (node, boot id, agent start, seq), seq counting from 0.
class BatchAssembler {
 public:
  BatchAssembler(std::string node, std::string boot_id, int64_t agent_start_ns,
                 int64_t interval_ns);
  SampleBatch Make(std::vector<Sample> samples, std::map<std::string, std::string> host);

 private:
  std::string node_;
  std::string boot_id_;
  int64_t agent_start_ns_;
  int64_t interval_ns_;
  uint64_t next_seq_ = 0;
};

// Calls `tick` every `interval` on its own thread, on a fixed monotonic schedule (a slow
// tick delays the next one; missed ticks are skipped, not bunched up).
class TickLoop {
 public:
  TickLoop(std::chrono::nanoseconds interval, std::function<void()> tick);
  ~TickLoop();
  void Start();
  // Returns after the tick in progress, if any, has finished.
  void Stop();

 private:
  void Run();
  std::chrono::nanoseconds interval_;
  std::function<void()> tick_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// Wall and monotonic clocks in ns, as stamped on samples.
int64_t WallNowNs();
int64_t MonoNowNs();

}  // namespace jostle::agent
