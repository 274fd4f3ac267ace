// Recognising Kubernetes pods and containers in cgroup directory names, for both kubelet
// cgroup drivers. Pure functions over names and paths.
//
//   systemd driver:  kubepods.slice/kubepods-burstable.slice/
//                      kubepods-burstable-pod<uid with '_' for '-'>.slice/
//                        cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
//                    guaranteed pods: kubepods.slice/kubepods-pod<uid>.slice/...
//   cgroupfs driver: kubepods/burstable/pod<uid>/<id> | crio-<id>
//                    guaranteed pods: kubepods/pod<uid>/<id>
//
// The kubepods directory may sit anywhere in a hierarchy (under a cgroup namespace, under
// the kubelet's --cgroup-root, under a CI sandbox's own cgroup).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jostle::agent {

enum class CgroupDriver { kNone, kCgroupfs, kSystemd };
const char* CgroupDriverName(CgroupDriver driver);  // "none", "cgroupfs", "systemd"

struct PodDirName {
  std::string uid;  // with '-' separators as in metadata.uid (or 32 hex for static pods)
  CgroupDriver driver = CgroupDriver::kNone;
  bool operator==(const PodDirName&) const = default;
};

// A pod directory name: "pod<uid>" (cgroupfs) or "<prefix>-pod<uid_with_underscores>.slice"
// (systemd). The uid must be 8-4-4-4-12 hex digits (or 32 hex digits, the form of static
// pods' UIDs). nullopt for anything else.
std::optional<PodDirName> ParsePodDirName(std::string_view name);

// The container id of a directory directly under a pod directory:
// "cri-containerd-<id>.scope", "crio-<id>.scope", "docker-<id>.scope", "libpod-<id>.scope"
// (systemd driver) and "crio-<id>", "libpod-<id>" (CRI-O and Podman with the cgroupfs
// manager) -> "<id>"; any other name (containerd and Docker with the cgroupfs driver: the
// id itself) is returned as is. nullopt for cgroups that are not containers:
// "crio-conmon-<id>[.scope]" (CRI-O's monitor process) and empty names.
std::optional<std::string> ParseContainerDirName(std::string_view name);

// True for a directory name that starts the Kubernetes subtree or a QoS level in it:
// any name containing "kubepods" ("kubepods", "kubepods.slice", "kubepods-besteffort.slice",
// "kubelet-kubepods.slice").
bool IsKubepodsName(std::string_view name);

// The QoS class of a pod from its parent directory's name: "burstable" /
// "*-burstable.slice" -> "burstable", "besteffort" / "*-besteffort.slice" -> "besteffort",
// a kubepods directory ("kubepods", "kubepods.slice") -> "guaranteed"; "" when unknown.
std::string QosFromParentName(std::string_view parent_name);

}  // namespace jostle::agent
