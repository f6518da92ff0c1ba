#include <cstdio>
#include <iostream>
#include <memory>

#include "base/json.h"
#include "cli/commands.h"
#include "cli/input_lines.h"
#include "embed/embedder.h"

namespace ksearch::cli {
namespace {

struct EmbedFlags {
  std::string model{kDefaultEmbeddingModel};
  std::string input;
  InputFormat format = InputFormat::Text;
  bool query = false;
  bool passage = false;
  std::size_t batch_size = 32;
  std::size_t max_tokens = 0;
  std::string precision = "fp32";
  std::string output = "dense";
};

void add_input_flags(CLI::App& command, EmbedFlags& flags) {
  command.add_option("-m,--model", flags.model, "model: alias, Hugging Face id or folder")->capture_default_str();
  command.add_option("-i,--input", flags.input, "read inputs from FILE (default: stdin), one per line");
  command
      .add_option("--input-format", flags.format,
                  "text: one input per line; jsonl: a JSON string or {\"text\"} per line")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, InputFormat>{{"text", InputFormat::Text}, {"jsonl", InputFormat::Jsonl}}));
  command.add_option("--max-tokens", flags.max_tokens, "truncate inputs to N tokens (default: the model's limit)");
  command.add_option("--precision", flags.precision, "encoder precision: fp32 (exact), bf16 or int8 (faster)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}))
      ->capture_default_str();
}

// One JSON line per text of BGE-M3's sparse output: {"index", "lexical_weights": {"TOKEN_ID": weight, ...},
// "tokens": {"TOKEN_ID": "piece", ...}}, or of its ColBERT output: {"index", "colbert_vecs": [[...], ...]}.
void print_bge_m3_outputs(const Embedder& embedder, std::span<const std::string> texts, TextKind kind,
                          std::size_t first, bool sparse) {
  if (sparse) {
    const std::vector<LexicalWeights> all = embedder.lexical_weights(texts, kind);
    for (std::size_t i = 0; i < all.size(); ++i) {
      Json weights = Json::object(), tokens = Json::object();
      for (std::size_t t = 0; t < all[i].tokens.size(); ++t) {
        const std::string id = std::to_string(all[i].tokens[t]);
        weights[id] = all[i].weights[t];
        tokens[id] = embedder.model().tokenizer.piece(all[i].tokens[t]);
      }
      std::cout << to_json_text(Json{{"index", first + i}, {"lexical_weights", weights}, {"tokens", tokens}}) << '\n';
    }
    return;
  }
  const std::vector<MultiVector> all = embedder.colbert_vectors(texts, kind);
  for (std::size_t i = 0; i < all.size(); ++i) {
    Json rows = Json::array();
    for (std::size_t r = 0; r < all[i].rows(); ++r) {
      const float* row = all[i].values.data() + r * all[i].dimension;
      rows.push_back(std::vector<float>(row, row + all[i].dimension));
    }
    std::cout << to_json_text(Json{{"index", first + i}, {"colbert_vecs", rows}}) << '\n';
  }
}

void run_embed(const EmbedFlags& flags) {
  EmbedOptions options;
  options.max_tokens = flags.max_tokens;
  const Embedder embedder(Model::load(flags.model, parse_precision(flags.precision)), options);
  const TextKind kind = flags.query ? TextKind::Query : flags.passage ? TextKind::Passage : TextKind::Raw;
  const std::vector<std::string> inputs = read_inputs(flags.input, flags.format);
  const std::size_t batch = std::max<std::size_t>(1, flags.batch_size);
  for (std::size_t first = 0; first < inputs.size(); first += batch) {
    const std::size_t count = std::min(batch, inputs.size() - first);
    if (flags.output != "dense") {
      print_bge_m3_outputs(embedder, std::span(inputs).subspan(first, count), kind, first, flags.output == "sparse");
      continue;
    }
    const Embeddings embeddings = embedder.embed(std::span(inputs).subspan(first, count), kind);
    for (std::size_t i = 0; i < count; ++i) {
      const auto row = embeddings.row(i);
      Json line = {{"index", first + i},
                   {"n_tokens", embeddings.token_counts[i]},
                   {"embedding", std::vector<float>(row.begin(), row.end())}};
      if (embeddings.truncated[i]) {
        line["truncated"] = true;
        std::cerr << "ksearch: input " << first + i << " truncated to " << embeddings.token_counts[i] << " tokens\n";
      }
      std::cout << to_json_text(line) << '\n';
    }
  }
  std::cout.flush();
}

void run_tokenize(const EmbedFlags& flags, bool pieces) {
  const auto model = Model::load(flags.model);
  const std::size_t max_tokens =
      flags.max_tokens == 0 ? static_cast<std::size_t>(model->spec.max_seq_length) : flags.max_tokens;
  const std::vector<std::string> inputs = read_inputs(flags.input, flags.format);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Encoding encoding = model->tokenizer.encode(inputs[i], max_tokens);
    Json line = {{"index", i}, {"ids", encoding.ids}};
    if (pieces) {
      Json names = Json::array();
      for (TokenId id : encoding.ids) names.push_back(model->tokenizer.piece(id));
      line["pieces"] = names;
    }
    if (encoding.truncated()) line["truncated"] = true;
    std::cout << to_json_text(line) << '\n';
  }
  std::cout.flush();
}

}  // namespace

void add_embed_commands(CLI::App& app) {
  auto flags = std::make_shared<EmbedFlags>();
  CLI::App* embed = app.add_subcommand("embed", "embed texts (one per line) and print JSON lines with the vectors");
  add_input_flags(*embed, *flags);
  auto* query = embed->add_flag("--query", flags->query, "apply the model's query prefix (e5: \"query: \")");
  embed->add_flag("--passage", flags->passage, "apply the model's passage prefix (e5: \"passage: \")")->excludes(query);
  embed->add_option("--batch-size", flags->batch_size, "texts per batch")->capture_default_str();
  embed
      ->add_option("--output", flags->output,
                   "dense: the embedding; sparse: BGE-M3 lexical weights by token id; colbert: BGE-M3 ColBERT vectors")
      ->check(CLI::IsMember({"dense", "sparse", "colbert"}))
      ->capture_default_str();
  embed->callback([flags] { run_embed(*flags); });

  auto tokenize_flags = std::make_shared<EmbedFlags>();
  auto pieces = std::make_shared<bool>(false);
  CLI::App* tokenize = app.add_subcommand("tokenize", "print the token ids of texts (one per line) as JSON lines");
  add_input_flags(*tokenize, *tokenize_flags);
  tokenize->add_flag("--pieces", *pieces, "also print the sentencepiece pieces");
  tokenize->callback([tokenize_flags, pieces] { run_tokenize(*tokenize_flags, *pieces); });
}

}  // namespace ksearch::cli
