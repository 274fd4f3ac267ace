#include "collector/store/schema.h"

#include <string>

namespace jostle::collector::sqlite {
namespace {

// Samples. Sample tables have no foreign keys (checked per row, they would slow ingest);
// node ids and series ids are written only by SqliteStore::PutBatch.
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

constexpr Migration kMigrations[] = {
    {1, kSamplesV1},
    {2, kResultsV2},
};

}  // namespace

std::span<const Migration> SchemaMigrations() { return kMigrations; }

int CurrentSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Status Migrate(Connection& conn, std::span<const Migration> migrations) {
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
