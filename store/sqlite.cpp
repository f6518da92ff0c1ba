#include "store/sqlite.h"

#include <cctype>
#include <cstdio>
#include <utility>

namespace ksearch::sql {

namespace {

constexpr const char* kDamagedHint =
    " (the index database is damaged: run `ksearch doctor --repair`, which rebuilds it from the source files)";

bool is_damaged(int code) { return (code & 0xFF) == SQLITE_CORRUPT || (code & 0xFF) == SQLITE_NOTADB; }

// SQLite cannot create or map the WAL index (-shm) here: a read-only folder or file, or no space left.
bool cannot_share_wal(int code) {
  const int primary = code & 0xFF;
  return primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR ||
         primary == SQLITE_FULL || primary == SQLITE_PERM;
}

// A file: URI for `path` (RFC 3986 percent-encoding of what URIs reserve), with `query` appended.
std::string file_uri(const std::filesystem::path& path, std::string_view query) {
  std::string uri = "file:";
  for (const unsigned char c : std::filesystem::absolute(path).string()) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~' || c >= 0x80) {
      uri += static_cast<char>(c);
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      uri += escaped;
    }
  }
  return uri + "?" + std::string(query);
}

}  // namespace

Database::Database(const std::filesystem::path& path, Mode mode) : path_(path) {
  if (mode == Mode::ReadWrite) {
    open(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, path.string());
    try {
      exec("PRAGMA journal_mode = WAL");
      exec("PRAGMA synchronous = NORMAL");
    } catch (...) {
      close();  // the destructor does not run for a constructor that throws
      throw;
    }
    return;
  }
  open(SQLITE_OPEN_READONLY, path.string());
  // The first read maps the WAL index; nothing is read before it.
  const int rc = sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return;
  const int code = sqlite3_extended_errcode(db_);
  if (!cannot_share_wal(code)) {
    const std::string message = sqlite3_errmsg(db_);
    close();
    if (is_damaged(code)) throw DamagedDatabase(cat(path.string(), ": ", message, kDamagedHint));
    fail(path.string(), ": cannot open database: ", message);
  }
  close();
  open(SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, file_uri(path, "immutable=1"));
  immutable_ = true;
}

void Database::open(int flags, const std::string& name) {
  if (sqlite3_open_v2(name.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    close();
    fail(path_.string(), ": cannot open database: ", message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 10000);
  try {
    exec("PRAGMA foreign_keys = ON");
  } catch (...) {
    close();
    throw;
  }
}

void Database::close() noexcept {
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

Database::~Database() { close(); }

void Database::raise(std::string_view context) const {
  const int code = sqlite3_extended_errcode(db_);
  const std::string message = cat(path_.string(), ": ", context, ": ", sqlite3_errmsg(db_));
  if (is_damaged(code)) throw DamagedDatabase(message + kDamagedHint);
  throw Error(message);
}

void Database::exec(std::string_view sql) {
  char* message = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string error = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    const std::string what = cat(path_.string(), ": ", error, " (in: ", text.substr(0, 60), ")");
    if (is_damaged(sqlite3_extended_errcode(db_))) throw DamagedDatabase(what + kDamagedHint);
    throw Error(what);
  }
}

Statement Database::prepare(std::string_view sql) { return Statement(*this, sql); }

std::int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

Statement::Statement(Database& db, std::string_view sql) : db_(&db) {
  if (sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &statement_,
                         nullptr) != SQLITE_OK)
    db.raise(cat("cannot prepare '", sql.substr(0, 60), "'"));
}

Statement::~Statement() { sqlite3_finalize(statement_); }

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), statement_(std::exchange(other.statement_, nullptr)) {}

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(statement_, index, value) != SQLITE_OK) db_->raise("bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (sqlite3_bind_double(statement_, index, value) != SQLITE_OK) db_->raise("bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK)
    db_->raise("bind");
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::byte> bytes) {
  if (sqlite3_bind_blob64(statement_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT) != SQLITE_OK)
    db_->raise("bind");
  return *this;
}

Statement& Statement::bind_pointer(int index, void* pointer, const char* type) {
  if (sqlite3_bind_pointer(statement_, index, pointer, type, nullptr) != SQLITE_OK) db_->raise("bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(statement_, index) != SQLITE_OK) db_->raise("bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(statement_) != nullptr ? sqlite3_sql(statement_) : "";
  sqlite3_reset(statement_);
  db_->raise(cat("statement failed (", sql.substr(0, 60), ")"));
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(statement_, index); }
double Statement::column_double(int index) const { return sqlite3_column_double(statement_, index); }

std::string Statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, index));
  return text != nullptr ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement_, index)))
                         : std::string();
}

std::span<const std::byte> Statement::column_blob(int index) const {
  const auto* data = static_cast<const std::byte*>(sqlite3_column_blob(statement_, index));
  return {data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, index))};
}

bool Statement::column_is_null(int index) const { return sqlite3_column_type(statement_, index) == SQLITE_NULL; }

Transaction::Transaction(Database& db, bool immediate) : db_(db) { db_.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"); }

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace ksearch::sql
