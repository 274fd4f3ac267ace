#include "agent/kube/pod_cache.h"

#include <mutex>
#include <set>

namespace jostle::agent {

void PodCache::Upsert(PodMeta pod) {
  std::unique_lock lock(mu_);
  std::string uid = pod.uid;
  pods_[std::move(uid)] = Entry{std::move(pod), std::nullopt};
}

void PodCache::MarkDeleted(const PodMeta& pod, Clock::time_point now) {
  std::unique_lock lock(mu_);
  auto it = pods_.find(pod.uid);
  if (it == pods_.end()) {
    // Deleted before we saw it: keep its last state for late samples all the same.
    pods_.emplace(pod.uid, Entry{pod, now});
    return;
  }
  it->second.pod = pod;
  if (!it->second.deleted_at) it->second.deleted_at = now;
}

void PodCache::ReplaceAll(std::vector<PodMeta> pods, Clock::time_point now) {
  std::set<std::string, std::less<>> listed;
  for (const PodMeta& pod : pods) listed.insert(pod.uid);
  std::unique_lock lock(mu_);
  for (auto& [uid, entry] : pods_) {
    if (!entry.deleted_at && listed.find(uid) == listed.end()) entry.deleted_at = now;
  }
  for (PodMeta& pod : pods) {
    std::string uid = pod.uid;
    pods_[std::move(uid)] = Entry{std::move(pod), std::nullopt};
  }
}

std::optional<PodMeta> PodCache::Find(std::string_view uid, Clock::time_point now) const {
  std::shared_lock lock(mu_);
  auto it = pods_.find(uid);
  if (it == pods_.end() || Expired(it->second, now)) return std::nullopt;
  return it->second.pod;
}

std::size_t PodCache::Purge(Clock::time_point now) {
  std::unique_lock lock(mu_);
  return std::erase_if(pods_, [&](const auto& item) { return Expired(item.second, now); });
}

std::size_t PodCache::live_count() const {
  std::shared_lock lock(mu_);
  std::size_t n = 0;
  for (const auto& [uid, entry] : pods_) n += entry.deleted_at ? 0 : 1;
  return n;
}

std::size_t PodCache::size() const {
  std::shared_lock lock(mu_);
  return pods_.size();
}

}  // namespace jostle::agent
