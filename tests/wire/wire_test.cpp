#include "jostle/wire.h"

#include <gtest/gtest.h>

#include "jostle/version.h"

namespace jostle {
namespace {

SampleBatch FullBatch() {
  SampleBatch b;
  b.node = "ci-node-1";
  b.boot_id = "4e1c2a2e-0000-4000-8000-000000000001";
  b.agent_start_ns = 1700000000000000000;
  b.seq = 42;
  b.agent_version = kVersion;
  b.interval_ns = 1000000000;
  b.host = {{"cgroup", "hybrid"}, {"psi", "enabled"}};
  Sample s;
  s.wall_ns = 1700000001000000000;
  s.mono_ns = 123456789;
  s.node.cpu_busy_us = 1000;
  s.node.cpu_total_us = 4000;
  s.node.cpus = 2;
  s.node.mem_total_bytes = 1ULL << 34;
  s.node.mem_available_bytes = 1ULL << 33;
  s.node.psi_cpu = PsiTotals{10, std::nullopt};
  s.node.psi_memory = PsiTotals{5, 2};
  s.node.net.push_back(NetCounters{"eth0", 1, 2, 3, 4, 5, 6, 7, 8, 10000});
  s.node.tcp_out_segs = 100;
  s.node.tcp_retrans_segs = 1;
  s.node.load1 = 0.5;
  CgroupSample pod;
  pod.scope = Scope::kPod;
  pod.id = "0b7d6c1a-1111-2222-3333-444455556666";
  pod.path = "/kubepods/burstable/pod0b7d6c1a-1111-2222-3333-444455556666";
  pod.pod_uid = pod.id;
  pod.namespace_name = "ci";
  pod.pod_name = "runner-abc";
  pod.qos = "burstable";
  pod.labels = {{"app", "runner"}};
  pod.cpu_usage_us = 99;
  pod.cpu_limit_cores = 1.5;
  pod.mem_limit_bytes = 1 << 30;
  pod.oom_kills = 0;
  pod.mem_high_events = 4;
  pod.mem_max_events = 1;
  pod.mem_pgscan = 40;
  pod.mem_workingset_refaults = 5;
  pod.net = NetCounters{"*", 1, 1, 0, 0, 1, 1, 0, 0, std::nullopt};
  s.cgroups.push_back(pod);
  CgroupSample plain;
  plain.scope = Scope::kCgroup;
  plain.id = "/system.slice/docker.service";
  plain.host_network = true;
  s.cgroups.push_back(plain);
  b.samples.push_back(s);
  return b;
}

TEST(WireTest, RoundTripsEveryField) {
  SampleBatch b = FullBatch();
  auto decoded = DecodeBatch(EncodeBatch(b));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, b);
}

TEST(WireTest, ReadingsAreWrittenInTheFieldTablesOrder) {
  const std::string json = EncodeBatch(FullBatch());
  EXPECT_NE(json.find("\"cpu_usage_us\":99,\"cpu_limit_cores\":1.5,\"mem_limit_bytes\":1073741824,"
                      "\"oom_kills\":0,\"mem_high_events\":4,\"mem_max_events\":1,"
                      "\"mem_pgscan\":40,\"mem_workingset_refaults\":5,\"net\":"),
            std::string::npos)
      << json;
}

TEST(WireTest, MissingFieldsStayAbsentNotZero) {
  SampleBatch b = FullBatch();
  b.samples[0].node.psi_io.reset();
  b.samples[0].cgroups[0].mem_working_set_bytes.reset();
  std::string json = EncodeBatch(b);
  EXPECT_EQ(json.find("psi_io"), std::string::npos);
  auto decoded = DecodeBatch(json);
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->samples[0].node.psi_io.has_value());
  EXPECT_FALSE(decoded->samples[0].cgroups[0].mem_working_set_bytes.has_value());
}

TEST(WireTest, ErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* expect;
  };
  const Case cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "expected a JSON object"},
      {R"({"wire_version":9,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0,"samples":[]})",
       "wire_version: 9 is not supported"},
      {R"({"wire_version":1,"boot_id":"b","agent_start_ns":1,"seq":0,"samples":[]})",
       "batch.node: missing"},
      {R"({"wire_version":1,"node":"n","boot_id":"b","agent_start_ns":1,"seq":-1,"samples":[]})",
       "batch.seq: expected an unsigned integer"},
      {R"({"wire_version":1,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0})",
       "batch.samples: missing"},
      {R"({"wire_version":1,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0,"samples":[
          {"wall_ns":1,"cgroups":[{"scope":"pod","id":"u","cpu_usage_us":"7"}]}]})",
       "batch.samples[0].cgroups[0].cpu_usage_us: expected an unsigned integer"},
      {R"({"wire_version":1,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0,"samples":[
          {"wall_ns":1,"cgroups":[{"scope":"vm","id":"u"}]}]})",
       "batch.samples[0].cgroups[0].scope: expected pod, container or cgroup"},
  };
  for (const auto& c : cases) {
    auto r = DecodeBatch(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << "got: " << r.status().message() << "\nwanted: " << c.expect;
  }
}

TEST(WireTest, GzipRoundTripAndBombLimit) {
  std::string json = EncodeBatch(FullBatch());
  std::string gz = Gzip(json);
  ASSERT_TRUE(LooksGzipped(gz));
  auto back = Gunzip(gz, 1 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, json);

  std::string zeros(64 << 20, '\0');  // 64 MiB of zeros gzip to ~64 KiB
  std::string bomb = Gzip(zeros, 9);
  auto refused = Gunzip(bomb, 1 << 20);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kResourceExhausted);

  auto truncated = Gunzip(std::string_view(gz).substr(0, gz.size() / 2), 1 << 20);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace jostle
