// BatchLineBuilder: EncodeBatch's text, built and given out a sample at a time.
#include "agent/shipper/batch_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jostle/wire.h"

namespace jostle::agent {
namespace {

SampleBatch Batch(int samples, int cgroups) {
  SampleBatch b;
  b.node = "node-\"1\"";
  b.boot_id = "b00t";
  b.agent_start_ns = 1700000000000000000;
  b.seq = 7;
  b.agent_version = "0.1.0";
  b.interval_ns = 1000000000;
  b.host = {{"cgroup", "v2"}, {"psi", "enabled"}};
  for (int i = 0; i < samples; ++i) {
    Sample s;
    s.wall_ns = 1700000000000000000 + i;
    s.mono_ns = 1000 + i;
    s.node.cpu_busy_us = 100 + static_cast<uint64_t>(i);
    s.node.load1 = 0.5 * i;
    s.node.net.push_back(NetCounters{"eth0", 1, 2, 3, 4, 5, 6, 7, 8, 10000});
    for (int c = 0; c < cgroups; ++c) {
      CgroupSample g;
      g.scope = c % 2 == 0 ? Scope::kPod : Scope::kContainer;
      g.id = "uid-" + std::to_string(c) + (c % 2 == 0 ? "" : "/cid");
      g.path = "/kubepods/pod\xff\n\"" + std::to_string(c);  // escaped and not UTF-8
      g.labels = {{"app", "x\\y"}};
      g.cpu_usage_us = static_cast<uint64_t>(i * 1000 + c);
      if (c % 3 == 0) g.psi_cpu = PsiTotals{1, std::nullopt};
      if (c % 2 == 0) g.net = NetCounters{"*", 9, 9, 9, 9, 9, 9, 9, 9, std::nullopt};
      s.cgroups.push_back(std::move(g));
    }
    b.samples.push_back(std::move(s));
  }
  return b;
}

// Runs a batch through a builder: the text as given to TextOut (in pieces), the gzip kept.
struct Built {
  std::string text;
  size_t pieces = 0;
  std::string gzip;
};

Built Build(BatchLineBuilder& builder, const SampleBatch& batch, bool text, bool gzip) {
  Built b;
  BatchLineBuilder::TextOut out;
  if (text) {
    out = [&b](std::string_view piece) {
      b.text.append(piece);
      ++b.pieces;
    };
  }
  EXPECT_TRUE(builder.Start(batch, out, gzip).ok());
  EXPECT_TRUE(builder.started());
  for (const Sample& s : batch.samples) EXPECT_TRUE(builder.Add(s).ok());
  EXPECT_EQ(builder.samples(), batch.samples.size());
  EXPECT_TRUE(builder.Finish().ok());
  EXPECT_FALSE(builder.started());
  b.gzip = builder.TakeGzip();
  return b;
}

// A batch added a sample at a time is EncodeBatch's text of the same batch, given out one
// sample at a time, and its gzip inflates to that text, for any number of samples and
// batches in a row.
TEST(BatchLineBuilder, StreamedBytesEqualEncodeBatch) {
  BatchLineBuilder builder;
  for (int round = 0; round < 2; ++round) {  // the second round reuses the stream and buffers
    for (int samples : {0, 1, 2, 10}) {
      for (int cgroups : {0, 1, 5, 300}) {
        SampleBatch batch = Batch(samples, cgroups);
        batch.seq = static_cast<uint64_t>(samples * 1000 + cgroups);
        Built b = Build(builder, batch, true, true);
        const std::string want = EncodeBatch(batch);
        EXPECT_EQ(b.text, want) << samples << " samples, " << cgroups;
        EXPECT_EQ(b.pieces, static_cast<size_t>(samples) + 1);  // the samples, the tail
        ASSERT_TRUE(LooksGzipped(b.gzip));
        auto inflated = Gunzip(b.gzip, 1 << 30);
        ASSERT_TRUE(inflated.ok()) << inflated.status().ToString();
        EXPECT_EQ(*inflated, want) << samples << " samples, " << cgroups;
        auto decoded = DecodeBatch(b.text);  // (paths that are not UTF-8 come back as U+FFFD)
        ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
        EXPECT_EQ(decoded->samples.size(), batch.samples.size());
        if (samples == 10 && cgroups == 300) {
          EXPECT_LT(b.gzip.size(), want.size() / 4);
        }
      }
    }
  }
}

TEST(BatchLineBuilder, KeepsOnlyWhatIsAskedFor) {
  BatchLineBuilder builder;
  SampleBatch batch = Batch(3, 4);
  Built gzip_only = Build(builder, batch, false, true);
  EXPECT_TRUE(gzip_only.text.empty());
  EXPECT_EQ(Gunzip(gzip_only.gzip, 1 << 30).value(), EncodeBatch(batch));

  Built text_only = Build(builder, batch, true, false);
  EXPECT_EQ(text_only.text, EncodeBatch(batch));
  EXPECT_TRUE(text_only.gzip.empty());
}

// The host facts are the batch's at Start; a change shows in the next batch.
TEST(BatchLineBuilder, HostFactsAreThoseAtStart) {
  BatchLineBuilder builder;
  SampleBatch batch = Batch(4, 3);
  BatchLineBuilder::TextOut none;
  ASSERT_TRUE(builder.Start(batch, none, true).ok());
  SampleBatch later = batch;
  later.host["cgroup_driver"] = "systemd";
  for (const Sample& s : later.samples) ASSERT_TRUE(builder.Add(s).ok());
  ASSERT_TRUE(builder.Finish().ok());
  EXPECT_EQ(Gunzip(builder.TakeGzip(), 1 << 30).value(), EncodeBatch(batch));
  EXPECT_EQ(Gunzip(Build(builder, later, false, true).gzip, 1 << 30).value(), EncodeBatch(later));
}

TEST(BatchLineBuilder, AddOrFinishOutsideABatchIsAnError) {
  BatchLineBuilder builder;
  Sample s;
  EXPECT_EQ(builder.Add(s).code(), Status::Code::kInternal);
  EXPECT_EQ(builder.Finish().code(), Status::Code::kInternal);
  SampleBatch batch = Batch(1, 1);
  batch.samples.clear();
  Built empty = Build(builder, batch, true, false);
  EXPECT_EQ(empty.text, EncodeBatch(batch));
  EXPECT_EQ(builder.Add(s).code(), Status::Code::kInternal);
}

}  // namespace
}  // namespace jostle::agent
