#include "agent/cgroup/kube_path.h"

namespace jostle::agent {
namespace {

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// `s` is a UID whose group separators are `sep`: 8-4-4-4-12 hex digits, or 32 hex digits.
// Returns it with '-' separators.
std::optional<std::string> NormalizeUid(std::string_view s, char sep) {
  if (s.size() == 32) {
    for (char c : s) {
      if (!IsHex(c)) return std::nullopt;
    }
    return std::string(s);
  }
  if (s.size() != 36) return std::nullopt;
  std::string out(s);
  for (size_t i = 0; i < s.size(); ++i) {
    bool separator_slot = i == 8 || i == 13 || i == 18 || i == 23;
    if (separator_slot) {
      if (s[i] != sep) return std::nullopt;
      out[i] = '-';
    } else if (!IsHex(s[i])) {
      return std::nullopt;
    }
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

}  // namespace

const char* CgroupDriverName(CgroupDriver driver) {
  switch (driver) {
    case CgroupDriver::kCgroupfs:
      return "cgroupfs";
    case CgroupDriver::kSystemd:
      return "systemd";
    case CgroupDriver::kNone:
      break;
  }
  return "none";
}

std::optional<PodDirName> ParsePodDirName(std::string_view name) {
  constexpr std::string_view kSlice = ".slice";
  if (EndsWith(name, kSlice)) {
    std::string_view stem = name.substr(0, name.size() - kSlice.size());
    size_t pos = stem.rfind("-pod");
    if (pos == std::string_view::npos) return std::nullopt;
    auto uid = NormalizeUid(stem.substr(pos + 4), '_');
    if (!uid) return std::nullopt;
    return PodDirName{*uid, CgroupDriver::kSystemd};
  }
  if (!name.starts_with("pod")) return std::nullopt;
  auto uid = NormalizeUid(name.substr(3), '-');
  if (!uid) return std::nullopt;
  return PodDirName{*uid, CgroupDriver::kCgroupfs};
}

std::optional<std::string> ParseContainerDirName(std::string_view name) {
  if (name.empty() || name.starts_with("crio-conmon-")) return std::nullopt;
  // systemd managers name a container's scope "<runtime>-<id>.scope"; CRI-O and Podman
  // with the cgroupfs manager use "<runtime>-<id>" ("crio-<id>"); containerd and Docker
  // with cgroupfs use the id alone.
  constexpr std::string_view kScope = ".scope";
  std::string_view stem =
      EndsWith(name, kScope) ? name.substr(0, name.size() - kScope.size()) : name;
  for (std::string_view prefix : {"cri-containerd-", "crio-", "docker-", "libpod-"}) {
    if (stem.starts_with(prefix) && stem.size() > prefix.size()) {
      return std::string(stem.substr(prefix.size()));
    }
  }
  return std::string(name);
}

bool IsKubepodsName(std::string_view name) {
  return name.find("kubepods") != std::string_view::npos;
}

std::string QosFromParentName(std::string_view parent) {
  if (parent == "burstable" || EndsWith(parent, "-burstable.slice")) return "burstable";
  if (parent == "besteffort" || EndsWith(parent, "-besteffort.slice")) return "besteffort";
  if (IsKubepodsName(parent)) return "guaranteed";
  return "";
}

}  // namespace jostle::agent
