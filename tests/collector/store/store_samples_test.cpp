// Samples in and out of the SQLite store, on real database files and on :memory:.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "collector/store/schema.h"
#include "collector/store/sqlite_db.h"
#include "collector/store/stores.h"
#include "store_test_util.h"

namespace jostle::collector {
namespace {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::TempDir;

// Runs each test on a file database and on :memory:.
class StoreSamplesTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    path_ = GetParam() ? dir_.File("jostle.db") : ":memory:";
    auto opened = OpenSqliteStores(path_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Stores> store_;
};

TEST_P(StoreSamplesTest, BatchRoundTripsEveryField) {
  SampleBatch batch = MakeBatch("node-a", 0, kT0, 3);
  // One tick with every optional node field absent and no cgroups.
  Sample bare;
  bare.wall_ns = kT0 + 10 * kSecond;
  bare.mono_ns = 99;
  batch.samples.push_back(bare);

  auto stored = store_->samples().PutBatch(batch);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_TRUE(*stored);

  auto got = store_->samples().Samples("node-a", kT0, kT0 + 10 * kSecond);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), batch.samples.size());
  for (size_t i = 0; i < got->size(); ++i) {
    EXPECT_EQ((*got)[i].node, batch.samples[i].node) << "tick " << i;
    ASSERT_EQ((*got)[i].cgroups.size(), batch.samples[i].cgroups.size()) << "tick " << i;
    for (size_t c = 0; c < (*got)[i].cgroups.size(); ++c) {
      EXPECT_EQ((*got)[i].cgroups[c], batch.samples[i].cgroups[c]) << "tick " << i << " #" << c;
    }
  }
  EXPECT_EQ(*got, batch.samples);
  // Absent stays absent (not 0).
  EXPECT_FALSE(got->back().node.cpu_busy_us.has_value());
  EXPECT_FALSE(got->back().node.psi_cpu.has_value());
  EXPECT_FALSE((*got)[0].cgroups.back().net.has_value());
  EXPECT_TRUE((*got)[0].cgroups[0].psi_io.has_value());
  EXPECT_FALSE((*got)[0].cgroups[0].psi_io->some_us.has_value());
}

TEST_P(StoreSamplesTest, MemoryEventAndReclaimCountersRoundTrip) {
  SampleBatch batch = MakeBatch("node-a", 0, kT0, 2);
  for (Sample& s : batch.samples) {
    CgroupSample& pod = s.cgroups[0];
    pod.mem_high_events = 17;
    pod.mem_max_events = 3;
    pod.mem_pgscan = 1ull << 40;
    pod.mem_workingset_refaults = 0;
    s.cgroups[1].mem_max_events = 9;  // a container with only one of them
  }
  auto stored = store_->samples().PutBatch(batch);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  auto got = store_->samples().Samples("node-a", kT0, kT0 + 10 * kSecond);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, batch.samples);
  EXPECT_FALSE((*got)[0].cgroups[1].mem_high_events.has_value());
}

TEST_P(StoreSamplesTest, OtherNodeAndEmptyWindowGiveNothing) {
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 0, kT0, 2)).ok());
  auto other = store_->samples().Samples("node-b", kT0, kT0 + 10 * kSecond);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
  auto before = store_->samples().Samples("node-a", kT0 - 10 * kSecond, kT0 - 1);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  auto inverted = store_->samples().Samples("node-a", kT0 + kSecond, kT0);
  ASSERT_TRUE(inverted.ok());
  EXPECT_TRUE(inverted->empty());
}

TEST_P(StoreSamplesTest, ReplayIsAcknowledgedAndNotStoredTwice) {
  SampleBatch batch = MakeBatch("node-a", 7, kT0, 2);
  auto first = store_->samples().PutBatch(batch);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  // Same key, even with different content: nothing of it is stored.
  SampleBatch replay = MakeBatch("node-a", 7, kT0 + 100 * kSecond, 2);
  auto second = store_->samples().PutBatch(replay);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(*second);
  auto got = store_->samples().Samples("node-a", 0, kT0 + 1000 * kSecond);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, batch.samples);

  // Another seq, boot id or agent start is a new batch.
  SampleBatch next = MakeBatch("node-a", 8, kT0 + 100 * kSecond, 1);
  EXPECT_TRUE(*store_->samples().PutBatch(next));
  SampleBatch restarted = MakeBatch("node-a", 7, kT0 + 200 * kSecond, 1);
  restarted.agent_start_ns += kSecond;
  EXPECT_TRUE(*store_->samples().PutBatch(restarted));
  got = store_->samples().Samples("node-a", 0, kT0 + 1000 * kSecond);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 4u);
}

TEST_P(StoreSamplesTest, RangeBoundsAreInclusive) {
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 0, kT0, 5)).ok());
  auto got = store_->samples().Samples("node-a", kT0 + kSecond, kT0 + 3 * kSecond);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ(got->front().wall_ns, kT0 + kSecond);
  EXPECT_EQ(got->back().wall_ns, kT0 + 3 * kSecond);
  got = store_->samples().Samples("node-a", kT0 + kSecond + 1, kT0 + 3 * kSecond - 1);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().wall_ns, kT0 + 2 * kSecond);
  got = store_->samples().Samples("node-a", kT0 + 4 * kSecond, kT0 + 4 * kSecond);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 1u);
}

TEST_P(StoreSamplesTest, SamplesComeInTimeOrderAcrossBatches) {
  // Batches arrive out of order (spool replay after an outage).
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 1, kT0 + 3 * kSecond, 3)).ok());
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 0, kT0, 3)).ok());
  auto got = store_->samples().Samples("node-a", kT0, kT0 + 10 * kSecond);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 6u);
  for (size_t i = 0; i < got->size(); ++i) {
    EXPECT_EQ((*got)[i].wall_ns, kT0 + static_cast<int64_t>(i) * kSecond);
  }
}

TEST_P(StoreSamplesTest, LabelChangeStartsNewSeriesAndKeepsBoth) {
  SampleBatch a = MakeBatch("node-a", 0, kT0, 1, 1, 0);
  SampleBatch b = MakeBatch("node-a", 1, kT0 + kSecond, 1, 1, 0);
  b.samples[0].cgroups[0].labels["app"] = "renamed";
  ASSERT_TRUE(store_->samples().PutBatch(a).ok());
  ASSERT_TRUE(store_->samples().PutBatch(b).ok());
  auto got = store_->samples().Samples("node-a", kT0, kT0 + kSecond);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].cgroups[0].labels.at("app"), "runner-0");
  EXPECT_EQ((*got)[1].cgroups[0].labels.at("app"), "renamed");
}

TEST_P(StoreSamplesTest, NodeOfPodIsTheNodeWithSamplesNearestInTime) {
  // The same pod name on node-a early and on node-b later (re-created with a new uid).
  SampleBatch a = MakeBatch("node-a", 0, kT0, 3, 1, 1);
  SampleBatch b = MakeBatch("node-b", 0, kT0 + 100 * kSecond, 3, 1, 1);
  for (auto& s : b.samples) {
    for (auto& c : s.cgroups) {
      if (!c.pod_uid.empty()) c.pod_uid = "uid-2";
      if (c.scope == Scope::kPod) c.id = "uid-2";
    }
  }
  ASSERT_TRUE(store_->samples().PutBatch(a).ok());
  ASSERT_TRUE(store_->samples().PutBatch(b).ok());

  auto at = [&](int64_t t) { return store_->samples().NodeOfPod("ci", "runner-0", t); };
  EXPECT_EQ(*at(kT0 + kSecond), std::optional<std::string>("node-a"));
  EXPECT_EQ(*at(kT0 - 1000 * kSecond), std::optional<std::string>("node-a"));
  EXPECT_EQ(*at(kT0 + 40 * kSecond), std::optional<std::string>("node-a"));
  EXPECT_EQ(*at(kT0 + 60 * kSecond), std::optional<std::string>("node-b"));
  EXPECT_EQ(*at(kT0 + 101 * kSecond), std::optional<std::string>("node-b"));
  EXPECT_EQ(*at(kT0 + 9000 * kSecond), std::optional<std::string>("node-b"));
  auto unknown = store_->samples().NodeOfPod("ci", "never-seen", kT0);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
  auto wrong_ns = store_->samples().NodeOfPod("other", "runner-0", kT0);
  ASSERT_TRUE(wrong_ns.ok());
  EXPECT_FALSE(wrong_ns->has_value());
}

TEST_P(StoreSamplesTest, LatestSampleTimePerNode) {
  auto none = store_->samples().LatestSampleTimes();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 1, kT0 + 10 * kSecond, 3)).ok());
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 0, kT0, 3)).ok());
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-b", 0, kT0, 1)).ok());
  auto latest = store_->samples().LatestSampleTimes();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest,
            (std::map<std::string, int64_t>{{"node-a", kT0 + 12 * kSecond}, {"node-b", kT0}}));
}

TEST_P(StoreSamplesTest, PruneDeletesOnlyOlderSamples) {
  // 12000 cgroup rows + 2000 node rows before the cut: several prune chunks.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store_->samples()
                    .PutBatch(MakeBatch("node-a", i, kT0 + i * 100 * kSecond, 100, 2, 2))
                    .ok());
  }
  const int64_t cut = kT0 + 1000 * kSecond;
  auto deleted = store_->samples().Prune(cut);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 1000 * (1 + 2 + 2 * 2 + 1));
  auto before = store_->samples().Samples("node-a", 0, cut - 1);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  auto after = store_->samples().Samples("node-a", cut, kT0 + 3000 * kSecond);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1000u);
  EXPECT_EQ(after->front().wall_ns, cut);
  EXPECT_EQ(after->front().cgroups.size(), 7u);
  EXPECT_EQ(after->front(), MakeBatch("node-a", 10, cut, 1, 2, 2).samples[0]);
  // New batches after a prune still find (or re-create) their series.
  ASSERT_TRUE(store_->samples().PutBatch(MakeBatch("node-a", 99, kT0 + 5000 * kSecond, 1)).ok());
  auto last = store_->samples().Samples("node-a", kT0 + 5000 * kSecond, kT0 + 5000 * kSecond);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ(last->front(), MakeBatch("node-a", 99, kT0 + 5000 * kSecond, 1).samples[0]);
  auto again = store_->samples().Prune(cut);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
}

TEST_P(StoreSamplesTest, BatchWithoutNodeIsRefused) {
  SampleBatch batch = MakeBatch("", 0, kT0, 1);
  auto r = store_->samples().PutBatch(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST_P(StoreSamplesTest, ConcurrentPutBatchFromSeveralThreads) {
  constexpr int kThreads = 4;
  constexpr int kBatches = 15;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        // Each thread is one agent; every batch is also sent twice (a retry).
        SampleBatch b = MakeBatch("node-" + std::to_string(t), i, kT0 + i * 5 * kSecond, 5);
        auto r1 = store_->samples().PutBatch(b);
        auto r2 = store_->samples().PutBatch(b);
        if (!r1.ok() || !*r1 || !r2.ok() || *r2) ++failures;
        auto read =
            store_->samples().Samples("node-" + std::to_string(t), kT0, kT0 + 1000 * kSecond);
        if (!read.ok() || read->size() != static_cast<size_t>((i + 1) * 5)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    SampleBatch all;
    for (int i = 0; i < kBatches; ++i) {
      auto b = MakeBatch("node-" + std::to_string(t), i, kT0 + i * 5 * kSecond, 5);
      all.samples.insert(all.samples.end(), b.samples.begin(), b.samples.end());
    }
    auto got = store_->samples().Samples("node-" + std::to_string(t), kT0, kT0 + 1000 * kSecond);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, all.samples) << "node-" << t;
  }
}

TEST_P(StoreSamplesTest, SameBatchFromManyThreadsAtOnceIsStoredOnce) {
  // Concurrent calls share group commits, so a batch and its replay can be in one group.
  constexpr int kThreads = 8;
  constexpr int kBatches = 10;
  std::atomic<int> stored{0}, replays{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kBatches; ++i) {
        auto r = store_->samples().PutBatch(MakeBatch("node-a", i, kT0 + i * 3 * kSecond, 3));
        if (!r.ok()) {
          ++errors;
        } else if (*r) {
          ++stored;
        } else {
          ++replays;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(stored.load(), kBatches);
  EXPECT_EQ(replays.load(), (kThreads - 1) * kBatches);
  SampleBatch all;
  for (int i = 0; i < kBatches; ++i) {
    auto b = MakeBatch("node-a", i, kT0 + i * 3 * kSecond, 3);
    all.samples.insert(all.samples.end(), b.samples.begin(), b.samples.end());
  }
  auto got = store_->samples().Samples("node-a", kT0, kT0 + 1000 * kSecond);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, all.samples);
}

INSTANTIATE_TEST_SUITE_P(FileAndMemory, StoreSamplesTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "File" : "Memory"; });

TEST(StoreFileTest, ReopenAfterCloseRetainsData) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  SampleBatch batch = MakeBatch("node-a", 0, kT0, 4);
  {
    auto store = OpenSqliteStores(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(*(*store)->samples().PutBatch(batch));
    ResultOrigin origin{"run-1", "job", "", "", "node-a", "junit.xml", {}, ""};
    ResultSet set;
    set.tests.push_back(testing::MakeTest("t::a", {Outcome::kFailed}, kT0));
    ASSERT_TRUE(StoreResults((*store)->samples(), (*store)->results(), origin, set).ok());
    ASSERT_TRUE((*store)->Checkpoint().ok());
  }
  auto store = OpenSqliteStores(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto got = (*store)->samples().Samples("node-a", kT0, kT0 + 10 * kSecond);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, batch.samples);
  auto replay = (*store)->samples().PutBatch(batch);
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(*replay) << "replay detection must survive a restart";
  auto runs = (*store)->results().RunExecutions("run-1");
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 1u);
}

TEST(StoreFileTest, RangeQueriesAreIndexRangeScans) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  {
    auto store = OpenSqliteStores(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->samples().PutBatch(MakeBatch("node-a", 0, kT0, 3)).ok());
  }
  auto conn = sqlite::Connection::Open(path, false);
  ASSERT_TRUE(conn.ok());
  auto plan = [&](std::string_view sql) {
    auto q = (*conn)->Prepare("EXPLAIN QUERY PLAN " + std::string(sql));
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    std::string out;
    while (q.ok() && *q->Step()) out += q->Text(3) + "\n";
    return out;
  };
  const std::string node_plan = plan(sqlite::kNodeSamplesRangeSql);
  EXPECT_THAT(node_plan,
              HasSubstr("SEARCH node_samples USING PRIMARY KEY (node_id=? AND wall_ns>? AND "
                        "wall_ns<?)"));
  EXPECT_THAT(node_plan, ::testing::Not(HasSubstr("TEMP B-TREE")));
  const std::string cg_plan = plan(sqlite::kCgroupTicksRangeSql);
  EXPECT_THAT(cg_plan,
              HasSubstr("SEARCH cgroup_ticks USING PRIMARY KEY (node_id=? AND wall_ns>? AND "
                        "wall_ns<?)"));
  EXPECT_THAT(cg_plan, ::testing::Not(HasSubstr("TEMP B-TREE")));
  EXPECT_THAT(plan(sqlite::kPodSeriesSql),
              HasSubstr("USING INDEX series_by_pod (namespace=? AND pod=?)"));
  EXPECT_THAT(plan(sqlite::kSeriesSpanRangeSql),
              HasSubstr("SEARCH series USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"));
}

TEST(StoreFileTest, FailingBatchInAGroupLosesNoOtherBatch) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  auto store = OpenSqliteStores(path);
  ASSERT_TRUE(store.ok());
  {
    // Batches whose first tick has mono_ns 666 fail half-way (after their key row).
    auto conn = sqlite::Connection::Open(path, false);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)
                    ->Exec("CREATE TRIGGER fail_tick BEFORE INSERT ON node_samples "
                           "WHEN NEW.mono_ns = 666 BEGIN SELECT RAISE(ABORT, 'injected'); END")
                    .ok());
  }
  constexpr int kThreads = 6;
  constexpr int kBatches = 12;
  auto batch = [](int t, int i) {
    SampleBatch b = MakeBatch("node-" + std::to_string(t), i, kT0 + i * 2 * kSecond, 2);
    if (t % 2 == 0 && i % 3 == 1) b.samples[0].mono_ns = 666;  // the bad ones
    return b;
  };
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        SampleBatch b = batch(t, i);
        auto r = (*store)->samples().PutBatch(b);
        const bool bad = b.samples[0].mono_ns == 666;
        if (bad ? r.ok() : (!r.ok() || !*r)) ++wrong;
        if (bad && r.status().message().find("injected") == std::string::npos) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    std::vector<Sample> want;
    for (int i = 0; i < kBatches; ++i) {
      SampleBatch b = batch(t, i);
      if (b.samples[0].mono_ns != 666) want.insert(want.end(), b.samples.begin(), b.samples.end());
    }
    auto got = (*store)->samples().Samples("node-" + std::to_string(t), kT0, kT0 + 1000 * kSecond);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, want) << "node-" << t;
  }
  // Nothing of a failed batch was kept: once the fault is gone, its retry is stored.
  {
    auto conn = sqlite::Connection::Open(path, false);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Exec("DROP TRIGGER fail_tick").ok());
  }
  SampleBatch retry = batch(0, 1);
  retry.samples[0].mono_ns = 1;
  auto r = (*store)->samples().PutBatch(retry);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
}

TEST(StoreFileTest, DatabaseIsInWalMode) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  ASSERT_TRUE(OpenSqliteStores(path).ok());
  auto conn = sqlite::Connection::Open(path, false);
  ASSERT_TRUE(conn.ok());
  auto q = (*conn)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->Text(0), "wal");
}

TEST(StoreFileTest, LockedDatabaseGivesUnavailable) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  SqliteStoreOptions options;
  options.busy_timeout_ms = 50;
  auto store = OpenSqliteStores(path, options);
  ASSERT_TRUE(store.ok());
  // Another process (here: another connection) holds the write lock.
  auto other = sqlite::Connection::Open(path, false);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Exec("BEGIN IMMEDIATE").ok());
  auto r = (*store)->samples().PutBatch(MakeBatch("node-a", 0, kT0, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("sqlite: BEGIN IMMEDIATE"));
  ASSERT_TRUE((*other)->Exec("ROLLBACK").ok());
  // Nothing half-done: the same batch goes in afterwards.
  auto retry = (*store)->samples().PutBatch(MakeBatch("node-a", 0, kT0, 1));
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_TRUE(*retry);
}

TEST(StoreFileTest, OpenInMissingDirectoryIsIOError) {
  TempDir dir;
  auto store = OpenSqliteStores(dir.File("no/such/dir/jostle.db"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kIOError) << store.status().ToString();
  EXPECT_THAT(store.status().message(), HasSubstr("no/such/dir/jostle.db"));
}

}  // namespace
}  // namespace jostle::collector
