#include "agent/cgroup/cgroup_parsers.h"

#include <gtest/gtest.h>

namespace jostle::agent {
namespace {

TEST(ParseCpuStatV2, ReadsUsageAndThrottling) {
  auto v = ParseCpuStatV2(
      "usage_usec 1000123\nuser_usec 600000\nsystem_usec 400123\nnr_periods 100\n"
      "nr_throttled 10\nthrottled_usec 5000\nnr_bursts 0\nburst_usec 0\n",
      "cpu.stat");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->usage_usec, 1000123u);
  EXPECT_EQ(v->nr_periods, 100u);
  EXPECT_EQ(v->nr_throttled, 10u);
  EXPECT_EQ(v->throttled_usec, 5000u);
}

TEST(ParseCpuStatV2, ThrottlingAbsentWithoutCpuController) {
  auto v = ParseCpuStatV2("usage_usec 42\nuser_usec 40\nsystem_usec 2\n", "cpu.stat");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->usage_usec, 42u);
  EXPECT_FALSE(v->nr_periods.has_value());
  EXPECT_FALSE(v->throttled_usec.has_value());
}

TEST(ParseCpuStatV2, Errors) {
  struct Case {
    const char* text;
    const char* needle;
  } cases[] = {
      {"", "no 'usage_usec'"},
      {"user_usec 4\n", "no 'usage_usec'"},
      {"usage_usec x12\n", "'usage_usec'"},
      {"usage_usec 1\nnr_periods -3\n", "'nr_periods'"},
      {"usage_usec 99999999999999999999999\n", "'usage_usec'"},
  };
  for (const auto& c : cases) {
    auto v = ParseCpuStatV2(c.text, "/x/cpu.stat");
    ASSERT_FALSE(v.ok()) << c.text;
    EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(v.status().message().find("/x/cpu.stat"), std::string::npos);
    EXPECT_NE(v.status().message().find(c.needle), std::string::npos) << v.status().message();
  }
}

TEST(ParseCpuStatV2, TruncatedLineLosesOnlyItsKey) {
  auto v = ParseCpuStatV2("usage_usec 7\nuser_usec 4\nnr_peri", "cpu.stat");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->usage_usec, 7u);
  EXPECT_FALSE(v->nr_periods.has_value());
}

TEST(ParseCpuStatV1, ReadsAllThree) {
  auto v = ParseCpuStatV1(
      "nr_periods 300\nnr_throttled 30\nthrottled_time 15000007\nnr_bursts 0\nburst_time 0\n",
      "cpu.stat");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (CpuStatV1{300, 30, 15000007}));
  EXPECT_FALSE(ParseCpuStatV1("nr_periods 300\nnr_throttled 30\n", "cpu.stat").ok());
}

TEST(ParseCpuMax, Table) {
  struct Case {
    const char* text;
    bool ok;
    std::optional<double> cores;
  } cases[] = {
      {"max 100000\n", true, std::nullopt},  {"200000 100000\n", true, 2.0},
      {"50000 100000", true, 0.5},           {"150000 50000\n", true, 3.0},
      {"max\n", false, std::nullopt},        {"100 0\n", false, std::nullopt},
      {"abc 100000\n", false, std::nullopt}, {"", false, std::nullopt},
  };
  for (const auto& c : cases) {
    auto v = ParseCpuMax(c.text, "cpu.max");
    ASSERT_EQ(v.ok(), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(*v, c.cores) << c.text;
    }
  }
}

TEST(ParseCfsQuota, Table) {
  EXPECT_EQ(*ParseCfsQuota("-1\n", "100000\n", "q"), std::nullopt);
  EXPECT_EQ(*ParseCfsQuota("20000\n", "100000\n", "q"), std::optional<double>(0.2));
  EXPECT_EQ(*ParseCfsQuota("250000\n", "100000\n", "q"), std::optional<double>(2.5));
  EXPECT_FALSE(ParseCfsQuota("", "100000\n", "q").ok());
  EXPECT_FALSE(ParseCfsQuota("20000\n", "0\n", "q").ok());
  EXPECT_FALSE(ParseCfsQuota("20000\n", "", "q").ok());
}

TEST(ParseSingleValue, Table) {
  EXPECT_EQ(*ParseSingleValue("3174400\n", "f"), 3174400u);
  EXPECT_EQ(*ParseSingleValue("0", "f"), 0u);
  EXPECT_FALSE(ParseSingleValue("", "f").ok());
  EXPECT_FALSE(ParseSingleValue("\n", "f").ok());
  EXPECT_FALSE(ParseSingleValue("12 34\n", "f").ok());
  EXPECT_FALSE(ParseSingleValue("-5\n", "f").ok());
}

TEST(ParseMemoryLimits, MaxAndHugeAreUnlimited) {
  EXPECT_EQ(*ParseMemoryMax("max\n", "memory.max"), std::nullopt);
  EXPECT_EQ(*ParseMemoryMax("536870912\n", "memory.max"), std::optional<uint64_t>(536870912));
  EXPECT_FALSE(ParseMemoryMax("unlimited\n", "memory.max").ok());
  EXPECT_EQ(*ParseV1MemoryLimit("9223372036854771712\n", "l"), std::nullopt);
  EXPECT_EQ(*ParseV1MemoryLimit("9223372036854710272\n", "l"), std::nullopt);  // 64K pages
  EXPECT_EQ(*ParseV1MemoryLimit("536870912\n", "l"), std::optional<uint64_t>(536870912));
  EXPECT_FALSE(ParseV1MemoryLimit("", "l").ok());
}

TEST(ParseMemoryEventsV2, Table) {
  struct Case {
    const char* text;
    MemoryEventsV2 want;
  };
  const Case cases[] = {
      {"low 0\nhigh 7\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n", {7, 3, 2}},
      // Kernels before 4.19 write no oom_kill line.
      {"low 0\nhigh 1\nmax 0\noom 0\n", {1, 0, std::nullopt}},
      {"", {}},
      // Cut mid-file: the keys before the cut are kept.
      {"low 0\nhigh 5\nma", {5, std::nullopt, std::nullopt}},
  };
  for (const Case& c : cases) {
    auto got = ParseMemoryEventsV2(c.text, "memory.events");
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().ToString();
    EXPECT_EQ(*got, c.want) << c.text;
  }
  auto bad = ParseMemoryEventsV2("high 1\nmax x\n", "/cg/memory.events");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/cg/memory.events"), std::string::npos);
  EXPECT_NE(bad.status().message().find("'max'"), std::string::npos);
}

TEST(ParseMemoryStatV2, Table) {
  struct Case {
    const char* text;
    MemoryStatV2 want;
  };
  const Case cases[] = {
      // 5.9+: anon and file refaults, summed.
      {"anon 4\ninactive_file 65536\nworkingset_refault_anon 2\nworkingset_refault_file 3\n"
       "pgscan 40\npgsteal 30\n",
       {65536, 40, 5}},
      // Older kernels: one workingset_refault, no pgscan.
      {"inactive_file 8\nworkingset_refault 9\n", {8, std::nullopt, 9}},
      // Only one of the two split keys.
      {"inactive_file 1\nworkingset_refault_file 6\n", {1, std::nullopt, 6}},
      {"inactive_file 0\n", {0, std::nullopt, std::nullopt}},
  };
  for (const Case& c : cases) {
    auto got = ParseMemoryStatV2(c.text, "memory.stat");
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().ToString();
    EXPECT_EQ(*got, c.want) << c.text;
  }
  auto missing = ParseMemoryStatV2("anon 4\ninacti", "/cg/memory.stat");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "/cg/memory.stat: no 'inactive_file' line");
  EXPECT_FALSE(ParseMemoryStatV2("inactive_file 1\npgscan -1\n", "s").ok());
}

TEST(FindKeyedValue, Table) {
  const char* events = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n";
  EXPECT_EQ(*FindKeyedValue(events, "oom_kill", "e"), std::optional<uint64_t>(2));
  EXPECT_EQ(*FindKeyedValue(events, "oom", "e"), std::optional<uint64_t>(1));
  EXPECT_EQ(*FindKeyedValue("oom_kill_disable 0\nunder_oom 0\n", "oom_kill", "e"), std::nullopt);
  EXPECT_FALSE(FindKeyedValue("oom_kill abc\n", "oom_kill", "e").ok());
  EXPECT_EQ(*FindKeyedValue("inactive_anon 4\ninactive_file 65536\n", "inactive_file", "s"),
            std::optional<uint64_t>(65536));
  // v1 memory.stat: the hierarchical total is a different key from the local one.
  EXPECT_EQ(*FindKeyedValue("inactive_file 1\ntotal_inactive_file 9\n", "total_inactive_file", "s"),
            std::optional<uint64_t>(9));
}

TEST(ParseProcCgroup, HybridHost) {
  auto v = ParseProcCgroup("9:name=systemd:/\n4:memory:/process_api/4059\n3:cpu,cpuacct:/a\n0::/\n",
                           "cgroup");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->at("memory"), "/process_api/4059");
  EXPECT_EQ(v->at("cpu"), "/a");
  EXPECT_EQ(v->at("cpuacct"), "/a");
  EXPECT_EQ(v->at("name=systemd"), "/");
  EXPECT_EQ(v->at(""), "/");
  EXPECT_FALSE(ParseProcCgroup("garbage\n", "cgroup").ok());
}

TEST(FirstPid, Table) {
  EXPECT_EQ(FirstPid("1001\n1002\n"), std::optional<int>(1001));
  EXPECT_EQ(FirstPid(""), std::nullopt);
  EXPECT_EQ(FirstPid("\n"), std::nullopt);
  EXPECT_EQ(FirstPid("0\n"), std::nullopt);
}

}  // namespace
}  // namespace jostle::agent
