#include "embed/tokenizer.h"

#include <sentencepiece_processor.h>

#include <array>

#include "base/error.h"
#include "base/files.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/utf8.h"

namespace ksearch {
namespace {

struct SpecialToken {
  std::string_view text;
  TokenId id;  // -1: the <mask> id, known only after loading
  bool strips_left_space;
};

constexpr std::array<SpecialToken, 5> kSpecialTokens = {{
    {"<s>", Tokenizer::kBos, false},
    {"</s>", Tokenizer::kEos, false},
    {"<pad>", Tokenizer::kPad, false},
    {"<unk>", Tokenizer::kUnk, false},
    {"<mask>", -1, true},  // Hugging Face's <mask> AddedToken has lstrip=True
}};

// tokenizer.json decides whether whitespace is stripped before the Metaspace pre-tokenizer.  Older bge-m3-family
// files normalise with Replace(" {2,}", " ") and split with Metaspace alone, so a trailing space survives as a
// final "▁" token; files whose pre-tokenizer includes WhitespaceSplit (or whose normaliser strips) drop it, which is
// what sentencepiece itself does.  The (large) "model" vocabulary section is skipped while parsing.
bool keeps_trailing_space(const std::filesystem::path& tokenizer_json) {
  const std::string text = read_file(tokenizer_json);
  Json json;
  try {
    json = Json::parse(text, [](int depth, Json::parse_event_t event, Json& parsed) {
      return !(depth == 1 && event == Json::parse_event_t::key && parsed == "model");
    });
  } catch (const nlohmann::json::exception& e) {
    fail(tokenizer_json.string(), ": invalid JSON: ", e.what());
  }
  const auto mentions_type = [](const Json& node, auto&& self, std::string_view type) -> bool {
    if (node.is_object()) {
      if (auto it = node.find("type"); it != node.end() && it->is_string() && *it == type) return true;
      for (const auto& [key, child] : node.items())
        if (self(child, self, type)) return true;
    } else if (node.is_array()) {
      for (const auto& child : node)
        if (self(child, self, type)) return true;
    }
    return false;
  };
  const Json pre_tokenizer = json.value("pre_tokenizer", Json());
  const Json normalizer = json.value("normalizer", Json());
  if (!mentions_type(pre_tokenizer, mentions_type, "Metaspace")) return false;
  return !mentions_type(pre_tokenizer, mentions_type, "WhitespaceSplit") &&
         !mentions_type(pre_tokenizer, mentions_type, "Whitespace") &&
         !mentions_type(normalizer, mentions_type, "Strip");
}

// Whether the text ends in whitespace once normalised (control characters, which the normaliser drops, are
// skipped).
bool ends_with_space(std::string_view text) {
  std::size_t pos = 0;
  bool last_is_space = false;
  while (pos < text.size()) {
    const char32_t c = utf8::decode(text, pos);
    if (c < 0x20 && !utf8::is_space(c)) continue;
    if (c == 0x200B || c == 0xFEFF) continue;  // zero-width characters vanish under NFKC normalisation
    last_is_space = utf8::is_space(c);
  }
  return last_is_space;
}

}  // namespace

Tokenizer::Tokenizer() : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir) {
  const auto model_path = model_dir / "sentencepiece.bpe.model";
  if (!std::filesystem::exists(model_path))
    fail(model_path.string(), ": missing (ksearch needs the XLM-R sentencepiece model of the checkpoint)");
  const std::string model_bytes = read_file(model_path);
  Tokenizer tokenizer;
  const auto status = tokenizer.processor_->LoadFromSerializedProto(model_bytes);
  if (!status.ok()) fail(model_path.string(), ": not a valid sentencepiece model: ", status.ToString());
  if (tokenizer.processor_->GetPieceSize() < 4) fail(model_path.string(), ": sentencepiece model has too few pieces");

  const auto json_path = model_dir / "tokenizer.json";
  if (std::filesystem::exists(json_path)) tokenizer.trailing_space_token_ = keeps_trailing_space(json_path);
  const int space_piece = tokenizer.processor_->PieceToId("\xE2\x96\x81");  // "▁"
  tokenizer.space_piece_id_ =
      space_piece == tokenizer.processor_->unk_id() ? kUnk : static_cast<TokenId>(space_piece + 1);
  Digest fingerprint;
  fingerprint.update(model_bytes);
  fingerprint.update(tokenizer.trailing_space_token_ ? "|trailing-space" : "|strip");
  tokenizer.fingerprint_ = fingerprint.hex().substr(0, 16);
  return tokenizer;
}

int Tokenizer::vocab_size() const { return processor_->GetPieceSize() + 2; }

std::string Tokenizer::piece(TokenId id) const {
  for (const auto& special : kSpecialTokens)
    if (special.id == id) return std::string(special.text);
  if (id == mask_id()) return "<mask>";
  if (id <= 0 || id - 1 >= processor_->GetPieceSize()) return "<unk>";
  return processor_->IdToPiece(id - 1);
}

void Tokenizer::segment(std::string_view text, std::uint32_t base, std::vector<TokenSpan>& out) const {
  if (text.empty()) return;
  const auto proto = processor_->EncodeAsImmutableProto(text);
  const int unk = processor_->unk_id();
  for (const auto& piece : proto.pieces()) {
    const int sp_id = static_cast<int>(piece.id());
    const TokenId id = sp_id == unk ? kUnk : static_cast<TokenId>(sp_id + 1);
    out.push_back({id, base + piece.begin(), base + piece.end()});
  }
  if (trailing_space_token_ && ends_with_space(text)) {
    const auto end = static_cast<std::uint32_t>(base + text.size());
    out.push_back({space_piece_id_, end, end});
  }
}

std::vector<TokenSpan> Tokenizer::content_tokens(std::string_view text) const {
  if (auto bad = utf8::find_invalid(text)) fail("invalid UTF-8 in input text at byte ", *bad);
  if (text.size() > UINT32_MAX) fail("input text too long to tokenize (", text.size(), " bytes)");
  std::vector<TokenSpan> out;
  std::size_t segment_start = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const SpecialToken* match = nullptr;
    if (text[pos] == '<')
      for (const auto& special : kSpecialTokens)
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
    const TokenId id = match->id >= 0 ? match->id : mask_id();
    out.push_back({id, static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(pos + match->text.size())});
    pos += match->text.size();
    segment_start = pos;
  }
  segment(text.substr(segment_start), static_cast<std::uint32_t>(segment_start), out);
  return out;
}

std::vector<TokenSpan> Tokenizer::tokenize_with_offsets(std::string_view text) const { return content_tokens(text); }

Encoding Tokenizer::encode(std::string_view text, std::size_t max_length) const {
  if (max_length < 2) fail("max_length ", max_length, " is too small: it must leave room for <s> and </s>");
  const auto tokens = content_tokens(text);
  Encoding encoding;
  encoding.untruncated_length = tokens.size() + 2;
  const std::size_t kept = std::min(tokens.size(), max_length - 2);
  encoding.ids.reserve(kept + 2);
  encoding.ids.push_back(kBos);
  for (std::size_t i = 0; i < kept; ++i) encoding.ids.push_back(tokens[i].id);
  encoding.ids.push_back(kEos);
  return encoding;
}

Encoding Tokenizer::encode_pair(std::string_view first, std::string_view second, std::size_t max_length) const {
  if (max_length < 4) fail("max_length ", max_length, " is too small for a pair: it must leave room for 4 specials");
  const auto a = content_tokens(first);
  const auto b = content_tokens(second);
  std::size_t keep_a = a.size();
  std::size_t keep_b = b.size();
  // Hugging Face "longest_first": drop one token at a time from the longer side (the second on ties).
  const std::size_t budget = max_length - 4;
  if (keep_a + keep_b > budget) {
    const std::size_t excess = keep_a + keep_b - budget;
    const std::size_t difference = keep_a > keep_b ? keep_a - keep_b : keep_b - keep_a;
    const std::size_t from_longer = std::min(excess, difference);
    (keep_a > keep_b ? keep_a : keep_b) -= from_longer;
    const std::size_t rest = excess - from_longer;  // now equal lengths: alternate, second side first
    keep_b -= (rest + 1) / 2;
    keep_a -= rest / 2;
  }
  Encoding encoding;
  encoding.untruncated_length = a.size() + b.size() + 4;
  encoding.ids.reserve(keep_a + keep_b + 4);
  encoding.ids.push_back(kBos);
  for (std::size_t i = 0; i < keep_a; ++i) encoding.ids.push_back(a[i].id);
  encoding.ids.push_back(kEos);
  encoding.ids.push_back(kEos);
  for (std::size_t i = 0; i < keep_b; ++i) encoding.ids.push_back(b[i].id);
  encoding.ids.push_back(kEos);
  return encoding;
}

}  // namespace ksearch
