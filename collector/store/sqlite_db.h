// A thin RAII layer over the SQLite C API for the store: one connection with a cache of
// prepared statements, SQLite result codes turned into Status with the SQL that failed, and
// SqliteDb, the one database file every role of the SQLite store works on (its writer
// connection, its pool of readers, its schema). A Connection is not thread-safe; SqliteDb
// serialises the writer and hands each reader to one thread at a time.
//
// Durability: journal_mode=WAL with synchronous=FULL by default. The collector acknowledges a
// sample batch (and the agent then drops it from its spool) only after it is committed, so
// the commit must survive power loss, not just a crash of the collector process. With WAL,
// synchronous=NORMAL syncs only at checkpoints: a commit survives a process crash but the
// last commits can vanish on power loss or a kernel panic, and the agent would never resend
// them. FULL adds one fsync of the WAL per commit (sqlite_sample_source.cpp groups batches
// into one commit; see bench/BENCHMARKS.md for both settings).
// SqliteStoreOptions::durable_commits=false selects NORMAL for throw-away local databases
// (`jostle run`).
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collector/store/sqlite_options.h"
#include "jostle/status.h"

#define STORE_CONCAT_INNER_(a, b) a##b
#define STORE_CONCAT_(a, b) STORE_CONCAT_INNER_(a, b)
#define STORE_ASSIGN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                        \
  if (!tmp.ok()) return tmp.status();       \
  decl = std::move(*tmp)
// Declares `decl` from a Result-returning expression, or returns its Status (store sources).
#define STORE_ASSIGN_OR_RETURN(decl, expr) \
  STORE_ASSIGN_IMPL_(STORE_CONCAT_(store_result_, __LINE__), decl, expr)

namespace jostle::collector::sqlite {

// Wall clock, ns since the Unix epoch: the receive times the store writes.
int64_t NowNs();

// Maps a SQLite result code to a Status: BUSY/LOCKED -> Unavailable, FULL ->
// ResourceExhausted, CANTOPEN/IOERR -> IOError, READONLY/PERM/AUTH -> PermissionDenied,
// CONSTRAINT/MISMATCH/RANGE -> InvalidArgument, anything else -> Internal. The message is
// "sqlite: <context>: <sqlite message> (code N)".
Status FromSqlite(int rc, sqlite3* db, std::string_view context);

// A prepared statement borrowed from a Connection's cache. Reset and unbound when the
// Statement goes out of scope, so the next user starts clean. Text and blob bindings are
// SQLITE_STATIC: the bound data must outlive the last Step().
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept : stmt_(other.stmt_), db_(other.db_) {
    other.stmt_ = nullptr;
  }
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, int v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, bool v) { sqlite3_bind_int64(stmt_, i, v ? 1 : 0); }
  // Unsigned counters are stored bit-for-bit as signed 64-bit integers (SQLite has no
  // unsigned type); Column<uint64_t> gives the same value back.
  void Bind(int i, uint64_t v) { sqlite3_bind_int64(stmt_, i, static_cast<int64_t>(v)); }
  void Bind(int i, uint32_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void Bind(int i, const std::string& v) { Bind(i, std::string_view(v)); }
  void Bind(int i, const char* v) { Bind(i, std::string_view(v)); }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  void BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_STATIC);
  }
  template <typename T>
  void Bind(int i, const std::optional<T>& v) {
    if (v) {
      Bind(i, *v);
    } else {
      BindNull(i);
    }
  }

  // Makes the statement ready to run again with new bindings (for loops over many rows).
  void Reset() { sqlite3_reset(stmt_); }

  // Runs the statement one step: true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion, for statements that return no rows.
  Status Run();

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  uint64_t UInt64(int col) const { return static_cast<uint64_t>(Int64(col)); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const;
  std::string_view TextView(int col) const;
  // Valid until the next Step/Reset of this statement.
  std::string_view BlobView(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(p), n);
  }
  std::optional<int64_t> OptInt64(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int64(col));
  }
  std::optional<uint64_t> OptUInt64(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<uint64_t>(UInt64(col));
  }
  std::optional<double> OptDouble(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<double>(Double(col));
  }

  const char* sql() const { return sqlite3_sql(stmt_); }

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

// Bounds on a connection's write-ahead log (Connection::BoundWal). After each commit the
// WAL is checkpointed (PASSIVE: never waits for readers) once it holds max_bytes or more,
// or when its first commit since the last checkpoint is max_age old; journal_size_limit
// truncates the WAL back to max_bytes when the next writer restarts it. So a small volume
// holds the database plus about max_bytes of WAL, not the 64 MiB autocheckpoint's. On a
// file system with less than 8 x max_bytes free when BoundWal is called, max_bytes is an
// eighth of the free space (at least 1 MiB).
struct WalLimits {
  int64_t max_bytes = 16ll << 20;
  std::chrono::milliseconds max_age{30000};
};

// The sizes behind a database: its file, its -wal file (0 when absent) and the space free
// for an unprivileged writer on its file system (statvfs f_bavail). IOError when the
// directory cannot be read.
struct StoreFiles {
  uint64_t db_bytes = 0;
  uint64_t wal_bytes = 0;
  uint64_t free_bytes = 0;
};
Result<StoreFiles> StatStoreFiles(const std::string& db_path);

class Connection {
 public:
  // Opens `path` (created when missing) with extended result codes; ":memory:" works.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool read_only);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results (schema, PRAGMAs, BEGIN/COMMIT).
  Status Exec(std::string_view sql);
  // A cached prepared statement for `sql` (prepared on first use, kept until close).
  Result<Statement> Prepare(std::string_view sql);
  // Runs a PRAGMA or query that returns one integer.
  Result<int64_t> QueryInt(std::string_view sql);

  // Replaces the WAL autocheckpoint with `limits` (see WalLimits). The connection must be
  // in WAL mode; call after every PRAGMA that sets wal_autocheckpoint.
  Status BoundWal(const WalLimits& limits);

  int64_t Changes() const { return sqlite3_changes64(db_); }
  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  sqlite3* handle() const { return db_; }

 private:
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };

  explicit Connection(sqlite3* db) : db_(db) {}
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int pages);

  sqlite3* db_;
  // BoundWal's state, touched by the WAL hook (on the thread committing).
  WalLimits wal_limits_;
  int64_t page_size_ = 4096;
  std::chrono::steady_clock::time_point wal_since_{};  // first commit since a checkpoint
  bool wal_dirty_ = false;
  // SQL text -> statement; looked up by string_view, without a copy of the text.
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> cache_;
};

// BEGIN on construction (IMMEDIATE for writers, DEFERRED for snapshot reads); ROLLBACK on
// destruction unless Commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> Begin(Connection& conn, bool immediate);
  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

// One database file shared by the roles of the SQLite store (sample source, result store,
// analytics, alert log), each in its own source file over this class.
// Threads and connections:
// - one writer connection, guarded by write_mu(), used by every method that writes. A role
//   may keep caches of its own under the same lock (the sample source's node and series ids).
// - for a file database, up to SqliteStoreOptions::max_readers read connections
//   (query_only) in a pool; readers see the last committed state (WAL snapshot) and never
//   wait for the writer. A read that needs several statements runs them in one read
//   transaction, so it sees one snapshot.
// - for ":memory:" (one database per connection) reads use the writer under write_mu().
// Any thread may call any method.
class SqliteDb {
 public:
  // A connection to read with: a pooled reader, or the writer held under write_mu().
  class ReadLease {
   public:
    ReadLease(SqliteDb* owner, std::unique_ptr<Connection> pooled)
        : owner_(owner), pooled_(std::move(pooled)), conn_(pooled_.get()) {}
    ReadLease(std::unique_lock<std::mutex> lock, Connection* writer)
        : writer_lock_(std::move(lock)), conn_(writer) {}
    ReadLease(ReadLease&& other) noexcept = default;
    ReadLease(const ReadLease&) = delete;
    ReadLease& operator=(const ReadLease&) = delete;
    ~ReadLease() {
      if (pooled_) owner_->ReturnReader(std::move(pooled_));
    }
    Connection& conn() { return *conn_; }

   private:
    SqliteDb* owner_ = nullptr;
    std::unique_ptr<Connection> pooled_;
    std::unique_lock<std::mutex> writer_lock_;
    Connection* conn_ = nullptr;
  };

  // Opens (creating and migrating to schema.h's migrations) the database at `path`;
  // ":memory:" for tests. A database written by a newer jostle (higher schema version) is
  // refused with Unsupported; a file system without WAL support with Unsupported too.
  static Result<std::shared_ptr<SqliteDb>> Open(const std::string& path,
                                                const SqliteStoreOptions& options);

  const std::string& path() const { return path_; }
  bool in_memory() const { return in_memory_; }

  // The writer. Only with write_mu() held.
  std::mutex& write_mu() { return write_mu_; }
  Connection& writer() { return *writer_; }

  // A read connection (see the class comment); blocks while all readers are in use.
  Result<ReadLease> Reader();

  // One short write transaction under write_mu(): runs `sql` with `args` bound as ?1, ?2...
  // and returns the rows it changed, or with `count_sql` (same bindings, run first under the
  // same lock) that query's count. Prune steps use it so that writers wait one chunk at most.
  Result<int64_t> WriteStep(std::string_view sql, std::initializer_list<int64_t> args,
                            std::string_view count_sql = {});

  // Flushes the WAL into the main file (on shutdown); Unavailable while readers use it.
  Status Checkpoint();

 private:
  SqliteDb(std::string path, SqliteStoreOptions options, std::unique_ptr<Connection> writer,
           bool in_memory)
      : path_(std::move(path)),
        options_(options),
        in_memory_(in_memory),
        writer_(std::move(writer)) {}
  void ReturnReader(std::unique_ptr<Connection> conn);

  const std::string path_;
  const SqliteStoreOptions options_;
  const bool in_memory_;

  std::mutex write_mu_;
  std::unique_ptr<Connection> writer_;  // guarded by write_mu_

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by pool_mu_
  int open_readers_ = 0;                                   // guarded by pool_mu_
};

}  // namespace jostle::collector::sqlite
