#include "embed/tokenizer_json.h"

#include <algorithm>

#include "base/json.h"
#include "embed/unigram_model.h"
#include "embed/wordpiece_model.h"

namespace ksearch {

std::unique_ptr<TokenizerJson> TokenizerJson::parse(std::string_view json_text, const std::string& file) {
  const Json json = parse_json(json_text, file);
  const JsonPath root(json, std::make_shared<const std::string>(file), "");
  if (!json.is_object()) fail(file, ": expected a JSON object, found ", json.type_name());
  auto tokenizer = std::make_unique<TokenizerJson>();

  const JsonPath model = root["model"];
  const std::string type = model.has("type") ? model.type() : std::string();
  if (type == "Unigram")
    tokenizer->model_ = UnigramModel::parse(model);
  else if (type == "WordPiece")
    tokenizer->model_ = WordPieceModel::parse(model);
  else if (type.empty() && model.has("vocab") && model.json()["vocab"].is_array())
    tokenizer->model_ = UnigramModel::parse(model);  // files from before "type" was written: the vocab's shape tells
  else if (type.empty() && model.has("vocab") && model.has("continuing_subword_prefix") && !model.has("merges"))
    tokenizer->model_ = WordPieceModel::parse(model);
  else if (type.empty())
    model.fail_at("type", "missing");
  else
    model.unsupported("type");

  if (root.has("normalizer")) tokenizer->normalizer_ = Normalizer::parse(root["normalizer"]);
  if (root.has("pre_tokenizer")) tokenizer->pre_tokenizer_ = PreTokenizer::parse(root["pre_tokenizer"]);
  tokenizer->added_ = AddedVocabulary::parse(root, tokenizer->normalizer_.get());
  tokenizer->post_processor_ = PostProcessor::parse(root);
  return tokenizer;
}

std::vector<TokenSpan> TokenizerJson::tokenize(const NormalizedText& text) const {
  std::vector<TokenSpan> out;
  std::vector<WordToken> word_tokens;
  std::vector<NormalizedText> words;
  for (auto& split : added_.split(text, normalizer_.get())) {
    if (split.token) {
      const ByteRange range = split.text.original(0, split.text.text.size());
      out.push_back({*split.token, range.begin, range.end});
      continue;
    }
    words.clear();
    words.push_back(std::move(split.text));
    if (pre_tokenizer_) pre_tokenizer_->split(words);
    for (const auto& word : words) {
      if (word.empty()) continue;
      word_tokens.clear();
      model_->tokenize(word.text, word_tokens);
      for (const auto& token : word_tokens) {
        const ByteRange range = word.original(token.begin, token.end);
        out.push_back({token.id, range.begin, range.end});
      }
    }
  }
  return out;
}

TokenId TokenizerJson::max_id() const {
  TokenId max = std::max(model_->max_id(), post_processor_.max_id());
  for (const auto& token : added_.tokens()) max = std::max(max, token.id);
  return max;
}

std::optional<std::string> TokenizerJson::piece(TokenId id) const {
  for (const auto& token : added_.tokens())
    if (token.id == id) return token.content;
  return model_->id_to_token(id);
}

}  // namespace ksearch
