#include "collector/store/schema.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/store/cgroup_pack.h"
#include "jostle/results.h"

namespace jostle::collector::sqlite {
namespace {

// Samples. Sample tables have no foreign keys (checked per row, they would slow ingest);
// node ids and series ids are written only by SqliteSampleSource::PutBatch.
constexpr std::string_view kSamplesV1 = R"sql(
CREATE TABLE nodes(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  first_wall_ns INTEGER,           -- earliest stored tick
  last_wall_ns INTEGER,            -- latest stored tick
  last_batch_ns INTEGER            -- collector wall clock when the last batch was stored
);
CREATE TABLE batches(
  node_id INTEGER NOT NULL REFERENCES nodes(id),
  boot_id TEXT NOT NULL,
  agent_start_ns INTEGER NOT NULL,
  seq INTEGER NOT NULL,            -- uint64 stored bit for bit
  wire_version INTEGER NOT NULL,
  agent_version TEXT NOT NULL,
  interval_ns INTEGER NOT NULL,
  host TEXT NOT NULL,              -- JSON object of the agent's host facts
  samples INTEGER NOT NULL,
  first_wall_ns INTEGER,
  last_wall_ns INTEGER,
  received_ns INTEGER NOT NULL,
  PRIMARY KEY(node_id, boot_id, agent_start_ns, seq)
) WITHOUT ROWID;
CREATE INDEX batches_by_time ON batches(last_wall_ns);

-- One row per tick per node. present: bit 0 psi_cpu, bit 1 psi_memory, bit 2 psi_io.
-- net: JSON [[if, rx_bytes, rx_packets, rx_errors, rx_drops,
--             tx_bytes, tx_packets, tx_errors, tx_drops, speed_mbps or null], ...]
CREATE TABLE node_samples(
  node_id INTEGER NOT NULL,
  wall_ns INTEGER NOT NULL,
  mono_ns INTEGER NOT NULL,
  boot_id TEXT NOT NULL,
  present INTEGER NOT NULL,
  cpu_busy_us INTEGER, cpu_total_us INTEGER, cpus INTEGER,
  mem_total_bytes INTEGER, mem_available_bytes INTEGER,
  psi_cpu_some_us INTEGER, psi_cpu_full_us INTEGER,
  psi_memory_some_us INTEGER, psi_memory_full_us INTEGER,
  psi_io_some_us INTEGER, psi_io_full_us INTEGER,
  tcp_out_segs INTEGER, tcp_retrans_segs INTEGER,
  load1 REAL, load5 REAL, load15 REAL,
  net TEXT NOT NULL,
  PRIMARY KEY(node_id, wall_ns)
) WITHOUT ROWID;

-- The identity of one cgroup series on one node; a change of any identity field (labels,
-- names learnt later from the Kubernetes API) starts a new series row.
CREATE TABLE series(
  id INTEGER PRIMARY KEY,
  node_id INTEGER NOT NULL,
  scope TEXT NOT NULL,             -- "pod", "container", "cgroup"
  sid TEXT NOT NULL,               -- CgroupSample::id
  path TEXT NOT NULL,
  pod_uid TEXT NOT NULL,
  container_id TEXT NOT NULL,
  namespace TEXT NOT NULL,
  pod TEXT NOT NULL,
  container TEXT NOT NULL,
  qos TEXT NOT NULL,
  labels TEXT NOT NULL,            -- JSON object; "" when none
  host_network INTEGER NOT NULL,
  first_wall_ns INTEGER NOT NULL,  -- earliest stored tick of this series
  last_wall_ns INTEGER NOT NULL,   -- latest stored tick
  UNIQUE(node_id, scope, sid, path, pod_uid, container_id, namespace, pod, container, qos,
         labels, host_network)
);
CREATE INDEX series_by_pod ON series(namespace, pod, last_wall_ns);
CREATE INDEX series_by_time ON series(last_wall_ns);

-- One row per cgroup per tick; ord keeps the agent's order within the tick.
-- present: bit 0 psi_cpu, bit 1 psi_memory, bit 2 psi_io, bit 3 net.
CREATE TABLE cgroup_samples(
  node_id INTEGER NOT NULL,
  wall_ns INTEGER NOT NULL,
  ord INTEGER NOT NULL,
  series_id INTEGER NOT NULL,
  present INTEGER NOT NULL,
  cpu_usage_us INTEGER, cpu_periods INTEGER, cpu_throttled_periods INTEGER,
  cpu_throttled_us INTEGER, cpu_limit_cores REAL,
  mem_usage_bytes INTEGER, mem_working_set_bytes INTEGER, mem_limit_bytes INTEGER,
  oom_kills INTEGER,
  psi_cpu_some_us INTEGER, psi_cpu_full_us INTEGER,
  psi_memory_some_us INTEGER, psi_memory_full_us INTEGER,
  psi_io_some_us INTEGER, psi_io_full_us INTEGER,
  net_interface TEXT,
  net_rx_bytes INTEGER, net_rx_packets INTEGER, net_rx_errors INTEGER, net_rx_drops INTEGER,
  net_tx_bytes INTEGER, net_tx_packets INTEGER, net_tx_errors INTEGER, net_tx_drops INTEGER,
  net_speed_mbps INTEGER,
  PRIMARY KEY(node_id, wall_ns, ord)
) WITHOUT ROWID;
)sql";

// Test results, cached attribution facts and the alert delivery log.
constexpr std::string_view kResultsV2 = R"sql(
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  first_upload_ns INTEGER NOT NULL,
  last_upload_ns INTEGER NOT NULL
);
CREATE INDEX runs_by_time ON runs(last_upload_ns);
CREATE TABLE uploads(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  job TEXT NOT NULL,
  pod_namespace TEXT NOT NULL,
  pod_name TEXT NOT NULL,
  node TEXT NOT NULL,
  source TEXT NOT NULL,
  format TEXT NOT NULL,
  producer TEXT NOT NULL,
  warnings TEXT NOT NULL,          -- JSON array of strings
  received_ns INTEGER NOT NULL,
  tests INTEGER NOT NULL,
  failed INTEGER NOT NULL
);
CREATE INDEX uploads_by_run ON uploads(run_id);
-- One row per attempt. attempt numbers run on per (run, job, test id) across uploads;
-- final = 1 on the highest attempt. time_ns = start_ns, or the upload time without one.
CREATE TABLE executions(
  id INTEGER PRIMARY KEY,
  upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  run_id INTEGER NOT NULL,
  job TEXT NOT NULL,
  test_id TEXT NOT NULL,
  suite TEXT NOT NULL,
  classname TEXT NOT NULL,
  name TEXT NOT NULL,
  file TEXT NOT NULL,
  line INTEGER,
  attempt INTEGER NOT NULL,
  outcome TEXT NOT NULL,           -- "passed", "failed", "error", "skipped"
  start_ns INTEGER,
  duration_s REAL NOT NULL,
  timing_approximate INTEGER NOT NULL,
  message TEXT NOT NULL,
  details TEXT NOT NULL,
  node TEXT NOT NULL,
  pod_namespace TEXT NOT NULL,
  pod_name TEXT NOT NULL,
  final INTEGER NOT NULL,
  time_ns INTEGER NOT NULL
);
CREATE UNIQUE INDEX executions_by_run ON executions(run_id, job, test_id, attempt);
CREATE INDEX executions_by_test ON executions(test_id, time_ns);
CREATE INDEX executions_by_upload ON executions(upload_id);
CREATE INDEX executions_by_time ON executions(time_ns);
CREATE TABLE execution_facts(
  execution_id INTEGER PRIMARY KEY REFERENCES executions(id) ON DELETE CASCADE,
  contended INTEGER NOT NULL,
  resource TEXT NOT NULL,
  set_ns INTEGER NOT NULL
);
CREATE TABLE alerts(
  id INTEGER PRIMARY KEY,
  run TEXT NOT NULL,
  job TEXT NOT NULL,
  cooldown_key TEXT NOT NULL,
  target TEXT NOT NULL,            -- masked URL, never a token
  target_key TEXT NOT NULL,
  delivered INTEGER NOT NULL,
  status INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  error TEXT NOT NULL,
  at_ns INTEGER NOT NULL
);
CREATE INDEX alerts_by_run ON alerts(run, target_key);
CREATE INDEX alerts_by_cooldown ON alerts(cooldown_key, target_key, at_ns);
CREATE INDEX alerts_by_time ON alerts(at_ns);
)sql";

// Cgroup readings packed per tick (cgroup_pack.h): one B-tree entry per node and tick instead
// of one per cgroup. Existing rows are packed by jostle_pack_cgroups (registered by Migrate),
// in ord order. The series indexes lose last_wall_ns, which every stored batch moves: the
// per-batch span update then rewrites only the series row (Prune's series scan and NodeOfPod
// do not need it indexed).
constexpr std::string_view kPackedCgroupsV3 = R"sql(
CREATE TABLE cgroup_ticks(
  node_id INTEGER NOT NULL,
  wall_ns INTEGER NOT NULL,
  cgroups INTEGER NOT NULL,        -- readings in `packed` (Prune counts them)
  packed BLOB NOT NULL,            -- the tick's cgroup readings in agent order (cgroup_pack.h)
  PRIMARY KEY(node_id, wall_ns)
) WITHOUT ROWID;
INSERT INTO cgroup_ticks(node_id, wall_ns, cgroups, packed)
  SELECT node_id, wall_ns, count(*), jostle_pack_cgroups(ord, series_id, present, cpu_usage_us,
    cpu_periods, cpu_throttled_periods, cpu_throttled_us, cpu_limit_cores, mem_usage_bytes,
    mem_working_set_bytes, mem_limit_bytes, oom_kills, psi_cpu_some_us, psi_cpu_full_us,
    psi_memory_some_us, psi_memory_full_us, psi_io_some_us, psi_io_full_us, net_interface,
    net_rx_bytes, net_rx_packets, net_rx_errors, net_rx_drops, net_tx_bytes, net_tx_packets,
    net_tx_errors, net_tx_drops, net_speed_mbps)
  FROM cgroup_samples GROUP BY node_id, wall_ns;
DROP TABLE cgroup_samples;
DROP INDEX series_by_pod;
DROP INDEX series_by_time;
CREATE INDEX series_by_pod ON series(namespace, pod);
)sql";

// Run identity (DESIGN.md "HTTP API", the results route's commit, branch, ... parameters): per
// run its commit, branch, default branch, pull request and CI; per upload (a job) its shard,
// the CI's attempt number, its page and the test command's exit code. runs keeps the span of
// its tests (first start, last end) for time filters and durations, filled here from the
// executions already stored.
constexpr std::string_view kRunIdentityV4 = R"sql(
ALTER TABLE runs ADD COLUMN commit_sha TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN branch TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN default_branch TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN on_default INTEGER;  -- 1/0: on its default branch; NULL: unknown
ALTER TABLE runs ADD COLUMN pr TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN provider TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN first_start_ns INTEGER;  -- earliest test start; NULL: none known
ALTER TABLE runs ADD COLUMN last_end_ns INTEGER;     -- latest test start + duration
UPDATE runs SET
  first_start_ns = (SELECT min(start_ns) FROM executions e WHERE e.run_id = runs.id),
  last_end_ns = (SELECT max(start_ns + CAST(duration_s * 1e9 AS INTEGER)) FROM executions e
                 WHERE e.run_id = runs.id AND start_ns IS NOT NULL);
CREATE INDEX runs_by_branch ON runs(branch, last_upload_ns);
CREATE INDEX runs_by_commit ON runs(commit_sha);
CREATE INDEX runs_by_start ON runs(coalesce(first_start_ns, first_upload_ns));
ALTER TABLE uploads ADD COLUMN shard_index INTEGER;  -- 1-based, NULL when not sharded
ALTER TABLE uploads ADD COLUMN shard_total INTEGER;
ALTER TABLE uploads ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;  -- the CI's retry number
ALTER TABLE uploads ADD COLUMN url TEXT NOT NULL DEFAULT '';
ALTER TABLE uploads ADD COLUMN exit_code INTEGER;  -- the test command's, where known
CREATE INDEX uploads_by_job ON uploads(job, run_id);
)sql";

// One test id whatever format reported a test (jostle/results.h PytestNodeId): executions
// uploaded as pytest's JUnit get pytest's node id, as report-logs name them. Where a run's
// job now has the same test from several uploads (a report-log and the JUnit file of one
// session), their attempts are numbered again in upload order, as if uploaded today, and the
// last is the final one.
constexpr std::string_view kPytestNodeIdsV5 = R"sql(
DROP INDEX executions_by_run;
UPDATE executions SET test_id = jostle_pytest_node_id(classname, name, file)
  WHERE upload_id IN (SELECT id FROM uploads WHERE format = 'junit' AND producer = 'pytest');
UPDATE executions SET attempt = n.a, final = (n.a = n.c - 1)
  FROM (SELECT id, row_number() OVER w - 1 AS a,
               count(*) OVER (PARTITION BY run_id, job, test_id) AS c
        FROM executions
        WINDOW w AS (PARTITION BY run_id, job, test_id ORDER BY upload_id, attempt, id)) n
  WHERE n.id = executions.id AND (executions.attempt <> n.a OR executions.final <> (n.a = n.c - 1));
CREATE UNIQUE INDEX executions_by_run ON executions(run_id, job, test_id, attempt);
)sql";

// Idempotent uploads (DESIGN.md "HTTP API"): an upload is identified by its run, job, shard,
// the CI's attempt and the SHA-256 of the file ("sha256:<64 hex digits>"). Uploads stored
// before this version have no digest ('') and are never taken for a replay.
constexpr std::string_view kUploadDigestV6 = R"sql(
ALTER TABLE uploads ADD COLUMN digest TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX uploads_by_content ON uploads(run_id, job, coalesce(shard_index, 0),
  coalesce(shard_total, 0), attempt, digest) WHERE digest <> '';
)sql";

// Verdicts as of their run: a run's judgement, decided once its results and samples are in
// and rendered by later reads. One row per judged run and one per judged failure (failed
// tests, then flaky ones, in report order), so a report can be read page by page.
constexpr std::string_view kJudgementsV7 = R"sql(
CREATE TABLE judgements(
  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  judged_ns INTEGER NOT NULL,         -- collector wall clock when it was decided
  last_upload_ns INTEGER NOT NULL,    -- the run's last upload then; a later one makes it stale
  failures INTEGER NOT NULL           -- rows in judged_failures
);
CREATE TABLE judged_failures(
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  ord INTEGER NOT NULL,               -- 0-based, report order
  kind TEXT NOT NULL,                 -- "failure" or "flaky"
  job TEXT NOT NULL,
  test_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,           -- the judged attempt (0-based)
  verdict TEXT NOT NULL,              -- "contention", "contention-possible", ...
  reason TEXT NOT NULL,               -- why no-data; '' otherwise
  failed_contended INTEGER NOT NULL,  -- evidence: the history's counts
  passed_contended INTEGER NOT NULL,
  failed_clear INTEGER NOT NULL,
  passed_clear INTEGER NOT NULL,
  no_data INTEGER NOT NULL,
  rerun_passed INTEGER NOT NULL,
  rate_contended REAL,
  rate_clear REAL,
  fisher_p REAL,
  PRIMARY KEY(run_id, ord)
) WITHOUT ROWID;
)sql";

constexpr Migration kMigrations[] = {
    {1, kSamplesV1},       {2, kResultsV2},      {3, kPackedCgroupsV3}, {4, kRunIdentityV4},
    {5, kPytestNodeIdsV5}, {6, kUploadDigestV6}, {7, kJudgementsV7},
};

// v1 cgroup_samples present bits (kPackedCgroupsV3 reads them).
constexpr int64_t kV1PsiCpu = 1, kV1PsiMemory = 2, kV1PsiIo = 4, kV1Net = 8;

// jostle_pack_cgroups(ord, series_id, present, <26 v1 counter columns>): aggregate packing
// one tick's cgroup_samples rows, sorted by ord, into a cgroup_ticks.packed blob.
struct PackRow {
  int64_t ord = 0;
  int64_t series_id = 0;
  CgroupCounters counters;
};
constexpr int kPackArgs = 28;

std::optional<uint64_t> OptValue(sqlite3_value* v) {
  if (sqlite3_value_type(v) == SQLITE_NULL) return std::nullopt;
  return static_cast<uint64_t>(sqlite3_value_int64(v));
}

void PackStep(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto** rows = static_cast<std::vector<PackRow>**>(
      sqlite3_aggregate_context(ctx, sizeof(std::vector<PackRow>*)));
  if (rows == nullptr || argc != kPackArgs) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (*rows == nullptr) *rows = new std::vector<PackRow>();
  PackRow r;
  r.ord = sqlite3_value_int64(argv[0]);
  r.series_id = sqlite3_value_int64(argv[1]);
  const int64_t present = sqlite3_value_int64(argv[2]);
  CgroupCounters& c = r.counters;
  c.cpu_usage_us = OptValue(argv[3]);
  c.cpu_periods = OptValue(argv[4]);
  c.cpu_throttled_periods = OptValue(argv[5]);
  c.cpu_throttled_us = OptValue(argv[6]);
  if (sqlite3_value_type(argv[7]) != SQLITE_NULL) c.cpu_limit_cores = sqlite3_value_double(argv[7]);
  c.mem_usage_bytes = OptValue(argv[8]);
  c.mem_working_set_bytes = OptValue(argv[9]);
  c.mem_limit_bytes = OptValue(argv[10]);
  c.oom_kills = OptValue(argv[11]);
  auto psi = [&](std::optional<PsiTotals>& p, int64_t bit, int arg) {
    if ((present & bit) != 0) p = PsiTotals{OptValue(argv[arg]), OptValue(argv[arg + 1])};
  };
  psi(c.psi_cpu, kV1PsiCpu, 12);
  psi(c.psi_memory, kV1PsiMemory, 14);
  psi(c.psi_io, kV1PsiIo, 16);
  if ((present & kV1Net) != 0) {
    NetCounters& n = c.net.emplace();
    const unsigned char* text = sqlite3_value_text(argv[18]);
    if (text != nullptr) {
      n.interface.assign(reinterpret_cast<const char*>(text),
                         static_cast<size_t>(sqlite3_value_bytes(argv[18])));
    }
    uint64_t* fields[] = {&n.rx_bytes, &n.rx_packets, &n.rx_errors, &n.rx_drops,
                          &n.tx_bytes, &n.tx_packets, &n.tx_errors, &n.tx_drops};
    for (int k = 0; k < 8; ++k)
      *fields[k] = static_cast<uint64_t>(sqlite3_value_int64(argv[19 + k]));
    if (sqlite3_value_type(argv[27]) != SQLITE_NULL) n.speed_mbps = sqlite3_value_int64(argv[27]);
  }
  (*rows)->push_back(std::move(r));
}

void PackFinal(sqlite3_context* ctx) {
  auto** rows = static_cast<std::vector<PackRow>**>(sqlite3_aggregate_context(ctx, 0));
  std::unique_ptr<std::vector<PackRow>> owned(rows != nullptr ? *rows : nullptr);
  pack::TickPacker packer;
  if (owned) {
    std::stable_sort(owned->begin(), owned->end(),
                     [](const PackRow& a, const PackRow& b) { return a.ord < b.ord; });
    for (const PackRow& r : *owned) packer.Add(r.series_id, r.counters);
  }
  std::string blob;
  packer.Finish(blob);
  sqlite3_result_blob64(ctx, blob.data(), blob.size(), SQLITE_TRANSIENT);
}

std::string_view TextArg(sqlite3_value* v) {
  const unsigned char* text = sqlite3_value_text(v);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_value_bytes(v))};
}

// jostle_pytest_node_id(classname, name, file): PytestNodeId.
void PytestNodeIdFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 3) {
    sqlite3_result_error(ctx, "jostle_pytest_node_id takes 3 arguments", -1);
    return;
  }
  const std::string id = PytestNodeId(TextArg(argv[0]), TextArg(argv[1]), TextArg(argv[2]));
  sqlite3_result_text64(ctx, id.data(), id.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

}  // namespace

std::span<const Migration> SchemaMigrations() { return kMigrations; }

int CurrentSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Status Migrate(Connection& conn, std::span<const Migration> migrations) {
  const int rc =
      sqlite3_create_function_v2(conn.handle(), "jostle_pack_cgroups", kPackArgs, SQLITE_UTF8,
                                 nullptr, nullptr, PackStep, PackFinal, nullptr);
  if (rc != SQLITE_OK) return sqlite::FromSqlite(rc, conn.handle(), "register jostle_pack_cgroups");
  const int id_rc = sqlite3_create_function_v2(conn.handle(), "jostle_pytest_node_id", 3,
                                               SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                               PytestNodeIdFunction, nullptr, nullptr, nullptr);
  if (id_rc != SQLITE_OK) {
    return sqlite::FromSqlite(id_rc, conn.handle(), "register jostle_pytest_node_id");
  }
  int latest = migrations.empty() ? 0 : migrations.back().version;
  Result<int64_t> current = conn.QueryInt("PRAGMA user_version");
  if (!current.ok()) return current.status();
  if (*current == latest) return Status::Ok();
  for (const Migration& m : migrations) {
    // Each step re-reads user_version inside its write transaction, so two processes
    // opening the same file at once do not apply a step twice.
    Result<Transaction> txn = Transaction::Begin(conn, /*immediate=*/true);
    if (!txn.ok()) return txn.status().WithContext("schema migration");
    Result<int64_t> version = conn.QueryInt("PRAGMA user_version");
    if (!version.ok()) return version.status();
    if (*version > latest) {
      return Status::Unsupported(
          "database schema version " + std::to_string(*version) +
          " is newer than this jostle supports (" + std::to_string(latest) +
          "); it was written by a newer jostle: upgrade, or use another database file");
    }
    if (*version >= m.version) continue;
    Status st = conn.Exec(m.sql);
    if (!st.ok()) {
      return st.WithContext("schema migration to version " + std::to_string(m.version));
    }
    JOSTLE_RETURN_IF_ERROR(conn.Exec("PRAGMA user_version = " + std::to_string(m.version)));
    JOSTLE_RETURN_IF_ERROR(txn->Commit());
  }
  if (*current > latest) {
    return Status::Unsupported("database schema version " + std::to_string(*current) +
                               " is newer than this jostle supports (" + std::to_string(latest) +
                               ")");
  }
  return Status::Ok();
}

}  // namespace jostle::collector::sqlite
