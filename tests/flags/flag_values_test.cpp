#include "flags/flag_values.h"

#include <gtest/gtest.h>

namespace jostle::flags {
namespace {

using std::chrono::nanoseconds;

TEST(FlagValuesTest, Durations) {
  struct Case {
    const char* text;
    int64_t ns;
  };
  const Case good[] = {{"1s", 1'000'000'000},
                       {"250ms", 250'000'000},
                       {"1.5s", 1'500'000'000},
                       {"2m", 120'000'000'000},
                       {"14d", 14 * 86'400'000'000'000LL},
                       {"36h", 36 * 3'600'000'000'000LL},
                       {"2w", 14 * 86'400'000'000'000LL},
                       {"3", 3'000'000'000},
                       {"10us", 10'000}};
  for (const auto& c : good) {
    auto d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_EQ(d->count(), c.ns) << c.text;
  }
  for (const char* bad : {"", "s", "1x", "-1s", "0s", "1e300d", "nan"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find("invalid duration"), std::string::npos);
    }
  }
  EXPECT_TRUE(ParseDuration("0s", /*allow_zero=*/true).ok());
}

TEST(FlagValuesTest, ByteSizes) {
  EXPECT_EQ(*ParseByteSize("1048576"), 1048576u);
  EXPECT_EQ(*ParseByteSize("512k"), 512u * 1024);
  EXPECT_EQ(*ParseByteSize("20MiB"), 20u << 20);
  EXPECT_EQ(*ParseByteSize("1G"), 1u << 30);
  EXPECT_EQ(*ParseByteSize("2MB"), 2'000'000u);
  for (const char* bad : {"", "MiB", "5 parsecs", "-1k", "1e30G"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace jostle::flags
