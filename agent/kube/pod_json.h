// Pure parsers for the Kubernetes API's JSON: Pod, PodList, watch events and Status
// objects (core/v1). No I/O; every function takes the text as received.
#pragma once

#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/kube/pod_meta.h"
#include "jostle/status.h"

namespace jostle::agent {

// Which pod labels are kept in PodMeta::labels (--pod-labels).
class PodLabelFilter {
 public:
  PodLabelFilter() = default;  // keeps no labels
  // "app,team" keeps those keys; "*" keeps all; "" keeps none. Spaces around keys ignored.
  static PodLabelFilter Parse(std::string_view flag);
  static PodLabelFilter All();
  bool Keeps(std::string_view key) const;
  bool keeps_all() const { return all_; }

 private:
  bool all_ = false;
  std::set<std::string, std::less<>> keys_;
};

// "containerd://<id>", "cri-o://<id>", "docker://<id>" -> "<id>"; text without "://" as is.
std::string_view StripRuntimePrefix(std::string_view container_id);

// A Pod object (kind Pod, or an item of a PodList). InvalidArgument names the missing field
// when metadata.uid is absent or the text is not a JSON object.
Result<PodMeta> ParsePodJson(std::string_view json, const PodLabelFilter& labels);

struct PodList {
  std::string resource_version;  // metadata.resourceVersion: where a watch starts
  std::vector<PodMeta> pods;
};
// A PodList (GET /api/v1/pods). Items without a uid are skipped and counted.
Result<PodList> ParsePodListJson(std::string_view json, const PodLabelFilter& labels,
                                 std::size_t* skipped_items = nullptr);

// A metav1.Status object, as sent with HTTP errors and in watch ERROR events.
struct ApiStatus {
  int code = 0;         // "code": HTTP status (410, 401, ...)
  std::string reason;   // "reason": "Expired", "Gone", "Unauthorized", "Forbidden", ...
  std::string message;  // "message": human-readable
};
// InvalidArgument when the text is not a JSON object of kind Status.
Result<ApiStatus> ParseApiStatusJson(std::string_view json);

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view WatchEventTypeName(WatchEventType type);

// One line of a watch stream: {"type": "...", "object": {...}}.
struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  std::string resource_version;  // object.metadata.resourceVersion (ADDED..BOOKMARK)
  PodMeta pod;                   // ADDED, MODIFIED, DELETED
  ApiStatus error;               // ERROR
};
Result<WatchEvent> ParseWatchEventJson(std::string_view line, const PodLabelFilter& labels);

// Cuts a byte stream that arrives in arbitrary chunks into '\n'-terminated lines (the watch
// stream's framing). A line longer than max_line_bytes is dropped and counted.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line_bytes = 16u << 20) : max_line_(max_line_bytes) {}
  // Calls on_line for every complete line in data (without the '\n', with a trailing '\r'
  // removed, empty lines skipped); stops early and returns false when on_line does.
  bool Feed(std::string_view data, const std::function<bool(std::string_view)>& on_line);
  std::size_t pending_bytes() const { return pending_.size(); }
  std::size_t dropped_lines() const { return dropped_; }

 private:
  std::size_t max_line_;
  std::string pending_;
  bool discarding_ = false;  // the current line overflowed; skip to its end
  std::size_t dropped_ = 0;
};

}  // namespace jostle::agent
