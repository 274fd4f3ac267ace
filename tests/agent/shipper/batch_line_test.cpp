// WriteBatchLine: the pieces concatenate to EncodeBatch's line, whatever the batch holds,
// and the batch comes back unchanged.
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

TEST(WriteBatchLine, NoPieceHoldsMoreThanOneSample) {
  SampleBatch batch = Batch(10, 20);
  size_t one_sample = EncodeBatch(Batch(1, 20)).size();
  Written w = Write(batch);
  ASSERT_GT(w.pieces.size(), 10u);
  for (size_t n : w.pieces) EXPECT_LT(n, one_sample);
}

TEST(WriteBatchLine, StopsAtTheFirstWriteError) {
  SampleBatch batch = Batch(3, 2);
  std::string scratch;
  int calls = 0;
  Status s = WriteBatchLine(batch, scratch, [&calls](std::string_view) {
    return ++calls == 2 ? Status::IOError("disk full") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(batch, Batch(3, 2));
}

}  // namespace
}  // namespace jostle::agent
