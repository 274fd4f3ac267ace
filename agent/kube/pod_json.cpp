#include "agent/kube/pod_json.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace jostle::agent {
namespace {

using nlohmann::json;

// The string at obj[key], or "" when absent or not a string.
std::string StringAt(const json& obj, std::string_view key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

const json& ObjectAt(const json& obj, std::string_view key) {
  static const json kEmpty = json::object();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return kEmpty;
  return *it;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void AddContainerStatuses(const json& status, std::string_view key, PodMeta* pod) {
  auto it = status.find(key);
  if (it == status.end() || !it->is_array()) return;
  for (const json& container : *it) {
    const std::string name = StringAt(container, "name");
    if (name.empty()) continue;
    const std::string id = StringAt(container, "containerID");
    if (!id.empty()) pod->container_names[std::string(StripRuntimePrefix(id))] = name;
    // The previous instance of a restarted container: its last samples may still arrive.
    const std::string last_id =
        StringAt(ObjectAt(ObjectAt(container, "lastState"), "terminated"), "containerID");
    if (!last_id.empty()) pod->container_names[std::string(StripRuntimePrefix(last_id))] = name;
  }
}

Result<PodMeta> PodFromJson(const json& obj, const PodLabelFilter& labels) {
  if (!obj.is_object()) return Status::InvalidArgument("pod is not a JSON object");
  const json& metadata = ObjectAt(obj, "metadata");
  PodMeta pod;
  pod.uid = StringAt(metadata, "uid");
  if (pod.uid.empty()) {
    return Status::InvalidArgument("pod " + StringAt(metadata, "namespace") + "/" +
                                   StringAt(metadata, "name") + " has no metadata.uid");
  }
  pod.namespace_name = StringAt(metadata, "namespace");
  pod.name = StringAt(metadata, "name");
  const json& label_obj = ObjectAt(metadata, "labels");
  for (auto it = label_obj.begin(); it != label_obj.end(); ++it) {
    if (it.value().is_string() && labels.Keeps(it.key())) {
      pod.labels[it.key()] = it.value().get<std::string>();
    }
  }
  const json& spec = ObjectAt(obj, "spec");
  pod.node = StringAt(spec, "nodeName");
  auto host_network = spec.find("hostNetwork");
  pod.host_network =
      host_network != spec.end() && host_network->is_boolean() && host_network->get<bool>();
  const json& status = ObjectAt(obj, "status");
  pod.qos = Lower(StringAt(status, "qosClass"));
  AddContainerStatuses(status, "initContainerStatuses", &pod);
  AddContainerStatuses(status, "containerStatuses", &pod);
  AddContainerStatuses(status, "ephemeralContainerStatuses", &pod);
  return pod;
}

Result<json> ParseJson(std::string_view text, std::string_view what) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Status::InvalidArgument(std::string(what) + ": not valid JSON (" +
                                   std::to_string(text.size()) + " bytes)");
  }
  if (!parsed.is_object()) return Status::InvalidArgument(std::string(what) + ": not an object");
  return parsed;
}

ApiStatus ApiStatusFromJson(const json& obj) {
  ApiStatus status;
  auto code = obj.find("code");
  if (code != obj.end() && code->is_number_integer()) status.code = code->get<int>();
  status.reason = StringAt(obj, "reason");
  status.message = StringAt(obj, "message");
  return status;
}

}  // namespace

PodLabelFilter PodLabelFilter::Parse(std::string_view flag) {
  PodLabelFilter filter;
  while (!flag.empty()) {
    const size_t comma = flag.find(',');
    std::string_view key = flag.substr(0, comma);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key == "*") {
      filter.all_ = true;
    } else if (!key.empty()) {
      filter.keys_.emplace(key);
    }
    if (comma == std::string_view::npos) break;
    flag.remove_prefix(comma + 1);
  }
  return filter;
}

PodLabelFilter PodLabelFilter::All() {
  PodLabelFilter filter;
  filter.all_ = true;
  return filter;
}

bool PodLabelFilter::Keeps(std::string_view key) const {
  return all_ || keys_.find(key) != keys_.end();
}

std::string_view StripRuntimePrefix(std::string_view container_id) {
  const size_t sep = container_id.find("://");
  return sep == std::string_view::npos ? container_id : container_id.substr(sep + 3);
}

Result<PodMeta> ParsePodJson(std::string_view text, const PodLabelFilter& labels) {
  Result<json> parsed = ParseJson(text, "pod");
  if (!parsed.ok()) return parsed.status();
  return PodFromJson(*parsed, labels);
}

Result<PodList> ParsePodListJson(std::string_view text, const PodLabelFilter& labels,
                                 std::size_t* skipped_items) {
  Result<json> parsed = ParseJson(text, "pod list");
  if (!parsed.ok()) return parsed.status();
  const json& obj = *parsed;
  const std::string kind = StringAt(obj, "kind");
  if (kind != "PodList") {
    return Status::InvalidArgument("pod list: kind is \"" + kind + "\", expected PodList");
  }
  PodList list;
  list.resource_version = StringAt(ObjectAt(obj, "metadata"), "resourceVersion");
  if (list.resource_version.empty()) {
    return Status::InvalidArgument("pod list: metadata.resourceVersion is missing");
  }
  size_t skipped = 0;
  auto items = obj.find("items");
  if (items != obj.end() && items->is_array()) {
    list.pods.reserve(items->size());
    for (const json& item : *items) {
      Result<PodMeta> pod = PodFromJson(item, labels);
      if (pod.ok()) {
        list.pods.push_back(std::move(pod).value());
      } else {
        ++skipped;
      }
    }
  } else if (items != obj.end() && !items->is_null()) {
    return Status::InvalidArgument("pod list: items is not an array");
  }
  if (skipped_items != nullptr) *skipped_items = skipped;
  return list;
}

Result<ApiStatus> ParseApiStatusJson(std::string_view text) {
  Result<json> parsed = ParseJson(text, "status");
  if (!parsed.ok()) return parsed.status();
  const std::string kind = StringAt(*parsed, "kind");
  if (kind != "Status") {
    return Status::InvalidArgument("status: kind is \"" + kind + "\", expected Status");
  }
  return ApiStatusFromJson(*parsed);
}

std::string_view WatchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

Result<WatchEvent> ParseWatchEventJson(std::string_view line, const PodLabelFilter& labels) {
  Result<json> parsed = ParseJson(line, "watch event");
  if (!parsed.ok()) return parsed.status();
  const std::string type = StringAt(*parsed, "type");
  auto object = parsed->find("object");
  if (object == parsed->end() || !object->is_object()) {
    return Status::InvalidArgument("watch event " + type + ": no object");
  }
  WatchEvent event;
  if (type == "ADDED") {
    event.type = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    event.type = WatchEventType::kModified;
  } else if (type == "DELETED") {
    event.type = WatchEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    event.type = WatchEventType::kBookmark;
  } else if (type == "ERROR") {
    event.type = WatchEventType::kError;
    event.error = ApiStatusFromJson(*object);
    return event;
  } else {
    return Status::InvalidArgument("watch event: unknown type \"" + type + "\"");
  }
  event.resource_version = StringAt(ObjectAt(*object, "metadata"), "resourceVersion");
  if (event.type == WatchEventType::kBookmark) {
    if (event.resource_version.empty()) {
      return Status::InvalidArgument("watch event BOOKMARK: no metadata.resourceVersion");
    }
    return event;
  }
  Result<PodMeta> pod = PodFromJson(*object, labels);
  if (!pod.ok()) return pod.status().WithContext("watch event " + type);
  event.pod = std::move(pod).value();
  return event;
}

bool LineSplitter::Feed(std::string_view data,
                        const std::function<bool(std::string_view)>& on_line) {
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const std::string_view part = data.substr(0, newline);
    if (!discarding_) {
      if (pending_.size() + part.size() > max_line_) {
        discarding_ = true;
        pending_.clear();
        ++dropped_;
      } else {
        pending_.append(part);
      }
    }
    if (newline == std::string_view::npos) break;
    data.remove_prefix(newline + 1);
    if (discarding_) {
      discarding_ = false;
      continue;
    }
    std::string line;
    line.swap(pending_);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!on_line(line)) return false;
  }
  return true;
}

}  // namespace jostle::agent
