// The packed cgroup tick format (cgroup_pack.h): the bytes TickPacker writes are the stored
// format, so they are pinned here, and UnpackTick reads them back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "collector/store/cgroup_pack.h"
#include "store_test_util.h"

namespace jostle::collector {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// A full pod, its container, a bare cgroup and a row with extreme values: the longest varints,
// a negative link speed, a 200-byte interface name, a PSI total with only `full`.
std::vector<std::pair<int64_t, CgroupSample>> Rows() {
  const CgroupSample pod = testing::FullPod(3, "ci", "runner-0");
  CgroupSample big = pod;
  big.cpu_usage_us = ~0ull;
  big.net->speed_mbps = -5;
  big.net->interface = std::string(200, 'i');
  big.psi_cpu = PsiTotals{std::nullopt, 1ull << 63};
  big.cpu_limit_cores = 0.25;
  return {{1, pod},
          {2, testing::FullContainer(3, pod, "build")},
          {300, testing::BareCgroup("/system.slice/x.service")},
          {int64_t{1} << 40, big}};
}

TEST(CgroupPackTest, PackedBytesAreTheStoredFormat) {
  pack::TickPacker packer;
  for (const auto& [id, c] : Rows()) packer.Add(id, c);
  std::string blob;
  packer.Finish(blob);
  // Written by the packer of schema version 3 as first released.
  const std::string want =
      "010401ffff12b91702efff028407ac0200808080808020fff732ffffffffffffffffff012006e00b00000000"
      "0000f83f8380808080208380808004808080801000ac02960115012a030603040f0607082006e00b83808080"
      "80208380808004808080801000ac029601152006e00b000000000000d03f8380808080208380808004808080"
      "8010008080808080808080800115c801" +
      Repeat("69", 200) + "030603040f06070809";
  EXPECT_EQ(Hex(blob), want);
  EXPECT_EQ(packer.rows(), 4u);

  // Clear starts the next tick; the buffers are reused.
  packer.Clear();
  packer.Add(7, testing::BareCgroup("/a"));
  packer.Finish(blob);
  EXPECT_EQ(Hex(blob), "01010700");
}

TEST(CgroupPackTest, UnpackGivesTheCountersBack) {
  pack::TickPacker packer;
  const auto rows = Rows();
  for (const auto& [id, c] : rows) packer.Add(id, c);
  std::string blob;
  packer.Finish(blob);
  std::vector<CgroupCounters> out;
  std::vector<uint32_t> masks;
  std::vector<int64_t> ids;
  Status st = pack::UnpackTick(
      blob, /*cpu_only=*/false,
      [&](int64_t id) -> Result<uint32_t> {
        ids.push_back(id);
        return static_cast<uint32_t>(ids.size() - 1);
      },
      out, masks);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const CgroupSample& c = rows[i].second;
    EXPECT_EQ(ids[i], rows[i].first);
    EXPECT_EQ(out[i].series, i);
    EXPECT_EQ(static_cast<const CgroupReadings&>(out[i]), static_cast<const CgroupReadings&>(c))
        << i;
  }
}

// Counters added after the first release take mask bits above the network's and sit in the
// tail after oom_kills, before PSI (the order of jostle/sample_fields.h); rows without them
// are written as before (PackedBytesAreTheStoredFormat).
TEST(CgroupPackTest, LaterCountersTakeNewBitsInTableOrder) {
  CgroupSample c = testing::BareCgroup("/a");
  c.oom_kills = 2;
  c.mem_high_events = 4;
  c.mem_max_events = 1;
  c.mem_pgscan = 300;
  c.mem_workingset_refaults = 5;
  c.psi_cpu = PsiTotals{6, std::nullopt};
  pack::TickPacker packer;
  packer.Add(7, c);
  std::string blob;
  packer.Finish(blob);
  // mask = oom_kills (1<<8) | psi_cpu (1<<9) | some (1<<10) | bits 20..23 = 0xf00700.
  EXPECT_EQ(Hex(blob),
            "010107808ec007"
            "02"
            "04"
            "01"
            "ac02"
            "05"
            "06");

  std::vector<CgroupCounters> out;
  std::vector<uint32_t> masks;
  Status st = pack::UnpackTick(
      blob, /*cpu_only=*/false, [](int64_t) -> Result<uint32_t> { return 0u; }, out, masks);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(static_cast<const CgroupReadings&>(out[0]), static_cast<const CgroupReadings&>(c));
}

}  // namespace
}  // namespace jostle::collector
