// XLM-RoBERTa tokenizer: sentencepiece segmentation with the fairseq id convention shared by every seed model
// (Hugging Face XLMRobertaTokenizer / XLMRobertaTokenizerFast semantics).
//
//   <s>=0  <pad>=1  </s>=2  <unk>=3  sentencepiece piece i -> i+1  <mask> = last id
//   single:  <s> pieces </s>            pair:  <s> a </s></s> b </s>
//
// Literal special-token strings in the text ("<s>", "</s>", "<pad>", "<unk>", "<mask>") become their ids, as in
// Hugging Face; the text around them is segmented separately.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ksearch {

using TokenId = std::int32_t;

// A token of the input text with the byte range it came from (special tokens have begin == end).
struct TokenSpan {
  TokenId id;
  std::uint32_t begin;
  std::uint32_t end;
};

struct Encoding {
  std::vector<TokenId> ids;
  std::size_t untruncated_length = 0;  // length the sequence would have had without truncation
  bool truncated() const { return untruncated_length > ids.size(); }
};

class Tokenizer {
 public:
  static constexpr TokenId kBos = 0;
  static constexpr TokenId kPad = 1;
  static constexpr TokenId kEos = 2;
  static constexpr TokenId kUnk = 3;

  // Loads MODEL_DIR/sentencepiece.bpe.model, and MODEL_DIR/tokenizer.json when present (it decides whether a
  // trailing space becomes a "▁" token, as older bge-m3-family files do).
  static Tokenizer load(const std::filesystem::path& model_dir);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // `<s> text </s>`, truncated to max_length tokens (keeping `</s>`).  Throws Error on invalid UTF-8.
  Encoding encode(std::string_view text, std::size_t max_length) const;

  // `<s> a </s></s> b </s>` for cross-encoders; the longer side loses tokens first.
  Encoding encode_pair(std::string_view first, std::string_view second, std::size_t max_length) const;

  // Content tokens of `text` (no <s>/</s>) with byte offsets into `text`, for the chunker.
  std::vector<TokenSpan> tokenize_with_offsets(std::string_view text) const;

  // Number of ids the tokenizer can produce (sentencepiece pieces + fairseq offset + <mask>).
  int vocab_size() const;
  TokenId mask_id() const { return vocab_size() - 1; }
  // Hash of the sentencepiece model bytes and settings: an index built with another tokenizer is refused.
  const std::string& fingerprint() const { return fingerprint_; }
  // Text of a token id (for debugging and `ksearch tokenize --pieces`).
  std::string piece(TokenId id) const;

 private:
  Tokenizer();
  std::vector<TokenSpan> content_tokens(std::string_view text) const;
  void segment(std::string_view text, std::uint32_t base, std::vector<TokenSpan>& out) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  bool trailing_space_token_ = false;  // tokenizer.json without whitespace stripping keeps a final "▁"
  TokenId space_piece_id_ = kUnk;
  std::string fingerprint_;
};

}  // namespace ksearch
