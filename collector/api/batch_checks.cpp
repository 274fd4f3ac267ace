#include "collector/api/batch_checks.h"

#include <string>
#include <string_view>

#include "collector/api/collector_api.h"

namespace jostle::collector {
namespace {

bool Lower(char c) { return c >= 'a' && c <= 'z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }
bool Alnum(char c) { return Lower(c) || Digit(c) || (c >= 'A' && c <= 'Z'); }
bool Printable(char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; }

// One identity field's rule: lengths (bytes) and the characters allowed.
struct Rule {
  size_t min;
  size_t max;
  bool (*ok)(char);
  const char* expected;  // for the message: "1..63 characters of a-z 0-9 -"
};

const Rule kNamespace{1, 63, [](char c) { return Lower(c) || Digit(c) || c == '-'; },
                      "1..63 characters of a-z 0-9 -"};
const Rule kPodName{1, 253, [](char c) { return Lower(c) || Digit(c) || c == '-' || c == '.'; },
                    "1..253 characters of a-z 0-9 . -"};
const Rule kContainerName{1, 63, kNamespace.ok, "1..63 characters of a-z 0-9 -"};
const Rule kPodUid{1, 64, [](char c) { return Alnum(c) || c == '-' || c == '_'; },
                   "1..64 characters of A-Z a-z 0-9 - _"};
const Rule kContainerId{
    1, 128, [](char c) { return Alnum(c) || c == '-' || c == '_' || c == '.' || c == ':'; },
    "1..128 characters of A-Z a-z 0-9 - _ . :"};
const Rule kCgroupPath{1, 4096, Printable, "1..4096 bytes without control characters"};
const Rule kLabelKey{1, 317,
                     [](char c) { return Alnum(c) || c == '-' || c == '_' || c == '.' || c == '/'; },
                     "1..317 characters of A-Z a-z 0-9 - _ . /"};
const Rule kLabelValue{0, 63, [](char c) { return Alnum(c) || c == '-' || c == '_' || c == '.'; },
                       "0..63 characters of A-Z a-z 0-9 - _ ."};
const Rule kHostKey{1, 64, [](char c) { return Alnum(c) || c == '-' || c == '_' || c == '.'; },
                    "1..64 characters of A-Z a-z 0-9 - _ ."};
const Rule kHostValue{0, 256, Printable, "0..256 bytes without control characters"};
const Rule kBootId{0, 64, [](char c) { return Alnum(c) || c == '-'; },
                   "0..64 characters of A-Z a-z 0-9 -"};
const Rule kVersion{0, 64, Printable, "0..64 bytes without control characters"};

constexpr size_t kMaxLabels = 64;
constexpr size_t kMaxHostFacts = 64;

bool Fits(std::string_view v, const Rule& rule) {
  if (v.size() < rule.min || v.size() > rule.max) return false;
  for (char c : v) {
    if (!rule.ok(c)) return false;
  }
  return true;
}

// The value as a message shows it: at most 64 bytes, control characters as '?'.
std::string Shown(std::string_view v) {
  std::string out(v.substr(0, 64));
  for (char& c : out) {
    if (!Printable(c)) c = '?';
  }
  if (v.size() > 64) out += "... (" + std::to_string(v.size()) + " bytes)";
  return out;
}

Status Refuse(const std::string& field, std::string_view value, const Rule& rule) {
  return Status::InvalidArgument(field + " '" + Shown(value) + "': expected " + rule.expected);
}

// `where` is the field's path up to the member: "samples[3].cgroups[2].".
Status CheckField(const std::string& where, const char* member, std::string_view value,
                  const Rule& rule, bool optional) {
  if (optional && value.empty()) return Status::Ok();
  if (!Fits(value, rule)) return Refuse(where + member, value, rule);
  return Status::Ok();
}

Status CheckCgroup(const CgroupSample& c, const std::string& where) {
  JOSTLE_RETURN_IF_ERROR(CheckField(where, "id", c.id, kCgroupPath, false));
  JOSTLE_RETURN_IF_ERROR(CheckField(where, "path", c.path, kCgroupPath, true));
  JOSTLE_RETURN_IF_ERROR(CheckField(where, "pod_uid", c.pod_uid, kPodUid, true));
  JOSTLE_RETURN_IF_ERROR(CheckField(where, "container_id", c.container_id, kContainerId, true));
  JOSTLE_RETURN_IF_ERROR(CheckField(where, "namespace", c.namespace_name, kNamespace, true));
  JOSTLE_RETURN_IF_ERROR(CheckField(where, "pod", c.pod_name, kPodName, true));
  JOSTLE_RETURN_IF_ERROR(CheckField(where, "container", c.container_name, kContainerName, true));
  if (!c.qos.empty() && c.qos != "guaranteed" && c.qos != "burstable" && c.qos != "besteffort") {
    return Status::InvalidArgument(where + "qos '" + Shown(c.qos) +
                                   "': expected guaranteed, burstable or besteffort");
  }
  if (c.labels.size() > kMaxLabels) {
    return Status::InvalidArgument(where + "labels: " + std::to_string(c.labels.size()) +
                                   " labels, at most " + std::to_string(kMaxLabels));
  }
  for (const auto& [k, v] : c.labels) {
    if (!Fits(k, kLabelKey)) return Refuse(where + "labels key", k, kLabelKey);
    if (!Fits(v, kLabelValue)) return Refuse(where + "labels." + Shown(k), v, kLabelValue);
  }
  return Status::Ok();
}

Status CheckTime(const std::string& field, int64_t ns, const BatchLimits& limits,
                 bool check_age) {
  if (ns > limits.now_ns && ns - limits.now_ns > limits.max_ahead_ns) {
    return Status::InvalidArgument(
        field + " " + std::to_string(ns) + ": more than " +
        std::to_string(limits.max_ahead_ns / 1000000000) +
        " s ahead of the collector's clock (" + std::to_string(limits.now_ns) + ")");
  }
  if (ns < 0 || (check_age && limits.max_age_ns > 0 && ns < limits.now_ns - limits.max_age_ns)) {
    return Status::InvalidArgument(field + " " + std::to_string(ns) +
                                   ": older than the retention period (" +
                                   std::to_string(limits.max_age_ns / 1000000000) + " s)");
  }
  return Status::Ok();
}

// Cgroup entries identical in identity to the entry at the same place in the previous
// sample were checked there already (a batch repeats its cgroups every tick).
bool SameIdentity(const CgroupSample& a, const CgroupSample& b) {
  return a.id == b.id && a.path == b.path && a.pod_uid == b.pod_uid &&
         a.container_id == b.container_id && a.namespace_name == b.namespace_name &&
         a.pod_name == b.pod_name && a.container_name == b.container_name && a.qos == b.qos &&
         a.labels == b.labels;
}

}  // namespace

Status CheckBatch(const SampleBatch& batch, const BatchLimits& limits) {
  if (Status s = ValidateNodeName(batch.node); !s.ok()) {
    return Status::InvalidArgument("batch.node: " + s.message());
  }
  JOSTLE_RETURN_IF_ERROR(CheckField("batch.", "boot_id", batch.boot_id, kBootId, true));
  JOSTLE_RETURN_IF_ERROR(
      CheckField("batch.", "agent_version", batch.agent_version, kVersion, true));
  JOSTLE_RETURN_IF_ERROR(CheckTime("batch.agent_start_ns", batch.agent_start_ns, limits, false));
  if (batch.host.size() > kMaxHostFacts) {
    return Status::InvalidArgument("batch.host: more than " + std::to_string(kMaxHostFacts) +
                                   " facts");
  }
  for (const auto& [k, v] : batch.host) {
    if (!Fits(k, kHostKey)) return Refuse("batch.host key", k, kHostKey);
    if (!Fits(v, kHostValue)) return Refuse("batch.host." + Shown(k), v, kHostValue);
  }
  const Sample* previous = nullptr;
  for (size_t i = 0; i < batch.samples.size(); ++i) {
    const Sample& s = batch.samples[i];
    std::string where = "samples[" + std::to_string(i) + "]";
    JOSTLE_RETURN_IF_ERROR(CheckTime(where + ".wall_ns", s.wall_ns, limits, true));
    for (size_t j = 0; j < s.cgroups.size(); ++j) {
      const CgroupSample& c = s.cgroups[j];
      if (previous != nullptr && j < previous->cgroups.size() &&
          SameIdentity(c, previous->cgroups[j])) {
        continue;
      }
      JOSTLE_RETURN_IF_ERROR(CheckCgroup(c, where + ".cgroups[" + std::to_string(j) + "]."));
    }
    previous = &s;
  }
  return Status::Ok();
}

}  // namespace jostle::collector
