#include "agent/sampler/sampler.h"

#include <time.h>

#include "jostle/version.h"

namespace jostle::agent {

int64_t WallNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t MonoNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void ApplyPodNames(const PodDirectory& pods, std::vector<CgroupSample>& samples) {
  // Samples of one pod are adjacent in practice, so remember the last lookup.
  std::string last_uid;
  std::optional<PodMeta> meta;
  for (CgroupSample& s : samples) {
    if (s.pod_uid.empty()) continue;
    if (s.pod_uid != last_uid) {
      last_uid = s.pod_uid;
      meta = pods.Find(s.pod_uid);
    }
    if (!meta) continue;
    // Assigned into the strings' kept capacity (CgroupSampler::Read(vector&) clears them).
    s.namespace_name = meta->namespace_name;
    s.pod_name = meta->name;
    if (s.labels != meta->labels) s.labels = meta->labels;
    if (s.qos.empty()) s.qos = meta->qos;
    if (s.scope == Scope::kContainer) {
      auto it = meta->container_names.find(s.container_id);
      if (it != meta->container_names.end()) s.container_name = it->second;
    }
  }
}

Result<std::unique_ptr<Sampler>> Sampler::Open(const HostPaths& paths, CgroupOptions options,
                                               const PodDirectory* pods) {
  // One budget of kept files for both readers; the node's come first.
  auto budget = KeptFileBudget::Create(options.max_open_files, options.raise_open_file_limit);
  auto node = NodeReader::Open(paths, budget);
  if (!node.ok()) return node.status();
  auto cgroups = CgroupSampler::Open(paths, std::move(options), std::move(budget));
  if (!cgroups.ok()) return cgroups.status();
  return std::unique_ptr<Sampler>(
      new Sampler(std::move(node).value(), std::move(cgroups).value(), pods));
}

Sample Sampler::Tick() {
  Sample s;
  Tick(s);
  return s;
}

void Sampler::Tick(Sample& s) {
  s.wall_ns = WallNowNs();
  s.mono_ns = MonoNowNs();
  s.node = node_.Read();
  cgroups_.Read(s.cgroups);
  if (pods_ != nullptr) ApplyPodNames(*pods_, s.cgroups);
}

std::map<std::string, std::string> Sampler::HostFacts() const {
  std::map<std::string, std::string> facts = node_.host_facts();
  for (const auto& [k, v] : cgroups_.host_facts()) facts[k] = v;
  return facts;
}

BatchAssembler::BatchAssembler(std::string node, std::string boot_id, int64_t agent_start_ns,
                               int64_t interval_ns)
    : node_(std::move(node)),
      boot_id_(std::move(boot_id)),
      agent_start_ns_(agent_start_ns),
      interval_ns_(interval_ns) {}

SampleBatch BatchAssembler::Make(std::vector<Sample> samples,
                                 std::map<std::string, std::string> host) {
  SampleBatch b;
  b.node = node_;
  b.boot_id = boot_id_;
  b.agent_start_ns = agent_start_ns_;
  b.seq = next_seq_++;
  b.agent_version = kVersion;
  b.interval_ns = interval_ns_;
  b.host = std::move(host);
  b.samples = std::move(samples);
  return b;
}

TickLoop::TickLoop(std::chrono::nanoseconds interval, std::function<void()> tick)
    : interval_(interval), tick_(std::move(tick)) {}

TickLoop::~TickLoop() { Stop(); }

void TickLoop::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void TickLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TickLoop::Run() {
  using Clock = std::chrono::steady_clock;
  auto next = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    tick_();
    lock.lock();
    next += interval_;
    auto now = Clock::now();
    if (next < now) {
      // Skip the ticks we missed rather than firing them back to back.
      auto behind = (now - next) / interval_ + 1;
      next += behind * interval_;
    }
    cv_.wait_until(lock, next, [this] { return stop_; });
  }
}

}  // namespace jostle::agent
