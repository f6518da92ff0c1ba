#include "embed/tensor_store.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "base/error.h"
#include "base/files.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
using testing::RawTensor;
using testing::TempDir;

std::string floats(std::initializer_list<float> values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

std::string error_of(const std::filesystem::path& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, ReadsFixtureAndIgnoresUnusedTensors) {
  const auto file = SafetensorsFile::open(testing::fixture("tiny-e5-bert") / "model.safetensors");
  bool saw_position_ids = false;
  for (const auto& tensor : file.tensors()) {
    if (tensor.name == "embeddings.position_ids") {
      saw_position_ids = true;
      EXPECT_EQ(tensor.dtype, DType::I64);
    }
    if (tensor.name == "embeddings.word_embeddings.weight") {
      EXPECT_EQ(tensor.shape_string(), "[4037,64]");
    }
  }
  EXPECT_TRUE(saw_position_ids);
  EXPECT_EQ(file.metadata().at("format"), "pt");
}

TEST(Safetensors, ConvertsHalfAndBfloat16) {
  TempDir dir;
  // 1.0, -2.0, 0.5 in F16: 0x3C00, 0xC000, 0x3800; in BF16: 0x3F80, 0xC000, 0x3F00.
  const std::string f16("\x00\x3C\x00\xC0\x00\x38", 6);
  const std::string bf16("\x80\x3F\x00\xC0\x00\x3F", 6);
  testing::write_safetensors(dir / "m.safetensors", {{"a", {"F16", {3}, f16}}, {"b", {"BF16", {3}, bf16}}});
  const auto file = SafetensorsFile::open(dir / "m.safetensors");
  for (const auto& tensor : file.tensors()) {
    const auto values = to_float32(tensor);
    ASSERT_EQ(values.size(), 3u);
    EXPECT_FLOAT_EQ(values[0], 1.0f);
    EXPECT_FLOAT_EQ(values[1], -2.0f);
    EXPECT_FLOAT_EQ(values[2], 0.5f);
  }
}

TEST(Safetensors, RejectsTruncatedAndCorruptFiles) {
  TempDir dir;
  testing::write_safetensors(dir / "ok.safetensors", {{"w", {"F32", {2, 2}, floats({1, 2, 3, 4})}}});
  const std::string good = read_file(dir / "ok.safetensors");

  testing::write_text(dir / "short", good.substr(0, 5));
  EXPECT_NE(error_of(dir / "short").find("truncated safetensors file"), std::string::npos);

  testing::write_text(dir / "cut", good.substr(0, good.size() - 4));
  const std::string cut_error = error_of(dir / "cut");
  EXPECT_NE(cut_error.find("tensor w"), std::string::npos) << cut_error;
  EXPECT_NE(cut_error.find("truncated"), std::string::npos) << cut_error;

  std::string huge = good;
  huge[5] = '\x7F';  // header length ~ 2^47
  testing::write_text(dir / "huge", huge);
  EXPECT_NE(error_of(dir / "huge").find("header length"), std::string::npos);

  std::string garbage = good;
  garbage[9] = '#';
  testing::write_text(dir / "garbage", garbage);
  EXPECT_NE(error_of(dir / "garbage").find("invalid JSON"), std::string::npos);

  testing::write_safetensors(dir / "bytes", {{"w", {"F32", {3, 2}, floats({1, 2, 3, 4})}}});
  EXPECT_NE(error_of(dir / "bytes").find("needs 24"), std::string::npos);

  testing::write_safetensors(dir / "dtype", {{"w", {"Q4", {1}, "x"}}});
  EXPECT_NE(error_of(dir / "dtype").find("unsupported dtype"), std::string::npos);

  EXPECT_NE(error_of(dir / "missing").find("cannot open"), std::string::npos);
}

TEST(Safetensors, StoreStripsTaskPrefixesAndReadsShards) {
  TempDir dir;
  testing::write_safetensors(dir / "model-00001-of-00002.safetensors",
                             {{"roberta.encoder.x", {"F32", {1}, floats({1})}}});
  testing::write_safetensors(dir / "model-00002-of-00002.safetensors",
                             {{"classifier.out_proj.weight", {"F32", {1}, floats({2})}}});
  testing::write_text(dir / "model.safetensors.index.json",
                      R"({"metadata": {}, "weight_map": {"roberta.encoder.x": "model-00001-of-00002.safetensors",
                          "classifier.out_proj.weight": "model-00002-of-00002.safetensors"}})");
  const auto store = TensorStore::open_model_dir(dir.path());
  ASSERT_NE(store.find("encoder.x"), nullptr);
  EXPECT_FLOAT_EQ(to_float32(store.require("classifier.out_proj.weight"))[0], 2.0f);
  EXPECT_THROW(store.require("nope"), Error);

  testing::write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "../evil.safetensors"}})");
  EXPECT_THROW(TensorStore::open_model_dir(dir.path()), Error);
}

}  // namespace
}  // namespace ksearch
