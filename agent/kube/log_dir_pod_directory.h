// Names pods from the kubelet's log directories, /var/log/pods/<namespace>_<name>_<uid>:
// the fallback when the Kubernetes API cannot be reached. Gives namespace and name only.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agent/kube/pod_meta.h"
#include "jostle/status.h"

namespace jostle::agent {

struct PodLogDirName {
  std::string namespace_name;
  std::string name;
  std::string uid;
};
// "<namespace>_<name>_<uid>" -> its parts; nullopt for any other name. Namespaces and pod
// names are DNS labels/subdomains and UIDs hex with dashes: none contains '_'.
std::optional<PodLogDirName> ParsePodLogDirName(std::string_view dir_name);

class LogDirPodDirectory : public PodDirectory {
 public:
  using Clock = std::chrono::steady_clock;

  // `dir` is the kubelet's pod log root (/var/log/pods on the host, under --host-root).
  // A lookup that misses rescans the directory, at most once per `min_rescan`.
  explicit LogDirPodDirectory(std::string dir,
                              std::chrono::milliseconds min_rescan = std::chrono::seconds(5));

  // Any thread. Reads the local directory at most once per min_rescan; never the network.
  std::optional<PodMeta> Find(std::string_view uid) const override;

  // Reads the directory now. NotFound / PermissionDenied when it cannot be listed (the
  // previous contents are kept).
  Status Rescan();
  std::size_t size() const;

 private:
  Status RescanLocked() const;

  const std::string dir_;
  const std::chrono::milliseconds min_rescan_;
  mutable std::mutex mu_;
  mutable std::map<std::string, PodMeta, std::less<>> pods_;  // by uid; guarded by mu_
  mutable std::optional<Clock::time_point> last_scan_;        // guarded by mu_
  mutable bool warned_ = false;                               // guarded by mu_
};

}  // namespace jostle::agent
