#include "collector/store/sqlite_db.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>

#include "collector/store/schema.h"

namespace jostle::collector::sqlite {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status FromSqlite(int rc, sqlite3* db, std::string_view context) {
  std::string msg = "sqlite: ";
  msg.append(context);
  msg += ": ";
  msg += (db != nullptr && sqlite3_errcode(db) == rc) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(msg));
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
    case SQLITE_NOMEM:
      return Status::ResourceExhausted(std::move(msg));
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      return Status::IOError(std::move(msg));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::PermissionDenied(std::move(msg));
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return Status::InvalidArgument(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return FromSqlite(rc, db_, sqlite3_sql(stmt_));
}

Status Statement::Run() {
  for (;;) {
    Result<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

std::string Statement::Text(int col) const { return std::string(TextView(col)); }

std::string_view Statement::TextView(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status st = FromSqlite(rc, db, "open " + path);
    sqlite3_close_v2(db);
    return st;
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Connection::Exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string context = text.size() > 200 ? text.substr(0, 200) + "..." : text;
  Status st = FromSqlite(rc, db_, context);
  sqlite3_free(err);
  return st;
}

Result<Statement> Connection::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Statement(it->second, db_);
  std::string key(sql);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return FromSqlite(rc, db_, "prepare " + key);
  cache_.emplace(std::move(key), stmt);
  return Statement(stmt, db_);
}

Result<int64_t> Connection::QueryInt(std::string_view sql) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("sqlite: no row from " + std::string(sql));
  return stmt->Int64(0);
}

Status Connection::BoundWal(const WalLimits& limits) {
  wal_limits_ = limits;
  const char* file = sqlite3_db_filename(db_, "main");
  if (file != nullptr && *file != '\0') {
    if (auto files = StatStoreFiles(file); files.ok()) {
      int64_t eighth = static_cast<int64_t>(files->free_bytes / 8);
      wal_limits_.max_bytes = std::max<int64_t>(std::min(limits.max_bytes, eighth), 1 << 20);
    }
  }
  Result<int64_t> page = QueryInt("PRAGMA page_size");
  if (!page.ok()) return page.status();
  page_size_ = *page > 0 ? *page : 4096;
  JOSTLE_RETURN_IF_ERROR(
      Exec("PRAGMA journal_size_limit = " + std::to_string(wal_limits_.max_bytes)));
  // Installing a hook replaces the autocheckpoint's (sqlite3_wal_autocheckpoint's) hook.
  sqlite3_wal_hook(db_, &Connection::OnWalCommit, this);
  return Status::Ok();
}

int Connection::OnWalCommit(void* self, sqlite3* db, const char* name, int pages) {
  auto* c = static_cast<Connection*>(self);
  auto now = std::chrono::steady_clock::now();
  if (!c->wal_dirty_) {
    c->wal_dirty_ = true;
    c->wal_since_ = now;
  }
  bool big = static_cast<int64_t>(pages) * c->page_size_ >= c->wal_limits_.max_bytes;
  bool old = now - c->wal_since_ >= c->wal_limits_.max_age;
  if (!big && !old) return SQLITE_OK;
  int log_frames = 0, done_frames = 0;
  int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                     &done_frames);
  // A checkpoint that could not copy every frame (a reader holds an old snapshot) is tried
  // again after the next commit; a finished one starts the clock again.
  if (rc == SQLITE_OK && done_frames == log_frames) c->wal_dirty_ = false;
  return SQLITE_OK;
}

Result<StoreFiles> StatStoreFiles(const std::string& db_path) {
  StoreFiles out;
  struct stat st {};
  if (::stat(db_path.c_str(), &st) == 0) out.db_bytes = static_cast<uint64_t>(st.st_size);
  if (::stat((db_path + "-wal").c_str(), &st) == 0) out.wal_bytes = static_cast<uint64_t>(st.st_size);
  std::string dir = db_path.substr(0, db_path.find_last_of('/') + 1);
  if (dir.empty()) dir = ".";
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return Status::FromErrno(errno, "statvfs " + dir);
  out.free_bytes = static_cast<uint64_t>(vfs.f_bavail) * static_cast<uint64_t>(vfs.f_frsize);
  return out;
}

Result<Transaction> Transaction::Begin(Connection& conn, bool immediate) {
  Status st = conn.Exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!st.ok()) return st;
  return Transaction(&conn);
}

Transaction::~Transaction() {
  if (conn_ != nullptr && conn_->InTransaction()) {
    // A failed ROLLBACK leaves nothing to do: SQLite rolls back on close.
    (void)conn_->Exec("ROLLBACK");
  }
}

Status Transaction::Commit() {
  Status st = conn_->Exec("COMMIT");
  if (st.ok()) conn_ = nullptr;
  return st;
}

namespace {

Status Configure(Connection& conn, const std::string& path, const SqliteStoreOptions& options,
                 bool in_memory) {
  sqlite3_busy_timeout(conn.handle(), options.busy_timeout_ms);
  if (!in_memory) {
    // Takes effect only when the file is created (before WAL is switched on).
    JOSTLE_RETURN_IF_ERROR(conn.Exec("PRAGMA page_size = 16384"));
    STORE_ASSIGN_OR_RETURN(Statement q, conn.Prepare("PRAGMA journal_mode = WAL"));
    STORE_ASSIGN_OR_RETURN(bool row, q.Step());
    std::string mode = row ? q.Text(0) : "";
    if (mode != "wal") {
      return Status::Unsupported("sqlite: " + path + " cannot use WAL journal mode (got '" + mode +
                                 "'); put the database on a local file system");
    }
  }
  JOSTLE_RETURN_IF_ERROR(conn.Exec(options.durable_commits ? "PRAGMA synchronous = FULL"
                                                           : "PRAGMA synchronous = NORMAL"));
  JOSTLE_RETURN_IF_ERROR(conn.Exec("PRAGMA foreign_keys = ON"));
  // Statement journals (the per-batch SAVEPOINTs of a group commit) stay in memory instead of
  // a temporary file opened, written and unlinked per batch.
  JOSTLE_RETURN_IF_ERROR(conn.Exec("PRAGMA temp_store = MEMORY"));
  // 64 MiB page cache for the writer; the WAL is truncated to 64 MiB after checkpoints.
  JOSTLE_RETURN_IF_ERROR(conn.Exec("PRAGMA cache_size = -65536"));
  JOSTLE_RETURN_IF_ERROR(conn.Exec("PRAGMA journal_size_limit = 67108864"));
  // Checkpoint after 4096 WAL pages (64 MiB at 16 KiB pages) instead of 1000: pages every
  // commit touches (B-tree interiors, series and node rows) are copied to the database file
  // once per checkpoint, so fewer checkpoints write fewer copies.
  JOSTLE_RETURN_IF_ERROR(conn.Exec("PRAGMA wal_autocheckpoint = 4096"));
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                 const SqliteStoreOptions& options) {
  if (path.empty()) return Status::InvalidArgument("store path is empty");
  const bool in_memory = path == ":memory:";
  STORE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                         Connection::Open(path, /*read_only=*/false));
  Status st = Configure(*conn, path, options, in_memory);
  // The WAL is bounded by size and age (WalLimits), not by the autocheckpoint.
  if (st.ok() && !in_memory) st = conn->BoundWal(WalLimits{});
  if (!st.ok()) return st.WithContext("open store " + path);
  STORE_ASSIGN_OR_RETURN(int64_t before, conn->QueryInt("PRAGMA user_version"));
  st = Migrate(*conn, SchemaMigrations());
  if (!st.ok()) return st.WithContext("open store " + path);
  if (before == 0) {
    spdlog::debug("store {}: created with schema version {}", path, CurrentSchemaVersion());
  } else if (before != CurrentSchemaVersion()) {
    spdlog::info("store {}: schema migrated from version {} to {}", path, before,
                 CurrentSchemaVersion());
  }
  return std::shared_ptr<SqliteDb>(new SqliteDb(path, options, std::move(conn), in_memory));
}

Result<SqliteDb::ReadLease> SqliteDb::Reader() {
  if (in_memory_ || options_.max_readers <= 0) {
    return ReadLease(std::unique_lock<std::mutex>(write_mu_), writer_.get());
  }
  std::unique_lock<std::mutex> lock(pool_mu_);
  pool_cv_.wait(lock,
                [&] { return !idle_readers_.empty() || open_readers_ < options_.max_readers; });
  if (!idle_readers_.empty()) {
    std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    return ReadLease(this, std::move(conn));
  }
  ++open_readers_;
  lock.unlock();
  auto opened = Connection::Open(path_, /*read_only=*/false);
  Status st = opened.ok() ? Status::Ok() : opened.status();
  if (st.ok()) {
    sqlite3_busy_timeout((*opened)->handle(), options_.busy_timeout_ms);
    st = (*opened)->Exec("PRAGMA query_only = ON; PRAGMA cache_size = -16384");
  }
  if (!st.ok()) {
    std::lock_guard<std::mutex> relock(pool_mu_);
    --open_readers_;
    pool_cv_.notify_one();
    return st.WithContext("open read connection");
  }
  return ReadLease(this, std::move(*opened));
}

void SqliteDb::ReturnReader(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  idle_readers_.push_back(std::move(conn));
  pool_cv_.notify_one();
}

Result<int64_t> SqliteDb::WriteStep(std::string_view sql, std::initializer_list<int64_t> args,
                                    std::string_view count_sql) {
  std::lock_guard<std::mutex> lock(write_mu_);
  std::optional<int64_t> counted;
  if (!count_sql.empty()) {
    // Counted under the same lock as the delete: only this connection writes.
    STORE_ASSIGN_OR_RETURN(Statement c, writer_->Prepare(count_sql));
    int i = 1;
    for (int64_t v : args) c.Bind(i++, v);
    STORE_ASSIGN_OR_RETURN(bool row, c.Step());
    counted = row ? c.Int64(0) : 0;
  }
  STORE_ASSIGN_OR_RETURN(Statement q, writer_->Prepare(sql));
  int i = 1;
  for (int64_t v : args) q.Bind(i++, v);
  JOSTLE_RETURN_IF_ERROR(q.Run());
  return counted ? *counted : writer_->Changes();
}

Status SqliteDb::Checkpoint() {
  std::lock_guard<std::mutex> lock(write_mu_);
  STORE_ASSIGN_OR_RETURN(Statement q, writer_->Prepare("PRAGMA wal_checkpoint(TRUNCATE)"));
  STORE_ASSIGN_OR_RETURN(bool row, q.Step());
  if (row && q.Int64(0) != 0) {
    return Status::Unavailable("sqlite: wal_checkpoint(TRUNCATE) of " + path_ +
                               " could not finish: readers still use the WAL");
  }
  return Status::Ok();
}

}  // namespace jostle::collector::sqlite
