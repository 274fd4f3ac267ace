// How PutBatch maps cgroup readings to series rows: the writer's series cache (by cgroup id
// and by position in the tick), the per-batch span updates and group commit's retry with
// savepoints must leave exactly the rows and spans that storing every reading by its full
// identity gives: one series row per (node, identity), spanning the first to the last tick
// read with that identity.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "collector/store/sqlite_db.h"
#include "collector/store/stores.h"
#include "store_test_util.h"

namespace jostle::collector {
namespace {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;
using testing::TempDir;

using Labels = std::map<std::string, std::string>;

// One series row as stored; labels as the store writes them (JSON object, "" when none).
struct SeriesRow {
  std::string node;
  std::string scope;
  std::string sid;
  std::string path;
  std::string pod_uid;
  std::string container_id;
  std::string namespace_name;
  std::string pod;
  std::string container;
  std::string qos;
  std::string labels;
  bool host_network = false;
  int64_t first_wall_ns = 0;
  int64_t last_wall_ns = 0;
  auto operator<=>(const SeriesRow&) const = default;
};

void PrintTo(const SeriesRow& r, std::ostream* os) {
  *os << r.node << " " << r.scope << " " << r.sid << " pod='" << r.pod << "' labels='" << r.labels
      << "' [" << (r.first_wall_ns - kT0) / kSecond << "s, " << (r.last_wall_ns - kT0) / kSecond
      << "s]";
}

// The labels of these tests need no escaping.
std::string LabelsJson(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ',';
    out += "\"" + k + "\":\"" + v + "\"";
  }
  return out + "}";
}

const char* ScopeText(Scope s) {
  switch (s) {
    case Scope::kPod:
      return "pod";
    case Scope::kContainer:
      return "container";
    case Scope::kCgroup:
      return "cgroup";
  }
  return "";
}

// A reading of cgroup `id`; `pod` empty until the pod's name is known.
CgroupSample Reading(Scope scope, const std::string& id, const std::string& pod = "",
                     Labels labels = {}) {
  CgroupSample c;
  c.scope = scope;
  c.id = id;
  c.path = "/kubepods/" + id;
  if (scope != Scope::kCgroup) c.pod_uid = id;
  if (!pod.empty()) c.namespace_name = "ci";
  c.pod_name = pod;
  c.labels = std::move(labels);
  c.mem_limit_bytes = 1u << 30;
  return c;
}

CgroupSample Pod(const std::string& id, const std::string& pod = "", Labels labels = {}) {
  return Reading(Scope::kPod, id, pod, std::move(labels));
}

// Tick `t` (seconds after kT0) with `cgroups`, whose counters are made to differ per tick.
Sample Tick(int t, std::vector<CgroupSample> cgroups) {
  Sample s;
  s.wall_ns = kT0 + t * kSecond;
  s.mono_ns = 10 * kSecond + t * kSecond;
  s.node = testing::FullNode(t + 1);
  for (size_t i = 0; i < cgroups.size(); ++i) {
    cgroups[i].cpu_usage_us = 1000u * static_cast<uint64_t>(t) + i;
    cgroups[i].mem_usage_bytes = 4096u * static_cast<uint64_t>(t + 1);
  }
  s.cgroups = std::move(cgroups);
  return s;
}

SampleBatch Batch(const std::string& node, uint64_t seq, std::vector<Sample> samples) {
  SampleBatch b;
  b.node = node;
  b.boot_id = "boot-" + node;
  b.agent_start_ns = kT0 - 60 * kSecond;
  b.seq = seq;
  b.agent_version = "0.1.0";
  b.interval_ns = kSecond;
  b.samples = std::move(samples);
  return b;
}

// Every reading of `batches` stored by its full identity.
std::vector<SeriesRow> ExpectedSeries(const std::vector<SampleBatch>& batches) {
  std::map<SeriesRow, std::pair<int64_t, int64_t>> spans;  // key rows have no span
  for (const SampleBatch& b : batches) {
    for (const Sample& s : b.samples) {
      for (const CgroupSample& c : s.cgroups) {
        SeriesRow key{b.node,
                      ScopeText(c.scope),
                      c.id,
                      c.path,
                      c.pod_uid,
                      c.container_id,
                      c.namespace_name,
                      c.pod_name,
                      c.container_name,
                      c.qos,
                      LabelsJson(c.labels),
                      c.host_network};
        auto [it, fresh] = spans.try_emplace(key, s.wall_ns, s.wall_ns);
        it->second.first = std::min(it->second.first, s.wall_ns);
        it->second.second = std::max(it->second.second, s.wall_ns);
      }
    }
  }
  std::vector<SeriesRow> out;
  for (const auto& [key, span] : spans) {
    SeriesRow row = key;
    row.first_wall_ns = span.first;
    row.last_wall_ns = span.second;
    out.push_back(row);
  }
  return out;
}

class StoreSeriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("jostle.db");
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto opened = OpenSqliteStores(path_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }

  void Put(const SampleBatch& b) {
    auto r = store_->samples().PutBatch(b);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(*r) << b.node << " seq " << b.seq << " seen as a replay";
    stored_.push_back(b);
  }

  std::vector<SeriesRow> StoredSeries() {
    std::vector<SeriesRow> out;
    auto conn = sqlite::Connection::Open(path_, /*read_only=*/true);
    EXPECT_TRUE(conn.ok());
    if (!conn.ok()) return out;
    auto q = (*conn)->Prepare(
        "SELECT n.name, s.scope, s.sid, s.path, s.pod_uid, s.container_id, s.namespace, s.pod, "
        "s.container, s.qos, s.labels, s.host_network, s.first_wall_ns, s.last_wall_ns "
        "FROM series s JOIN nodes n ON n.id = s.node_id");
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    while (q.ok() && *q->Step()) {
      out.push_back({q->Text(0), q->Text(1), q->Text(2), q->Text(3), q->Text(4), q->Text(5),
                     q->Text(6), q->Text(7), q->Text(8), q->Text(9), q->Text(10), q->Int64(11) != 0,
                     q->Int64(12), q->Int64(13)});
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The store holds exactly what stored_ says: every sample of every node read back as
  // written, and the series rows and spans of ExpectedSeries.
  void ExpectStoredAsWritten() {
    std::map<std::string, std::vector<Sample>> by_node;
    for (const SampleBatch& b : stored_) {
      by_node[b.node].insert(by_node[b.node].end(), b.samples.begin(), b.samples.end());
    }
    for (auto& [node, want] : by_node) {
      std::sort(want.begin(), want.end(),
                [](const Sample& a, const Sample& b) { return a.wall_ns < b.wall_ns; });
      auto got = store_->samples().Samples(node, kT0 - 3600 * kSecond, kT0 + 3600 * kSecond);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, want) << node;
    }
    EXPECT_EQ(StoredSeries(), ExpectedSeries(stored_));
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Stores> store_;
  std::vector<SampleBatch> stored_;
};

TEST_F(StoreSeriesTest, PodNameLearnedMidBatchStartsANewSeriesFromThatTick) {
  // The agent learns the pod's name from the Kubernetes API at tick 2.
  Put(Batch(
      "node-a", 0,
      {Tick(0, {Pod("p1"), Pod("p2", "runner-2")}), Tick(1, {Pod("p1"), Pod("p2", "runner-2")}),
       Tick(2, {Pod("p1", "runner-1"), Pod("p2", "runner-2")}),
       Tick(3, {Pod("p1", "runner-1"), Pod("p2", "runner-2")})}));
  Put(Batch("node-a", 1,
            {Tick(4, {Pod("p1", "runner-1"), Pod("p2", "runner-2")}),
             Tick(5, {Pod("p1", "runner-1", {{"app", "x"}}), Pod("p2", "runner-2")})}));
  ExpectStoredAsWritten();
  EXPECT_EQ(StoredSeries().size(), 4u);
  auto node = store_->samples().NodeOfPod("ci", "runner-1", kT0 + 2 * kSecond);
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->value_or(""), "node-a");
}

TEST_F(StoreSeriesTest, IdentityChangingBackAndForthWithinABatch) {
  const Labels a = {{"app", "a"}};
  const Labels b = {{"app", "b"}};
  Put(Batch(
      "node-a", 0,
      {Tick(0, {Pod("p1", "r", a)}), Tick(1, {Pod("p1", "r", b)}), Tick(2, {Pod("p1", "r", a)}),
       Tick(3, {Pod("p1", "r", b)}), Tick(4, {Pod("p1", "r", a)})}));
  Put(Batch("node-a", 1, {Tick(5, {Pod("p1", "r", b)}), Tick(6, {Pod("p1", "r", a)})}));
  ExpectStoredAsWritten();
}

TEST_F(StoreSeriesTest, ReorderedAppearingAndVanishingCgroups) {
  // The same id as a pod and as a plain cgroup, cgroups in a different order each tick, one
  // that goes away and one that comes later, and a tick without cgroups.
  auto x_cgroup = Reading(Scope::kCgroup, "x");
  Put(Batch("node-a", 0,
            {Tick(0, {Pod("a"), Pod("b"), Pod("x"), x_cgroup}),
             Tick(1, {x_cgroup, Pod("x"), Pod("b"), Pod("a")}), Tick(2, {}),
             Tick(3, {Pod("a"), Pod("x")}), Tick(4, {Pod("d"), Pod("a"), x_cgroup, Pod("x")})}));
  Put(Batch("node-a", 1,
            {Tick(5, {Pod("a"), Pod("b"), Pod("x"), x_cgroup}),
             Tick(6, {Pod("a"), Pod("b", "named"), Pod("x"), x_cgroup})}));
  // Readings that differ in scope only, at the same position.
  const CgroupSample y_container = Reading(Scope::kContainer, "y");
  Put(Batch("node-b", 0, {Tick(0, {Pod("y")}), Tick(1, {y_container}), Tick(2, {Pod("y")})}));
  ExpectStoredAsWritten();
}

TEST_F(StoreSeriesTest, SeriesOfOneBatchWithGapsInIdsAndSpans) {
  // node-a's series get ids 1-4 and 9-12 (node-b's come in between), and in node-a's next
  // batch some are read in fewer ticks than the others: several runs of ids per batch.
  auto pods = [](const std::string& prefix, int from, int to) {
    std::vector<CgroupSample> out;
    for (int i = from; i < to; ++i) out.push_back(Pod(prefix + std::to_string(i)));
    return out;
  };
  Put(Batch("node-a", 0, {Tick(0, pods("a", 0, 4))}));
  Put(Batch("node-b", 0, {Tick(0, pods("b", 0, 4))}));
  Put(Batch("node-a", 1, {Tick(1, pods("a", 0, 8))}));
  std::vector<CgroupSample> some = pods("a", 0, 8);
  some.erase(some.begin() + 5);
  some.erase(some.begin() + 2);
  Put(Batch("node-a", 2, {Tick(2, pods("a", 0, 8)), Tick(3, some), Tick(4, pods("a", 0, 8))}));
  Put(Batch("node-a", 3, {Tick(5, some)}));
  Put(Batch("node-b", 1, {Tick(5, pods("b", 0, 4))}));
  ExpectStoredAsWritten();
}

TEST_F(StoreSeriesTest, ColdCacheFindsTheSeriesStoredBefore) {
  Put(Batch("node-a", 0, {Tick(0, {Pod("p1"), Pod("p2", "r2")})}));
  Reopen();
  Put(Batch("node-a", 1, {Tick(1, {Pod("p1"), Pod("p2", "r2")})}));
  Reopen();
  Put(Batch("node-a", 2, {Tick(2, {Pod("p2", "r2"), Pod("p1", "r1")})}));
  ExpectStoredAsWritten();
  EXPECT_EQ(StoredSeries().size(), 3u);
}

TEST_F(StoreSeriesTest, FailingBatchInAGroupKeepsTheOthersAndTheirNewSeries) {
  {
    // Ticks with mono_ns 666 fail.
    auto conn = sqlite::Connection::Open(path_, false);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)
                    ->Exec("CREATE TRIGGER fail_tick BEFORE INSERT ON node_samples "
                           "WHEN NEW.mono_ns = 666 BEGIN SELECT RAISE(ABORT, 'injected'); END")
                    .ok());
  }
  auto batch = [](const std::string& node, uint64_t seq, int t, bool bad) {
    // The same cgroup ids on every node; each node's series are new in its first batch.
    SampleBatch b = Batch(
        node, seq,
        {Tick(t, {Pod("p1", "r1"), Pod("p2")}), Tick(t + 1, {Pod("p1", "r1"), Pod("p2", "r2")})});
    if (bad) b.samples[1].mono_ns = 666;  // after its first tick created its series
    return b;
  };
  // Another connection holds the write lock, so the first PutBatch waits in BEGIN and the
  // later ones queue up behind it: they are committed as one group once the lock is gone.
  auto blocker = sqlite::Connection::Open(path_, false);
  ASSERT_TRUE(blocker.ok());
  ASSERT_TRUE((*blocker)->Exec("BEGIN IMMEDIATE").ok());
  const std::vector<std::pair<SampleBatch, bool>> group = {
      {batch("node-a", 0, 0, false), false}, {batch("node-b", 0, 0, false), false},
      {batch("node-c", 0, 0, true), true},   {batch("node-d", 0, 0, false), false},
      {batch("node-a", 1, 2, false), false}, {batch("node-e", 0, 0, true), true},
  };
  std::vector<Result<bool>> results(group.size(), Result<bool>(false));
  std::vector<std::thread> threads;
  // Each call is started once the one before it is inside PutBatch: the first leads and waits
  // in BEGIN (it cannot return while the blocker holds the lock), the rest queue in order.
  auto in_flight = [&](size_t n) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (store_->samples().BatchesInFlight() < n) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::yield();
    }
    return true;
  };
  bool queued = true;
  for (size_t i = 0; i < group.size() && queued; ++i) {
    threads.emplace_back([&, i] { results[i] = store_->samples().PutBatch(group[i].first); });
    queued = in_flight(i + 1);
  }
  const size_t waiting = store_->samples().BatchesInFlight();
  ASSERT_TRUE((*blocker)->Exec("COMMIT").ok());
  for (auto& th : threads) th.join();
  ASSERT_TRUE(queued) << "a PutBatch call never started";
  EXPECT_EQ(waiting, group.size());  // none returned while the blocker held the lock
  for (size_t i = 0; i < group.size(); ++i) {
    const auto& [b, bad] = group[i];
    if (bad) {
      ASSERT_FALSE(results[i].ok()) << b.node;
      EXPECT_THAT(results[i].status().message(), HasSubstr("injected"));
    } else {
      ASSERT_TRUE(results[i].ok()) << b.node << ": " << results[i].status().ToString();
      EXPECT_TRUE(*results[i]) << b.node;
      stored_.push_back(b);
    }
  }
  ExpectStoredAsWritten();
  // The cache holds the surviving series, and nothing of the failed ones: later batches
  // (the failed ones again, now without the fault) land on the right rows.
  {
    auto conn = sqlite::Connection::Open(path_, false);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Exec("DROP TRIGGER fail_tick").ok());
  }
  Put(batch("node-b", 1, 2, false));
  Put(batch("node-c", 0, 0, false));
  Put(batch("node-e", 1, 4, false));
  Put(batch("node-a", 2, 4, false));
  ExpectStoredAsWritten();
}

}  // namespace
}  // namespace jostle::collector
