// Schema versions and migrations on real database files; SQLite error mapping.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collector/store/schema.h"
#include "collector/store/sqlite_db.h"
#include "collector/store/store.h"
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
  ASSERT_TRUE(OpenSqliteStore(path).ok());
  EXPECT_EQ(UserVersion(path), sqlite::CurrentSchemaVersion());
  EXPECT_GE(sqlite::CurrentSchemaVersion(), 2);
  // Opening again applies nothing and keeps the version.
  ASSERT_TRUE(OpenSqliteStore(path).ok());
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
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(UserVersion(path), sqlite::CurrentSchemaVersion());
  auto samples = (*store)->Samples("old-node", kT0, kT0);
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_EQ(samples->front().node.cpu_busy_us, std::optional<uint64_t>(10));
  EXPECT_FALSE(samples->front().node.mem_total_bytes.has_value());
  // Tables of the later migration work.
  ResultSet set;
  set.tests.push_back(testing::MakeTest("t::a", {Outcome::kPassed}));
  auto put = (*store)->PutResults({"run", "", "", "", "", "upload"}, set);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
}

TEST(StoreSchemaTest, NewerDatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  ASSERT_TRUE(OpenSqliteStore(path).ok());
  {
    auto conn = sqlite::Connection::Open(path, false);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(
        (*conn)
            ->Exec("PRAGMA user_version = " + std::to_string(sqlite::CurrentSchemaVersion() + 1))
            .ok());
  }
  auto store = OpenSqliteStore(path);
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
