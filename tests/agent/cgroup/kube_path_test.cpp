#include "agent/cgroup/kube_path.h"

#include <gtest/gtest.h>

namespace jostle::agent {
namespace {

constexpr const char* kUid = "0b5c1d2e-2222-4a4a-8b8b-000000000002";

TEST(ParsePodDirName, Table) {
  struct Case {
    const char* name;
    std::optional<PodDirName> want;
  } cases[] = {
      {"pod0b5c1d2e-2222-4a4a-8b8b-000000000002", PodDirName{kUid, CgroupDriver::kCgroupfs}},
      {"kubepods-burstable-pod0b5c1d2e_2222_4a4a_8b8b_000000000002.slice",
       PodDirName{kUid, CgroupDriver::kSystemd}},
      {"kubepods-pod0b5c1d2e_2222_4a4a_8b8b_000000000002.slice",
       PodDirName{kUid, CgroupDriver::kSystemd}},
      {"kubelet-kubepods-besteffort-pod0b5c1d2e_2222_4a4a_8b8b_000000000002.slice",
       PodDirName{kUid, CgroupDriver::kSystemd}},
      // kind: --cgroup-root=/kubelet with the systemd driver.
      {"kubelet-kubepods-pod0b5c1d2e_2222_4a4a_8b8b_000000000002.slice",
       PodDirName{kUid, CgroupDriver::kSystemd}},
      {"kubelet-kubepods.slice", std::nullopt},
      {"kubelet.slice", std::nullopt},
      // Static pods: the UID is a 32-hex hash.
      {"pod6f0e1b2c3d4e5f60718293a4b5c6d7e8",
       PodDirName{"6f0e1b2c3d4e5f60718293a4b5c6d7e8", CgroupDriver::kCgroupfs}},
      {"burstable", std::nullopt},
      {"kubepods-burstable.slice", std::nullopt},
      {"pod", std::nullopt},
      {"pod0b5c1d2e_2222_4a4a_8b8b_000000000002", std::nullopt},                 // '_' in cgroupfs
      {"kubepods-pod0b5c1d2e-2222-4a4a-8b8b-000000000002.slice", std::nullopt},  // '-'
      {"pod0B5C1D2E-2222-4a4a-8b8b-000000000002", std::nullopt},                 // upper case
      {"podzzzzzzzz-2222-4a4a-8b8b-000000000002", std::nullopt},
      {"pod0b5c1d2e-2222-4a4a-8b8b-0000000000021", std::nullopt},  // too long
  };
  for (const auto& c : cases) EXPECT_EQ(ParsePodDirName(c.name), c.want) << c.name;
}

TEST(ParseContainerDirName, Table) {
  EXPECT_EQ(ParseContainerDirName("cri-containerd-abc123.scope"), "abc123");
  EXPECT_EQ(ParseContainerDirName("crio-abc123.scope"), "abc123");
  EXPECT_EQ(ParseContainerDirName("docker-abc123.scope"), "abc123");
  EXPECT_EQ(ParseContainerDirName("abc123"), "abc123");
  // CRI-O and Podman with the cgroupfs manager: no ".scope".
  EXPECT_EQ(ParseContainerDirName("crio-abc123"), "abc123");
  EXPECT_EQ(ParseContainerDirName("libpod-abc123"), "abc123");
  EXPECT_EQ(ParseContainerDirName("crio-conmon-abc123.scope"), std::nullopt);
  EXPECT_EQ(ParseContainerDirName("crio-conmon-abc123"), std::nullopt);
  EXPECT_EQ(ParseContainerDirName("crio-"), "crio-");
  EXPECT_EQ(ParseContainerDirName(""), std::nullopt);
}

TEST(QosFromParentName, Table) {
  EXPECT_EQ(QosFromParentName("burstable"), "burstable");
  EXPECT_EQ(QosFromParentName("kubepods-burstable.slice"), "burstable");
  EXPECT_EQ(QosFromParentName("besteffort"), "besteffort");
  EXPECT_EQ(QosFromParentName("kubepods-besteffort.slice"), "besteffort");
  EXPECT_EQ(QosFromParentName("kubepods"), "guaranteed");
  EXPECT_EQ(QosFromParentName("kubepods.slice"), "guaranteed");
  EXPECT_EQ(QosFromParentName("kubelet-kubepods.slice"), "guaranteed");
  EXPECT_EQ(QosFromParentName("kubelet-kubepods-burstable.slice"), "burstable");
  EXPECT_EQ(QosFromParentName("kubelet-kubepods-besteffort.slice"), "besteffort");
  EXPECT_EQ(QosFromParentName("system.slice"), "");
}

}  // namespace
}  // namespace jostle::agent
