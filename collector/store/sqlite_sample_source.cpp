// SQLite SampleSource: agent samples in the store's database (sqlite::SqliteDb).
//
// Group commit: PutBatch calls that arrive while a commit is in progress queue up, and the
// next commit stores all of them in one write transaction (one fsync with durable commits).
// The group is first stored without savepoints; if one of its batches fails, that transaction
// is rolled back and the group is stored again with each batch inside its own SAVEPOINT, where
// a batch that fails is rolled back to its savepoint alone and its caller gets the error; the
// others stay in the group. Every caller returns only after the COMMIT that holds its batch
// succeeded; if that COMMIT fails (or SQLite drops the transaction) every batch of the group
// gets the error and none is acknowledged. A replay of a batch that is earlier in the same
// group sees its key row and is acknowledged as a replay (see bench/BENCHMARKS.md).
//
// Cgroup readings are stored packed, one cgroup_ticks row per node and tick
// (cgroup_pack.h): one B-tree insert per tick instead of one per cgroup. The writer caches
// series ids per node by cgroup id and by position in the tick, and compares each reading's
// identity with the cached one, so a steady stream of ticks costs no series lookups in SQLite;
// each batch widens the [first, last] span of its series with one UPDATE per run of
// consecutive series ids.
//
// Threads: the writer and the node and series id caches are guarded by the database's
// write_mu(). Prune takes it once per chunk of kPruneChunkRows rows so ingest is never held
// up by more than one chunk. Any thread may call any method.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "collector/store/cgroup_pack.h"
#include "collector/store/schema.h"
#include "collector/store/sqlite_db.h"
#include "collector/store/sqlite_roles.h"
#include "jostle/wire.h"

namespace jostle::collector {
namespace {

using sqlite::Connection;
using sqlite::NowNs;
using sqlite::SqliteDb;
using sqlite::Statement;
using sqlite::Transaction;
using ReadLease = SqliteDb::ReadLease;

// Rows deleted per Prune step (each step is one short write transaction).
constexpr int kPruneChunkRows = 5000;
// cgroup_ticks deleted per Prune step: a tick holds all cgroups of a node (often 50-500).
constexpr int kPruneChunkTicks = 50;
// Series identities kept in memory per store; the cache is dropped before the next batch
// once it has grown past this.
constexpr size_t kMaxCachedSeries = 200000;

constexpr int kPsiCpuBit = 1;
constexpr int kPsiMemoryBit = 2;
constexpr int kPsiIoBit = 4;

Scope ParseScope(std::string_view s) {
  if (s == "pod") return Scope::kPod;
  if (s == "container") return Scope::kContainer;
  return Scope::kCgroup;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
}

template <typename T>
void AppendNumber(std::string& out, T v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Compact JSON of a node's interfaces (see the node_samples comment in schema.cpp), into
// `out` (replaced).
void EncodeNet(const std::vector<NetCounters>& net, std::string& out) {
  out.assign(1, '[');
  for (size_t i = 0; i < net.size(); ++i) {
    const NetCounters& n = net[i];
    if (i > 0) out += ',';
    out += '[';
    AppendJsonString(out, n.interface);
    for (uint64_t v : {n.rx_bytes, n.rx_packets, n.rx_errors, n.rx_drops, n.tx_bytes, n.tx_packets,
                       n.tx_errors, n.tx_drops}) {
      out += ',';
      AppendNumber(out, v);
    }
    out += ',';
    if (n.speed_mbps) {
      AppendNumber(out, *n.speed_mbps);
    } else {
      out += "null";
    }
    out += ']';
  }
  out += ']';
}

Result<std::vector<NetCounters>> DecodeNet(std::string_view text) {
  std::vector<NetCounters> out;
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    for (const auto& row : j) {
      if (!row.is_array() || row.size() != 10) {
        return Status::Internal("node_samples.net: malformed interface row " + row.dump());
      }
      NetCounters n;
      n.interface = row[0].get<std::string>();
      uint64_t* fields[] = {&n.rx_bytes, &n.rx_packets, &n.rx_errors, &n.rx_drops,
                            &n.tx_bytes, &n.tx_packets, &n.tx_errors, &n.tx_drops};
      for (size_t k = 0; k < 8; ++k) *fields[k] = row[k + 1].get<uint64_t>();
      if (!row[9].is_null()) n.speed_mbps = row[9].get<int64_t>();
      out.push_back(std::move(n));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Internal(std::string("node_samples.net: ") + e.what());
  }
  return out;
}

// JSON object of `m` into `out` (replaced); "" when `m` is empty.
void EncodeStringMap(const std::map<std::string, std::string>& m, std::string& out) {
  out.clear();
  if (m.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, k);
    out += ':';
    AppendJsonString(out, v);
  }
  out += '}';
}

std::string EncodeStringMap(const std::map<std::string, std::string>& m) {
  std::string out;
  EncodeStringMap(m, out);
  return out;
}

Result<std::map<std::string, std::string>> DecodeStringMap(std::string_view text,
                                                           std::string_view what) {
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    for (const auto& [k, v] : j.items()) out[k] = v.get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Internal(std::string(what) + ": " + e.what());
  }
  return out;
}

void BindPsi(Statement& s, int i, const std::optional<PsiTotals>& p) {
  if (p) {
    s.Bind(i, p->some_us);
    s.Bind(i + 1, p->full_us);
  } else {
    s.BindNull(i);
    s.BindNull(i + 1);
  }
}

std::optional<PsiTotals> ReadPsi(const Statement& s, int col, int present, int bit) {
  if ((present & bit) == 0) return std::nullopt;
  return PsiTotals{s.OptUInt64(col), s.OptUInt64(col + 1)};
}

// The identity part of a cgroup series (everything but the metrics): a series row.
struct SeriesIdentity {
  CgroupIdentity cgroup;
  bool host_network = false;
};

bool SameIdentity(const SeriesIdentity& a, const CgroupSample& c) {
  return a.cgroup == static_cast<const CgroupIdentity&>(c) && a.host_network == c.host_network;
}

// A series row the writer stored or found, with what PutBatchLocked notes about it per batch.
struct CachedSeries {
  SeriesIdentity identity;
  int64_t id = 0;
  Scope scope = Scope::kCgroup;
  uint64_t batch = 0;  // the last batch (SqliteSampleSource::batch_number_) with a reading of it
  uint32_t span = 0;   // in that batch, the index of its SeriesSpan
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
// Per Scope: CgroupSample::id -> the series row last used for it.
using SeriesMap = std::unordered_map<std::string, CachedSeries, StringHash, std::equal_to<>>;
using CachedEntry = SeriesMap::value_type;

// The series cache of one node.
struct NodeSeries {
  std::array<SeriesMap, 3> by_scope;
  // The entry each position of the node's last tick resolved to. An agent lists its cgroups
  // in the same order tick after tick, so a reading is checked against the entry at its
  // position first (id and identity compared) and the hash lookup is skipped. Points into
  // by_scope; cleared whenever an entry of by_scope is erased.
  std::vector<CachedEntry*> by_position;
};
using NodeSeriesCache = std::unordered_map<int64_t, NodeSeries>;

// The ticks of one series in one batch: [first, last] wall_ns.
struct SeriesSpan {
  int64_t id = 0;
  int64_t first = 0;
  int64_t last = 0;
};

// Cache entries added inside a write transaction, dropped again when it rolls back.
struct CacheUndo {
  std::vector<std::string> nodes;
  std::vector<std::tuple<int64_t, int, std::string>> series;
};

class SqliteSampleSource final : public SampleSource {
 public:
  explicit SqliteSampleSource(std::shared_ptr<SqliteDb> db)
      : db_(std::move(db)), write_mu_(db_->write_mu()), writer_(&db_->writer()) {}

  Result<bool> PutBatch(const SampleBatch& batch) override;
  size_t BatchesInFlight() override;
  Result<std::vector<Sample>> Samples(std::string_view node, int64_t from_ns,
                                      int64_t to_ns) override;
  Result<SampleFrame> SampleCounters(std::string_view node,
                                     const std::vector<std::pair<int64_t, int64_t>>& ranges,
                                     const FrameRead& read) override;
  Result<PodPlacement> PlacementOfPod(std::string_view ns, std::string_view pod) override;
  Result<std::map<std::string, int64_t>> LatestSampleTimes() override;
  Result<int64_t> Prune(int64_t before_ns) override;

 private:
  Result<ReadLease> Reader() { return db_->Reader(); }
  // One PutBatch caller waiting for the group commit that contains its batch.
  struct GroupEntry {
    const SampleBatch* batch;
    std::optional<Result<bool>> result;  // set by the leader before done
    bool done;                           // guarded by group_mu_
  };
  // Stores the group's batches in one write transaction and sets every entry's result:
  // true/false (stored/replay) only when the commit succeeded. First without savepoints;
  // when a batch of a larger group fails, again with one savepoint per batch.
  void CommitGroupLocked(const std::vector<GroupEntry*>& group);
  // One attempt of CommitGroupLocked. Returns false, with nothing stored, no result set and
  // the caches as before, when a batch failed without savepoints in a group of several.
  bool TryCommitGroupLocked(const std::vector<GroupEntry*>& group, bool savepoints);
  // Inserts one batch inside the caller's transaction.
  Result<bool> PutBatchLocked(const SampleBatch& batch, CacheUndo& undo);
  Result<int64_t> NodeIdLocked(const std::string& name, CacheUndo& undo);
  // The cached series of reading `c` at `position` in its tick of node `node_id`, stored
  // first when new.
  Result<CachedSeries*> SeriesLocked(int64_t node_id, NodeSeries& node, size_t position,
                                     const CgroupSample& c, int64_t wall_ns, CacheUndo& undo);
  // Widens the stored span of every series in spans_ (sorted and merged first).
  Status UpdateSeriesSpansLocked();
  void UndoCaches(const CacheUndo& undo);
  // Deletes one node's ticks of `table` older than before_ns, `chunk_ticks` ticks per step;
  // returns sample rows deleted (`rows_column` summed, or rows of the table when empty).
  Result<int64_t> PruneSamples(std::string_view table, std::string_view rows_column,
                               int64_t chunk_ticks, int64_t node_id, int64_t before_ns);

  const std::shared_ptr<SqliteDb> db_;
  std::mutex& write_mu_;                               // db_->write_mu()
  Connection* writer_;                                 // &db_->writer(), only with write_mu_ held
  std::unordered_map<std::string, int64_t> node_ids_;  // guarded by write_mu_
  NodeSeriesCache series_;                             // guarded by write_mu_
  size_t cached_series_ = 0;                           // guarded by write_mu_
  uint64_t batch_number_ = 0;                          // guarded by write_mu_
  // PutBatchLocked's buffers, reused from batch to batch; guarded by write_mu_.
  pack::TickPacker packer_;
  std::string packed_;
  std::string host_json_;
  std::string net_json_;
  std::vector<SeriesSpan> spans_;  // the series of the batch being stored

  // Group commit: PutBatch callers queue here; one of them (the leader) takes the queue and
  // commits it under write_mu_ while later callers queue for the next group.
  std::mutex group_mu_;
  std::condition_variable group_cv_;
  std::vector<GroupEntry*> group_queue_;  // guarded by group_mu_
  bool group_leader_ = false;             // guarded by group_mu_
  size_t in_flight_ = 0;                  // guarded by group_mu_: PutBatch calls running
};

// ---------------------------------------------------------------------------------------
// Samples

size_t SqliteSampleSource::BatchesInFlight() {
  std::lock_guard<std::mutex> lock(group_mu_);
  return in_flight_;
}

Result<bool> SqliteSampleSource::PutBatch(const SampleBatch& batch) {
  if (batch.node.empty()) return Status::InvalidArgument("sample batch has no node name");
  GroupEntry me{&batch, std::nullopt, false};
  std::unique_lock<std::mutex> lock(group_mu_);
  group_queue_.push_back(&me);
  ++in_flight_;
  for (;;) {
    if (me.done) {
      --in_flight_;
      return std::move(*me.result);
    }
    if (group_leader_) {
      group_cv_.wait(lock);
      continue;
    }
    // Lead: commit every batch queued so far (this one included) in one transaction.
    group_leader_ = true;
    std::vector<GroupEntry*> group;
    group.swap(group_queue_);
    lock.unlock();
    {
      std::lock_guard<std::mutex> write(write_mu_);
      CommitGroupLocked(group);
    }
    lock.lock();
    group_leader_ = false;
    for (GroupEntry* e : group) e->done = true;
    group_cv_.notify_all();
  }
}

void SqliteSampleSource::CommitGroupLocked(const std::vector<GroupEntry*>& group) {
  // Savepoints cost every batch a copy of each page it changes (the statement journal) and
  // two statements, and almost no batch fails: try the group without them first.
  if (!TryCommitGroupLocked(group, /*savepoints=*/false)) {
    TryCommitGroupLocked(group, /*savepoints=*/true);  // settles every entry
  }
}

bool SqliteSampleSource::TryCommitGroupLocked(const std::vector<GroupEntry*>& group,
                                              bool savepoints) {
  auto fail = [](GroupEntry* e, const Status& st) { e->result = Result<bool>(st); };
  Result<Transaction> txn = Transaction::Begin(*writer_, /*immediate=*/true);
  if (!txn.ok()) {
    for (GroupEntry* e : group) fail(e, txn.status());
    return true;
  }
  // A group of one needs no savepoint: its failure rolls back the transaction.
  savepoints = savepoints && group.size() > 1;
  CacheUndo kept;  // cache entries of the batches still in the transaction
  for (size_t i = 0; i < group.size(); ++i) {
    GroupEntry* e = group[i];
    Status st = Status::Ok();
    if (savepoints) {
      Result<Statement> begin = writer_->Prepare("SAVEPOINT batch");
      st = begin.ok() ? begin->Run() : begin.status();
    }
    CacheUndo undo;
    Result<bool> stored = st.ok() ? PutBatchLocked(*e->batch, undo) : Result<bool>(st);
    if (stored.ok()) {
      if (savepoints) {
        Result<Statement> release = writer_->Prepare("RELEASE batch");
        st = release.ok() ? release->Run() : release.status();
      }
      if (st.ok()) {
        e->result = std::move(stored);
        kept.nodes.insert(kept.nodes.end(), undo.nodes.begin(), undo.nodes.end());
        kept.series.insert(kept.series.end(), undo.series.begin(), undo.series.end());
        continue;
      }
      stored = Result<bool>(st);
    }
    // This batch failed.
    UndoCaches(undo);
    if (!savepoints && group.size() > 1) {
      // It cannot be undone alone: drop the transaction (txn rolls back) and let the caller
      // store the group again, each batch in its own savepoint.
      UndoCaches(kept);
      for (GroupEntry* g : group) g->result.reset();
      return false;
    }
    fail(e, stored.status());
    if (savepoints && writer_->InTransaction() &&
        writer_->Exec("ROLLBACK TO batch; RELEASE batch").ok()) {
      continue;
    }
    // The whole transaction is gone (SQLite rolled it back): no batch of the group is stored.
    UndoCaches(kept);
    const Status lost = stored.status().WithContext("group commit rolled back");
    for (size_t k = 0; k < group.size(); ++k) {
      if (k != i) fail(group[k], lost);
    }
    return true;
  }
  Status committed = txn->Commit();
  if (!committed.ok()) {
    UndoCaches(kept);
    for (GroupEntry* e : group) {
      if (e->result->ok()) fail(e, committed);
    }
  }
  return true;
}

void SqliteSampleSource::UndoCaches(const CacheUndo& undo) {
  for (const std::string& n : undo.nodes) node_ids_.erase(n);
  for (const auto& [node_id, scope, id] : undo.series) {
    auto it = series_.find(node_id);
    if (it == series_.end()) continue;
    it->second.by_position.clear();
    if (it->second.by_scope[scope].erase(id) > 0) --cached_series_;
  }
}

Result<int64_t> SqliteSampleSource::NodeIdLocked(const std::string& name, CacheUndo& undo) {
  auto it = node_ids_.find(name);
  if (it != node_ids_.end()) return it->second;
  STORE_ASSIGN_OR_RETURN(Statement find, writer_->Prepare("SELECT id FROM nodes WHERE name = ?1"));
  find.Bind(1, name);
  STORE_ASSIGN_OR_RETURN(bool found, find.Step());
  int64_t id = 0;
  if (found) {
    id = find.Int64(0);
  } else {
    STORE_ASSIGN_OR_RETURN(Statement ins, writer_->Prepare("INSERT INTO nodes(name) VALUES(?1)"));
    ins.Bind(1, name);
    JOSTLE_RETURN_IF_ERROR(ins.Run());
    id = writer_->LastInsertRowid();
  }
  node_ids_.emplace(name, id);
  undo.nodes.push_back(name);
  return id;
}

Result<CachedSeries*> SqliteSampleSource::SeriesLocked(int64_t node_id, NodeSeries& node,
                                                       size_t position, const CgroupSample& c,
                                                       int64_t wall_ns, CacheUndo& undo) {
  if (position < node.by_position.size()) {
    CachedEntry* at = node.by_position[position];
    if (at != nullptr && at->second.scope == c.scope && at->first == c.id &&
        SameIdentity(at->second.identity, c)) {
      return &at->second;
    }
  } else {
    node.by_position.resize(position + 1, nullptr);
  }
  const int scope = static_cast<int>(c.scope);
  SeriesMap& map = node.by_scope[scope];
  auto it = map.find(std::string_view(c.id));
  if (it == map.end() || !SameIdentity(it->second.identity, c)) {
    const std::string labels = EncodeStringMap(c.labels);
    STORE_ASSIGN_OR_RETURN(
        Statement find,
        writer_->Prepare("SELECT id FROM series WHERE node_id = ?1 AND scope = ?2 AND sid = ?3 "
                         "AND path = ?4 AND pod_uid = ?5 AND container_id = ?6 AND namespace = ?7 "
                         "AND pod = ?8 AND container = ?9 AND qos = ?10 AND labels = ?11 "
                         "AND host_network = ?12"));
    auto bind_identity = [&](Statement& s) {
      s.Bind(1, node_id);
      s.Bind(2, ScopeName(c.scope));
      s.Bind(3, c.id);
      s.Bind(4, c.path);
      s.Bind(5, c.pod_uid);
      s.Bind(6, c.container_id);
      s.Bind(7, c.namespace_name);
      s.Bind(8, c.pod_name);
      s.Bind(9, c.container_name);
      s.Bind(10, c.qos);
      s.Bind(11, labels);
      s.Bind(12, c.host_network);
    };
    bind_identity(find);
    STORE_ASSIGN_OR_RETURN(bool found, find.Step());
    int64_t id = 0;
    if (found) {
      id = find.Int64(0);
    } else {
      STORE_ASSIGN_OR_RETURN(
          Statement ins,
          writer_->Prepare("INSERT INTO series(node_id, scope, sid, path, pod_uid, container_id, "
                           "namespace, pod, container, qos, labels, host_network, first_wall_ns, "
                           "last_wall_ns) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                           "?12, ?13, ?13)"));
      bind_identity(ins);
      ins.Bind(13, wall_ns);
      JOSTLE_RETURN_IF_ERROR(ins.Run());
      id = writer_->LastInsertRowid();
    }
    CachedSeries entry{SeriesIdentity{c, c.host_network}, id, c.scope};
    auto [pos, inserted] = map.insert_or_assign(c.id, std::move(entry));
    if (inserted) ++cached_series_;
    undo.series.emplace_back(node_id, scope, c.id);
    it = pos;
  }
  node.by_position[position] = &*it;
  return &it->second;
}

Status SqliteSampleSource::UpdateSeriesSpansLocked() {
  if (spans_.empty()) return Status::Ok();
  std::sort(spans_.begin(), spans_.end(),
            [](const SeriesSpan& a, const SeriesSpan& b) { return a.id < b.id; });
  // A series read under two identities in turn within the batch was noted twice.
  size_t n = 0;
  for (const SeriesSpan& s : spans_) {
    if (n > 0 && spans_[n - 1].id == s.id) {
      spans_[n - 1].first = std::min(spans_[n - 1].first, s.first);
      spans_[n - 1].last = std::max(spans_[n - 1].last, s.last);
    } else {
      spans_[n++] = s;
    }
  }
  spans_.resize(n);
  STORE_ASSIGN_OR_RETURN(
      Statement one, writer_->Prepare("UPDATE series SET first_wall_ns = min(first_wall_ns, ?2), "
                                      "last_wall_ns = max(last_wall_ns, ?3) WHERE id = ?1"));
  STORE_ASSIGN_OR_RETURN(Statement range, writer_->Prepare(sqlite::kSeriesSpanRangeSql));
  // Series created together have consecutive ids and usually the same span: one statement
  // per run of consecutive ids with one span. Every id of a run is a series of this batch.
  for (size_t i = 0; i < n;) {
    size_t end = i + 1;
    while (end < n && spans_[end].id == spans_[end - 1].id + 1 &&
           spans_[end].first == spans_[i].first && spans_[end].last == spans_[i].last) {
      ++end;
    }
    Statement& upd = end - i == 1 ? one : range;
    upd.Reset();
    upd.Bind(1, spans_[i].id);
    upd.Bind(2, spans_[i].first);
    upd.Bind(3, spans_[i].last);
    if (end - i > 1) upd.Bind(4, spans_[end - 1].id);
    JOSTLE_RETURN_IF_ERROR(upd.Run());
    i = end;
  }
  return Status::Ok();
}

Result<bool> SqliteSampleSource::PutBatchLocked(const SampleBatch& batch, CacheUndo& undo) {
  STORE_ASSIGN_OR_RETURN(int64_t node_id, NodeIdLocked(batch.node, undo));

  int64_t first_wall = std::numeric_limits<int64_t>::max();
  int64_t last_wall = std::numeric_limits<int64_t>::min();
  for (const Sample& s : batch.samples) {
    first_wall = std::min(first_wall, s.wall_ns);
    last_wall = std::max(last_wall, s.wall_ns);
  }
  const bool any = !batch.samples.empty();
  const int64_t now = NowNs();

  {
    STORE_ASSIGN_OR_RETURN(
        Statement ins,
        writer_->Prepare("INSERT OR IGNORE INTO batches(node_id, boot_id, agent_start_ns, seq, "
                         "wire_version, agent_version, interval_ns, host, samples, first_wall_ns, "
                         "last_wall_ns, received_ns) "
                         "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
    EncodeStringMap(batch.host, host_json_);
    ins.Bind(1, node_id);
    ins.Bind(2, batch.boot_id);
    ins.Bind(3, batch.agent_start_ns);
    ins.Bind(4, batch.seq);
    ins.Bind(5, batch.wire_version);
    ins.Bind(6, batch.agent_version);
    ins.Bind(7, batch.interval_ns);
    ins.Bind(8, host_json_);
    ins.Bind(9, static_cast<int64_t>(batch.samples.size()));
    if (any) {
      ins.Bind(10, first_wall);
      ins.Bind(11, last_wall);
    } else {
      ins.BindNull(10);
      ins.BindNull(11);
    }
    ins.Bind(12, now);
    JOSTLE_RETURN_IF_ERROR(ins.Run());
    if (writer_->Changes() == 0) {
      // A replay (also of a batch earlier in the same group): nothing of it is stored again.
      return false;
    }
  }

  STORE_ASSIGN_OR_RETURN(
      Statement node_ins,
      writer_->Prepare(
          "INSERT OR IGNORE INTO node_samples(node_id, wall_ns, mono_ns, boot_id, present, "
          "cpu_busy_us, cpu_total_us, cpus, mem_total_bytes, mem_available_bytes, "
          "psi_cpu_some_us, psi_cpu_full_us, psi_memory_some_us, psi_memory_full_us, "
          "psi_io_some_us, psi_io_full_us, tcp_out_segs, tcp_retrans_segs, load1, load5, "
          "load15, net) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
          "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"));
  STORE_ASSIGN_OR_RETURN(
      Statement tick_ins,
      writer_->Prepare("INSERT OR IGNORE INTO cgroup_ticks(node_id, wall_ns, cgroups, packed) "
                       "VALUES(?1, ?2, ?3, ?4)"));
  pack::TickPacker& packer = packer_;

  // The cache is dropped between batches, never within one: `node` and the entries it
  // points to stay valid for the whole batch.
  if (cached_series_ >= kMaxCachedSeries) {
    series_.clear();
    cached_series_ = 0;
  }
  NodeSeries& node = series_[node_id];
  const uint64_t batch_number = ++batch_number_;
  spans_.clear();
  for (const Sample& s : batch.samples) {
    const NodeSample& n = s.node;
    int present = (n.psi_cpu ? kPsiCpuBit : 0) | (n.psi_memory ? kPsiMemoryBit : 0) |
                  (n.psi_io ? kPsiIoBit : 0);
    EncodeNet(n.net, net_json_);
    node_ins.Bind(1, node_id);
    node_ins.Bind(2, s.wall_ns);
    node_ins.Bind(3, s.mono_ns);
    node_ins.Bind(4, batch.boot_id);
    node_ins.Bind(5, present);
    node_ins.Bind(6, n.cpu_busy_us);
    node_ins.Bind(7, n.cpu_total_us);
    node_ins.Bind(8, n.cpus);
    node_ins.Bind(9, n.mem_total_bytes);
    node_ins.Bind(10, n.mem_available_bytes);
    BindPsi(node_ins, 11, n.psi_cpu);
    BindPsi(node_ins, 13, n.psi_memory);
    BindPsi(node_ins, 15, n.psi_io);
    node_ins.Bind(17, n.tcp_out_segs);
    node_ins.Bind(18, n.tcp_retrans_segs);
    node_ins.Bind(19, n.load1);
    node_ins.Bind(20, n.load5);
    node_ins.Bind(21, n.load15);
    node_ins.Bind(22, net_json_);
    JOSTLE_RETURN_IF_ERROR(node_ins.Run());
    node_ins.Reset();

    if (s.cgroups.empty()) continue;
    packer.Clear();
    for (size_t position = 0; position < s.cgroups.size(); ++position) {
      const CgroupSample& c = s.cgroups[position];
      STORE_ASSIGN_OR_RETURN(CachedSeries * series,
                             SeriesLocked(node_id, node, position, c, s.wall_ns, undo));
      if (series->batch != batch_number) {
        series->batch = batch_number;
        series->span = static_cast<uint32_t>(spans_.size());
        spans_.push_back(SeriesSpan{series->id, s.wall_ns, s.wall_ns});
      } else {
        SeriesSpan& span = spans_[series->span];
        span.first = std::min(span.first, s.wall_ns);
        span.last = std::max(span.last, s.wall_ns);
      }
      packer.Add(series->id, c);
    }
    packer.Finish(packed_);
    tick_ins.Bind(1, node_id);
    tick_ins.Bind(2, s.wall_ns);
    tick_ins.Bind(3, static_cast<int64_t>(packer.rows()));
    tick_ins.BindBlob(4, packed_);
    JOSTLE_RETURN_IF_ERROR(tick_ins.Run());
    tick_ins.Reset();
  }

  JOSTLE_RETURN_IF_ERROR(UpdateSeriesSpansLocked());
  {
    STORE_ASSIGN_OR_RETURN(
        Statement upd,
        writer_->Prepare("UPDATE nodes SET first_wall_ns = min(coalesce(first_wall_ns, ?2), ?2), "
                         "last_wall_ns = max(coalesce(last_wall_ns, ?3), ?3), last_batch_ns = ?4 "
                         "WHERE id = ?1"));
    upd.Bind(1, node_id);
    if (any) {
      upd.Bind(2, first_wall);
      upd.Bind(3, last_wall);
    } else {
      upd.BindNull(2);
      upd.BindNull(3);
    }
    upd.Bind(4, now);
    JOSTLE_RETURN_IF_ERROR(upd.Run());
  }
  return true;
}

Result<std::vector<Sample>> SqliteSampleSource::Samples(std::string_view node, int64_t from_ns,
                                                        int64_t to_ns) {
  if (from_ns > to_ns) return std::vector<Sample>{};
  STORE_ASSIGN_OR_RETURN(SampleFrame frame, SampleCounters(node, {{from_ns, to_ns}}, FrameRead{}));
  return SamplesOfFrame(frame);
}

Result<SampleFrame> SqliteSampleSource::SampleCounters(
    std::string_view node, const std::vector<std::pair<int64_t, int64_t>>& ranges,
    const FrameRead& read) {
  JOSTLE_RETURN_IF_ERROR(CheckSampleRanges(ranges));
  SampleFrame out;
  if (ranges.empty()) return out;
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  Connection& conn = lease.conn();
  STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(conn, /*immediate=*/false));
  int64_t node_id = 0;
  {
    STORE_ASSIGN_OR_RETURN(Statement find, conn.Prepare("SELECT id FROM nodes WHERE name = ?1"));
    find.Bind(1, node);
    STORE_ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) return out;
    node_id = find.Int64(0);
  }

  // Identities of the node's series alive over the ranges, each read once.
  std::unordered_map<int64_t, uint32_t> index_of_series;
  auto load_series = [&](Statement& q) -> Status {
    for (;;) {
      STORE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return Status::Ok();
      CgroupSample c;
      c.scope = ParseScope(q.TextView(1));
      c.id = q.Text(2);
      c.path = q.Text(3);
      c.pod_uid = q.Text(4);
      c.container_id = q.Text(5);
      c.namespace_name = q.Text(6);
      c.pod_name = q.Text(7);
      c.container_name = q.Text(8);
      c.qos = q.Text(9);
      STORE_ASSIGN_OR_RETURN(c.labels, DecodeStringMap(q.TextView(10), "series.labels"));
      c.host_network = q.Int64(11) != 0;
      if (index_of_series.emplace(q.Int64(0), static_cast<uint32_t>(out.series.size())).second) {
        out.series.push_back(std::move(c));
      }
    }
  };
  constexpr std::string_view kSeriesColumns =
      "SELECT id, scope, sid, path, pod_uid, container_id, namespace, pod, container, qos, "
      "labels, host_network FROM series ";
  {
    STORE_ASSIGN_OR_RETURN(
        Statement q,
        conn.Prepare(std::string(kSeriesColumns) +
                     "WHERE node_id = ?1 AND last_wall_ns >= ?2 AND first_wall_ns <= ?3"));
    q.Bind(1, node_id);
    q.Bind(2, ranges.front().first);
    q.Bind(3, ranges.back().second);
    JOSTLE_RETURN_IF_ERROR(load_series(q));
  }

  static const std::string kFirstNodeSampleSql =
      std::string(sqlite::kNodeSamplesRangeSql) + " LIMIT 1";
  STORE_ASSIGN_OR_RETURN(Statement nodes_q, conn.Prepare(read.ticks == RangeRead::kFirstTick
                                                             ? std::string_view(kFirstNodeSampleSql)
                                                             : sqlite::kNodeSamplesRangeSql));
  const bool cpu_only = read.cgroup_fields == CgroupFields::kCpuUsage;
  STORE_ASSIGN_OR_RETURN(Statement cgroups_q, conn.Prepare(sqlite::kCgroupTicksRangeSql));
  // Series id -> frame index, remembered per position in the tick: a node's cgroups come in
  // the same order tick after tick, so most rows skip the hash lookup.
  std::vector<std::pair<int64_t, uint32_t>> by_position;
  size_t position = 0;
  auto series_index = [&](int64_t series_id) -> Result<uint32_t> {
    const size_t pos = position++;
    if (pos < by_position.size() && by_position[pos].first == series_id) {
      return by_position[pos].second;
    }
    auto it = index_of_series.find(series_id);
    if (it == index_of_series.end()) {
      // Outside the span recorded on the series row (not expected); look it up by id.
      STORE_ASSIGN_OR_RETURN(Statement one,
                             conn.Prepare(std::string(kSeriesColumns) + "WHERE id = ?1"));
      one.Bind(1, series_id);
      JOSTLE_RETURN_IF_ERROR(load_series(one));
      it = index_of_series.find(series_id);
      if (it == index_of_series.end()) {
        return Status::Internal("cgroup sample refers to missing series " +
                                std::to_string(series_id));
      }
    }
    if (pos >= by_position.size()) by_position.resize(pos + 1);
    by_position[pos] = {series_id, it->second};
    return it->second;
  };
  std::vector<uint32_t> masks;
  for (const auto& [from_ns, to_ns] : ranges) {
    const size_t first_tick = out.ticks.size();
    nodes_q.Reset();
    nodes_q.Bind(1, node_id);
    nodes_q.Bind(2, from_ns);
    nodes_q.Bind(3, to_ns);
    for (;;) {
      STORE_ASSIGN_OR_RETURN(bool row, nodes_q.Step());
      if (!row) break;
      FrameTick s;
      s.wall_ns = nodes_q.Int64(0);
      s.mono_ns = nodes_q.Int64(1);
      const int present = static_cast<int>(nodes_q.Int64(2));
      NodeSample& n = s.node;
      n.cpu_busy_us = nodes_q.OptUInt64(3);
      n.cpu_total_us = nodes_q.OptUInt64(4);
      if (!nodes_q.IsNull(5)) n.cpus = static_cast<uint32_t>(nodes_q.Int64(5));
      n.mem_total_bytes = nodes_q.OptUInt64(6);
      n.mem_available_bytes = nodes_q.OptUInt64(7);
      n.psi_cpu = ReadPsi(nodes_q, 8, present, kPsiCpuBit);
      n.psi_memory = ReadPsi(nodes_q, 10, present, kPsiMemoryBit);
      n.psi_io = ReadPsi(nodes_q, 12, present, kPsiIoBit);
      n.tcp_out_segs = nodes_q.OptUInt64(14);
      n.tcp_retrans_segs = nodes_q.OptUInt64(15);
      n.load1 = nodes_q.OptDouble(16);
      n.load5 = nodes_q.OptDouble(17);
      n.load15 = nodes_q.OptDouble(18);
      STORE_ASSIGN_OR_RETURN(n.net, DecodeNet(nodes_q.TextView(19)));
      out.ticks.push_back(std::move(s));
    }
    if (out.ticks.size() == first_tick) continue;

    cgroups_q.Reset();
    cgroups_q.Bind(1, node_id);
    cgroups_q.Bind(2, from_ns);
    cgroups_q.Bind(3, read.ticks == RangeRead::kFirstTick ? out.ticks.back().wall_ns : to_ns);
    size_t tick = first_tick;
    for (;;) {
      STORE_ASSIGN_OR_RETURN(bool row, cgroups_q.Step());
      if (!row) break;
      const int64_t wall = cgroups_q.Int64(0);
      while (tick < out.ticks.size() && out.ticks[tick].wall_ns < wall) ++tick;
      if (tick == out.ticks.size() || out.ticks[tick].wall_ns != wall) {
        return Status::Internal("cgroup sample at " + std::to_string(wall) + " of node " +
                                std::string(node) + " has no node sample");
      }
      position = 0;
      Status st = pack::UnpackTick(cgroups_q.BlobView(1), cpu_only, series_index,
                                   out.ticks[tick].cgroups, masks);
      if (!st.ok()) {
        return st.WithContext("node " + std::string(node) + " tick " + std::to_string(wall));
      }
    }
  }
  return out;
}

Result<PodPlacement> SqliteSampleSource::PlacementOfPod(std::string_view ns, std::string_view pod) {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(Statement q, lease.conn().Prepare(sqlite::kPodSeriesSql));
  q.Bind(1, ns);
  q.Bind(2, pod);
  PodPlacement out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.spans.push_back({q.Text(0), q.Int64(1), q.Int64(2), q.TextView(3) == "pod"});
  }
  return out;
}

Result<std::map<std::string, int64_t>> SqliteSampleSource::LatestSampleTimes() {
  STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
  STORE_ASSIGN_OR_RETURN(
      Statement q,
      lease.conn().Prepare("SELECT name, last_wall_ns FROM nodes WHERE last_wall_ns IS NOT NULL"));
  std::map<std::string, int64_t> out;
  for (;;) {
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.emplace(q.Text(0), q.Int64(1));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Retention
Result<int64_t> SqliteSampleSource::PruneSamples(std::string_view table,
                                                 std::string_view rows_column, int64_t chunk_ticks,
                                                 int64_t node_id, int64_t before_ns) {
  const std::string t(table);
  const std::string boundary_sql = "SELECT wall_ns FROM " + t +
                                   " WHERE node_id = ?1 AND wall_ns < ?2 ORDER BY wall_ns "
                                   "LIMIT 1 OFFSET ?3";
  const std::string delete_upto_sql = "DELETE FROM " + t + " WHERE node_id = ?1 AND wall_ns <= ?2";
  const std::string delete_rest_sql = "DELETE FROM " + t + " WHERE node_id = ?1 AND wall_ns < ?2";
  std::string count_upto_sql, count_rest_sql;
  if (!rows_column.empty()) {
    const std::string sum = "SELECT coalesce(sum(" + std::string(rows_column) + "), 0) FROM " + t;
    count_upto_sql = sum + " WHERE node_id = ?1 AND wall_ns <= ?2";
    count_rest_sql = sum + " WHERE node_id = ?1 AND wall_ns < ?2";
  }
  int64_t deleted = 0;
  for (;;) {
    std::optional<int64_t> boundary;
    {
      STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
      STORE_ASSIGN_OR_RETURN(Statement q, lease.conn().Prepare(boundary_sql));
      q.Bind(1, node_id);
      q.Bind(2, before_ns);
      q.Bind(3, chunk_ticks - 1);
      STORE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (row) boundary = q.Int64(0);
    }
    if (!boundary) {
      STORE_ASSIGN_OR_RETURN(int64_t n,
                             db_->WriteStep(delete_rest_sql, {node_id, before_ns}, count_rest_sql));
      return deleted + n;
    }
    STORE_ASSIGN_OR_RETURN(int64_t n,
                           db_->WriteStep(delete_upto_sql, {node_id, *boundary}, count_upto_sql));
    deleted += n;
    std::this_thread::yield();
  }
}

Result<int64_t> SqliteSampleSource::Prune(int64_t before_ns) {
  int64_t deleted = 0;
  std::vector<int64_t> node_ids;
  {
    STORE_ASSIGN_OR_RETURN(ReadLease lease, Reader());
    STORE_ASSIGN_OR_RETURN(Statement q, lease.conn().Prepare("SELECT id FROM nodes"));
    for (;;) {
      STORE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      node_ids.push_back(q.Int64(0));
    }
  }
  for (int64_t node_id : node_ids) {
    STORE_ASSIGN_OR_RETURN(
        int64_t c, PruneSamples("cgroup_ticks", "cgroups", kPruneChunkTicks, node_id, before_ns));
    STORE_ASSIGN_OR_RETURN(int64_t n,
                           PruneSamples("node_samples", "", kPruneChunkRows, node_id, before_ns));
    deleted += c + n;
  }
  // Series whose last tick is gone; the id caches may name them, so drop the caches.
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    STORE_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*writer_, true));
    STORE_ASSIGN_OR_RETURN(Statement del,
                           writer_->Prepare("DELETE FROM series WHERE last_wall_ns < ?1"));
    del.Bind(1, before_ns);
    JOSTLE_RETURN_IF_ERROR(del.Run());
    STORE_ASSIGN_OR_RETURN(
        Statement upd,
        writer_->Prepare("UPDATE series SET first_wall_ns = ?1 WHERE first_wall_ns < ?1"));
    upd.Bind(1, before_ns);
    JOSTLE_RETURN_IF_ERROR(upd.Run());
    STORE_ASSIGN_OR_RETURN(
        Statement nodes,
        writer_->Prepare("UPDATE nodes SET first_wall_ns = ?1 WHERE first_wall_ns < ?1"));
    nodes.Bind(1, before_ns);
    JOSTLE_RETURN_IF_ERROR(nodes.Run());
    JOSTLE_RETURN_IF_ERROR(txn.Commit());
    series_.clear();
    cached_series_ = 0;
  }
  // Batch keys: a batch older than retention that is replayed is stored (and pruned) again.
  for (;;) {
    STORE_ASSIGN_OR_RETURN(
        int64_t n,
        db_->WriteStep("DELETE FROM batches WHERE (node_id, boot_id, agent_start_ns, seq) IN "
                       "(SELECT node_id, boot_id, agent_start_ns, seq FROM batches "
                       "WHERE last_wall_ns < ?1 LIMIT ?2)",
                       {before_ns, kPruneChunkRows}));
    if (n == 0) break;
    std::this_thread::yield();
  }
  return deleted;
}

}  // namespace

std::unique_ptr<SampleSource> NewSqliteSampleSource(std::shared_ptr<sqlite::SqliteDb> db) {
  return std::make_unique<SqliteSampleSource>(std::move(db));
}

}  // namespace jostle::collector
