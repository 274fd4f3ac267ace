// The pods known on this node, keyed by UID, with deleted pods kept for a grace period
// (their last samples may still arrive after the API reported the deletion).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/kube/pod_meta.h"

namespace jostle::agent {

// Thread-safe: one writer (the watch thread) and any number of readers.
class PodCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit PodCache(std::chrono::milliseconds deleted_grace) : grace_(deleted_grace) {}

  // ADDED / MODIFIED: the pod exists (again); replaces what was known.
  void Upsert(PodMeta pod);
  // DELETED: still found until now + grace.
  void MarkDeleted(const PodMeta& pod, Clock::time_point now);
  // A fresh list: these pods exist; known pods missing from it count as deleted at `now`.
  void ReplaceAll(std::vector<PodMeta> pods, Clock::time_point now);
  // The pod unless it was deleted more than the grace period before `now`.
  std::optional<PodMeta> Find(std::string_view uid, Clock::time_point now) const;
  // Forgets pods deleted more than the grace period before `now`; returns how many.
  std::size_t Purge(Clock::time_point now);

  std::size_t live_count() const;  // pods not marked deleted
  std::size_t size() const;        // live + deleted within grace (until purged)

 private:
  struct Entry {
    PodMeta pod;
    std::optional<Clock::time_point> deleted_at;
  };
  bool Expired(const Entry& entry, Clock::time_point now) const {
    return entry.deleted_at && now - *entry.deleted_at >= grace_;
  }

  const std::chrono::milliseconds grace_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Entry, std::less<>> pods_;  // guarded by mu_
};

}  // namespace jostle::agent
