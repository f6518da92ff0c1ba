#include "embed/packed_cache.h"

#include <oneapi/dnnl/dnnl.h>
#include <sys/stat.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "base/env.h"
#include "base/error.h"
#include "base/files.h"
#include "base/hash.h"
#include "base/mapped_file.h"
#include "embed/tensor_store.h"

namespace ksearch {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kFormat = "ksearch packed weights 1\n";
constexpr std::size_t kAlignment = 4096;  // every layer starts on a page: aligned for oneDNN's vector loads

std::size_t align_up(std::size_t value) { return (value + kAlignment - 1) / kAlignment * kAlignment; }

fs::path cache_root() {
  if (const auto dir = env::text("KSEARCH_CACHE_DIR")) return *dir == "off" ? fs::path() : fs::path(*dir);
  if (const auto dir = env::text("XDG_CACHE_HOME")) return fs::path(*dir) / "ksearch";
  if (const fs::path home = env::home(); !home.empty()) return home / ".cache" / "ksearch";
  return {};
}

// Reads "NAME OFFSET BYTES SCALES_OFFSET SCALE_COUNT LAYOUT" lines; false on anything malformed.
bool parse_entry(std::string_view line, std::string& name, std::size_t (&numbers)[4], std::string& layout) {
  const auto next_field = [&]() {
    const std::size_t space = line.find(' ');
    const std::string_view field = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    return field;
  };
  name = next_field();
  for (std::size_t& number : numbers) {
    const std::string_view field = next_field();
    const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), number);
    if (error != std::errc() || end != field.data() + field.size()) return false;
  }
  layout = next_field();
  return !name.empty() && !layout.empty() && line.empty();
}

// Removes cache files made from weights that no longer exist (a deleted or moved model) and temp files left by a
// writer that died more than a day ago: the cache holds a full copy of each model's weights.
void prune(const fs::path& folder) {
  std::error_code error;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const fs::path& path = entry.path();
    const std::string name = path.filename().string();
    if (name.find(".tmp.") != std::string::npos) {
      if (now - entry.last_write_time(error) > std::chrono::hours(24)) fs::remove(path, error);
      continue;
    }
    if (path.extension() != ".bin") continue;
    std::string head;
    try {
      head = read_file(path, 1 << 16);  // the header's first lines
    } catch (const Error&) {
      continue;
    }
    if (!head.starts_with(kFormat)) continue;
    std::string_view lines(head);
    while (!lines.empty()) {
      const std::size_t end = lines.find('\n');
      if (end == std::string_view::npos) break;
      std::string_view line = lines.substr(0, end);
      lines.remove_prefix(end + 1);
      if (!line.starts_with("weights ")) continue;
      line.remove_prefix(std::string_view("weights ").size());
      // "weights PATH SIZE MTIME": the path may hold spaces, the two numbers do not.
      for (int field = 0; field < 2; ++field) line = line.substr(0, line.rfind(' '));
      if (!fs::exists(line, error) && !error) {
        fs::remove(path, error);
        break;
      }
    }
  }
}

}  // namespace

PackedWeightCache::PackedWeightCache(const TensorStore& store, Precision precision) {
  const fs::path root = cache_root();
  if (root.empty()) return;
  const dnnl_version_t* version = dnnl_version();
  key_ = cat(kFormat, "precision ", precision_name(precision), "\nonednn ", version->major, ".", version->minor, ".",
             version->patch, " ", version->hash, "\nisa ", static_cast<int>(dnnl_get_effective_cpu_isa()), "\n");
  std::string sources;
  for (const fs::path& file : store.source_files()) {
    std::error_code error;
    const fs::path path = fs::weakly_canonical(file, error);
    struct stat info {};
    if (error || ::stat(path.c_str(), &info) != 0) return;  // cannot say what the weights are: no cache
    const auto modified = static_cast<long long>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
    key_ += cat("weights ", path.string(), " ", info.st_size, " ", modified, "\n");
    sources += path.string() + "\n";
  }
  // One file per model and precision, so a changed model replaces its old cache instead of adding another.
  path_ = root / "packed" / (sha256_hex(sources).substr(0, 16) + "-" + std::string(precision_name(precision)) + ".bin");
}

std::map<std::string, PackedWeights, std::less<>> PackedWeightCache::load() const {
  std::map<std::string, PackedWeights, std::less<>> layers;
  if (!enabled() || !fs::exists(path_)) return layers;
  std::shared_ptr<const MappedFile> file;
  try {
    file = std::make_shared<const MappedFile>(path_, MappedFile::Prefault::Yes);
  } catch (const Error&) {
    return layers;
  }
  const std::span<const std::byte> bytes = file->bytes();
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!text.starts_with(key_)) return layers;
  std::size_t position = key_.size();
  while (true) {
    const std::size_t end = text.find('\n', position);
    if (end == std::string_view::npos) return {};
    const std::string_view line = text.substr(position, end - position);
    position = end + 1;
    if (line == "end") break;
    std::string name, layout;
    std::size_t numbers[4];
    if (!parse_entry(line, name, numbers, layout)) return {};
    const auto [offset, size, scales_offset, scale_count] = numbers;
    const bool inside = offset % kAlignment == 0 && offset <= bytes.size() && size <= bytes.size() - offset &&
                        scales_offset % alignof(float) == 0 && scales_offset <= bytes.size() &&
                        scale_count <= (bytes.size() - scales_offset) / sizeof(float);
    if (!inside) return {};
    PackedWeights weights;
    weights.bytes = bytes.subspan(offset, size);
    weights.scales = {reinterpret_cast<const float*>(bytes.data() + scales_offset), scale_count};
    weights.layout = std::move(layout);
    weights.owner = file;
    layers.emplace(std::move(name), std::move(weights));
  }
  return layers;
}

void PackedWeightCache::save(const std::vector<std::pair<std::string, PackedWeights>>& layers) const {
  if (!enabled()) return;
  // Numbers in the header have a fixed width, so its size (and with it where the data starts) is known before the
  // offsets are.
  const auto number = [](std::size_t value) {
    std::string digits = std::to_string(value);
    return std::string(20 - digits.size(), '0') + digits;
  };
  std::size_t header_size = key_.size() + std::string_view("end\n").size();
  for (const auto& [name, weights] : layers) {
    if (weights.layout.empty() || name.empty() || name.find_first_of(" \n") != std::string::npos)
      fail(path_.string(), ": layer '", name, "' cannot be cached (no blocked layout, or a name with spaces)");
    header_size += name.size() + 4 * 21 + 1 + weights.layout.size() + 1;
  }
  std::string header = key_;
  std::vector<std::size_t> offsets(layers.size()), scale_offsets(layers.size());
  std::size_t position = align_up(header_size);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& [name, weights] = layers[i];
    offsets[i] = position;
    scale_offsets[i] = position + weights.bytes.size();
    position = align_up(scale_offsets[i] + weights.scales.size_bytes());
    header += cat(name, " ", number(offsets[i]), " ", number(weights.bytes.size()), " ", number(scale_offsets[i]), " ",
                  number(weights.scales.size()), " ", weights.layout, "\n");
  }
  header += "end\n";
  KSEARCH_ASSERT(header.size() == header_size);

  static const std::byte zeros[kAlignment] = {};
  std::vector<std::span<const std::byte>> pieces;
  const auto pad_to = [&](std::size_t written, std::size_t target) {
    if (target > written) pieces.emplace_back(zeros, target - written);
  };
  pieces.emplace_back(reinterpret_cast<const std::byte*>(header.data()), header.size());
  std::size_t written = header.size();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const PackedWeights& weights = layers[i].second;
    pad_to(written, offsets[i]);
    pieces.push_back(weights.bytes);
    pieces.emplace_back(reinterpret_cast<const std::byte*>(weights.scales.data()), weights.scales.size_bytes());
    written = scale_offsets[i] + weights.scales.size_bytes();
  }
  std::error_code error;
  fs::create_directories(path_.parent_path(), error);
  if (error) fail(path_.parent_path().string(), ": cannot create the packed-weight cache folder: ", error.message());
  prune(path_.parent_path());
  write_file_atomically(path_, pieces);
}

}  // namespace ksearch
