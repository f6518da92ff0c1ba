// Restricted reader for the pickle of a PyTorch state dict (the data.pkl that torch.save writes): no Python object
// is ever built and no code runs.  Only the opcodes and globals a state dict of tensors needs are accepted:
//   collections.OrderedDict (empty, then filled by SETITEM(S)), torch._utils._rebuild_tensor_v2 and
//   _rebuild_parameter, the storage types torch.{Float,Half,BFloat16,Double,Long,Int}Storage, and persistent ids
//   ('storage', TYPE, KEY, LOCATION, NUMEL) that name the archive's data/KEY entries.
// Anything else (GLOBAL os system, builtins eval, REDUCE of another callable, unknown opcodes) is an Error naming
// the source, the opcode or global and its byte offset.  Memo, stack and nesting are bounded.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "embed/safetensors.h"

namespace ksearch {

struct PickledStorage {
  DType dtype = DType::F32;
  std::string key;             // the archive entry is data/KEY
  std::uint64_t elements = 0;  // numel of the storage
};

// One tensor of the state dict: a view of `storage` (offsets and strides in elements).
struct PickledTensor {
  std::string name;
  PickledStorage storage;
  std::int64_t storage_offset = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> stride;
};

// The tensors of the state dict pickled in `pickle`, in the dict's order.  `where` names the source in errors
// ("pytorch_model.bin (pytorch_model/data.pkl)").
std::vector<PickledTensor> read_state_dict_pickle(std::span<const std::byte> pickle, const std::string& where);

}  // namespace ksearch
