// Databases written by released versions of jostle, frozen as SQL dumps in released/ (made by
// released/make_dump.sh with that release's binary on a fixture host), migrated by today's
// code. The expected values are the fixture files' own (procfs/normal_host, cgroup_v2_systemd,
// released/junit.xml), not anything today's code computes, so editing a shipped migration so
// that it loses or changes stored data fails here.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "collector/store/schema.h"
#include "collector/store/sqlite_db.h"
#include "collector/store/stores.h"
#include "store_test_util.h"

namespace jostle::collector {
namespace {

using testing::TempDir;

constexpr const char* kPodUid = "0b5c1d2e-1111-4a4a-8b8b-000000000001";

std::string Released(const std::string& name) {
  std::ifstream in(std::string(JOSTLE_RELEASED_SCHEMAS) + "/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Frozen {
  int version = 0;
  int64_t node_samples = 0;  // rows in the dump
};

// Loads `dump` into a new database file at `path`; what it holds, read with plain SQL.
Frozen Load(const std::string& path, const std::string& dump) {
  auto conn = sqlite::Connection::Open(path, false);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return {};
  Status loaded = (*conn)->Exec(dump);
  EXPECT_TRUE(loaded.ok()) << loaded.ToString();
  Frozen f;
  f.version = static_cast<int>((*conn)->QueryInt("PRAGMA user_version").value_or(-1));
  f.node_samples = (*conn)->QueryInt("SELECT count(*) FROM node_samples").value_or(-1);
  return f;
}

class ReleasedSchemaTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ReleasedSchemaTest, MigratesAndKeepsWhatTheReleaseStored) {
  const std::string dump = Released(GetParam());
  ASSERT_FALSE(dump.empty()) << "missing " << GetParam();
  TempDir dir;
  const std::string path = dir.File("jostle.db");
  Frozen frozen = Load(path, dump);
  ASSERT_GT(frozen.version, 0);
  ASSERT_LE(frozen.version, sqlite::CurrentSchemaVersion());
  ASSERT_GT(frozen.node_samples, 0);

  auto store = OpenSqliteStores(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  {
    auto conn = sqlite::Connection::Open(path, false);
    ASSERT_TRUE(conn.ok());
    EXPECT_EQ((*conn)->QueryInt("PRAGMA user_version").value_or(-1),
              sqlite::CurrentSchemaVersion());
  }

  // Every tick the release stored, with the fixture host's values.
  auto samples =
      (*store)->samples().Samples("fixture-node", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(static_cast<int64_t>(samples->size()), frozen.node_samples);
  for (const Sample& s : *samples) {
    SCOPED_TRACE(s.wall_ns);
    // procfs/normal_host/proc/stat at USER_HZ 100; /proc/meminfo.
    EXPECT_EQ(s.node.cpu_busy_us, (4705 + 356 + 5845 + 209 + 12) * 10000ULL);
    EXPECT_EQ(s.node.cpu_total_us, (4705 + 356 + 5845 + 209 + 12 + 1016582 + 4352) * 10000ULL);
    EXPECT_EQ(s.node.mem_total_bytes, 8029288ULL * 1024);
    EXPECT_EQ(s.node.psi_cpu, (PsiTotals{83451000, 0}));
    const CgroupSample* pod = nullptr;
    int pods = 0, containers = 0;
    for (const CgroupSample& c : s.cgroups) {
      pods += c.scope == Scope::kPod;
      containers += c.scope == Scope::kContainer;
      if (c.scope == Scope::kPod && c.pod_uid == kPodUid) pod = &c;
    }
    EXPECT_EQ(pods, 3);  // cgroup_v2_systemd: 3 pods, 4 containers
    EXPECT_EQ(containers, 4);
    ASSERT_NE(pod, nullptr);
    EXPECT_EQ(pod->cpu_usage_us, 1000123u);  // its cpu.stat
    EXPECT_EQ(pod->cpu_periods, 100u);
    EXPECT_EQ(pod->cpu_throttled_periods, 10u);
    EXPECT_EQ(pod->cpu_limit_cores, 2.0);  // cpu.max "200000 100000"
    EXPECT_EQ(pod->mem_usage_bytes, 1052672u);
  }

  // The results of released/junit.xml: three tests, test_pay failed.
  auto executions = (*store)->results().RunExecutions("released");
  ASSERT_TRUE(executions.ok()) << executions.status().ToString();
  ASSERT_EQ(executions->size(), 3u);
  int failed = 0;
  for (const TestExecution& e : *executions) {
    EXPECT_EQ(e.job, "unit");
    EXPECT_EQ(e.node, "fixture-node");
    EXPECT_EQ(e.classname, "tests.test_shop");
    if (e.name == "test_pay") {
      ++failed;
      EXPECT_EQ(e.outcome, Outcome::kFailed);
      EXPECT_EQ(e.message, "assert 1 == 2");
      EXPECT_EQ(e.file, "tests/test_shop.py");
      EXPECT_DOUBLE_EQ(e.duration_s, 1.5);
      EXPECT_EQ(e.line, 3);
    }
  }
  EXPECT_EQ(failed, 1);

  // And the migrated database takes new writes.
  ResultSet set;
  set.tests.push_back(testing::MakeTest("t::a", {Outcome::kPassed}));
  auto put = StoreResults((*store)->samples(), (*store)->results(),
                          {"later", "", "", "", "", "upload", {}, ""}, set);
  EXPECT_TRUE(put.ok()) << put.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Releases, ReleasedSchemaTest, ::testing::Values("v2.sql", "v3.sql"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

}  // namespace
}  // namespace jostle::collector
