// Helpers shared by the tests: fixture paths, temp folders, running the ksearch binary, writing safetensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"

namespace ksearch::testing {

std::filesystem::path fixture(const std::string& name);    // tests/data/fixtures/NAME
std::filesystem::path test_data(const std::string& name);  // tests/data/NAME

// A fresh folder removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the ksearch binary with `arguments` (no shell), optional stdin text, extra environment and working folder,
// and, when `memory_limit_bytes` is not 0, with its address space limited to that (RLIMIT_AS).
CommandResult run_ksearch(const std::vector<std::string>& arguments, const std::string& input = "",
                          const std::map<std::string, std::string>& environment = {},
                          const std::filesystem::path& working_dir = {}, std::size_t memory_limit_bytes = 0);

// Runs the ksearch binary in a pseudo-terminal `columns` wide (TERM=xterm, PAGER=cat), typing `input` into it.  The
// terminal's output, stdout and stderr together with the terminal's "\r\n" line ends, comes back in `out`.
CommandResult run_ksearch_in_terminal(const std::vector<std::string>& arguments, unsigned short columns,
                                      const std::string& input = "",
                                      const std::map<std::string, std::string>& environment = {},
                                      const std::filesystem::path& working_dir = {});

// Starts the ksearch binary in the background (output discarded); the caller waits for or kills the process.
int spawn_ksearch(const std::vector<std::string>& arguments);

void write_text(const std::filesystem::path& path, const std::string& text);

// A ZIP entry whose content is `head`, then `unit` repeated `repeat` times, then `tail`.
struct RepeatedZipEntry {
  std::string name;
  std::string head, unit;
  std::size_t repeat = 0;
  std::string tail;
};
// A ZIP archive of deflated entries built in milliseconds however large they unpack (a zip bomb): each repeated
// stretch of the deflate stream is one compressed copy of many units, repeated.
std::string repeated_zip(const std::vector<RepeatedZipEntry>& entries);

// Reads fixture expected.jsonl: one JSON object per line.
std::vector<Json> read_jsonl(const std::filesystem::path& path);

// A tensor to write with write_safetensors: raw little-endian bytes.
struct RawTensor {
  std::string dtype;  // "F32", "F16", "BF16", "I64"
  std::vector<long long> shape;
  std::string bytes;
};
void write_safetensors(const std::filesystem::path& path, const std::map<std::string, RawTensor>& tensors);

// `count` values uniform in [-1, 1), the same for the same seed.
std::vector<float> random_values(std::size_t count, unsigned seed);

// bfloat16 as raw 16-bit patterns, written independently of the code under test: fp32 rounded to nearest even, and
// back (exact).
std::uint16_t to_bf16(float x);
float from_bf16(std::uint16_t x);

// Copies a model folder (all files, recursively).
void copy_model(const std::filesystem::path& from, const std::filesystem::path& to);

// Sets an environment variable for one scope, restoring (or unsetting) it at destruction.
class ScopedEnvironment {
 public:
  ScopedEnvironment(std::string name, const std::string& value);
  ~ScopedEnvironment();
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace ksearch::testing
