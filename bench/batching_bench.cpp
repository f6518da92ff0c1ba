// Padding waste of batching policies on a real corpus: the KorQuAD dev paragraphs tokenized with a model's tokenizer.
//   ksearch_batching_bench SQUAD_JSON MODEL_DIR [--budget TOKENS]   (default: the indexer's batch, kDefaultBatchTokens)
// A padded engine pays for max_length x batch_size tokens per batch; ksearch packs sequences end to end (no padding)
// and groups them by length so attention blocks stay balanced.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "embed/embedder.h"
#include "search/eval.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SQUAD_JSON MODEL_DIR [--budget TOKENS]\n", argv[0]);
    return 2;
  }
  std::size_t budget = ksearch::kDefaultBatchTokens;
  for (int i = 3; i + 1 < argc; i += 2)
    if (std::strcmp(argv[i], "--budget") == 0) budget = std::stoul(argv[i + 1]);
  const ksearch::EvalSet set = ksearch::load_squad(argv[1]);
  const auto model = ksearch::Model::load_dir(argv[2], argv[2]);
  std::vector<std::size_t> lengths;
  std::size_t tokens = 0;
  for (const auto& document : set.documents) {
    const auto encoding = model->tokenizer.encode("passage: " + document.title + "\n\n" + document.text, 512);
    lengths.push_back(encoding.ids.size());
    tokens += encoding.ids.size();
  }
  const auto padded_cost = [&](const std::vector<std::vector<std::size_t>>& batches) {
    std::size_t cost = 0;
    for (const auto& batch : batches) {
      std::size_t longest = 0;
      for (std::size_t index : batch) longest = std::max(longest, lengths[index]);
      cost += longest * batch.size();
    }
    return cost;
  };
  std::vector<std::vector<std::size_t>> in_order;
  for (std::size_t i = 0; i < lengths.size(); i += 32) {
    in_order.emplace_back();
    for (std::size_t j = i; j < std::min(lengths.size(), i + 32); ++j) in_order.back().push_back(j);
  }
  const auto sorted = ksearch::length_sorted_batches(lengths, budget);
  // Packed: the encoder runs each batch as its sequences laid end to end, so it computes exactly their tokens.
  std::size_t packed_cost = 0;
  for (const auto& batch : sorted)
    for (std::size_t index : batch) packed_cost += lengths[index];
  const auto fraction = [&](std::size_t cost) { return 1.0 - static_cast<double>(tokens) / static_cast<double>(cost); };
  std::printf(
      "{\"paragraphs\": %zu, \"tokens\": %zu, \"padding_fraction_batches_of_32_in_order\": %.4f, "
      "\"padding_fraction_length_sorted_padded\": %.4f, \"padding_fraction_ksearch_packed\": %.4f, "
      "\"ksearch_batches\": %zu, \"budget\": %zu}\n",
      lengths.size(), tokens, fraction(padded_cost(in_order)), fraction(padded_cost(sorted)), fraction(packed_cost),
      sorted.size(), budget);
  return 0;
}
