// Thin RAII wrapper over the SQLite C API: errors become ksearch::Error naming the database and statement.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"

namespace ksearch::sql {

class Statement;

// A database SQLite reports as damaged (SQLITE_CORRUPT, SQLITE_NOTADB); `ksearch doctor --repair` rebuilds it.
class DamagedDatabase : public Error {
 public:
  using Error::Error;
};

class Database {
 public:
  enum class Mode { ReadOnly, ReadWrite };
  // Opens (creating in ReadWrite mode) with WAL journaling, foreign keys and a busy timeout.  ReadOnly leaves the
  // journal mode alone and writes nothing; where SQLite cannot set up its WAL index beside the file (a read-only
  // folder, another user's files, a full disk) it reads the file as immutable, i.e. as last checkpointed.
  Database(const std::filesystem::path& path, Mode mode);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  std::int64_t last_insert_id() const;
  int changes() const;
  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return path_; }
  // True when opened read-only as immutable (see the constructor).
  bool immutable() const { return immutable_; }
  [[noreturn]] void raise(std::string_view context) const;

 private:
  void open(int flags, const std::string& name);
  void close() noexcept;

  sqlite3* db_ = nullptr;
  bool immutable_ = false;
  std::filesystem::path path_;
};

class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Statement& bind_blob(int index, std::span<const std::byte> bytes);
  Statement& bind_null(int index);
  // Passes `pointer` to an SQL function that asks for `type` (sqlite3_bind_pointer); it must outlive the statement's
  // steps.
  Statement& bind_pointer(int index, void* pointer, const char* type);

  // true while a row is available.
  bool step();
  // Runs to completion (for statements that return no rows).
  void run();
  void reset();

  std::int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  std::span<const std::byte> column_blob(int index) const;
  bool column_is_null(int index) const;

 private:
  Database* db_;
  sqlite3_stmt* statement_ = nullptr;
};

// BEGIN IMMEDIATE … COMMIT; rolls back if destroyed without commit().
class Transaction {
 public:
  explicit Transaction(Database& db, bool immediate = true);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool open_ = true;
};

}  // namespace ksearch::sql
