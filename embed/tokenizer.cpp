#include "embed/tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <array>

#include "base/error.h"
#include "base/files.h"
#include "base/hash.h"
#include "base/utf8.h"
#include "embed/tokenizer_json.h"
#include "embed/unicode_text.h"

namespace ksearch {
namespace {

// XLM-R's fairseq ids for a folder with only sentencepiece.bpe.model.
constexpr TokenId kFairseqBos = 0;
constexpr TokenId kFairseqPad = 1;
constexpr TokenId kFairseqEos = 2;
constexpr TokenId kFairseqUnk = 3;
constexpr TokenId kFairseqOffset = 1;  // sentencepiece piece i -> id i + 1

struct LiteralSpecial {
  std::string_view text;
  TokenId id;  // -1: the <mask> id, known only after loading
  bool strips_left_space;
};

constexpr std::array<LiteralSpecial, 5> kLiteralSpecials = {{
    {"<s>", kFairseqBos, false},
    {"</s>", kFairseqEos, false},
    {"<pad>", kFairseqPad, false},
    {"<unk>", kFairseqUnk, false},
    {"<mask>", -1, true},  // Hugging Face's <mask> AddedToken has lstrip=True
}};

TokenId first_found(const AddedVocabulary& added, std::initializer_list<std::string_view> names) {
  for (const auto name : names)
    if (auto id = added.find(name)) return *id;
  return -1;
}

std::string fingerprint_of(std::string_view description) {
  Digest digest;
  digest.update(description);
  digest.update("|nfc");  // inputs are composed to NFC before tokenization
  return digest.hex().substr(0, 16);
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir) {
  Tokenizer tokenizer;
  const auto json_path = model_dir / "tokenizer.json";
  if (std::filesystem::exists(json_path)) {
    const std::string text = read_file(json_path);
    tokenizer.json_ = TokenizerJson::parse(text, json_path.string());
    const TokenizerJson& json = *tokenizer.json_;
    tokenizer.post_processor_ = json.post_processor();
    tokenizer.vocab_size_ = json.max_id() + 1;
    const AddedVocabulary& added = json.added_vocabulary();
    tokenizer.bos_id_ = json.post_processor().leading_special();
    if (tokenizer.bos_id_ < 0) tokenizer.bos_id_ = first_found(added, {"<s>", "[CLS]"});
    tokenizer.eos_id_ = json.post_processor().trailing_special();
    if (tokenizer.eos_id_ < 0) tokenizer.eos_id_ = first_found(added, {"</s>", "[SEP]"});
    tokenizer.pad_id_ = first_found(added, {"<pad>", "[PAD]"});
    tokenizer.mask_id_ = first_found(added, {"<mask>", "[MASK]"});
    tokenizer.unk_id_ = json.model().unk_id();
    tokenizer.fingerprint_ = fingerprint_of(text);
    return tokenizer;
  }

  const auto model_path = model_dir / "sentencepiece.bpe.model";
  if (!std::filesystem::exists(model_path))
    fail(model_dir.string(), ": no tokenizer.json or sentencepiece.bpe.model (ksearch needs one of them)");
  const std::string model_bytes = read_file(model_path);
  tokenizer.processor_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = tokenizer.processor_->LoadFromSerializedProto(model_bytes);
  if (!status.ok()) fail(model_path.string(), ": not a valid sentencepiece model: ", status.ToString());
  if (tokenizer.processor_->GetPieceSize() < 4) fail(model_path.string(), ": sentencepiece model has too few pieces");
  tokenizer.vocab_size_ = tokenizer.processor_->GetPieceSize() + 2;
  tokenizer.bos_id_ = kFairseqBos;
  tokenizer.eos_id_ = kFairseqEos;
  tokenizer.pad_id_ = kFairseqPad;
  tokenizer.unk_id_ = kFairseqUnk;
  tokenizer.mask_id_ = tokenizer.vocab_size_ - 1;
  tokenizer.post_processor_ = PostProcessor::roberta(kFairseqBos, kFairseqEos);
  tokenizer.fingerprint_ = fingerprint_of(model_bytes);
  return tokenizer;
}

std::string Tokenizer::piece(TokenId id) const {
  if (json_) {
    if (auto text = json_->piece(id)) return *text;
    if (auto text = json_->piece(unk_id_)) return *text;
    return "<unk>";
  }
  for (const auto& special : kLiteralSpecials)
    if (special.id == id) return std::string(special.text);
  if (id == mask_id_) return "<mask>";
  if (id < kFairseqOffset || id - kFairseqOffset >= processor_->GetPieceSize()) return "<unk>";
  return processor_->IdToPiece(id - kFairseqOffset);
}

void Tokenizer::segment(std::string_view text, std::uint32_t base, std::vector<TokenSpan>& out) const {
  if (text.empty()) return;
  const auto proto = processor_->EncodeAsImmutableProto(text);
  const int unk = processor_->unk_id();
  for (const auto& piece : proto.pieces()) {
    const int sp_id = static_cast<int>(piece.id());
    const TokenId id = sp_id == unk ? kFairseqUnk : static_cast<TokenId>(sp_id + kFairseqOffset);
    out.push_back({id, base + piece.begin(), base + piece.end()});
  }
}

// sentencepiece segmentation with XLM-R's literal special tokens cut out first; offsets into `text`.
std::vector<TokenSpan> Tokenizer::sentencepiece_tokens(std::string_view text) const {
  std::vector<TokenSpan> out;
  std::size_t segment_start = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const LiteralSpecial* match = nullptr;
    if (text[pos] == '<')
      for (const auto& special : kLiteralSpecials)
        if (text.substr(pos).starts_with(special.text)) {
          match = &special;
          break;
        }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    std::string_view before = text.substr(segment_start, pos - segment_start);
    if (match->strips_left_space)
      while (!before.empty() && utf8::is_space(static_cast<unsigned char>(before.back()))) before.remove_suffix(1);
    segment(before, static_cast<std::uint32_t>(segment_start), out);
    const TokenId id = match->id >= 0 ? match->id : mask_id_;
    out.push_back({id, static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(pos + match->text.size())});
    pos += match->text.size();
    segment_start = pos;
  }
  segment(text.substr(segment_start), static_cast<std::uint32_t>(segment_start), out);
  return out;
}

std::vector<TokenSpan> Tokenizer::content_tokens(std::string_view text) const {
  if (auto bad = utf8::find_invalid(text)) fail("invalid UTF-8 in input text at byte ", *bad);
  if (text.size() >= UINT32_MAX) fail("input text too long to tokenize (", text.size(), " bytes)");
  const NormalizedText composed = unicode::normalize(NormalizedText::identity(text), unicode::Form::Nfc);
  if (json_) return json_->tokenize(composed);
  auto tokens = sentencepiece_tokens(composed.text);
  if (composed.text != text)
    for (auto& token : tokens) {
      const ByteRange range = composed.original(token.begin, token.end);
      token.begin = range.begin;
      token.end = range.end;
    }
  return tokens;
}

std::vector<TokenSpan> Tokenizer::tokenize_with_offsets(std::string_view text) const { return content_tokens(text); }

namespace {

std::vector<TokenId> ids_of(const std::vector<TokenSpan>& tokens, std::size_t keep) {
  std::vector<TokenId> ids;
  ids.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) ids.push_back(tokens[i].id);
  return ids;
}

}  // namespace

Encoding Tokenizer::encode(std::string_view text, std::size_t max_length) const {
  const std::size_t specials = post_processor_.added_tokens(false);
  if (max_length < specials || max_length == 0)
    fail("max_length ", max_length, " is too small: the template adds ", specials, " special tokens");
  const auto tokens = content_tokens(text);
  const auto content = ids_of(tokens, std::min(tokens.size(), max_length - specials));
  Encoding encoding;
  encoding.untruncated_length = tokens.size() + specials;
  encoding.ids.reserve(content.size() + specials);
  encoding.type_ids.reserve(content.size() + specials);
  post_processor_.apply(content, {}, false, encoding.ids, encoding.type_ids);
  return encoding;
}

Encoding Tokenizer::encode_pair(std::string_view first, std::string_view second, std::size_t max_length) const {
  const std::size_t specials = post_processor_.added_tokens(true);
  if (max_length < specials || max_length == 0)
    fail("max_length ", max_length, " is too small for a pair: the template adds ", specials, " special tokens");
  const auto a = content_tokens(first);
  const auto b = content_tokens(second);
  std::size_t keep_a = a.size();
  std::size_t keep_b = b.size();
  const std::size_t budget = max_length - specials;
  if (keep_a + keep_b > budget) {
    // Hugging Face's longest_first: the shorter side keeps min(its length, budget / 2) tokens (the first on ties),
    // the longer one the rest of the budget.
    const bool swap = keep_a > keep_b;
    std::size_t shorter = swap ? keep_b : keep_a;
    std::size_t longer;
    if (shorter > budget / 2) {
      shorter = budget / 2;
      longer = shorter + budget % 2;
    } else {
      longer = budget - shorter;
    }
    keep_a = swap ? longer : shorter;
    keep_b = swap ? shorter : longer;
  }
  Encoding encoding;
  encoding.untruncated_length = a.size() + b.size() + specials;
  post_processor_.apply(ids_of(a, keep_a), ids_of(b, keep_b), true, encoding.ids, encoding.type_ids);
  return encoding;
}

}  // namespace ksearch
