// PyTorch checkpoints (torch.save's zip format) and the restricted pickle reader: what torch writes reads back
// exactly; every malformed or malicious input is one clear Error.  The .pt files in tests/data/torch-checkpoints/
// come from tools/torch-checkpoints/make_checkpoint_variants.py.
#include "embed/torch_checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "base/error.h"
#include "base/files.h"
#include "embed/pickle_reader.h"
#include "embed/tensor_store.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;
using namespace std::string_literals;

fs::path checkpoint(const std::string& name) { return testing::test_data("torch-checkpoints/" + name); }

const TensorView& tensor(const TorchCheckpoint& file, const std::string& name) {
  for (const auto& view : file.tensors())
    if (view.name == name) return view;
  throw std::runtime_error("no tensor " + name);
}

std::vector<float> range(float first, std::size_t count) {
  std::vector<float> out(count);
  std::iota(out.begin(), out.end(), first);
  return out;
}

// The Error message of `action`, or "" when it succeeds.
template <typename Action>
std::string error_of(Action action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string open_error(const std::string& name) {
  return error_of([&] { TorchCheckpoint::open(checkpoint(name)); });
}

std::string repeat(const std::string& part, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += part;
  return out;
}

std::string pickle_error(const std::string& pickle) {
  return error_of([&] {
    read_state_dict_pickle(std::span(reinterpret_cast<const std::byte*>(pickle.data()), pickle.size()), "test.pkl");
  });
}

TEST(TorchCheckpoint, ReadsViewsDtypesAndParametersAsTorchWroteThem) {
  const auto file = TorchCheckpoint::open(checkpoint("views.pt"));
  ASSERT_EQ(file.tensors().size(), 7u);
  EXPECT_EQ(tensor(file, "whole").shape_string(), "[4,6]");
  EXPECT_EQ(to_float32(tensor(file, "whole")), range(0, 24));
  EXPECT_EQ(to_float32(tensor(file, "row")), range(6, 6));  // storage offset 6 into `whole`'s storage
  EXPECT_EQ(tensor(file, "rows").shape_string(), "[2,6]");
  EXPECT_EQ(to_float32(tensor(file, "rows")), range(12, 12));
  EXPECT_EQ(tensor(file, "half").dtype, DType::F16);
  EXPECT_EQ(to_float32(tensor(file, "half")), range(0, 24));
  EXPECT_EQ(tensor(file, "bf16").dtype, DType::BF16);
  EXPECT_EQ(to_float32(tensor(file, "bf16")), range(0, 24));
  EXPECT_EQ(to_float32(tensor(file, "param")), std::vector<float>(3, 1.0f));  // _rebuild_parameter
  const TensorView& ids = tensor(file, "ids");
  ASSERT_EQ(ids.dtype, DType::I64);
  std::vector<std::int64_t> values(5);
  std::memcpy(values.data(), ids.bytes.data(), ids.bytes.size());
  EXPECT_EQ(values, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
}

TEST(TorchCheckpoint, ReadsAModulesStateDictWithItsMetadata) {
  const auto file = TorchCheckpoint::open(checkpoint("linear-state-dict.pt"));
  EXPECT_EQ(to_float32(tensor(file, "weight")), range(0, 6));
  EXPECT_EQ(to_float32(tensor(file, "bias")), (std::vector<float>{0.5f, -0.5f}));
}

TEST(TorchCheckpoint, ReadsAHandWrittenArchive) {
  const auto file = TorchCheckpoint::open(checkpoint("handmade.pt"));
  ASSERT_EQ(file.tensors().size(), 1u);
  EXPECT_EQ(to_float32(file.tensors()[0]), range(0, 4));
}

TEST(TorchCheckpoint, EachBrokenArchiveIsOneClearError) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"transposed.pt", "tensor t: strides [1,6] for shape [6,4] are not contiguous"},
      {"missing-storage.pt", "tensor w: its storage archive/data/0 is missing"},
      {"short-storage.pt", "storage archive/data/0 holds 8 bytes, too few for 4 F32 elements"},
      {"view-outside-storage.pt", "tensor w: elements [2, 6) lie outside its storage archive/data/0 of 4 elements"},
      {"os-system.pt", "pickle global os.system at byte 2 is not allowed"},
      {"big-endian.pt", "byteorder is 'big'"},
      {"compressed.pt", "no ARCHIVE/data.pkl entry"},
  };
  for (const auto& [name, message] : cases) {
    const std::string error = open_error(name);
    EXPECT_NE(error.find(name), std::string::npos) << error;
    EXPECT_NE(error.find(message), std::string::npos) << name << ": " << error;
  }
}

TEST(TorchCheckpoint, EveryTruncationIsAnErrorNotACrash) {
  const std::string bytes = read_file(checkpoint("views.pt"));
  for (std::size_t size = 0; size < bytes.size(); size += 7) {
    const auto prefix = std::span(reinterpret_cast<const std::byte*>(bytes.data()), size);
    EXPECT_THROW(TorchCheckpoint::parse(prefix, "views.pt"), Error) << size;
  }
  EXPECT_NE(error_of([] { TorchCheckpoint::parse({}, "empty.bin"); }).find("empty.bin: not a zip archive"),
            std::string::npos);
}

TEST(PickleReader, RejectsCodeAndAnythingButAStateDict) {
  const std::string head = "\x80\x02";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {head + "cbuiltins\neval\nX\x01\x00\x00\x00"s + "1\x85R.", "global builtins.eval at byte 2 is not allowed"},
      {head + "cos\nsystem\n.", "global os.system at byte 2"},
      {head + "ctorch\nFloatStorage\n)R.", "REDUCE of a global"},
      {head + "X\x01\x00\x00\x00"s + "x)R.", "REDUCE of a str"},
      {head + "ccollections\nOrderedDict\n(K\x01tR.", "OrderedDict called with arguments"},
      {head + "ccollections\nOrderedDict\n)\x81.", "opcode 0x81 at byte 28 is not allowed"},
      {head + "(i__builtin__\nobject\n.", "opcode 0x69 at byte 3 is not allowed"},
      {head + "ccollections\nOrderedDict\n)RX\x01\x00\x00\x00"s + "kK\x01s.", "entry k is a int, not a tensor"},
      {head + "]K\x01"
              "a.",
       "holds a list, not a state dict"},
      {head + "K\x01K\x02.", "leaves 2 values"},
  };
  for (const auto& [pickle, message] : cases) {
    const std::string error = pickle_error(pickle);
    EXPECT_NE(error.find("test.pkl"), std::string::npos) << error;
    EXPECT_NE(error.find(message), std::string::npos) << message << " | " << error;
  }
}

TEST(PickleReader, BoundsLengthsMemoStackAndNesting) {
  const std::string head = "\x80\x02";
  EXPECT_NE(pickle_error(head + "ccollections\nOrderedDict\n)R").find("truncated pickle"), std::string::npos);
  EXPECT_NE(pickle_error(head + "X\xff\xff\xff\xff" + "abc.").find("needs 4294967295 bytes"), std::string::npos);
  EXPECT_NE(pickle_error(head + "\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.").find("truncated pickle"), std::string::npos);
  EXPECT_NE(pickle_error(head + "Nr\xff\xff\xff\xff.").find("memo key 4294967295 exceeds"), std::string::npos);
  EXPECT_NE(pickle_error(head + "j\x07\x00\x00\x00."s).find("memo key 7 was never stored"), std::string::npos);
  EXPECT_NE(pickle_error(head + std::string(100, '(')).find("open MARKs"), std::string::npos);
  EXPECT_NE(pickle_error(head + ")" + std::string(100, '\x85')).find("nested deeper than 32"), std::string::npos);
  EXPECT_NE(pickle_error(head + "]q\x01" +
                         repeat("h\x01"
                                "a",
                                40))
                .find("nested deeper"),
            std::string::npos);
  EXPECT_NE(pickle_error(head + "c" + std::string(300, 'o')).find("longer than 256 bytes"), std::string::npos);
  EXPECT_NE(pickle_error(head + "s.").find("pop from an empty stack"), std::string::npos);
  // 100000 NONEs overflow the stack bound.
  EXPECT_NE(pickle_error(head + std::string(100'000, 'N') + ".").find("values on the stack"), std::string::npos);
}

TEST(TensorStore, ReadsShardedCheckpointsAndPrefersSafetensors) {
  const auto sharded = TensorStore::open_model_dir(testing::test_data("models/bge-m3-sharded-bin"));
  EXPECT_EQ(sharded.describe().filename(), "pytorch_model.bin.index.json");
  EXPECT_EQ(sharded.source_files().size(), 2u);
  EXPECT_EQ(sharded.require("encoder.layer.1.output.dense.weight").shape_string(), "[64,128]");
  EXPECT_EQ(sharded.require("embeddings.word_embeddings.weight").shape_string(), "[4002,64]");

  const auto both = TensorStore::open_model_dir(testing::test_data("models/bge-m3-safetensors-and-bin"));
  EXPECT_EQ(both.describe().filename(), "model.safetensors");
  EXPECT_EQ(both.require("embeddings.LayerNorm.weight").dtype, DType::F32);

  const auto f16 = TensorStore::open_model_dir(testing::test_data("models/bge-m3-f16-bin"));
  EXPECT_EQ(f16.describe().filename(), "pytorch_model.bin");
  EXPECT_EQ(f16.require("embeddings.LayerNorm.weight").dtype, DType::F16);
  // The same weights, rounded to F16 by torch: within F16's relative precision of the F32 safetensors.
  const auto exact = to_float32(both.require("encoder.layer.0.intermediate.dense.weight"));
  const auto rounded = to_float32(f16.require("encoder.layer.0.intermediate.dense.weight"));
  ASSERT_EQ(exact.size(), rounded.size());
  for (std::size_t i = 0; i < exact.size(); ++i) EXPECT_NEAR(rounded[i], exact[i], std::abs(exact[i]) * 1e-3f + 1e-7f);
}

}  // namespace
}  // namespace ksearch
