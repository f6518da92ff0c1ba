#include "tests/test_support.h"

#include <fcntl.h>
#include <pty.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "base/files.h"

extern char** environ;

namespace ksearch::testing {
namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return test_data("fixtures") / name; }

fs::path test_data(const std::string& name) { return fs::path(KSEARCH_TEST_DATA_DIR) / name; }

TempDir::TempDir() {
  std::random_device random;
  const char* base = std::getenv("TMPDIR");
  path_ = fs::path(base != nullptr ? base : "/tmp") / ("ksearch-test-" + std::to_string(random()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
  fs::remove_all(path_, ignored);
}

namespace {

[[noreturn]] void exec_ksearch(const std::vector<std::string>& arguments) {
  std::vector<char*> argv;
  std::string binary = KSEARCH_BINARY;
  argv.push_back(binary.data());
  std::vector<std::string> copies = arguments;
  for (auto& argument : copies) argv.push_back(argument.data());
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

}  // namespace

int spawn_ksearch(const std::vector<std::string>& arguments) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1), dup2(devnull, 2);
    exec_ksearch(arguments);
  }
  return pid;
}

CommandResult run_ksearch(const std::vector<std::string>& arguments, const std::string& input,
                          const std::map<std::string, std::string>& environment, const fs::path& working_dir,
                          std::size_t memory_limit_bytes) {
  TempDir io;
  const fs::path in_path = io / "stdin", out_path = io / "stdout", err_path = io / "stderr";
  write_text(in_path, input);
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open(in_path.c_str(), O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0), dup2(out, 1), dup2(err, 2);
    if (!working_dir.empty() && chdir(working_dir.c_str()) != 0) _exit(127);
    for (const auto& [key, value] : environment) setenv(key.c_str(), value.c_str(), 1);
    if (memory_limit_bytes != 0) {
      const rlimit limit{memory_limit_bytes, memory_limit_bytes};
      if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(126);
    }
    exec_ksearch(arguments);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

CommandResult run_ksearch_in_terminal(const std::vector<std::string>& arguments, unsigned short columns,
                                      const std::string& input, const std::map<std::string, std::string>& environment,
                                      const fs::path& working_dir) {
  int master = -1;
  winsize size{};
  size.ws_row = 40;
  size.ws_col = columns;
  const pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) return {};
  if (pid == 0) {
    if (!working_dir.empty() && chdir(working_dir.c_str()) != 0) _exit(127);
    setenv("TERM", "xterm", 1);
    unsetenv("NO_COLOR");
    setenv("PAGER", "cat", 1);
    for (const auto& [key, value] : environment) setenv(key.c_str(), value.c_str(), 1);
    exec_ksearch(arguments);
  }
  if (!input.empty()) {
    const ssize_t written = write(master, input.data(), input.size());
    (void)written;
  }
  CommandResult result;
  char buffer[4096];
  // The pty's read fails (EIO) once the child has exited and its side is closed.
  for (ssize_t n; (n = read(master, buffer, sizeof buffer)) > 0;)
    result.out.append(buffer, static_cast<std::size_t>(n));
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

void write_text(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

namespace {

// Raw deflate of `data` as non-final blocks ending on a byte boundary with an empty dictionary (Z_FULL_FLUSH), so
// the result can be followed by any other such piece; `last` ends the stream instead.
std::string deflate_piece(std::string_view data, bool last) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, data.size()) + 64, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_NE(deflate(&stream, last ? Z_FINISH : Z_FULL_FLUSH), Z_STREAM_ERROR);
  out.resize(out.size() - stream.avail_out);
  deflateEnd(&stream);
  return out;
}

void put16(std::string& out, std::uint32_t value) { out.append({char(value & 0xFF), char((value >> 8) & 0xFF)}); }
void put32(std::string& out, std::uint32_t value) {
  put16(out, value & 0xFFFF);
  put16(out, value >> 16);
}

}  // namespace

std::string repeated_zip(const std::vector<RepeatedZipEntry>& entries) {
  std::string archive, directory;
  for (const auto& entry : entries) {
    // Repeat a block of about 1 MiB of units, then the units left over.
    const std::size_t unit_bytes = std::max<std::size_t>(1, entry.unit.size());
    const std::size_t per_block = std::max<std::size_t>(1, std::min(entry.repeat, (1u << 20) / unit_bytes));
    std::string block;
    for (std::size_t i = 0; i < per_block; ++i) block += entry.unit;
    const std::size_t blocks = entry.repeat / per_block;
    std::string rest;
    for (std::size_t i = blocks * per_block; i < entry.repeat; ++i) rest += entry.unit;
    const std::string compressed_block = deflate_piece(block, false);
    std::string data = deflate_piece(entry.head, false);
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(entry.head.data()), static_cast<uInt>(entry.head.size()));
    for (std::size_t i = 0; i < blocks; ++i) {
      data += compressed_block;
      crc = crc32(crc, reinterpret_cast<const Bytef*>(block.data()), static_cast<uInt>(block.size()));
    }
    const std::string end = rest + entry.tail;
    data += deflate_piece(end, true);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(end.data()), static_cast<uInt>(end.size()));
    const std::uint64_t size = entry.head.size() + entry.repeat * entry.unit.size() + entry.tail.size();
    EXPECT_LT(size, 0xFFFFFFFFull) << "ZIP64 is not written";
    const auto offset = static_cast<std::uint32_t>(archive.size());
    auto header = [&](std::string& out, bool central) {
      put32(out, central ? 0x02014b50 : 0x04034b50);
      if (central) put16(out, 20);
      // version needed, flags, deflate, time, date
      put16(out, 20), put16(out, 0), put16(out, 8), put16(out, 0), put16(out, 0x21);
      put32(out, static_cast<std::uint32_t>(crc));
      put32(out, static_cast<std::uint32_t>(data.size())), put32(out, static_cast<std::uint32_t>(size));
      put16(out, static_cast<std::uint32_t>(entry.name.size())), put16(out, 0);
      if (central) put16(out, 0), put16(out, 0), put16(out, 0), put32(out, 0), put32(out, offset);
      out += entry.name;
    };
    header(archive, false);
    archive += data;
    header(directory, true);
  }
  const auto directory_offset = static_cast<std::uint32_t>(archive.size());
  archive += directory;
  put32(archive, 0x06054b50), put16(archive, 0), put16(archive, 0);
  const auto count = static_cast<std::uint32_t>(entries.size());
  put16(archive, count), put16(archive, count);
  put32(archive, static_cast<std::uint32_t>(directory.size())), put32(archive, directory_offset), put16(archive, 0);
  return archive;
}

std::vector<Json> read_jsonl(const fs::path& path) {
  std::vector<Json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(Json::parse(line));
  return out;
}

void write_safetensors(const fs::path& path, const std::map<std::string, RawTensor>& tensors) {
  Json header = Json::object();
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    header[name] = {{"dtype", tensor.dtype},
                    {"shape", tensor.shape},
                    {"data_offsets", {data.size(), data.size() + tensor.bytes.size()}}};
    data += tensor.bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);
  write_text(path, file + text + data);
}

void copy_model(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  for (const auto& entry : fs::recursive_directory_iterator(to))
    fs::permissions(entry.path(), fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
}

std::vector<float> random_values(std::size_t count, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = uniform(random);
  return values;
}

std::uint16_t to_bf16(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

float from_bf16(std::uint16_t x) {
  const std::uint32_t bits = static_cast<std::uint32_t>(x) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

ScopedEnvironment::ScopedEnvironment(std::string name, const std::string& value) : name_(std::move(name)) {
  if (const char* old = std::getenv(name_.c_str())) old_ = old;
  setenv(name_.c_str(), value.c_str(), 1);
}

ScopedEnvironment::~ScopedEnvironment() {
  if (old_)
    setenv(name_.c_str(), old_->c_str(), 1);
  else
    unsetenv(name_.c_str());
}

}  // namespace ksearch::testing
