// What the Kubernetes API (or /var/log/pods) tells about a pod, keyed by pod UID.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace jostle::agent {

struct PodMeta {
  std::string uid;
  std::string namespace_name;
  std::string name;
  std::string node;
  std::string qos;  // "guaranteed" | "burstable" | "besteffort" (status.qosClass, lowercased)
  std::map<std::string, std::string> labels;           // only those selected by --pod-labels
  std::map<std::string, std::string> container_names;  // container id (no runtime prefix) -> name
  bool host_network = false;
};

// Looks up pod metadata by UID. Implementations are thread-safe; Find never blocks on
// the network (it answers from what is known now).
class PodDirectory {
 public:
  virtual ~PodDirectory() = default;
  virtual std::optional<PodMeta> Find(std::string_view uid) const = 0;
};

}  // namespace jostle::agent
