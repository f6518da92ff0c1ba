#include "embed/torch_checkpoint.h"

#include <string_view>

#include "base/error.h"
#include "base/stored_zip.h"
#include "embed/pickle_reader.h"

namespace ksearch {
namespace {

constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 62;

std::string dims_string(const std::vector<std::int64_t>& dims) {
  std::string out = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) out += ",";
    out += std::to_string(dims[i]);
  }
  return out + "]";
}

// "ARCHIVE" of the ARCHIVE/data.pkl entry (torch names it after the file; older versions wrote "archive").
std::string archive_folder(const StoredZip& zip, const std::string& where) {
  for (const auto& [name, bytes] : zip.entries()) {
    const std::size_t slash = name.find('/');
    if (slash != std::string::npos && name.substr(slash) == "/data.pkl") return name.substr(0, slash);
  }
  fail(where, ": no ARCHIVE/data.pkl entry: not a PyTorch checkpoint (or one with compressed entries)");
}

TensorView bind(const PickledTensor& pickled, const StoredZip& zip, const std::string& folder,
                const std::filesystem::path& where) {
  const std::string what = where.string() + ": tensor " + pickled.name;
  TensorView view;
  view.name = pickled.name;
  view.dtype = pickled.storage.dtype;
  view.shape = pickled.shape;
  view.file = where;
  const std::string entry = folder + "/data/" + pickled.storage.key;
  if (!zip.contains(entry)) fail(what, ": its storage ", entry, " is missing from the archive (or compressed)");
  const std::span<const std::byte> storage = zip.read(entry);
  const std::uint64_t element_size = dtype_size(view.dtype);
  if (pickled.storage.elements > storage.size() / element_size)
    fail(what, ": storage ", entry, " holds ", storage.size(), " bytes, too few for ", pickled.storage.elements, " ",
         dtype_name(view.dtype), " elements");
  // Row-major strides; a dimension of size 1 may carry any stride, as torch's own contiguity check allows.
  std::uint64_t count = 1;
  for (std::size_t d = view.shape.size(); d-- > 0;) {
    const auto size = static_cast<std::uint64_t>(view.shape[d]);
    if (size != 1 && static_cast<std::uint64_t>(pickled.stride[d]) != count)
      fail(what, ": strides ", dims_string(pickled.stride), " for shape ", view.shape_string(),
           " are not contiguous (row-major); save it with .contiguous()");
    if (size != 0 && count > kMaxElements / size) fail(what, ": shape ", view.shape_string(), " is too large");
    count *= size;
  }
  const auto offset = static_cast<std::uint64_t>(pickled.storage_offset);
  if (count > 0 && (offset > pickled.storage.elements || count > pickled.storage.elements - offset))
    fail(what, ": elements [", offset, ", ", offset + count, ") lie outside its storage ", entry, " of ",
         pickled.storage.elements, " elements");
  view.bytes = count == 0 ? std::span<const std::byte>() : storage.subspan(offset * element_size, count * element_size);
  return view;
}

}  // namespace

std::vector<TensorView> TorchCheckpoint::parse(std::span<const std::byte> archive, const std::filesystem::path& where) {
  const std::string file = where.string();
  static constexpr std::string_view kZipMagic = "PK\x03\x04";
  if (archive.size() < kZipMagic.size() ||
      std::string_view(reinterpret_cast<const char*>(archive.data()), kZipMagic.size()) != kZipMagic)
    fail(file, ": not a zip archive; ksearch reads the format torch.save writes since PyTorch 1.6 ",
         "(re-save older checkpoints, or convert them to safetensors)");
  const StoredZip zip(archive, file);
  const std::string folder = archive_folder(zip, file);
  if (zip.contains(folder + "/byteorder")) {
    const auto order = zip.read(folder + "/byteorder");
    const std::string_view text(reinterpret_cast<const char*>(order.data()), order.size());
    if (text != "little") fail(file, ": byteorder is '", text, "'; only little-endian checkpoints are read");
  }
  const std::string pickle = folder + "/data.pkl";
  std::vector<TensorView> tensors;
  for (const PickledTensor& pickled : read_state_dict_pickle(zip.read(pickle), file + " (" + pickle + ")"))
    tensors.push_back(bind(pickled, zip, folder, where));
  return tensors;
}

TorchCheckpoint TorchCheckpoint::open(const std::filesystem::path& path) {
  TorchCheckpoint out;
  out.file_ = std::make_shared<MappedFile>(path);
  out.tensors_ = parse(out.file_->bytes(), path);
  return out;
}

}  // namespace ksearch
