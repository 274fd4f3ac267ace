// The store's schema as an ordered list of migrations. The database's PRAGMA user_version is
// the number of migrations applied; opening applies the missing ones, each in its own
// transaction together with the user_version bump, and refuses a database whose
// user_version is higher than this build knows (written by a newer jostle).
#pragma once

#include <span>
#include <string_view>

#include "collector/store/sqlite_db.h"
#include "jostle/status.h"

namespace jostle::collector::sqlite {

struct Migration {
  int version;           // user_version after this step (1, 2, ...)
  std::string_view sql;  // one or more statements
};

// Range reads of one node's samples (?1 node id, ?2 from_ns, ?3 to_ns, both inclusive). They
// must stay range scans of the tables' primary keys (checked with EXPLAIN QUERY PLAN).
inline constexpr std::string_view kNodeSamplesRangeSql =
    "SELECT wall_ns, mono_ns, present, cpu_busy_us, cpu_total_us, cpus, mem_total_bytes, "
    "mem_available_bytes, psi_cpu_some_us, psi_cpu_full_us, psi_memory_some_us, "
    "psi_memory_full_us, psi_io_some_us, psi_io_full_us, tcp_out_segs, tcp_retrans_segs, "
    "load1, load5, load15, net FROM node_samples "
    "WHERE node_id = ?1 AND wall_ns BETWEEN ?2 AND ?3 ORDER BY wall_ns";
// Packed cgroup readings of each tick (cgroup_pack.h), same bindings.
inline constexpr std::string_view kCgroupTicksRangeSql =
    "SELECT wall_ns, packed FROM cgroup_ticks "
    "WHERE node_id = ?1 AND wall_ns BETWEEN ?2 AND ?3 ORDER BY wall_ns";
// Widens the [first_wall_ns, last_wall_ns] span of the series with ids ?1 to ?4 (inclusive)
// to cover [?2, ?3]: one statement per run of consecutive series ids of a stored batch. Must
// stay a range scan of the rowid.
inline constexpr std::string_view kSeriesSpanRangeSql =
    "UPDATE series SET first_wall_ns = min(first_wall_ns, ?2), "
    "last_wall_ns = max(last_wall_ns, ?3) WHERE id BETWEEN ?1 AND ?4";
// The series of pod ?1/?2 with their node and time span (NodeOfPod).
inline constexpr std::string_view kPodSeriesSql =
    "SELECT n.name, s.first_wall_ns, s.last_wall_ns, s.scope FROM series s "
    "JOIN nodes n ON n.id = s.node_id WHERE s.namespace = ?1 AND s.pod = ?2";

// Every migration of this build, in order; the last one's version is the current schema.
std::span<const Migration> SchemaMigrations();
int CurrentSchemaVersion();

// Applies migrations[k] for every k whose version exceeds the database's user_version.
// Registers the SQL functions the migrations use (jostle_pack_cgroups, jostle_pytest_node_id)
// on `conn` first.
// Unsupported when the database's user_version exceeds the last migration's version.
Status Migrate(Connection& conn, std::span<const Migration> migrations);

}  // namespace jostle::collector::sqlite
