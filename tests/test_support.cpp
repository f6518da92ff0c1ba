#include "tests/test_support.h"

#include <fcntl.h>
#include <pty.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "base/files.h"
#include "embed/linear.h"

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
                          const std::map<std::string, std::string>& environment, const fs::path& working_dir) {
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

std::vector<std::string> bf16_kernels() {
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl");
  std::vector<std::string> kernels = {"tiles"};
  if (avx512 && __builtin_cpu_supports("avx512fp16")) kernels.push_back("fp16");
  if (avx512 && __builtin_cpu_supports("avx512bf16")) kernels.push_back("dots");
  if (const ScopedEnvironment amx("KSEARCH_AMX", "1"); bf16_layers_on_amx()) kernels.push_back("amx");
  return kernels;
}

bool on_onednn_bf16_matmul(const std::string& kernel) { return kernel == "dots" || kernel == "amx"; }

ScopedBf16Kernel::ScopedBf16Kernel(const std::string& kernel)
    : dots_("KSEARCH_BF16_DOTS", kernel == "dots" ? "1" : "0"),
      fp16_("KSEARCH_FP16", kernel == "fp16" ? "1" : "0"),
      amx_("KSEARCH_AMX", kernel == "amx" ? "1" : "0") {}

}  // namespace ksearch::testing
