// DecodeBatchInto reuses the batch of an earlier decode: after any earlier document (bigger,
// smaller, of another shape, or one that failed half-way), decoding a document gives exactly
// what a fresh DecodeBatch gives, the same batch or the same error.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "jostle/wire.h"

namespace jostle {
namespace {

CgroupSample EveryCgroupField(int i) {
  CgroupSample c;
  c.scope = i % 2 ? Scope::kContainer : Scope::kPod;
  c.id = "pod-uid-with-a-long-identity-" + std::to_string(i);
  c.path = "/kubepods/burstable/pod" + c.id + "/a-long-container-id-" + std::to_string(i);
  c.pod_uid = "pod-uid-with-a-long-identity-" + std::to_string(i);
  c.container_id = "containerd://" + std::string(40, 'c');
  c.namespace_name = "namespace-of-the-ci-jobs";
  c.pod_name = "runner-pod-with-a-long-name-" + std::to_string(i);
  c.container_name = "build-container-" + std::to_string(i);
  c.qos = "burstable";
  c.labels = {{"app", "runner-application"},
              {"team", "the-build-team-" + std::to_string(i)},
              {"zone", "a"}};
  c.cpu_usage_us = 1000 + i;
  c.cpu_periods = 10;
  c.cpu_throttled_periods = 2;
  c.cpu_throttled_us = 300;
  c.cpu_limit_cores = 1.5;
  c.mem_usage_bytes = 1 << 20;
  c.mem_working_set_bytes = 1 << 19;
  c.mem_limit_bytes = 1 << 30;
  c.oom_kills = 1;
  c.psi_cpu = PsiTotals{1, 2};
  c.psi_memory = PsiTotals{3, std::nullopt};
  c.psi_io = PsiTotals{std::nullopt, 4};
  c.net = NetCounters{"a-long-interface-name", 1, 2, 3, 4, 5, 6, 7, 8, 1000};
  c.host_network = true;
  return c;
}

NodeSample EveryNodeField() {
  NodeSample n;
  n.cpu_busy_us = 1;
  n.cpu_total_us = 2;
  n.cpus = 3;
  n.mem_total_bytes = 4;
  n.mem_available_bytes = 5;
  n.psi_cpu = PsiTotals{6, 7};
  n.psi_memory = PsiTotals{8, 9};
  n.psi_io = PsiTotals{10, 11};
  n.net = {NetCounters{"eth0-with-a-long-name", 1, 2, 3, 4, 5, 6, 7, 8, 100},
           NetCounters{"eth1", 1, 2, 3, 4, 5, 6, 7, 8, std::nullopt}};
  n.tcp_out_segs = 12;
  n.tcp_retrans_segs = 13;
  n.load1 = 0.5;
  n.load5 = 0.25;
  n.load15 = 0.125;
  return n;
}

// Every field set, `ticks` samples of `cgroups` cgroups.
std::string FullDoc(int ticks, int cgroups) {
  SampleBatch b;
  b.node = "a-node-with-a-rather-long-name";
  b.boot_id = "4e1c2a2e-0000-4000-8000-000000000001";
  b.agent_start_ns = 1700000000000000000;
  b.seq = 42;
  b.agent_version = "9.9.9-with-a-long-suffix";
  b.interval_ns = 1000000000;
  b.host = {{"cgroup", "hybrid"}, {"psi", "enabled"}};
  for (int t = 0; t < ticks; ++t) {
    Sample s;
    s.wall_ns = 1700000001000000000 + t;
    s.mono_ns = 7 + t;
    s.node = EveryNodeField();
    for (int i = 0; i < cgroups; ++i) s.cgroups.push_back(EveryCgroupField(i));
    b.samples.push_back(s);
  }
  return EncodeBatch(b);
}

const std::string kHead =
    R"({"wire_version":1,"node":"n","boot_id":"b","agent_start_ns":1,"seq":0,)";

// Documents to decode one after another: every field, the fewest fields, nulls, repeated
// members, labels in other orders and sets, host members that are not strings, and
// documents that fail at every depth (after part of the batch was written).
std::vector<std::string> Documents() {
  return {
      FullDoc(3, 4),
      FullDoc(1, 1),
      FullDoc(4, 2),
      kHead + R"("samples":[]})",
      kHead + R"("samples":null,"samples":[{"wall_ns":1}]})",
      kHead + R"("samples":[{"wall_ns":1,"node":null,"cgroups":null}]})",
      kHead + R"("samples":[{"wall_ns":1,"cgroups":[{"scope":"pod","id":"x"}]},{"wall_ns":2}]})",
      kHead + R"("samples":[{"wall_ns":1,"node":{"cpus":2,"net":null},)"
              R"("cgroups":[{"scope":"cgroup","id":"y","labels":{}},)"
              R"({"scope":"pod","id":"z","labels":null,"net":null,"psi_cpu":null}]}]})",
      // Labels: a key added in the middle, keys in reverse order, repeated keys, and a
      // label set that shares no key with the full document's.
      kHead +
          R"("samples":[{"wall_ns":1,"cgroups":[)"
          R"({"scope":"pod","id":"a","labels":{"app":"1","b":"2","team":"3","zone":"4"}},)"
          R"({"scope":"pod","id":"b","labels":{"zone":"1","team":"2","app":"3"}},)"
          R"({"scope":"pod","id":"c","labels":{"team":"1","app":"2","team":"3","app":"4"}},)"
          R"({"scope":"pod","id":"d","labels":{"other":"1"}},)"
          R"({"scope":"pod","id":"e","labels":{"app":"x","zone":"y"},"labels":{"team":"t"}}]}]})",
      // Host: non-string values drop a key, whenever it came.
      kHead + R"("host":{"psi":"enabled","psi":5,"cgroup":"v2","x":[1]},"samples":[]})",
      kHead + R"("host":{"cgroup":null,"psi":"disabled"},"samples":[]})",
      // Repeated arrays: the last one wins.
      kHead + R"("samples":[{"wall_ns":1,"node":{"net":[{"if":"a","rx_bytes":1,"rx_packets":1,)"
              R"("rx_errors":1,"rx_drops":1,"tx_bytes":1,"tx_packets":1,"tx_errors":1,)"
              R"("tx_drops":1,"speed_mbps":5}],"net":[]},)"
              R"("cgroups":[{"scope":"pod","id":"p"},{"scope":"pod","id":"q"}],)"
              R"("cgroups":[{"scope":"container","id":"r"}]}]})",
      // Failures half-way through a cgroup, its labels, a net entry, a later sample, the end.
      kHead + R"("samples":[{"wall_ns":1,"cgroups":[{"scope":"pod","id":"p","pod":"x",)"
              R"("labels":{"app":"v"},"cpu_usage_us":-1}]}]})",
      kHead + R"("samples":[{"wall_ns":1,"cgroups":[{"scope":"pod","id":"p",)"
              R"("labels":{"app":"v","team":7}}]}]})",
      kHead + R"("samples":[{"wall_ns":1,"node":{"cpus":1,"net":[{"if":"a","rx_bytes":1}]}}]})",
      kHead + R"("samples":[{"wall_ns":1,"cgroups":[{"scope":"pod","id":"p"}]},{"mono_ns":2}]})",
      kHead + R"("samples":[{"wall_ns":1,"cgroups":[{"scope":"pod","id":"p","qos":"g"}]}],)",
      kHead + R"("samples":[{"wall_ns":1,"cgroups":[{"scope":"pod","id":"p"}]}],"wire_version":7})",
      R"({"samples":[{"wall_ns":1}]})",
      "[1,2]",
      "",
  };
}

// The same verdict: equal batches, or the same error.
void ExpectSame(const Status& into_status, const SampleBatch& into,
                const Result<SampleBatch>& fresh, const std::string& what) {
  ASSERT_EQ(into_status.ok(), fresh.ok()) << what << "\n" << into_status.ToString();
  if (fresh.ok()) {
    EXPECT_TRUE(into == *fresh) << what << "\nreused:\n"
                                << EncodeBatch(into) << "\nfresh:\n"
                                << EncodeBatch(*fresh);
  } else {
    EXPECT_EQ(into_status.code(), fresh.status().code()) << what;
    EXPECT_EQ(into_status.message(), fresh.status().message()) << what;
  }
}

TEST(DecodeBatchIntoTest, AfterAnyDocumentGivesWhatAFreshDecodeGives) {
  const std::vector<std::string> docs = Documents();
  int successes = 0;
  for (size_t first = 0; first < docs.size(); ++first) {
    for (size_t second = 0; second < docs.size(); ++second) {
      SampleBatch reused;
      (void)DecodeBatchInto(docs[first], &reused);
      Status s = DecodeBatchInto(docs[second], &reused);
      successes += s.ok();
      ExpectSame(s, reused, DecodeBatch(docs[second]),
                 "document " + std::to_string(second) + " after " + std::to_string(first));
    }
  }
  // The table must hold both kinds, or it proves little.
  EXPECT_GT(successes, 0);
  EXPECT_LT(successes, static_cast<int>(docs.size() * docs.size()));
}

TEST(DecodeBatchIntoTest, ALongSeriesOfDocumentsIntoOneBatch) {
  const std::vector<std::string> docs = Documents();
  SampleBatch reused;
  // Each document after each other one in a different order: i, i+step, i+2*step, ...
  for (size_t step = 1; step < docs.size(); ++step) {
    for (size_t k = 0, i = 0; k < docs.size(); ++k, i = (i + step) % docs.size()) {
      Status s = DecodeBatchInto(docs[i], &reused);
      ExpectSame(s, reused, DecodeBatch(docs[i]),
                 "document " + std::to_string(i) + " in series of step " + std::to_string(step));
    }
  }
}

TEST(DecodeBatchIntoTest, ReusesTheBuffersOfABatchOfTheSameShape) {
  const std::string doc = FullDoc(2, 3);
  SampleBatch reused;
  ASSERT_TRUE(DecodeBatchInto(doc, &reused).ok());
  const CgroupSample* cgroups = reused.samples[1].cgroups.data();
  const char* path = reused.samples[1].cgroups[2].path.data();
  const std::string* label = &reused.samples[1].cgroups[2].labels.at("team");
  const char* label_value = label->data();
  ASSERT_TRUE(DecodeBatchInto(doc, &reused).ok());
  EXPECT_EQ(reused.samples[1].cgroups.data(), cgroups);
  EXPECT_EQ(reused.samples[1].cgroups[2].path.data(), path);
  EXPECT_EQ(&reused.samples[1].cgroups[2].labels.at("team"), label);
  EXPECT_EQ(reused.samples[1].cgroups[2].labels.at("team").data(), label_value);
  auto fresh = DecodeBatch(doc);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(reused == *fresh);
}

// Integers of every length from 1 to 20 digits, and one past uint64, whatever digits they hold
// (the scanner reads eight digits at a time).
TEST(DecodeBatchIntoTest, IntegersOfEveryLength) {
  SampleBatch reused;
  for (const char* digits : {"12345678901234567890", "98765432109876543210", "10000000000000000009",
                             "18446744073709551615", "99999999999999999999"}) {
    for (size_t len = 1; len <= 20; ++len) {
      std::string number(digits, len);
      const std::string doc = kHead +
                              R"("samples":[{"wall_ns":1,"cgroups":[{"scope":"pod",)"
                              R"("id":"p","cpu_usage_us":)" +
                              number + ",\"oom_kills\":" + number + "}]}]}";
      errno = 0;
      const unsigned long long want = std::strtoull(number.c_str(), nullptr, 10);
      const bool fits = errno != ERANGE;
      Status s = DecodeBatchInto(doc, &reused);
      ASSERT_EQ(s.ok(), fits) << number << ": " << s.ToString();
      if (!fits) continue;
      EXPECT_EQ(reused.samples[0].cgroups[0].cpu_usage_us, want) << number;
      EXPECT_EQ(reused.samples[0].cgroups[0].oom_kills, want) << number;
    }
  }
}

TEST(GunzipIntoTest, SameBytesAndErrorsAsGunzipOneAfterAnother) {
  const std::string big(300000, 'x');
  const std::string small = "{\"a\":1}";
  const std::string gz_big = Gzip(big);
  const std::string gz_small = Gzip(small);
  std::string truncated = gz_big.substr(0, gz_big.size() / 2);
  std::string corrupt = gz_small;
  corrupt[corrupt.size() / 2] ^= 0x55;
  const std::vector<std::string> inputs = {gz_big,  gz_small,   truncated,
                                           corrupt, "not gzip", gz_small};
  std::string out;
  for (size_t limit : {size_t{1000}, size_t{1} << 20}) {
    for (const std::string& in : inputs) {
      Status s = GunzipInto(in, limit, &out);
      auto fresh = Gunzip(in, limit);
      ASSERT_EQ(s.ok(), fresh.ok()) << s.ToString();
      if (fresh.ok()) {
        EXPECT_EQ(out, *fresh);
      } else {
        EXPECT_EQ(s.code(), fresh.status().code());
        EXPECT_EQ(s.message(), fresh.status().message());
      }
    }
  }
  ASSERT_TRUE(GunzipInto(gz_small, 1 << 20, &out).ok());
  EXPECT_EQ(out, small);
}

}  // namespace
}  // namespace jostle
