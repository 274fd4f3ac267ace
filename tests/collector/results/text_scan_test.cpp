#include "collector/results/text_scan.h"

#include <gtest/gtest.h>

#include "collector/results/parse_results.h"

namespace jostle::collector {
namespace {

TEST(DurationTest, AcceptsProducerSpellings) {
  struct Case {
    const char* text;
    double want;
  } cases[] = {{"0", 0},
               {"12", 12},
               {"0.004", 0.004},
               {"1,234.5", 1234.5},
               {"1,234,567", 1234567},
               {"1.5e-3", 0.0015},
               {" 2.5 ", 2.5}};
  for (const Case& c : cases) {
    Result<double> d = ParseDurationSeconds(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_DOUBLE_EQ(c.want, *d) << c.text;
  }
}

TEST(DurationTest, RefusesAbsurdValues) {
  for (const char* text : {"", "abc", "1e308", "-1", "NaN", "nan", "inf", "1,5", "12,34.5",
                           "1,2345", ",123", "3000000", "1.2.3", "0x10"}) {
    EXPECT_FALSE(ParseDurationSeconds(text).ok()) << text;
  }
}

TEST(TimestampTest, ReadsOffsetsAndDefaultZone) {
  // 2026-11-23T10:00:00Z = 1795428000.
  struct Case {
    const char* text;
    int default_offset_s;
    int64_t want_ns;
  } cases[] = {
      {"2026-11-23T10:00:00Z", 0, 1795428000LL * 1000000000},
      {"2026-11-23T10:00:00", 0, 1795428000LL * 1000000000},
      {"2026-11-23T12:00:00", 7200, 1795428000LL * 1000000000},
      {"2026-11-23T12:00:00+02:00", -3600, 1795428000LL * 1000000000},
      {"2026-11-23T04:30:00-0530", 0, 1795428000LL * 1000000000},
      {"2026-11-23 10:00:00.250", 0, 1795428000LL * 1000000000 + 250000000},
      {"2026-11-23T10:00:00.123456789Z", 0, 1795428000LL * 1000000000 + 123456789},
  };
  for (const Case& c : cases) {
    Result<int64_t> ns = ParseTimestamp(c.text, c.default_offset_s);
    ASSERT_TRUE(ns.ok()) << c.text << ": " << ns.status().ToString();
    EXPECT_EQ(c.want_ns, *ns) << c.text;
  }
  EXPECT_EQ("2026-11-23T10:00:00.123Z", FormatTimestamp(1795428000LL * 1000000000 + 123000000));
}

TEST(TimestampTest, RefusesMalformed) {
  for (const char* text :
       {"", "2026-11-23", "2026-13-01T00:00:00", "2026-02-30T00:00:00", "2026-11-23T25:00:00",
        "1969-12-31T23:59:59Z", "2026-11-23T10:00:00+", "2026-11-23T10:00:00+25:00",
        "2026-11-23T10:00:00 junk", "2026-11-23T10:00:00.", "2262-05-01T00:00:00Z",
        "9999-12-31T23:59:59Z"}) {
    EXPECT_FALSE(ParseTimestamp(text, 0).ok()) << text;
  }
}

TEST(TzOffsetTest, ParsesQueryValues) {
  struct Case {
    const char* text;
    int want;
  } cases[] = {{"UTC", 0},        {"Z", 0},          {"utc", 0},    {"+02:00", 7200},
               {"-0530", -19800}, {"+2", 7200},      {"+02", 7200}, {"-11", -39600},
               {"+05:45", 20700}, {"+18:00", 64800}, {"-00:00", 0}};
  for (const Case& c : cases) {
    Result<int> off = ParseTzOffset(c.text);
    ASSERT_TRUE(off.ok()) << c.text << ": " << off.status().ToString();
    EXPECT_EQ(c.want, *off) << c.text;
  }
  for (const char* text : {"", "CET", "+19", "+02:60", "2", "+2:3", "+123456", "+02:00x", "++2"}) {
    EXPECT_FALSE(ParseTzOffset(text).ok()) << text;
  }
}

TEST(Utf8Test, FindsFirstInvalidByte) {
  EXPECT_EQ(std::nullopt, FindInvalidUtf8("plain ascii"));
  EXPECT_EQ(std::nullopt, FindInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_EQ(3u, FindInvalidUtf8("abc\xFF"));
  EXPECT_EQ(1u, FindInvalidUtf8("a\xC0\xAF"));         // overlong '/'
  EXPECT_EQ(0u, FindInvalidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_EQ(2u, FindInvalidUtf8("ab\xE2\x82"));        // truncated sequence
  EXPECT_EQ(0u, FindInvalidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}

TEST(DepthScanTest, CountsElementsNotMarkup) {
  EXPECT_EQ(std::nullopt, FindXmlTooDeep("<a><b/><c><d/></c></a>", 3));
  EXPECT_TRUE(FindXmlTooDeep("<a><b><c><d/></c></b></a>", 3).has_value());
  EXPECT_EQ(std::nullopt,
            FindXmlTooDeep("<a x='<b><c><d>'><!-- <e><f><g> --><![CDATA[<h><i>]]></a>", 1));
  EXPECT_EQ(std::nullopt, FindJsonTooDeep(R"({"a":[1,{"b":"[[[[{{{{"}]})", 3));
  EXPECT_TRUE(FindJsonTooDeep("[[[[1]]]]", 3).has_value());
}

TEST(TruncateTest, KeepsUtf8Whole) {
  EXPECT_EQ("ab", Truncate("ab", 5));
  EXPECT_EQ("a\xE2\x80\xA6", Truncate("a\xC3\xA9xyz", 2));
  EXPECT_EQ("second", FirstLine("\n  \n  second \nthird"));
}

}  // namespace
}  // namespace jostle::collector
