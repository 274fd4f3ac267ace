// JUnit XML details that vary between producers whatever the producer: document prologue,
// `time` and `timestamp` spellings, CDATA, several or empty result elements.
#include <gtest/gtest.h>

#include <optional>

#include "results_test_support.h"

namespace jostle::collector {
namespace {

constexpr int64_t k10h = 1795428000;  // 2026-11-23T10:00:00Z

struct Accepted {
  const char* name;
  std::string body;
  int tz_offset_s;
  Outcome outcome;  // of the only test's last attempt
  size_t attempts;
  const char* message;
  double duration_s;
  std::optional<int64_t> start_ns;
};

void PrintTo(const Accepted& c, std::ostream* os) { *os << c.name; }

class JUnitAcceptedVariantTest : public ::testing::TestWithParam<Accepted> {};

TEST_P(JUnitAcceptedVariantTest, ReadsTheOneTest) {
  const Accepted& c = GetParam();
  Result<ResultSet> set = Parse(c.body, "application/xml", c.tz_offset_s, "junit.xml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(1u, set->tests.size());
  const TestCase& t = set->tests[0];
  EXPECT_EQ("s::a", t.id);
  ASSERT_EQ(c.attempts, t.attempts.size());
  EXPECT_EQ(c.outcome, t.last().outcome);
  EXPECT_EQ(c.message, t.last().message);
  EXPECT_DOUBLE_EQ(c.duration_s, t.last().duration_s);
  EXPECT_EQ(c.start_ns, t.last().start_ns);
}

// One suite with one testcase "s::a"; `suite_attrs` and `case_attrs` are spliced in.
std::string One(const std::string& suite_attrs, const std::string& case_attrs,
                const std::string& inner = "") {
  return "<testsuite name=\"t\"" + suite_attrs + ">\n<testcase classname=\"s\" name=\"a\"" +
         case_attrs + (inner.empty() ? "/>" : ">" + inner + "</testcase>") + "\n</testsuite>\n";
}

std::string Ts(const std::string& timestamp) {
  return One(" timestamp=\"" + timestamp + "\"", " time=\"1\"");
}

using O = Outcome;
INSTANTIATE_TEST_SUITE_P(
    Prologue, JUnitAcceptedVariantTest,
    ::testing::Values(
        Accepted{
            "utf8_bom",
            "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + One("", " time=\"1\""), 0,
            O::kPassed, 1, "", 1, std::nullopt},
        Accepted{"bom_then_newline", "\xEF\xBB\xBF\n" + One("", " time=\"1\""), 0, O::kPassed, 1,
                 "", 1, std::nullopt},
        Accepted{"encoding_lower_case_standalone",
                 "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\n" +
                     One("", " time=\"1\""),
                 0, O::kPassed, 1, "", 1, std::nullopt},
        Accepted{"encoding_latin1_declared_ascii_body",
                 "<?xml version='1.0' encoding='ISO-8859-1'?>\n" + One("", " time=\"1\""), 0,
                 O::kPassed, 1, "", 1, std::nullopt},
        Accepted{"blank_line_before_declaration",
                 "\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + One("", " time=\"1\""), 0,
                 O::kPassed, 1, "", 1, std::nullopt},
        Accepted{"stylesheet_and_comment_before_root",
                 "<?xml version=\"1.0\"?>\n<?xml-stylesheet type=\"text/xsl\" "
                 "href=\"junit.xsl\"?>\n<!-- generated -->\n" +
                     One("", " time=\"1\""),
                 0, O::kPassed, 1, "", 1, std::nullopt},
        Accepted{"non_ascii_names_and_message",
                 "<testsuite name=\"t\"><testcase classname=\"s\" name=\"a\" time=\"1\"><failure "
                 "message=\"Größe ≠ 3 ✗\"/></testcase></testsuite>",
                 0, O::kFailed, 1, "Größe ≠ 3 ✗", 1, std::nullopt}),
    [](const ::testing::TestParamInfo<Accepted>& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    ResultElements, JUnitAcceptedVariantTest,
    ::testing::Values(
        Accepted{"failure_body_in_cdata",
                 One("", " time=\"0.5\"",
                     "<failure type=\"AssertionError\"><![CDATA[\n  AssertionError: x < y & "
                     "z\n  at f (a.js:1:2)]]></failure>"),
                 0, O::kFailed, 1, "AssertionError: x < y & z", 0.5, std::nullopt},
        Accepted{"cdata_split_around_terminator",
                 One("", " time=\"0.5\"",
                     "<failure><![CDATA[got ]]]]><![CDATA[> in output]]></failure>"),
                 0, O::kFailed, 1, "got ]]> in output", 0.5, std::nullopt},
        Accepted{"message_attribute_wins_over_body",
                 One("", " time=\"0.5\"", "<failure message=\"short\">long\nbody</failure>"), 0,
                 O::kFailed, 1, "short", 0.5, std::nullopt},
        Accepted{"several_failures_are_one_attempt",
                 One("", " time=\"2\"",
                     "<failure message=\"first assertion\"/><failure message=\"second "
                     "assertion\"/><failure message=\"third\"/>"),
                 0, O::kFailed, 1, "first assertion", 2, std::nullopt},
        Accepted{
            "failure_then_error_is_one_attempt",
            One("", " time=\"2\"", "<failure message=\"assertion\"/><error message=\"teardown\"/>"),
            0, O::kFailed, 1, "assertion", 2, std::nullopt},
        Accepted{"skipped_with_message",
                 One("", " time=\"0\"", "<skipped message=\"needs a GPU\"/>"), 0, O::kSkipped, 1,
                 "needs a GPU", 0, std::nullopt},
        Accepted{"skipped_with_text", One("", " time=\"0\"", "<skipped>needs a GPU</skipped>"), 0,
                 O::kSkipped, 1, "needs a GPU", 0, std::nullopt},
        Accepted{"error_without_anything", One("", " time=\"0.25\"", "<error/>"), 0, O::kError, 1,
                 "", 0.25, std::nullopt},
        Accepted{"error_with_type_only",
                 One("", " time=\"0.25\"", "<error type=\"java.lang.OutOfMemoryError\"/>"), 0,
                 O::kError, 1, "java.lang.OutOfMemoryError", 0.25, std::nullopt},
        Accepted{"output_and_properties_ignored",
                 One("", " time=\"1\"",
                     "<properties><property name=\"owner\" value=\"x\"/></properties><system-out>"
                     "<![CDATA[<failure/>]]></system-out><system-err>e</system-err>"),
                 0, O::kPassed, 1, "", 1, std::nullopt},
        Accepted{"status_skipped_without_element", One("", " time=\"0\" status=\"Skipped\""), 0,
                 O::kSkipped, 1, "", 0, std::nullopt},
        Accepted{"status_disabled_without_element", One("", " time=\"0\" status=\"disabled\""), 0,
                 O::kSkipped, 1, "disabled", 0, std::nullopt},
        Accepted{"status_failed_without_element", One("", " time=\"0\" status=\"Failed\""), 0,
                 O::kFailed, 1, "", 0, std::nullopt},
        Accepted{"status_error_without_element", One("", " time=\"0\" status=\"error\""), 0,
                 O::kError, 1, "", 0, std::nullopt},
        Accepted{"failure_body_mixed_text_and_cdata",
                 One("", " time=\"1\"", "<failure>Error: got <![CDATA[<b>]]> instead</failure>"), 0,
                 O::kFailed, 1, "Error: got <b> instead", 1, std::nullopt},
        Accepted{"status_passed_with_failure_element",
                 One("", " time=\"0\" status=\"Passed\"", "<failure message=\"m\"/>"), 0,
                 O::kFailed, 1, "m", 0, std::nullopt}),
    [](const ::testing::TestParamInfo<Accepted>& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Time, JUnitAcceptedVariantTest,
    ::testing::Values(
        Accepted{"time_missing", One("", ""), 0, O::kPassed, 1, "", 0, std::nullopt},
        Accepted{"time_empty", One("", " time=\"\""), 0, O::kPassed, 1, "", 0, std::nullopt},
        Accepted{"time_blank", One("", " time=\"  \""), 0, O::kPassed, 1, "", 0, std::nullopt},
        Accepted{"time_padded", One("", " time=\" 0.5 \""), 0, O::kPassed, 1, "", 0.5,
                 std::nullopt},
        Accepted{"time_integer", One("", " time=\"7\""), 0, O::kPassed, 1, "", 7, std::nullopt},
        Accepted{"time_many_decimals", One("", " time=\"0.000012345\""), 0, O::kPassed, 1, "",
                 0.000012345, std::nullopt},
        Accepted{"time_exponent", One("", " time=\"1.5E-05\""), 0, O::kPassed, 1, "", 1.5e-5,
                 std::nullopt},
        Accepted{"time_leading_dot", One("", " time=\".25\""), 0, O::kPassed, 1, "", 0.25,
                 std::nullopt},
        Accepted{"time_thousands", One("", " time=\"1,234.5\""), 0, O::kPassed, 1, "", 1234.5,
                 std::nullopt},
        Accepted{"suite_time_is_not_read", One(" time=\"1.5s\"", " time=\"1\""), 0, O::kPassed, 1,
                 "", 1, std::nullopt}),
    [](const ::testing::TestParamInfo<Accepted>& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Timestamp, JUnitAcceptedVariantTest,
    ::testing::Values(Accepted{"local_at_default_zone", Ts("2026-11-23T12:00:00"), 7200, O::kPassed,
                               1, "", 1, Ns(k10h)},
                      Accepted{"fraction_micro", Ts("2026-11-23T10:00:00.123456"), 0, O::kPassed, 1,
                               "", 1, Ns(k10h, 123) + 456000},
                      Accepted{"fraction_nano_plus", Ts("2026-11-23T10:00:00.1234567891Z"), 7200,
                               O::kPassed, 1, "", 1, Ns(k10h, 123) + 456789},
                      Accepted{"fraction_comma", Ts("2026-11-23T10:00:00,5Z"), 7200, O::kPassed, 1,
                               "", 1, Ns(k10h, 500)},
                      Accepted{"zulu", Ts("2026-11-23T10:00:00Z"), 7200, O::kPassed, 1, "", 1,
                               Ns(k10h)},
                      Accepted{"zulu_lower_case", Ts("2026-11-23t10:00:00z"), 7200, O::kPassed, 1,
                               "", 1, Ns(k10h)},
                      Accepted{"offset_colon", Ts("2026-11-23T12:00:00+02:00"), 0, O::kPassed, 1,
                               "", 1, Ns(k10h)},
                      Accepted{"offset_no_colon", Ts("2026-11-23T12:00:00.250+0200"), 0, O::kPassed,
                               1, "", 1, Ns(k10h, 250)},
                      Accepted{"offset_hours_only", Ts("2026-11-23T07:00:00-03"), 0, O::kPassed, 1,
                               "", 1, Ns(k10h)},
                      Accepted{"offset_half_hour_negative", Ts("2026-11-23T04:30:00-05:30"), 0,
                               O::kPassed, 1, "", 1, Ns(k10h)},
                      Accepted{"offset_zero", Ts("2026-11-23T10:00:00+00:00"), 7200, O::kPassed, 1,
                               "", 1, Ns(k10h)},
                      Accepted{"space_separator", Ts("2026-11-23 12:00:00"), 7200, O::kPassed, 1,
                               "", 1, Ns(k10h)},
                      Accepted{"space_separator_zulu", Ts("2026-11-23 10:00:00Z"), 7200, O::kPassed,
                               1, "", 1, Ns(k10h)},
                      Accepted{"empty_timestamp", Ts(""), 0, O::kPassed, 1, "", 1, std::nullopt},
                      Accepted{"testcase_timestamp",
                               One(" timestamp=\"2026-11-23T09:00:00Z\"",
                                   " time=\"1\" timestamp=\"2026-11-23T10:00:00.5Z\""),
                               0, O::kPassed, 1, "", 1, Ns(k10h, 500)}),
    [](const ::testing::TestParamInfo<Accepted>& info) { return std::string(info.param.name); });

TEST(JUnitVariantTest, BomWithoutContentTypeIsDetectedAsJUnit) {
  Result<ResultSet> set = Parse("\xEF\xBB\xBF<?xml version=\"1.0\"?>\n" + One("", " time=\"1\""));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("junit", set->format);
  EXPECT_EQ(1u, set->tests.size());
}

// PHPUnit versions that follow the test's name with the data set's values.
TEST(JUnitVariantTest, PhpunitFirstLineWithDataSetValuesIsNotTheMessage) {
  Result<ResultSet> set = Parse(
      "<testsuites><testsuite name=\"T\\C::testDiscount\"><testcase name=\"testDiscount with "
      "data set #0\" class=\"T\\C\" classname=\"T.C\" assertions=\"1\" time=\"0.01\"><failure "
      "type=\"PHPUnit\\Framework\\ExpectationFailedException\">T\\C::testDiscount with data "
      "set #0 (10, 0.5)\nFailed asserting that 9.0 is identical to 5.0.\n\n/app/CTest.php:20"
      "</failure></testcase><testcase name=\"testOther\" class=\"T\\C\" classname=\"T.C\" "
      "assertions=\"1\" time=\"0.01\"><failure type=\"E\">T\\C::testOtherThing\nboom"
      "</failure></testcase></testsuite></testsuites>");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ("phpunit", set->producer);
  ASSERT_EQ(2u, set->tests.size());
  EXPECT_EQ("Failed asserting that 9.0 is identical to 5.0.", set->tests[0].last().message);
  // Another test's name is a message like any other.
  EXPECT_EQ("T\\C::testOtherThing", set->tests[1].last().message);
}

TEST(JUnitVariantTest, ReconstructedStartIsApproximate) {
  Result<ResultSet> set = Parse(Ts("2026-11-23T10:00:00Z"), "application/xml", 0, "junit.xml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  EXPECT_TRUE(set->tests[0].last().timing_approximate);
}

TEST(JUnitVariantTest, MissingAndEmptyTimesAreCountedInAWarning) {
  Result<ResultSet> set = Parse(
      "<testsuite><testcase name=\"a\"/><testcase name=\"b\" time=\"\"/><testcase name=\"c\" "
      "time=\"1\"/></testsuite>");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_FALSE(set->warnings.empty());
  EXPECT_EQ("2 testcases without time", set->warnings[0]);
}

TEST(JUnitVariantTest, SuiteFileIsTheFileOfItsTestcases) {
  Result<ResultSet> set = Parse(
      "<testsuites><testsuite name=\"outer\" file=\"spec/a.js\"><testsuite name=\"inner\">"
      "<testcase classname=\"c\" name=\"x\"/></testsuite><testcase classname=\"c\" name=\"y\" "
      "file=\"spec/own.js\"/></testsuite><testsuite name=\"other\"><testcase classname=\"c\" "
      "name=\"z\"/></testsuite></testsuites>");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(3u, set->tests.size());
  EXPECT_EQ("spec/a.js", set->tests[0].file);
  EXPECT_EQ("spec/own.js", set->tests[1].file);
  EXPECT_EQ("", set->tests[2].file);
  EXPECT_EQ("c::x", set->tests[0].id);
}

TEST(JUnitVariantTest, FailureWithoutMessageOrBodyTakesTheTestcaseOutput) {
  Result<ResultSet> set = Parse(One("", " time=\"1\"",
                                    "<failure message=\"\"/><system-out>step 1\nboom: disk "
                                    "full\n</system-out><system-err>warning: x</system-err>"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  const TestAttempt& a = set->tests[0].last();
  EXPECT_EQ(Outcome::kFailed, a.outcome);
  EXPECT_EQ("", a.message);
  EXPECT_NE(std::string::npos, a.details.find("boom: disk full")) << a.details;
  EXPECT_NE(std::string::npos, a.details.find("warning: x")) << a.details;
}

TEST(JUnitVariantTest, LongTestcaseOutputKeepsItsEnd) {
  std::string output = "begin\n" + std::string(100000, 'x') + "\nthe actual error\n";
  Result<ResultSet> set =
      Parse(One("", " time=\"1\"", "<error/><system-out>" + output + "</system-out>"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->tests.size(), 1u);
  const TestAttempt& a = set->tests[0].last();
  EXPECT_LE(a.details.size(), 4096u + 3);
  EXPECT_NE(std::string::npos, a.details.find("the actual error")) << a.details.substr(0, 100);
}

struct Refused {
  const char* name;
  std::string body;
  const char* message_part;
};

void PrintTo(const Refused& c, std::ostream* os) { *os << c.name; }

class JUnitRefusedVariantTest : public ::testing::TestWithParam<Refused> {};

TEST_P(JUnitRefusedVariantTest, ClearErrorNamingTheLine) {
  const Refused& c = GetParam();
  Result<ResultSet> set = Parse(c.body, "application/xml", 0, "junit.xml");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(Status::Code::kInvalidArgument, set.status().code()) << set.status().ToString();
  EXPECT_NE(std::string::npos, set.status().message().find(c.message_part))
      << set.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JUnitRefusedVariantTest,
    ::testing::Values(
        Refused{"time_with_unit", One("", " time=\"1.5s\""),
                "junit.xml:2: <testcase name=\"a\"> time \"1.5s\" is not a number"},
        Refused{"time_decimal_comma", One("", " time=\"1,5\""),
                "junit.xml:2: <testcase name=\"a\"> time \"1,5\""},
        Refused{"time_hex", One("", " time=\"0x10\""), "time \"0x10\" is not a number"},
        Refused{"time_infinite", One("", " time=\"inf\""), "time \"inf\""},
        Refused{"time_huge", One("", " time=\"99999999999\""), "is longer than 30 days"},
        Refused{"time_clock", One("", " time=\"00:01:30\""), "time \"00:01:30\""},
        Refused{"timestamp_date_only", Ts("2026-11-23"),
                "junit.xml:1: <testsuite> timestamp \"2026-11-23\" has no time of day"},
        Refused{"timestamp_epoch_seconds", Ts("1795428000"), "timestamp \"1795428000\""},
        Refused{"timestamp_offset_out_of_range", Ts("2026-11-23T10:00:00+25:00"),
                "UTC offset out of range"},
        Refused{"timestamp_trailing_zone_name", Ts("2026-11-23T10:00:00 UTC"),
                "has trailing characters"},
        Refused{"encoding_latin1_with_latin1_bytes",
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<testsuite><testcase "
                "name=\"caf\xE9\"/></testsuite>",
                "junit.xml:2: invalid UTF-8"},
        Refused{"utf16_body", std::string("\xFF\xFE<\0t\0", 6), "invalid UTF-8"}),
    [](const ::testing::TestParamInfo<Refused>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace jostle::collector
