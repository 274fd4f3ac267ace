// Schema versions and migrations on real database files; SQLite error mapping.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "collector/store/schema.h"
#include "collector/store/sqlite_db.h"
#include "collector/store/stores.h"
#include "store_test_util.h"

namespace jostle::collector {
namespace {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;
using testing::TempDir;

int64_t UserVersion(const std::string& path) {
  auto conn = sqlite::Connection::Open(path, false);
  EXPECT_TRUE(conn.ok());
  auto v = (*conn)->QueryInt("PRAGMA user_version");
  EXPECT_TRUE(v.ok());
  return v.ok() ? *v : -1;
}

TEST(StoreSchemaTest, NewDatabaseHasCurrentVersion) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  ASSERT_TRUE(OpenSqliteStores(path).ok());
  EXPECT_EQ(UserVersion(path), sqlite::CurrentSchemaVersion());
  EXPECT_GE(sqlite::CurrentSchemaVersion(), 2);
  // Opening again applies nothing and keeps the version.
  ASSERT_TRUE(OpenSqliteStores(path).ok());
  EXPECT_EQ(UserVersion(path), sqlite::CurrentSchemaVersion());
}

TEST(StoreSchemaTest, OlderDatabaseIsMigratedAndKeepsItsData) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  {
    // A database as written by a build that knew only the first migration.
    auto conn = sqlite::Connection::Open(path, false);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(sqlite::Migrate(**conn, sqlite::SchemaMigrations().first(1)).ok());
    ASSERT_TRUE((*conn)
                    ->Exec("INSERT INTO nodes(id, name, last_wall_ns) VALUES(1, 'old-node', " +
                           std::to_string(kT0) +
                           ");"
                           "INSERT INTO node_samples(node_id, wall_ns, mono_ns, boot_id, present, "
                           "cpu_busy_us, cpu_total_us, net) VALUES(1, " +
                           std::to_string(kT0) + ", 5, 'b', 0, 10, 40, '[]')")
                    .ok());
  }
  EXPECT_EQ(UserVersion(path), 1);
  auto store = OpenSqliteStores(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(UserVersion(path), sqlite::CurrentSchemaVersion());
  auto samples = (*store)->samples().Samples("old-node", kT0, kT0);
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_EQ(samples->front().node.cpu_busy_us, std::optional<uint64_t>(10));
  EXPECT_FALSE(samples->front().node.mem_total_bytes.has_value());
  // Tables of the later migration work.
  ResultSet set;
  set.tests.push_back(testing::MakeTest("t::a", {Outcome::kPassed}));
  auto put = StoreResults((*store)->samples(), (*store)->results(),
                          {"run", "", "", "", "", "upload", {}, ""}, set);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
}

// Writes `batch` the way version 2 stored it: one cgroup_samples row per cgroup and tick,
// rows inserted in reverse ord order (the migration must order them by ord). Labels must be
// plain (no characters JSON escapes) and node interfaces empty.
void PutBatchAsVersion2(sqlite::Connection& conn, const SampleBatch& batch) {
  ASSERT_TRUE(conn.Exec("INSERT INTO nodes(id, name) VALUES(1, '" + batch.node + "')").ok());
  auto node_ins = conn.Prepare(
      "INSERT INTO node_samples(node_id, wall_ns, mono_ns, boot_id, present, cpu_busy_us, "
      "cpu_total_us, net) VALUES(1, ?1, ?2, 'b', 0, ?3, ?4, '[]')");
  ASSERT_TRUE(node_ins.ok());
  auto series_ins = conn.Prepare(
      "INSERT INTO series(node_id, scope, sid, path, pod_uid, container_id, namespace, pod, "
      "container, qos, labels, host_network, first_wall_ns, last_wall_ns) "
      "VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  ASSERT_TRUE(series_ins.ok());
  std::vector<std::string> texts;  // bound SQLITE_STATIC: must outlive Run()
  const int64_t first = batch.samples.front().wall_ns, last = batch.samples.back().wall_ns;
  const std::vector<CgroupSample>& cgroups = batch.samples.front().cgroups;
  for (const CgroupSample& c : cgroups) {
    std::string labels;
    for (const auto& [k, v] : c.labels) {
      labels += (labels.empty() ? "{\"" : ",\"") + k + "\":\"" + v + "\"";
    }
    if (!labels.empty()) labels += "}";
    texts.push_back(labels);
    series_ins->Bind(1, ScopeName(c.scope));
    series_ins->Bind(2, c.id);
    series_ins->Bind(3, c.path);
    series_ins->Bind(4, c.pod_uid);
    series_ins->Bind(5, c.container_id);
    series_ins->Bind(6, c.namespace_name);
    series_ins->Bind(7, c.pod_name);
    series_ins->Bind(8, c.container_name);
    series_ins->Bind(9, c.qos);
    series_ins->Bind(10, texts.back());
    series_ins->Bind(11, c.host_network);
    series_ins->Bind(12, first);
    series_ins->Bind(13, last);
    ASSERT_TRUE(series_ins->Run().ok());
    series_ins->Reset();
  }
  auto cg_ins = conn.Prepare(
      "INSERT INTO cgroup_samples VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
      "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)");
  ASSERT_TRUE(cg_ins.ok());
  auto psi = [&](int i, const std::optional<PsiTotals>& p) {
    if (p) {
      cg_ins->Bind(i, p->some_us);
      cg_ins->Bind(i + 1, p->full_us);
    }
  };
  for (const Sample& s : batch.samples) {
    node_ins->Bind(1, s.wall_ns);
    node_ins->Bind(2, s.mono_ns);
    node_ins->Bind(3, s.node.cpu_busy_us);
    node_ins->Bind(4, s.node.cpu_total_us);
    ASSERT_TRUE(node_ins->Run().ok());
    node_ins->Reset();
    ASSERT_EQ(s.cgroups.size(), cgroups.size());
    for (size_t ord = s.cgroups.size(); ord-- > 0;) {
      const CgroupSample& c = s.cgroups[ord];
      const int present =
          (c.psi_cpu ? 1 : 0) | (c.psi_memory ? 2 : 0) | (c.psi_io ? 4 : 0) | (c.net ? 8 : 0);
      for (int i = 1; i <= 29; ++i) cg_ins->BindNull(i);
      cg_ins->Bind(1, s.wall_ns);
      cg_ins->Bind(2, static_cast<int64_t>(ord));
      cg_ins->Bind(3, static_cast<int64_t>(ord + 1));  // series ids 1.. in insertion order
      cg_ins->Bind(4, present);
      cg_ins->Bind(5, c.cpu_usage_us);
      cg_ins->Bind(6, c.cpu_periods);
      cg_ins->Bind(7, c.cpu_throttled_periods);
      cg_ins->Bind(8, c.cpu_throttled_us);
      cg_ins->Bind(9, c.cpu_limit_cores);
      cg_ins->Bind(10, c.mem_usage_bytes);
      cg_ins->Bind(11, c.mem_working_set_bytes);
      cg_ins->Bind(12, c.mem_limit_bytes);
      cg_ins->Bind(13, c.oom_kills);
      psi(14, c.psi_cpu);
      psi(16, c.psi_memory);
      psi(18, c.psi_io);
      if (c.net) {
        cg_ins->Bind(20, c.net->interface);
        const uint64_t v[] = {c.net->rx_bytes,  c.net->rx_packets, c.net->rx_errors,
                              c.net->rx_drops,  c.net->tx_bytes,   c.net->tx_packets,
                              c.net->tx_errors, c.net->tx_drops};
        for (int k = 0; k < 8; ++k) cg_ins->Bind(21 + k, v[k]);
        cg_ins->Bind(29, c.net->speed_mbps);
      }
      ASSERT_TRUE(cg_ins->Run().ok());
      cg_ins->Reset();
    }
  }
}

TEST(StoreSchemaTest, Version2CgroupRowsArePackedPerTickWithTheSameSamples) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  SampleBatch batch = testing::MakeBatch("old-node", 0, kT0, 4);
  for (Sample& s : batch.samples) {
    s.node = NodeSample{};
    s.node.cpu_busy_us = 7;
    s.node.cpu_total_us = 9;
    for (CgroupSample& c : s.cgroups) {
      if (!c.labels.empty()) c.labels = {{"app", c.pod_name}, {"team", "ci"}};
    }
    // Values at the edges of the stored types.
    CgroupSample& pod = s.cgroups.front();
    pod.cpu_usage_us = ~0ull;
    pod.cpu_limit_cores = 0.1;
    pod.net->speed_mbps = -1;
    pod.net->interface = "";
    s.cgroups.back().oom_kills = 0;
  }
  {
    auto conn = sqlite::Connection::Open(path, false);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(sqlite::Migrate(**conn, sqlite::SchemaMigrations().first(2)).ok());
    PutBatchAsVersion2(**conn, batch);
    // A tick with no cgroup rows stays without any.
    ASSERT_TRUE((*conn)
                    ->Exec("INSERT INTO node_samples(node_id, wall_ns, mono_ns, boot_id, "
                           "present, cpu_busy_us, cpu_total_us, net) VALUES(1, " +
                           std::to_string(kT0 + 100 * kSecond) + ", 1, 'b', 0, 7, 9, '[]')")
                    .ok());
  }
  EXPECT_EQ(UserVersion(path), 2);
  auto store = OpenSqliteStores(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(UserVersion(path), sqlite::CurrentSchemaVersion());
  auto samples = (*store)->samples().Samples("old-node", kT0, kT0 + 100 * kSecond);
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(samples->size(), batch.samples.size() + 1);
  for (size_t i = 0; i < batch.samples.size(); ++i) {
    EXPECT_EQ((*samples)[i], batch.samples[i]) << "tick " << i;
  }
  EXPECT_TRUE(samples->back().cgroups.empty());
  {
    auto conn = sqlite::Connection::Open(path, false);
    ASSERT_TRUE(conn.ok());
    EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM cgroup_ticks"),
              static_cast<int64_t>(batch.samples.size()));
    EXPECT_EQ(
        *(*conn)->QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'cgroup_samples'"), 0);
  }
  // New batches go in beside the migrated ticks, and their series are reused.
  SampleBatch next = testing::MakeBatch("old-node", 1, kT0 + 10 * kSecond, 2);
  auto put = (*store)->samples().PutBatch(next);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto later = (*store)->samples().Samples("old-node", kT0 + 10 * kSecond, kT0 + 11 * kSecond);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, next.samples);
}

// tests/collector/store/fixtures/schema_v3.sql: a database written by jostle at schema
// version 3 (see its header), loaded into a file as it was.
void LoadFrozenDatabase(const std::string& dump, const std::string& path) {
  std::ifstream in(std::string(JOSTLE_STORE_FIXTURES) + "/" + dump);
  ASSERT_TRUE(in) << dump;
  std::stringstream sql;
  sql << in.rdbuf();
  auto conn = sqlite::Connection::Open(path, false);
  ASSERT_TRUE(conn.ok());
  Status st = (*conn)->Exec(sql.str());
  ASSERT_TRUE(st.ok()) << st.ToString();
}

TEST(StoreSchemaTest, FrozenVersion3DatabaseOpensWithItsData) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  LoadFrozenDatabase("schema_v3.sql", path);
  ASSERT_EQ(UserVersion(path), 3);
  auto store = OpenSqliteStores(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto samples = (*store)->samples().Samples("node-a", kT0, kT0 + 10 * kSecond);
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(samples->size(), 5u);
  EXPECT_EQ(samples->front(), testing::MakeBatch("node-a", 0, kT0, 5, 2, 2).samples.front());
  auto r4 = (*store)->results().RunExecutions("r4");
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ(r4->size(), 16u);
  auto runs = (*store)->analytics().ListRuns(RunFilter::Latest(10));
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 4u);
  auto alerts = (*store)->alerts().ListAlerts(10);
  ASSERT_TRUE(alerts.ok());
  EXPECT_EQ(alerts->size(), 2u);
}

// What schema version 5 makes of the frozen version 3 file's test ids: pytest JUnit ids
// become node ids, and the report-log and JUnit copies of one session in run r4 become two
// attempts of each test (report-log first: it was uploaded first). Rows (execution id, test
// id, attempt, final), written out by hand from the dump.
TEST(StoreSchemaTest, FrozenVersion3DatabaseGetsOneTestIdPerTest) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  LoadFrozenDatabase("schema_v3.sql", path);
  ASSERT_TRUE(OpenSqliteStores(path).ok());
  using Row = std::tuple<int64_t, std::string, int64_t, int64_t>;
  const std::vector<std::string> sample = {
      "test_sample.py::test_passes",   "test_sample.py::test_fails",
      "test_sample.py::test_skipped",  "test_sample.py::test_setup_error",
      "test_sample.py::test_flaky",    "test_sample.py::test_param[1]",
      "test_sample.py::test_param[2]", "test_sample.py::TestGroup::test_method"};
  std::vector<Row> want;
  for (int k = 0; k < 8; ++k) want.emplace_back(1 + k, sample[k], 0, 0);  // r1 unit, sent twice
  for (int k = 0; k < 8; ++k) want.emplace_back(9 + k, sample[k], 1, 1);
  want.emplace_back(17, "tests/test_api.py::TestUpload::test_small", 0, 1);  // r1 api, xunit2
  want.emplace_back(18, "tests/test_api.py::TestUpload::test_large", 0, 1);
  want.emplace_back(19, "tests/test_api.py::test_skip_windows", 0, 1);
  want.emplace_back(20, "tests/test_api.py::test_xfail", 0, 1);
  want.emplace_back(21, "tests/test_io.py::test_write", 0, 0);  // r2 report-log: unchanged
  want.emplace_back(22, "tests/test_io.py::test_write", 1, 1);
  want.emplace_back(23, "tests/test_io.py::test_db", 0, 1);
  want.emplace_back(24, "tests/test_io.py::test_skip", 0, 1);
  want.emplace_back(25, "test_rerun.py::test_always_fails", 0, 0);  // r2 xunit2 reruns
  want.emplace_back(26, "test_rerun.py::test_always_fails", 1, 0);
  want.emplace_back(27, "test_rerun.py::test_always_fails", 2, 1);
  want.emplace_back(28, "test_rerun.py::test_flaky", 0, 0);
  want.emplace_back(29, "test_rerun.py::test_flaky", 1, 1);
  for (const char* gtest : {"SampleSuite::Passes", "SampleSuite::Fails", "SampleSuite::Skipped",
                            "SampleSuite::DISABLED_NotRun", "OtherSuite::AlsoPasses"}) {
    want.emplace_back(30 + static_cast<int64_t>(want.size()) - 29, gtest, 0, 1);  // r3
  }
  for (int k = 0; k < 8; ++k) want.emplace_back(35 + k, sample[k], 0, 0);  // r4 report-log
  for (int k = 0; k < 8; ++k) want.emplace_back(43 + k, sample[k], 1, 1);  // r4 JUnit
  auto conn = sqlite::Connection::Open(path, false);
  ASSERT_TRUE(conn.ok());
  auto q = (*conn)->Prepare("SELECT id, test_id, attempt, final FROM executions ORDER BY id");
  ASSERT_TRUE(q.ok());
  std::vector<Row> got;
  while (*q->Step()) got.emplace_back(q->Int64(0), q->Text(1), q->Int64(2), q->Int64(3));
  EXPECT_EQ(got, want);
  // Window facts and alerts stay with their rows; every upload is still there.
  EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM execution_facts WHERE execution_id IN (1, 2)"),
            2);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM uploads"), 8);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM alerts"), 2);
}

// fixtures/schema_v5.sql (a database written by jostle at schema version 5, see its header)
// migrated to today's schema: every upload, run identity and execution is kept, the uploads
// have no digest (never taken for a replay), and the database takes idempotent uploads and
// judgements.
TEST(StoreSchemaTest, FrozenVersion5DatabaseKeepsItsRunsAndTakesDigestsAndJudgements) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  LoadFrozenDatabase("schema_v5.sql", path);
  ASSERT_EQ(UserVersion(path), 5);
  auto store = OpenSqliteStores(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(UserVersion(path), sqlite::CurrentSchemaVersion());
  {
    auto conn = sqlite::Connection::Open(path, false);
    ASSERT_TRUE(conn.ok());
    EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM uploads"), 11);
    EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM uploads WHERE digest = ''"), 11);
    EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM executions"), 50 + 4 + 4 + 3);
    EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM judgements"), 0);
  }
  // r5 as the dump has it (header): two shards of job unit, the second on CI attempt 2.
  RunFilter filter = RunFilter::Latest(10);
  filter.branch = "feature/pay";
  auto runs = (*store)->analytics().ListRuns(filter);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 1u);
  const RunSummary& r5 = runs->front();
  EXPECT_EQ(r5.run, "r5");
  EXPECT_EQ(r5.identity.commit, "3f2a9c1d");
  EXPECT_EQ(r5.identity.default_branch, "main");
  EXPECT_EQ(r5.identity.pr, "42");
  EXPECT_EQ(r5.identity.provider, "gitlab-ci");
  ASSERT_EQ(r5.jobs.size(), 2u);
  EXPECT_EQ(r5.jobs[0].shard_index, 1);
  EXPECT_EQ(r5.jobs[0].attempt, 1);
  EXPECT_EQ(r5.jobs[0].exit_code, 1);
  EXPECT_EQ(r5.jobs[0].url, "https://ci.example/jobs/7");
  EXPECT_EQ(r5.jobs[1].shard_index, 2);
  EXPECT_EQ(r5.jobs[1].attempt, 2);

  // A new upload with a digest, sent twice, is stored once; beside the migrated uploads of
  // the same job, shard and attempt it says there are other files.
  ResultSet set;
  set.tests.push_back(testing::MakeTest("t::a", {Outcome::kFailed}));
  ResultOrigin origin{"r5", "unit", "", "", "", "upload", {}, "sha256:" + std::string(64, 'c')};
  origin.identity.shard_index = 1;
  origin.identity.shard_total = 2;
  origin.identity.attempt = 1;
  auto first = StoreResults((*store)->samples(), (*store)->results(), origin, set);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->already_stored);
  EXPECT_EQ(first->other_files, 1);
  auto replay = StoreResults((*store)->samples(), (*store)->results(), origin, set);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->already_stored);
  JudgedFailureRow row;
  row.kind = "failure";
  row.job = "unit";
  row.test_id = "t::a";
  row.verdict = "no-data";
  ASSERT_TRUE((*store)->results().PutJudgement("r5", {row}).ok());
  EXPECT_EQ(*(*store)->results().JudgedFailures("r5", 0, 10), std::vector<JudgedFailureRow>{row});
}

TEST(StoreSchemaTest, NewerDatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  ASSERT_TRUE(OpenSqliteStores(path).ok());
  {
    auto conn = sqlite::Connection::Open(path, false);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(
        (*conn)
            ->Exec("PRAGMA user_version = " + std::to_string(sqlite::CurrentSchemaVersion() + 1))
            .ok());
  }
  auto store = OpenSqliteStores(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kUnsupported);
  EXPECT_THAT(store.status().message(), HasSubstr("newer than this jostle supports"));
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  // Refusing changed nothing.
  EXPECT_EQ(UserVersion(path), sqlite::CurrentSchemaVersion() + 1);
}

TEST(StoreSchemaTest, FailedMigrationStepLeavesThePreviousVersion) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  const sqlite::Migration steps[] = {
      {1, "CREATE TABLE a(x INTEGER);"},
      {2, "CREATE TABLE b(y INTEGER); INSERT INTO no_such_table VALUES(1);"},
  };
  auto conn = sqlite::Connection::Open(path, false);
  ASSERT_TRUE(conn.ok());
  Status st = sqlite::Migrate(**conn, steps);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("schema migration to version 2"));
  EXPECT_THAT(st.message(), HasSubstr("no_such_table"));
  EXPECT_EQ(*(*conn)->QueryInt("PRAGMA user_version"), 1);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'b'"), 0);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'a'"), 1);
}

TEST(StoreSchemaTest, SqliteCodesMapToStatusCodes) {
  struct Case {
    int rc;
    Status::Code code;
  };
  const Case cases[] = {
      {SQLITE_BUSY, Status::Code::kUnavailable},
      {SQLITE_BUSY_SNAPSHOT, Status::Code::kUnavailable},
      {SQLITE_LOCKED, Status::Code::kUnavailable},
      {SQLITE_FULL, Status::Code::kResourceExhausted},
      {SQLITE_IOERR_FSYNC, Status::Code::kIOError},
      {SQLITE_CANTOPEN, Status::Code::kIOError},
      {SQLITE_READONLY, Status::Code::kPermissionDenied},
      {SQLITE_CONSTRAINT_UNIQUE, Status::Code::kInvalidArgument},
      {SQLITE_CORRUPT, Status::Code::kInternal},
  };
  for (const Case& c : cases) {
    Status st = sqlite::FromSqlite(c.rc, nullptr, "INSERT INTO t");
    EXPECT_EQ(st.code(), c.code) << "rc " << c.rc;
    EXPECT_THAT(st.message(), HasSubstr("sqlite: INSERT INTO t: "));
    EXPECT_THAT(st.message(), HasSubstr("(code " + std::to_string(c.rc) + ")"));
  }
}

}  // namespace
}  // namespace jostle::collector
