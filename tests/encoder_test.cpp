#include "embed/encoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "base/error.h"
#include "base/files.h"
#include "embed/embedder.h"
#include "embed/ops.h"
#include "embed/safetensors.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  float diff = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) diff = std::max(diff, std::abs(a[i] - b[i]));
  return diff;
}

std::string load_error(const fs::path& dir) {
  try {
    Model::load_dir(dir, "test");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The tensors of a safetensors file as raw tensors, to write modified copies.
std::map<std::string, testing::RawTensor> raw_tensors(const fs::path& path, std::string_view prefix = "") {
  const auto file = SafetensorsFile::open(path);
  std::map<std::string, testing::RawTensor> tensors;
  for (const auto& tensor : file.tensors()) {
    testing::RawTensor raw{std::string(dtype_name(tensor.dtype)), {}, {}};
    for (auto d : tensor.shape) raw.shape.push_back(d);
    raw.bytes.assign(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size());
    tensors[std::string(prefix) + tensor.name] = raw;
  }
  return tensors;
}

// Every expected.jsonl line: same ids and an embedding within 1e-4 of the reference.
void expect_reference_embeddings(const fs::path& dir) {
  const Embedder embedder(Model::load_dir(dir, dir.string()));
  const auto expected = testing::read_jsonl(dir / "expected.jsonl");
  std::vector<std::string> texts;
  for (const auto& line : expected) texts.push_back(line["text"]);
  const Embeddings batch = embedder.embed(texts, TextKind::Raw);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto want = expected[i]["embedding"].get<std::vector<float>>();
    EXPECT_LE(max_abs_diff(batch.row(i), want), 1e-4f) << texts[i];
    EXPECT_EQ(batch.token_counts[i], expected[i]["token_ids"].size());
  }
}

TEST(Encoder, BertFixtureMatchesReference) { expect_reference_embeddings(testing::fixture("tiny-e5-bert")); }
TEST(Encoder, XlmRobertaFixtureMatchesReference) { expect_reference_embeddings(testing::fixture("tiny-bge-m3-xlmr")); }
// Our own model: other sizes (96 hidden, 6 heads, 3 layers), F16 weights, "roberta."-prefixed names, mean pooling.
TEST(Encoder, HalfPrecisionPrefixedModelMatchesReference) {
  expect_reference_embeddings(testing::test_data("models/tiny-xlmr-f16"));
}

// Token type ids select rows of embeddings.token_type_embeddings (BERT pairs give the second text segment 1):
// explicit zeros equal the default, segment 1 changes the states, a type beyond type_vocab_size is an error.
TEST(Encoder, TokenTypeIdsSelectTheirEmbedding) {
  const auto model = Model::load_dir(testing::fixture("tiny-e5-bert"), "tiny-e5-bert");
  const std::vector<std::vector<TokenId>> batch = {{0, 100, 200, 2}};
  const PackedHidden plain = model->encoder.forward(batch);
  const std::vector<std::vector<std::int32_t>> zeros = {{0, 0, 0, 0}};
  const std::vector<std::vector<std::int32_t>> second = {{0, 0, 1, 1}};
  EXPECT_EQ(model->encoder.forward(batch, TransformerEncoder::Rows::All, zeros).values, plain.values);
  EXPECT_NE(model->encoder.forward(batch, TransformerEncoder::Rows::All, second).values, plain.values);
  const std::vector<std::vector<std::int32_t>> beyond = {{0, 0, 2, 2}};
  EXPECT_THROW(model->encoder.forward(batch, TransformerEncoder::Rows::All, beyond), Error);
}

TEST(Encoder, HiddenStatesMatchEveryLayer) {
  for (const char* name : {"tiny-e5-bert", "tiny-bge-m3-xlmr"}) {
    const auto dir = testing::fixture(name);
    const auto debug = read_json_file(dir / "debug_hidden_states.json");
    const auto model = Model::load_dir(dir, name);
    const std::vector<std::vector<TokenId>> batch = {debug["token_ids"].get<std::vector<TokenId>>()};
    // The last layer's output depends on every earlier layer; compare every token of it.
    const PackedHidden hidden = model->encoder.forward(batch);
    const auto& last = debug["hidden_states"].back();
    for (std::size_t t = 0; t < last.size(); ++t) {
      const auto want = last[t].get<std::vector<float>>();
      EXPECT_LE(max_abs_diff(std::span(hidden.row(t), want.size()), want), 1e-4f) << name << " token " << t;
    }
  }
}

TEST(Encoder, BatchedEqualsOneByOne) {
  const Embedder embedder(Model::load_dir(testing::fixture("tiny-bge-m3-xlmr"), "x"));
  const auto expected = testing::read_jsonl(testing::fixture("tiny-bge-m3-xlmr") / "expected.jsonl");
  std::vector<std::string> texts;
  for (const auto& line : expected) texts.push_back(line["text"]);
  const Embeddings batch = embedder.embed(texts, TextKind::Raw);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const Embeddings single = embedder.embed(std::span(texts).subspan(i, 1), TextKind::Raw);
    EXPECT_LE(max_abs_diff(batch.row(i), single.row(0)), 1e-5f) << texts[i];
  }
}

// A batch of 2,000+ tokens in random ids.  On two threads, nine groups of up to 256 tokens (a longer sequence alone):
// eight encoded whole, one per thread at a time, and the ninth with its products split over both threads.
const std::vector<std::size_t> kSeveralGroupsLengths = {300, 5, 250, 1, 512, 100, 211, 64, 400, 2, 130, 77, 450};
std::vector<std::vector<TokenId>> several_groups_batch() {
  std::mt19937 random(11);
  std::uniform_int_distribution<TokenId> token(4, 4001);
  std::vector<std::vector<TokenId>> batch;
  for (std::size_t length : kSeveralGroupsLengths) {
    batch.emplace_back(length);
    for (TokenId& id : batch.back()) id = token(random);
  }
  return batch;
}

// A batch that runs in several groups of sequences (one of them a lone 512-token sequence): every sequence's hidden
// states are those it gets alone, at every precision.
TEST(Encoder, BatchesSpanningSeveralGroupsEqualOneByOne) {
  const std::vector<std::size_t>& lengths = kSeveralGroupsLengths;
  const auto batch = several_groups_batch();
  for (Precision precision : {Precision::Fp32, Precision::Bf16, Precision::Int8})
    for (const KernelPlan& plan : KernelPlan::runnable(precision)) {
      const auto model = Model::load_dir(testing::fixture("tiny-bge-m3-xlmr"), "x", plan);
      const PackedHidden together = model->encoder.forward(batch);
      for (std::size_t s = 0; s < batch.size(); ++s) {
        const PackedHidden alone = model->encoder.forward(std::span(batch).subspan(s, 1));
        const auto hidden = static_cast<std::size_t>(together.hidden);
        const std::span<const float> row(together.row(together.offsets[s]), lengths[s] * hidden);
        EXPECT_LE(max_abs_diff(row, alone.values), 1e-5f) << plan.name() << " sequence " << s;
      }
    }
}

// Rows::First gives each sequence's first row as Rows::All does, in both the per-thread and the shared group paths,
// at every precision, for both architectures.
TEST(Encoder, FirstRowsEqualThoseOfAllRows) {
  const auto batch = several_groups_batch();
  for (Precision precision : {Precision::Fp32, Precision::Bf16, Precision::Int8})
    for (const KernelPlan& plan : KernelPlan::runnable(precision))
      for (const char* name : {"tiny-bge-m3-xlmr", "tiny-e5-bert"}) {
        const auto model = Model::load_dir(testing::fixture(name), name, plan);
        const PackedHidden all = model->encoder.forward(batch);
        const PackedHidden first = model->encoder.forward(batch, TransformerEncoder::Rows::First);
        const auto hidden = static_cast<std::size_t>(all.hidden);
        ASSERT_EQ(first.offsets.size(), batch.size() + 1);
        ASSERT_EQ(first.values.size(), batch.size() * hidden);
        for (std::size_t s = 0; s < batch.size(); ++s) {
          EXPECT_EQ(first.offsets[s], s);
          EXPECT_LE(max_abs_diff(std::span(first.row(s), hidden), std::span(all.row(all.offsets[s]), hidden)), 1e-5f)
              << name << " " << plan.name() << " sequence " << s;
        }
      }
}

// forward() keeps its working buffers from pass to pass: a short batch (odd lengths, so padded bf16 rows) after longer
// batches gives exactly what it gives on a fresh encoder, at every precision.
TEST(Encoder, ReusedWorkspacesLeaveNoTrace) {
  const auto batch = several_groups_batch();
  const std::vector<std::vector<TokenId>> short_batch = {batch[1], batch[3], batch[11]};  // 5, 1 and 77 tokens
  for (Precision precision : {Precision::Fp32, Precision::Bf16, Precision::Int8})
    for (const KernelPlan& plan : KernelPlan::runnable(precision)) {
      const auto fresh = Model::load_dir(testing::fixture("tiny-bge-m3-xlmr"), "x", plan);
      const auto used = Model::load_dir(testing::fixture("tiny-bge-m3-xlmr"), "x", plan);
      used->encoder.forward(batch);
      used->encoder.forward(batch, TransformerEncoder::Rows::First);
      for (const auto rows : {TransformerEncoder::Rows::All, TransformerEncoder::Rows::First})
        EXPECT_EQ(used->encoder.forward(short_batch, rows).values, fresh->encoder.forward(short_batch, rows).values)
            << plan.name();
    }
}

TEST(Encoder, DenseWeightBytesAreThoseOfEachPrecision) {
  // What a query streams: every layer's four dense weight matrices, 4, 2 or 1 byte a weight (plus the int8 scales),
  // up to each kernel's padding of the columns to whole panels.  bf16 without AVX-512 and int8 without AVX512_VNNI
  // keep their rounded weights in fp32.
  const auto fp32 = Model::load_dir(testing::fixture("tiny-bge-m3-xlmr"), "x");
  const TransformerConfig& config = fp32->encoder.config();
  const auto hidden = static_cast<std::size_t>(config.hidden_size);
  const std::size_t weights = static_cast<std::size_t>(config.num_layers) *
                              (4 * hidden * hidden + 2 * hidden * static_cast<std::size_t>(config.intermediate_size));
  const auto expect_between = [&](Precision precision, std::size_t low, std::size_t high) {
    for (const KernelPlan& plan : KernelPlan::runnable(precision)) {
      const auto model = Model::load_dir(testing::fixture("tiny-bge-m3-xlmr"), "x", plan);
      EXPECT_GE(model->encoder.dense_weight_bytes(), low) << plan.name();
      EXPECT_LE(model->encoder.dense_weight_bytes(), high) << plan.name();
    }
  };
  expect_between(Precision::Fp32, 4 * weights, 5 * weights);
  const std::size_t bf16_bytes = ops::has_fp32_tiles() ? 2 : 4;
  expect_between(Precision::Bf16, bf16_bytes * weights, (bf16_bytes + 1) * weights);
  const std::size_t int8_bytes = ops::has_int8_dots() ? 1 : 4;
  expect_between(Precision::Int8, int8_bytes * weights, (int8_bytes + 1) * weights);
}

TEST(Encoder, PrefixedF32CopyIsIdentical) {
  testing::TempDir dir;
  const auto source = testing::fixture("tiny-e5-bert");
  testing::copy_model(source, dir.path());
  testing::write_safetensors(dir / "model.safetensors", raw_tensors(source / "model.safetensors", "bert."));
  const Embedder original(Model::load_dir(source, "a"));
  const Embedder prefixed(Model::load_dir(dir.path(), "b"));
  const std::vector<std::string> text = {"서울에서 만나요"};
  EXPECT_EQ(max_abs_diff(original.embed(text, TextKind::Raw).row(0), prefixed.embed(text, TextKind::Raw).row(0)), 0.0f);
}

// Rewrites the fixture with one tensor changed by `edit`, and returns the load error.
std::string error_after_edit(const std::function<void(std::map<std::string, testing::RawTensor>&)>& edit) {
  testing::TempDir dir;
  const auto source = testing::fixture("tiny-e5-bert");
  testing::copy_model(source, dir.path());
  auto tensors = raw_tensors(source / "model.safetensors");
  edit(tensors);
  testing::write_safetensors(dir / "model.safetensors", tensors);
  return load_error(dir.path());
}

TEST(Encoder, BadWeightsAreClearErrors) {
  std::string error = error_after_edit([](auto& tensors) {
    auto& t = tensors["encoder.layer.1.output.dense.weight"];
    t.shape = {128, 64};
  });
  EXPECT_NE(error.find("encoder.layer.1.output.dense.weight has shape [128,64], config expects [64,128]"),
            std::string::npos)
      << error;
  error = error_after_edit([](auto& tensors) { tensors.erase("encoder.layer.0.attention.self.key.bias"); });
  EXPECT_NE(error.find("missing tensor encoder.layer.0.attention.self.key.bias"), std::string::npos) << error;
  error = error_after_edit([](auto& tensors) {
    auto& t = tensors["embeddings.LayerNorm.weight"];
    t.dtype = "I32";
  });
  EXPECT_NE(error.find("embeddings.LayerNorm.weight has dtype I32"), std::string::npos) << error;
}

TEST(Encoder, TruncatedWeightsFileIsAnError) {
  testing::TempDir dir;
  testing::copy_model(testing::fixture("tiny-e5-bert"), dir.path());
  const std::string bytes = read_file(dir / "model.safetensors");
  testing::write_text(dir / "model.safetensors", bytes.substr(0, bytes.size() / 2));
  const std::string error = load_error(dir.path());
  EXPECT_NE(error.find("model.safetensors"), std::string::npos) << error;
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
}

TEST(Encoder, TokenizerLargerThanEmbeddingMatrixIsAnError) {
  testing::TempDir dir;
  testing::copy_model(testing::fixture("tiny-bge-m3-xlmr"), dir.path());
  auto config = read_json_file(dir / "config.json");
  config["vocab_size"] = 1000;
  testing::write_text(dir / "config.json", config.dump());
  EXPECT_NE(load_error(dir.path()).find("do not belong together"), std::string::npos);
}

TEST(Encoder, MissingFilesAreNamed) {
  testing::TempDir dir;
  testing::copy_model(testing::fixture("tiny-e5-bert"), dir.path());
  fs::remove(dir / "sentencepiece.bpe.model");
  EXPECT_NE(load_error(dir.path()).find("no tokenizer.json or sentencepiece.bpe.model"), std::string::npos);
  fs::remove(dir / "config.json");
  EXPECT_NE(load_error(dir.path()).find("config.json: missing"), std::string::npos);
}

// A bge-m3-shaped position table (8194 rows) on a tiny random model: the longest inputs run, with attention
// computed in blocks, and agree with a shorter prefix-free consistency check (finite, unit length).
TEST(Encoder, LongInputsUpTo8192Tokens) {
  testing::TempDir dir;
  testing::copy_model(testing::fixture("tiny-bge-m3-xlmr"), dir.path());
  auto config = read_json_file(dir / "config.json");
  config["max_position_embeddings"] = 8194;
  config["num_hidden_layers"] = 1;
  testing::write_text(dir / "config.json", config.dump());
  testing::write_text(dir / "sentence_bert_config.json", R"({"max_seq_length": 8192})");
  auto tensors = raw_tensors(testing::fixture("tiny-bge-m3-xlmr") / "model.safetensors");
  std::erase_if(tensors, [](const auto& entry) { return entry.first.starts_with("encoder.layer.1."); });
  std::mt19937 random(7);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::vector<float> positions(8194 * 64);
  for (auto& value : positions) value = normal(random);
  tensors["embeddings.position_embeddings.weight"] = {
      "F32", {8194, 64}, std::string(reinterpret_cast<const char*>(positions.data()), positions.size() * 4)};
  testing::write_safetensors(dir / "model.safetensors", tensors);

  const Embedder embedder(Model::load_dir(dir.path(), "long"));
  EXPECT_EQ(embedder.max_tokens(), 8192u);
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "한국어 문장 ";
  const Embeddings out = embedder.embed(std::vector<std::string>{text}, TextKind::Raw);
  EXPECT_EQ(out.token_counts[0], 8192u);
  EXPECT_TRUE(out.truncated[0]);
  double norm = 0;
  for (float value : out.row(0)) {
    ASSERT_TRUE(std::isfinite(value));
    norm += value * value;
  }
  EXPECT_NEAR(norm, 1.0, 1e-4);
  // The same sequence in a batch with a short one gives the same vector (blocked attention is per sequence).
  const Embeddings pair = embedder.embed(std::vector<std::string>{"짧은 문장", text}, TextKind::Raw);
  EXPECT_LE(max_abs_diff(pair.row(1), out.row(0)), 1e-5f);
}

TEST(CrossEncoder, MatchesReferenceLogits) {
  const auto dir = testing::test_data("models/tiny-reranker");
  const CrossEncoder reranker(Model::load_dir(dir, "reranker"));
  const auto expected = testing::read_jsonl(dir / "expected.jsonl");
  std::vector<std::string> passages;
  for (const auto& line : expected) passages.push_back(line["passage"]);
  const auto query = expected[0]["query"].get<std::string>();
  const auto scores = reranker.score(query, passages);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(reranker.model().tokenizer.encode_pair(query, passages[i], 512).ids,
              expected[i]["token_ids"].get<std::vector<TokenId>>());
    EXPECT_NEAR(scores[i], expected[i]["logit"].get<float>(), 1e-4) << passages[i];
  }
  EXPECT_THROW(Embedder(Model::load_dir(dir, "reranker")), Error);
}

// bf16 and int8 (attention included, in bf16 where the CPU has it) keep the reranker's scores close to the
// reference logits, and with them the order of the passages.
TEST(CrossEncoder, ReducedPrecisionKeepsScoresAndOrder) {
  const auto dir = testing::test_data("models/tiny-reranker");
  const auto expected = testing::read_jsonl(dir / "expected.jsonl");
  std::vector<std::string> passages;
  std::vector<float> want;
  for (const auto& line : expected) {
    passages.push_back(line["passage"]);
    want.push_back(line["logit"].get<float>());
  }
  const auto order = [](const std::vector<float>& scores) {
    std::vector<std::size_t> ranks(scores.size());
    std::iota(ranks.begin(), ranks.end(), 0);
    std::ranges::sort(ranks, [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    return ranks;
  };
  for (Precision precision : {Precision::Bf16, Precision::Int8})
    for (const KernelPlan& plan : KernelPlan::runnable(precision)) {
      const CrossEncoder reranker(Model::load_dir(dir, "reranker", plan));
      const auto scores = reranker.score(expected[0]["query"].get<std::string>(), passages);
      // This tiny random model's logits (±1.5, closest pair 0.17 apart) move by up to 0.04 (bf16) and 0.11 (int8);
      // which of them moves most changes with any change to where the kernels round.
      for (std::size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(scores[i], want[i], 0.15) << plan.name() << " " << passages[i];
      EXPECT_EQ(order(scores), order(want)) << plan.name();
    }
}

}  // namespace
}  // namespace ksearch

namespace ksearch {
namespace {

// bf16 and int8 stay within cosine 0.99 of the reference embeddings on both fixtures (and our F16 model).
TEST(ReducedPrecision, CosineToReferenceAtLeast099) {
  for (const auto& dir : {testing::fixture("tiny-e5-bert"), testing::fixture("tiny-bge-m3-xlmr"),
                          testing::test_data("models/tiny-xlmr-f16")}) {
    const auto expected = testing::read_jsonl(dir / "expected.jsonl");
    std::vector<std::string> texts;
    for (const auto& line : expected) texts.push_back(line["text"]);
    for (Precision precision : {Precision::Bf16, Precision::Int8})
      for (const KernelPlan& plan : KernelPlan::runnable(precision)) {
        const Embedder embedder(Model::load_dir(dir, "p", plan));
        EXPECT_EQ(embedder.model().encoder.precision(), precision);
        const Embeddings got = embedder.embed(texts, TextKind::Raw);
        for (std::size_t i = 0; i < texts.size(); ++i) {
          const auto want = expected[i]["embedding"].get<std::vector<float>>();
          double dot = 0;
          for (std::size_t d = 0; d < want.size(); ++d) dot += got.row(i)[d] * want[d];
          EXPECT_GE(dot, 0.99) << dir.filename() << " " << plan.name() << " " << texts[i];
        }
      }
  }
}

}  // namespace
}  // namespace ksearch
