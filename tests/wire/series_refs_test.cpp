// Series references (wire_version 2): each cgroup's identity is written once per batch, and
// a decoded batch holds it in every sample, exactly as a version-1 batch does.
#include <gtest/gtest.h>

#include <string>

#include "jostle/version.h"
#include "jostle/wire.h"

namespace jostle {
namespace {

CgroupSample Pod(int i) {
  CgroupSample c;
  c.scope = Scope::kPod;
  c.id = "uid-" + std::to_string(i);
  c.path = "/kubepods/burstable/pod" + c.id;
  c.pod_uid = c.id;
  c.namespace_name = "ci";
  c.pod_name = "runner-" + std::to_string(i);
  c.qos = "burstable";
  c.labels = {{"app", "runner"}, {"team", "t" + std::to_string(i % 3)}};
  return c;
}

SampleBatch Batch(int samples, int pods, int wire_version = kWireVersion) {
  SampleBatch b;
  b.wire_version = wire_version;
  b.node = "n1";
  b.boot_id = "b";
  b.agent_start_ns = 1;
  b.seq = 3;
  for (int t = 0; t < samples; ++t) {
    Sample s;
    s.wall_ns = 1000 + t;
    for (int p = 0; p < pods; ++p) {
      CgroupSample c = Pod(p);
      c.cpu_usage_us = static_cast<uint64_t>(t * 100 + p);
      c.psi_cpu = PsiTotals{static_cast<uint64_t>(t), std::nullopt};
      s.cgroups.push_back(c);
    }
    b.samples.push_back(s);
  }
  return b;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(SeriesRefsTest, IdentityIsWrittenOncePerBatchAndDecodedInFull) {
  SampleBatch b = Batch(10, 5);
  std::string text = EncodeBatch(b);
  EXPECT_EQ(Count(text, "\"pod_uid\""), 5u);
  EXPECT_EQ(Count(text, "\"s\":"), 50u);
  auto decoded = DecodeBatch(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, b);
}

TEST(SeriesRefsTest, VersionOneWritesEveryIdentityAndStillDecodes) {
  SampleBatch b = Batch(3, 4, 1);
  std::string text = EncodeBatch(b);
  EXPECT_EQ(Count(text, "\"pod_uid\""), 12u);
  EXPECT_EQ(Count(text, "\"s\":"), 0u);
  auto decoded = DecodeBatch(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, b);
  // Smaller than the same batch in version 2 it is not: references save the identities.
  SampleBatch v2 = b;
  v2.wire_version = 2;
  EXPECT_LT(EncodeBatch(v2).size(), text.size());
}

TEST(SeriesRefsTest, AnIdentityThatChangesDefinesANewSeries) {
  SampleBatch b = Batch(4, 2);
  // The pod's name and labels become known at the third tick; a pod comes and goes.
  b.samples[0].cgroups[1].pod_name.clear();
  b.samples[1].cgroups[1].pod_name.clear();
  b.samples[1].cgroups[1].labels.clear();
  b.samples[2].cgroups.push_back(Pod(7));
  b.samples[3].cgroups.erase(b.samples[3].cgroups.begin());
  std::string text = EncodeBatch(b);
  auto decoded = DecodeBatch(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, b);
  EXPECT_EQ(Count(text, "\"scope\""), 5u) << text;  // uid-0, uid-1 three times, uid-7
}

TEST(SeriesRefsTest, EncoderInPiecesEqualsEncodeBatchAcrossBatches) {
  BatchEncoder encoder;
  for (int round = 0; round < 3; ++round) {
    SampleBatch b = Batch(round + 2, 3 + round);
    b.seq = static_cast<uint64_t>(round);
    if (round == 1) b.samples[1].cgroups[0].namespace_name = "other";
    std::string text;
    encoder.Head(b, &text);
    for (const Sample& s : b.samples) encoder.Append(s, &text);
    BatchEncoder::Tail(&text);
    EXPECT_EQ(text, EncodeBatch(b)) << "round " << round;
  }
}

TEST(SeriesRefsTest, DecodeIntoAfterOtherBatchesGivesTheFreshResult) {
  SampleBatch into;
  for (int round = 0; round < 3; ++round) {
    SampleBatch b = Batch(3, round == 1 ? 6 : 2);
    ASSERT_TRUE(DecodeBatchInto(EncodeBatch(b), &into).ok());
    EXPECT_EQ(into, b) << "round " << round;
  }
}

TEST(SeriesRefsTest, BadReferencesAreRefusedWithTheirPath) {
  const std::string head =
      R"({"wire_version":2,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0,"samples":[)";
  struct Case {
    std::string samples;
    const char* expect;
  };
  const Case cases[] = {
      {R"({"wall_ns":1,"cgroups":[{"s":0,"cpu_usage_us":1}]})",
       "batch.samples[0].cgroups[0].s: refers to a series not defined before it"},
      {R"({"wall_ns":1,"cgroups":[{"s":1,"scope":"pod","id":"u"}]})",
       "batch.samples[0].cgroups[0].s: defines a series out of order"},
      {R"({"wall_ns":1,"cgroups":[{"s":0,"scope":"pod","id":"u"},{"s":0,"scope":"pod","id":"v"}]})",
       "batch.samples[0].cgroups[1].s: defines a series out of order"},
      {R"({"wall_ns":1,"cgroups":[{"s":0,"scope":"pod","id":"u"}]},{"wall_ns":2,"cgroups":[{"s":-1}]})",
       "batch.samples[1].cgroups[0].s: expected an unsigned integer"},
      {R"({"wall_ns":1,"cgroups":[{"s":0,"scope":"pod","id":"u"}]},{"wall_ns":2,"cgroups":[{"s":0,"id":"v"}]})",
       "batch.samples[1].cgroups[0].s: defines a series out of order"},
      {R"({"wall_ns":1,"cgroups":[{"s":0,"scope":"pod"}]})",
       "batch.samples[0].cgroups[0].id: missing"},
  };
  for (const auto& c : cases) {
    std::string json = head + c.samples + "]}";
    auto r = DecodeBatch(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << "got: " << r.status().message() << "\nwanted: " << c.expect;
  }
  // A reference in a version-1 batch, and a version beyond this collector's.
  auto v1 = DecodeBatch(
      R"({"wire_version":1,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0,"samples":[)"
      R"({"wall_ns":1,"cgroups":[{"s":0,"scope":"pod","id":"u"}]}]})");
  ASSERT_FALSE(v1.ok());
  EXPECT_EQ(v1.status().message(),
            "batch.samples[0].cgroups[0].s: series references need wire_version 2");
  auto v3 = DecodeBatch(
      R"({"wire_version":3,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0,"samples":[]})");
  ASSERT_FALSE(v3.ok());
  EXPECT_EQ(v3.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(v3.status().message().find("speaks 1 to 2"), std::string::npos)
      << v3.status().message();
}

TEST(SeriesRefsTest, AReferenceMayComeAnywhereInItsEntry) {
  auto r = DecodeBatch(
      R"({"samples":[{"wall_ns":1,"cgroups":[{"id":"u","scope":"pod","s":0,"cpu_usage_us":1}]},)"
      R"({"wall_ns":2,"cgroups":[{"cpu_usage_us":2,"s":0}]}],)"
      R"("wire_version":2,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->samples.size(), 2u);
  EXPECT_EQ(r->samples[1].cgroups[0].id, "u");
  EXPECT_EQ(r->samples[1].cgroups[0].scope, Scope::kPod);
  EXPECT_EQ(r->samples[1].cgroups[0].cpu_usage_us, 2u);
}

}  // namespace
}  // namespace jostle
