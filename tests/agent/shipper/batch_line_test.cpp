// WriteBatchLine: the pieces concatenate to EncodeBatch's line, whatever the batch holds.
// BatchLineBuilder: the same text, built a sample at a time.
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

struct Written {
  std::string text;
  std::vector<size_t> pieces;
};

Written Write(SampleBatch& batch) {
  Written w;
  std::string scratch;
  Status s = WriteBatchLine(batch, scratch, [&w](std::string_view piece) {
    w.text.append(piece);
    w.pieces.push_back(piece.size());
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return w;
}

TEST(WriteBatchLine, SameLineAsEncodeBatch) {
  for (int samples : {0, 1, 2, 10}) {
    for (int cgroups : {0, 1, 5}) {
      SampleBatch batch = Batch(samples, cgroups);
      const SampleBatch before = batch;
      Written w = Write(batch);
      EXPECT_EQ(w.text, EncodeBatch(before) + "\n") << samples << " samples, " << cgroups;
      EXPECT_EQ(batch, before);
      auto decoded = DecodeBatch(std::string_view(w.text).substr(0, w.text.size() - 1));
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      EXPECT_EQ(decoded->samples.size(), static_cast<size_t>(samples));
    }
  }
}

TEST(WriteBatchLine, PiecesAreBounded) {
  SampleBatch batch = Batch(10, 300);
  size_t one_sample = EncodeBatch(Batch(1, 300)).size();
  Written w = Write(batch);
  ASSERT_GT(w.pieces.size(), 1u);
  for (size_t n : w.pieces) EXPECT_LT(n, (64u << 10) + one_sample);
}

TEST(WriteBatchLine, StopsAtTheFirstWriteError) {
  SampleBatch batch = Batch(10, 300);
  std::string scratch;
  int calls = 0;
  Status s = WriteBatchLine(batch, scratch, [&calls](std::string_view) {
    return ++calls == 2 ? Status::IOError("disk full") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(calls, 2);
}

// BatchLineBuilder: a batch added a sample at a time is EncodeBatch's text of the same
// batch, and its gzip inflates to that text, for any number of samples and batches in a row.
TEST(BatchLineBuilder, StreamedBytesEqualEncodeBatch) {
  BatchLineBuilder builder;
  for (int round = 0; round < 2; ++round) {  // the second round reuses the stream and buffers
    for (int samples : {0, 1, 2, 10}) {
      for (int cgroups : {0, 1, 5, 300}) {
        SampleBatch batch = Batch(samples, cgroups);
        batch.seq = static_cast<uint64_t>(samples * 1000 + cgroups);
        const SampleBatch before = batch;
        ASSERT_TRUE(builder.Start(batch, true, true).ok());
        EXPECT_TRUE(builder.started());
        for (Sample& s : batch.samples) ASSERT_TRUE(builder.Add(s).ok());
        EXPECT_EQ(batch, before);
        EXPECT_EQ(builder.samples(), static_cast<size_t>(samples));
        ASSERT_TRUE(builder.Finish(batch.host).ok());
        EXPECT_FALSE(builder.started());
        const std::string want = EncodeBatch(before);
        EXPECT_EQ(builder.text(), want) << samples << " samples, " << cgroups;
        std::string gz = builder.TakeGzip();
        ASSERT_TRUE(LooksGzipped(gz));
        auto inflated = Gunzip(gz, 1 << 30);
        ASSERT_TRUE(inflated.ok()) << inflated.status().ToString();
        EXPECT_EQ(*inflated, want) << samples << " samples, " << cgroups;
        if (samples == 10 && cgroups == 300) {
          EXPECT_LT(gz.size(), want.size() / 4);
        }
      }
    }
  }
}

TEST(BatchLineBuilder, KeepsOnlyWhatIsAskedFor) {
  BatchLineBuilder builder;
  SampleBatch batch = Batch(3, 4);
  ASSERT_TRUE(builder.Start(batch, false, true).ok());
  for (Sample& s : batch.samples) ASSERT_TRUE(builder.Add(s).ok());
  ASSERT_TRUE(builder.Finish(batch.host).ok());
  EXPECT_TRUE(builder.text().empty());
  EXPECT_EQ(Gunzip(builder.TakeGzip(), 1 << 30).value(), EncodeBatch(batch));

  ASSERT_TRUE(builder.Start(batch, true, false).ok());
  for (Sample& s : batch.samples) ASSERT_TRUE(builder.Add(s).ok());
  ASSERT_TRUE(builder.Finish(batch.host).ok());
  EXPECT_EQ(builder.text(), EncodeBatch(batch));
  EXPECT_TRUE(builder.TakeGzip().empty());
}

// Host facts that changed during the batch are the batch's facts at Finish, as
// BatchAssembler::Make at the end of the batch gave them.
TEST(BatchLineBuilder, HostFactsAtFinishWin) {
  BatchLineBuilder builder;
  SampleBatch batch = Batch(4, 3);
  ASSERT_TRUE(builder.Start(batch, true, true).ok());
  for (Sample& s : batch.samples) ASSERT_TRUE(builder.Add(s).ok());
  batch.host["cgroup_driver"] = "systemd";
  batch.host.erase("psi");
  ASSERT_TRUE(builder.Finish(batch.host).ok());
  EXPECT_EQ(builder.text(), EncodeBatch(batch));
  EXPECT_EQ(Gunzip(builder.TakeGzip(), 1 << 30).value(), EncodeBatch(batch));
}

TEST(BatchLineBuilder, AddOrFinishOutsideABatchIsAnError) {
  BatchLineBuilder builder;
  Sample s;
  EXPECT_EQ(builder.Add(s).code(), Status::Code::kInternal);
  EXPECT_EQ(builder.Finish({}).code(), Status::Code::kInternal);
  SampleBatch batch = Batch(1, 1);
  ASSERT_TRUE(builder.Start(batch, true, false).ok());
  ASSERT_TRUE(builder.Finish(batch.host).ok());
  EXPECT_EQ(builder.text(), EncodeBatch(SampleBatch{batch.wire_version,
                                                    batch.node,
                                                    batch.boot_id,
                                                    batch.agent_start_ns,
                                                    batch.seq,
                                                    batch.agent_version,
                                                    batch.interval_ns,
                                                    batch.host,
                                                    {}}));
  EXPECT_EQ(builder.Add(s).code(), Status::Code::kInternal);
}

}  // namespace
}  // namespace jostle::agent
