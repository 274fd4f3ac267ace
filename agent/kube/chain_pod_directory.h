// Asks several pod directories in order; the first that knows a pod answers (the agent
// chains the Kubernetes API directory before the /var/log/pods one).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "agent/kube/pod_meta.h"

namespace jostle::agent {

class ChainPodDirectory : public PodDirectory {
 public:
  // Does not own the directories; they must outlive this object. Null entries are skipped.
  explicit ChainPodDirectory(std::vector<const PodDirectory*> directories)
      : directories_(std::move(directories)) {}

  std::optional<PodMeta> Find(std::string_view uid) const override {
    for (const PodDirectory* directory : directories_) {
      if (directory == nullptr) continue;
      if (std::optional<PodMeta> pod = directory->Find(uid)) return pod;
    }
    return std::nullopt;
  }

 private:
  const std::vector<const PodDirectory*> directories_;
};

}  // namespace jostle::agent
