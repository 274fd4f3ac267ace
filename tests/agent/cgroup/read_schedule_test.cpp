#include "agent/cgroup/read_schedule.h"

#include <gtest/gtest.h>

namespace jostle::agent {
namespace {

CgroupReadings Cpu(std::optional<uint64_t> usage, std::optional<uint64_t> throttled) {
  CgroupReadings r;
  r.cpu_usage_us = usage;
  r.cpu_throttled_periods = throttled;
  return r;
}

TEST(CpuMoved, UsageOrThrottlingThatChangedIsBusy) {
  EXPECT_FALSE(CpuMoved(Cpu(100, 3), Cpu(100, 3))) << "idle";
  EXPECT_TRUE(CpuMoved(Cpu(100, 3), Cpu(101, 3))) << "usage moved";
  EXPECT_TRUE(CpuMoved(Cpu(100, 3), Cpu(100, 4))) << "throttled periods moved";
  EXPECT_TRUE(CpuMoved(Cpu(100, 3), Cpu(50, 3))) << "a counter reset is a move too";
}

TEST(CpuMoved, AReadingMissingOnEitherSideIsNoMove) {
  EXPECT_FALSE(CpuMoved(Cpu(std::nullopt, std::nullopt), Cpu(100, 3))) << "first read";
  EXPECT_FALSE(CpuMoved(Cpu(100, 3), Cpu(std::nullopt, std::nullopt))) << "file missing";
  EXPECT_TRUE(CpuMoved(Cpu(std::nullopt, 3), Cpu(100, 4))) << "throttling alone";
}

}  // namespace
}  // namespace jostle::agent
