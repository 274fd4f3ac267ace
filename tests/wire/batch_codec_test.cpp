// DecodeBatch / EncodeBatch beyond the round trip: exact error messages and their
// precedence, JSON acceptance checked against nlohmann_json, null and repeated members,
// escapes, key order, numbers at the edges of their types, and the encoder's escaping.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "jostle/version.h"
#include "jostle/wire.h"

namespace jostle {
namespace {

// A valid batch with one sample; `sample_extra` goes inside the sample's first cgroup,
// `batch_extra` at the end of the batch object.
std::string Doc(const std::string& cgroup_extra = "", const std::string& batch_extra = "",
                const std::string& node = R"({"cpus":2})") {
  return R"({"wire_version":1,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0,)"
         R"("samples":[{"wall_ns":5,"node":)" +
         node + R"(,"cgroups":[{"scope":"pod","id":"u")" + cgroup_extra + "}]}]" + batch_extra +
         "}";
}

SampleBatch MustDecode(const std::string& json) {
  auto r = DecodeBatch(json);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << json;
  return r.ok() ? *r : SampleBatch{};
}

TEST(BatchDecodeTest, ErrorsNameTheFieldExactly) {
  struct Case {
    std::string json;
    std::string message;
  };
  const std::string head = R"({"wire_version":1,"node":"n","boot_id":"b","agent_start_ns":1,)";
  const Case cases[] = {
      {Doc("", "", R"({"net":[null]})"), "batch.samples[0].node.net[0]: expected an object"},
      {Doc("", "", R"({"net":[{"if":"e","rx_bytes":1,"rx_packets":1,"rx_errors":0}]})"),
       "batch.samples[0].node.net[0].rx_drops: missing"},
      {Doc("", "", R"({"net":{}})"), "batch.samples[0].node.net: expected an array"},
      {Doc("", "", R"({"cpus":4294967296})"), "batch.samples[0].node.cpus: out of range"},
      {Doc("", "", R"({"load1":"1.5"})"), "batch.samples[0].node.load1: expected a number"},
      {Doc("", "", R"({"psi_io":[1]})"), "batch.samples[0].node.psi_io: expected an object"},
      {Doc("", "", R"({"psi_io":{"some_us":-1}})"),
       "batch.samples[0].node.psi_io.some_us: expected an unsigned integer"},
      {Doc("", "", "7"), "batch.samples[0].node: expected an object"},
      {Doc(R"(,"labels":{"app":1})"), "batch.samples[0].cgroups[0].labels.app: expected a string"},
      {Doc(R"(,"labels":{"":null})"), "batch.samples[0].cgroups[0].labels.: expected a string"},
      {Doc(R"(,"labels":[])"), "batch.samples[0].cgroups[0].labels: expected an object"},
      {Doc(R"(,"host_network":1)"),
       "batch.samples[0].cgroups[0].host_network: expected true or false"},
      {Doc(R"(,"cpu_usage_us":1.0)"),
       "batch.samples[0].cgroups[0].cpu_usage_us: expected an unsigned integer"},
      {Doc(R"(,"cpu_usage_us":1e2)"),
       "batch.samples[0].cgroups[0].cpu_usage_us: expected an unsigned integer"},
      {Doc(R"(,"cpu_usage_us":-0)"),
       "batch.samples[0].cgroups[0].cpu_usage_us: expected an unsigned integer"},
      {Doc(R"(,"cpu_usage_us":18446744073709551616)"),
       "batch.samples[0].cgroups[0].cpu_usage_us: expected an unsigned integer"},
      {Doc(R"(,"id":"")"), "batch.samples[0].cgroups[0].id: empty"},
      {Doc(R"(,"id":null)"), "batch.samples[0].cgroups[0].id: missing"},
      {Doc(R"(,"scope":7)"), "batch.samples[0].cgroups[0].scope: expected a string"},
      {Doc(R"(,"scope":"")"),
       "batch.samples[0].cgroups[0].scope: expected pod, container or cgroup"},
      {Doc(R"(,"net":[])"), "batch.samples[0].cgroups[0].net: expected an object"},
      {Doc(R"(,"net":{"rx_bytes":1})"), "batch.samples[0].cgroups[0].net.if: missing"},
      {Doc(R"(,"namespace":false)"), "batch.samples[0].cgroups[0].namespace: expected a string"},
      {head + R"("seq":0,"samples":[{"mono_ns":1}]})", "batch.samples[0].wall_ns: missing"},
      {head + R"("seq":0,"samples":[{"wall_ns":1.5}]})",
       "batch.samples[0].wall_ns: expected an integer"},
      {head + R"("seq":0,"samples":[1]})", "batch.samples[0]: expected an object"},
      {head + R"("seq":0,"samples":[{"wall_ns":1,"cgroups":[[]]}]})",
       "batch.samples[0].cgroups[0]: expected an object"},
      {head + R"("seq":0,"samples":[{"wall_ns":1,"cgroups":{}}]})",
       "batch.samples[0].cgroups: expected an array"},
      {head + R"("seq":0,"samples":{}})", "batch.samples: expected an array"},
      {head + R"("seq":0,"samples":null})", "batch.samples: missing"},
      {head + R"("seq":1.0,"samples":[]})", "batch.seq: expected an unsigned integer"},
      {head + R"("samples":[]})", "batch.seq: missing"},
      {head + R"("seq":0,"samples":[],"host":"x"})", "batch.host: expected an object"},
      {R"({"wire_version":1,"node":"n","boot_id":"b","agent_start_ns":9223372036854775808,)"
       R"("seq":0,"samples":[]})",
       "batch.agent_start_ns: out of range"},
      {R"({"wire_version":1,"node":"","boot_id":"b","agent_start_ns":1,"seq":0,"samples":[]})",
       "batch.node: empty"},
      {R"({"wire_version":1,"node":"n","agent_start_ns":1,"seq":0,"samples":[]})",
       "batch.boot_id: missing"},
      {R"({"node":"n","boot_id":"b","agent_start_ns":1,"seq":0,"samples":[]})",
       "batch.wire_version: missing"},
      {R"({"wire_version":"1","node":"n","boot_id":"b","agent_start_ns":1,"seq":0,"samples":[]})",
       "batch.wire_version: expected an integer"},
      {"\"batch\"", "sample batch: expected a JSON object"},
  };
  for (const auto& c : cases) {
    auto r = DecodeBatch(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.json;
    EXPECT_EQ(r.status().message(), c.message) << c.json;
  }
}

TEST(BatchDecodeTest, NotJsonAndUnsupportedVersionOutrankEveryOtherError) {
  // The first cgroup is wrong, and the text breaks off later: the text is not JSON.
  std::string broken = Doc(R"(,"cpu_usage_us":"7")");
  broken.pop_back();
  auto r = DecodeBatch(broken);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("sample batch is not valid JSON: ", 0), 0u)
      << r.status().message();

  // A newer wire version after a sample this version cannot read: Unsupported.
  r = DecodeBatch(R"({"samples":[{"wall_ns":"new shape"}],"wire_version":3})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnsupported);
  EXPECT_EQ(r.status().message(),
            "batch.wire_version: 3 is not supported (this collector speaks 1 to 2)");
  r = DecodeBatch(R"({"samples":[{"wall_ns":1}],"wire_version":0})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnsupported);

  r = DecodeBatch(R"({"wire_version":18446744073709551615})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(r.status().message().find("18446744073709551615 is not supported"), std::string::npos);

  // A repeated wire_version: the last one counts, as for every member.
  r = DecodeBatch(R"({"wire_version":1,"node":"n","wire_version":7})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnsupported);
}

// What is JSON is nlohmann_json's call: the decoder must agree on every one of these, in
// a member the schema does not know (skipped) and, where it fits, in one it reads.
TEST(BatchDecodeTest, AcceptsExactlyWhatNlohmannJsonAccepts) {
  const char* values[] = {
      "0",
      "-0",
      "01",
      "-",
      "1.",
      ".5",
      "1e",
      "1e+",
      "1E-2",
      "-1.5e+300",
      "1e400",
      "-1e400",
      "1e-400",
      "123456789012345678901234567890",
      "true",
      "tru",
      "nul",
      "nulll",
      "[1,]",
      "[,1]",
      "{\"a\":1,}",
      "{\"a\"1}",
      "{1:2}",
      "[[[[[]]]]]",
      "[[[[[]]]]",
      "\"\\u00e9\"",
      "\"\\ud83d\\ude00\"",
      "\"\\ud83d\"",
      "\"\\ude00\"",
      "\"\\ud83d\\u0041\"",
      "\"\\x\"",
      "\"\\u12G4\"",
      "\"a\tb\"",
      "\"\x7f\"",
      "\"\xc3\xa9\"",
      "\"\xc3\"",
      "\"\xc0\xaf\"",
      "\"\xe0\x80\xaf\"",
      "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xf0\x9f\x98\x80\"",
      "\"\xff\"",
      "\"\\/\"",
      "[1 2]",
      "{\"a\":{\"b\":[null,false,{}]}}",
      "\"\\u0000\"",
  };
  for (const char* v : values) {
    for (const std::string& json :
         {Doc(std::string(",\"future\":") + v), Doc("", "", std::string("{\"load1\":") + v + "}"),
          Doc(std::string(",\"path\":") + v)}) {
      bool valid = nlohmann::json::accept(json);
      auto r = DecodeBatch(json);
      bool said_invalid =
          !r.ok() && r.status().message().rfind("sample batch is not valid JSON: ", 0) == 0;
      EXPECT_EQ(said_invalid, !valid) << json << "\n" << r.status().ToString();
    }
  }
  // Whole-document edges: byte order mark, trailing bytes, NUL (nlohmann_json reads it as
  // the end of the input), nothing at all.
  for (const std::string& json :
       {"\xEF\xBB\xBF" + Doc(), "\xEF\xBB" + Doc(), Doc() + " \n\t\r", Doc() + "x", Doc() + "{}",
        Doc() + std::string(" \0garbage", 9), Doc(std::string(",\"x\":\0", 6)), std::string(),
        std::string(" "), std::string("{"), std::string(1, '\0')}) {
    bool valid = nlohmann::json::accept(json);
    auto r = DecodeBatch(json);
    EXPECT_EQ(r.ok(), valid) << json << "\n" << r.status().ToString();
  }
}

TEST(BatchDecodeTest, UnknownMembersOfAnyShapeAreSkipped) {
  std::string deep(10000, '[');
  deep += std::string(10000, ']');
  SampleBatch b = MustDecode(Doc(R"(,"x":{"y":[1,{"z":"\u00e9"}],"w":null},"deep":)" + deep,
                                 R"(,"future":{"samples":[{"wall_ns":"no"}]})",
                                 R"({"cpus":2,"gpu":[{"util":0.5}]})"));
  ASSERT_EQ(b.samples.size(), 1u);
  EXPECT_EQ(b.samples[0].node.cpus, 2u);
  EXPECT_EQ(b.samples[0].cgroups[0].id, "u");
}

TEST(BatchDecodeTest, NullIsAbsentAndTheLastRepeatedMemberWins) {
  SampleBatch b = MustDecode(
      Doc(R"(,"cpu_usage_us":null,"qos":null,"labels":null,"net":null,"host_network":null,)"
          R"("psi_cpu":{"some_us":1},"psi_cpu":{"full_us":2},"labels":{"a":"1","a":"2"},)"
          R"("id":"first","id":"second","scope":"vm","scope":"container")",
          R"(,"interval_ns":null,"host":{"k":"v","k":5,"j":"w"})", R"({"cpus":2,"cpus":4})"));
  const CgroupSample& c = b.samples[0].cgroups[0];
  EXPECT_FALSE(c.cpu_usage_us.has_value());
  EXPECT_EQ(c.qos, "");
  EXPECT_FALSE(c.net.has_value());
  EXPECT_FALSE(c.host_network);
  ASSERT_TRUE(c.psi_cpu.has_value());
  EXPECT_FALSE(c.psi_cpu->some_us.has_value());
  EXPECT_EQ(c.psi_cpu->full_us, 2u);
  EXPECT_EQ(c.labels, (std::map<std::string, std::string>{{"a", "2"}}));
  EXPECT_EQ(c.id, "second");
  EXPECT_EQ(c.scope, Scope::kContainer);
  EXPECT_EQ(b.interval_ns, 0);
  EXPECT_EQ(b.host, (std::map<std::string, std::string>{{"j", "w"}}));
  EXPECT_EQ(b.samples[0].node.cpus, 4u);

  SampleBatch no_node = MustDecode(Doc("", "", "null"));
  EXPECT_EQ(no_node.samples[0].node, NodeSample{});
}

TEST(BatchDecodeTest, EscapesInNamesAndValues) {
  SampleBatch b = MustDecode(
      Doc(R"(,"cpu\u005fusage_us":7,"pod":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \n\t\b\f\r",)"
          R"("labels":{"k\u0000":"\u0000"})"));
  const CgroupSample& c = b.samples[0].cgroups[0];
  EXPECT_EQ(c.cpu_usage_us, 7u);
  EXPECT_EQ(c.pod_name, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \n\t\b\f\r");
  EXPECT_EQ(c.labels.at(std::string("k\0", 2)), std::string("\0", 1));
}

TEST(BatchDecodeTest, NumbersAtTheEdgesOfTheirTypes) {
  SampleBatch b = MustDecode(
      Doc(R"(,"cpu_usage_us":18446744073709551615,"cpu_limit_cores":2,"oom_kills":0)",
          R"(,"agent_start_ns":-9223372036854775808)",
          R"({"cpus":4294967295,"load1":1e-400,"load5":-0,"load15":1.7976931348623157e308,)"
          R"("net":[{"if":"e","rx_bytes":0,"rx_packets":0,"rx_errors":0,"rx_drops":0,)"
          R"("tx_bytes":0,"tx_packets":0,"tx_errors":0,"tx_drops":0,"speed_mbps":-1}]})"));
  EXPECT_EQ(b.agent_start_ns, std::numeric_limits<int64_t>::min());
  const CgroupSample& c = b.samples[0].cgroups[0];
  EXPECT_EQ(c.cpu_usage_us, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(c.cpu_limit_cores, 2.0);
  const NodeSample& n = b.samples[0].node;
  EXPECT_EQ(n.cpus, std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(n.load1, 0.0);
  EXPECT_EQ(n.load5, 0.0);
  EXPECT_EQ(n.load15, std::numeric_limits<double>::max());
  EXPECT_EQ(n.net.at(0).speed_mbps, -1);
}

SampleBatch OneCgroupBatch(CgroupSample c) {
  SampleBatch b;
  b.node = "n";
  b.boot_id = "b";
  b.seq = 3;
  b.samples.emplace_back();
  b.samples[0].wall_ns = 1;
  b.samples[0].cgroups.push_back(std::move(c));
  return b;
}

TEST(BatchEncodeTest, StringsAreEscapedAndInvalidUtf8Replaced) {
  CgroupSample c;
  c.id = "quote\" backslash\\ slash/ nl\n tab\t bell\x07 del\x7f nul" + std::string(1, '\0');
  c.path = "/caf\xc3\xa9/\xf0\x9f\x98\x80/bad\xff/truncated\xe2\x82";
  c.labels = {{"k\"\x01", "v\xc0\xaf"}};
  std::string json = EncodeBatch(OneCgroupBatch(c));
  ASSERT_TRUE(nlohmann::json::accept(json)) << json;
  auto j = nlohmann::json::parse(json);
  const auto& cj = j["samples"][0]["cgroups"][0];
  EXPECT_EQ(cj["id"], c.id);
  EXPECT_EQ(cj["path"], "/caf\xc3\xa9/\xf0\x9f\x98\x80/bad\xef\xbf\xbd/truncated\xef\xbf\xbd");
  EXPECT_EQ(cj["labels"]["k\"\x01"], "v\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_NE(json.find(R"(\u0007)"), std::string::npos);
  EXPECT_NE(json.find(R"(\u0000)"), std::string::npos);

  auto back = DecodeBatch(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->samples[0].cgroups[0].id, c.id);
}

TEST(BatchEncodeTest, DoublesRoundTripExactlyAndNonFiniteIsAbsent) {
  const double values[] = {0.1,
                           1.0 / 3,
                           2.0,
                           1e300,
                           5e-324,
                           1e21,
                           18446744073709551616.0,
                           -2.5,
                           123456789.125,
                           std::numeric_limits<double>::max()};
  for (double v : values) {
    CgroupSample c;
    c.id = "x";
    c.cpu_limit_cores = v;
    auto back = DecodeBatch(EncodeBatch(OneCgroupBatch(c)));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->samples[0].cgroups[0].cpu_limit_cores, v);
  }
  CgroupSample c;
  c.id = "x";
  c.cpu_limit_cores = std::numeric_limits<double>::quiet_NaN();
  auto back = DecodeBatch(EncodeBatch(OneCgroupBatch(c)));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->samples[0].cgroups[0].cpu_limit_cores.has_value());
}

// The same batch in any member order and with any whitespace decodes to the same value:
// nlohmann_json re-serialises it with sorted keys and indentation.
TEST(BatchEncodeTest, AnyKeyOrderAndWhitespaceDecodeTheSame) {
  CgroupSample c;
  c.scope = Scope::kContainer;
  c.id = "pod/ctr";
  c.container_name = "build";
  c.labels = {{"a", "b"}};
  c.cpu_usage_us = 12;
  c.psi_memory = PsiTotals{1, std::nullopt};
  c.net = NetCounters{"*", 1, 2, 3, 4, 5, 6, 7, 8, 100};
  SampleBatch b = OneCgroupBatch(c);
  b.host = {{"psi", "enabled"}};
  b.samples[0].node.load5 = 0.25;
  b.samples[0].node.net.push_back(NetCounters{"eth0", 9, 9, 9, 9, 9, 9, 9, 9, std::nullopt});
  std::string compact = EncodeBatch(b);
  std::string pretty = nlohmann::json::parse(compact).dump(2);
  ASSERT_NE(compact, pretty);
  auto back = DecodeBatch(pretty);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, b);
  EXPECT_EQ(EncodeBatch(*back), compact);
}

}  // namespace
}  // namespace jostle
