// The tokenizer of a model folder, from one of two descriptions:
//
//  * tokenizer.json (Hugging Face `tokenizers` format), the primary one: normalizers, pre-tokenizer, Unigram or
//    WordPiece model, added tokens and post-processor, with the ids of Hugging Face's Rust implementation
//    (embed/tokenizer_json.h; docs/tokenizers.md lists what is supported).
//  * sentencepiece.bpe.model, only for a folder without tokenizer.json: XLM-R's fairseq id convention
//    (<s>=0 <pad>=1 </s>=2 <unk>=3, piece i -> i+1, <mask> = last id; literal "<s>", "</s>", "<pad>", "<unk>",
//    "<mask>" in the text become their ids).
//
// Every input is composed to NFC first (documents, queries and API inputs alike), so NFD Hangul from macOS file
// names or copy-paste tokenizes like the composed syllables instead of turning into <unk>; offsets still point into
// the caller's original bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "embed/post_processor.h"
#include "embed/subword_model.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ksearch {

class TokenizerJson;

struct Encoding {
  std::vector<TokenId> ids;
  std::vector<std::int32_t> type_ids;  // segment of each id (0; 1 for the second text of a BERT-style pair)
  std::size_t untruncated_length = 0;  // length the sequence would have had without truncation
  bool truncated() const { return untruncated_length > ids.size(); }
};

class Tokenizer {
 public:
  // Loads MODEL_DIR/tokenizer.json, or MODEL_DIR/sentencepiece.bpe.model when there is none.  Throws Error naming
  // the file and JSON path for anything unsupported or malformed.
  static Tokenizer load(const std::filesystem::path& model_dir);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // The post-processor's template around `text` (e.g. `<s> text </s>`), truncated to max_length tokens (the
  // specials are kept).  Throws Error on invalid UTF-8 or a max_length below the number of specials.
  Encoding encode(std::string_view text, std::size_t max_length) const;

  // The pair template (e.g. `<s> a </s></s> b </s>`) for cross-encoders, truncated "longest first" as Hugging Face's
  // Rust library does: the shorter side keeps min(its length, budget / 2), the longer one the rest.
  Encoding encode_pair(std::string_view first, std::string_view second, std::size_t max_length) const;

  // Content tokens of `text` (no template specials) with byte offsets into `text`, for the chunker.
  std::vector<TokenSpan> tokenize_with_offsets(std::string_view text) const;

  // Highest id the tokenizer can produce + 1 (must not exceed the embedding matrix).
  int vocab_size() const { return vocab_size_; }
  // Special ids read from the files; -1 when the tokenizer has no such token.
  TokenId bos_id() const { return bos_id_; }  // <s> / [CLS]
  TokenId eos_id() const { return eos_id_; }  // </s> / [SEP]
  TokenId pad_id() const { return pad_id_; }
  TokenId unk_id() const { return unk_id_; }
  TokenId mask_id() const { return mask_id_; }
  // Hash of the tokenizer description: an index built with another tokenizer is refused.
  const std::string& fingerprint() const { return fingerprint_; }
  // Text of a token id (for debugging and `ksearch tokenize --pieces`).
  std::string piece(TokenId id) const;

 private:
  Tokenizer();
  std::vector<TokenSpan> content_tokens(std::string_view text) const;
  void segment(std::string_view text, std::uint32_t base, std::vector<TokenSpan>& out) const;
  std::vector<TokenSpan> sentencepiece_tokens(std::string_view text) const;

  std::unique_ptr<TokenizerJson> json_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;  // only without tokenizer.json
  PostProcessor post_processor_;
  int vocab_size_ = 0;
  TokenId bos_id_ = -1;
  TokenId eos_id_ = -1;
  TokenId pad_id_ = -1;
  TokenId unk_id_ = -1;
  TokenId mask_id_ = -1;
  std::string fingerprint_;
};

}  // namespace ksearch
