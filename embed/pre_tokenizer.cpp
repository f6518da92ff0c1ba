#include "embed/pre_tokenizer.h"

#include <functional>

#include "base/utf8.h"
#include "embed/regex.h"
#include "embed/unicode_text.h"

namespace ksearch {
namespace {

// Hugging Face's SplitDelimiterBehavior: what happens to the delimiters a pattern finds.
enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct Part {
  ByteRange range;
  bool is_match;
};

// Cuts `text` into consecutive parts, marking the delimiters.
using Matcher = std::function<std::vector<Part>(std::string_view)>;

std::vector<Part> match_chars(std::string_view text, bool (*predicate)(char32_t)) {
  std::vector<Part> parts;
  std::size_t pos = 0;
  std::size_t plain_start = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    const char32_t c = utf8::decode(text, pos);
    if (!predicate(c)) continue;
    if (plain_start < start)
      parts.push_back({{static_cast<std::uint32_t>(plain_start), static_cast<std::uint32_t>(start)}, false});
    parts.push_back({{static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(pos)}, true});
    plain_start = pos;
  }
  if (plain_start < text.size())
    parts.push_back({{static_cast<std::uint32_t>(plain_start), static_cast<std::uint32_t>(text.size())}, false});
  return parts;
}

// Hugging Face's Whitespace pre-tokenizer, `\w+|[^\w\s]+`: runs of word characters and runs of other
// non-space characters, with the spaces removed.  Classified with our \w (which, like Rust's regex, includes the
// zero-width joiners) rather than Oniguruma's.
std::vector<Part> match_word_runs(std::string_view text) {
  enum class Kind { Word, Space, Other };
  std::vector<Part> parts;
  std::size_t pos = 0;
  std::size_t run_start = 0;
  Kind run = Kind::Space;
  const auto close = [&](std::size_t end) {
    if (end > run_start && run != Kind::Space)
      parts.push_back({{static_cast<std::uint32_t>(run_start), static_cast<std::uint32_t>(end)}, run == Kind::Word});
  };
  while (pos < text.size()) {
    const std::size_t start = pos;
    const char32_t c = utf8::decode(text, pos);
    const Kind kind = unicode::is_whitespace(c) ? Kind::Space : unicode::is_word_char(c) ? Kind::Word : Kind::Other;
    if (kind != run || start == 0) {
      close(start);
      run = kind;
      run_start = start;
    }
  }
  close(text.size());
  return parts;
}

std::vector<Part> match_regex(std::string_view text, const Regex& regex, bool invert) {
  std::vector<Part> parts;
  std::uint32_t done = 0;
  for (const auto& match : regex.find_all(text)) {
    if (done < match.begin) parts.push_back({{done, match.begin}, invert});
    parts.push_back({match, !invert});
    done = match.end;
  }
  if (done < text.size()) parts.push_back({{done, static_cast<std::uint32_t>(text.size())}, invert});
  return parts;
}

std::vector<ByteRange> apply_behavior(std::vector<Part> parts, Behavior behavior) {
  std::vector<ByteRange> out;
  switch (behavior) {
    case Behavior::Removed:
      for (const auto& part : parts)
        if (!part.is_match) out.push_back(part.range);
      break;
    case Behavior::Isolated:
      for (const auto& part : parts) out.push_back(part.range);
      break;
    case Behavior::Contiguous: {
      bool previous_match = false;
      for (const auto& part : parts) {
        if (!out.empty() && part.is_match == previous_match)
          out.back().end = part.range.end;
        else
          out.push_back(part.range);
        previous_match = part.is_match;
      }
      break;
    }
    case Behavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const auto& part : parts) {
        if (part.is_match && !previous_match && !out.empty())
          out.back().end = part.range.end;
        else
          out.push_back(part.range);
        previous_match = part.is_match;
      }
      break;
    }
    case Behavior::MergedWithNext: {
      bool next_match = false;  // walking backwards: whether the part after this one was a delimiter
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !next_match && !out.empty())
          out.back().begin = it->range.begin;
        else
          out.push_back(it->range);
        next_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
  }
  return out;
}

void split_all(std::vector<NormalizedText>& pieces, const Matcher& matcher, Behavior behavior) {
  std::vector<NormalizedText> out;
  out.reserve(pieces.size());
  for (const auto& piece : pieces)
    for (const auto& range : apply_behavior(matcher(piece.text), behavior))
      if (range.end > range.begin) out.push_back(piece.slice(range.begin, range.end));
  pieces = std::move(out);
}

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void split(std::vector<NormalizedText>& pieces) const override {
    for (const auto& step : steps_) step->split(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class PatternPreTokenizer final : public PreTokenizer {
 public:
  PatternPreTokenizer(Matcher matcher, Behavior behavior) : matcher_(std::move(matcher)), behavior_(behavior) {}
  void split(std::vector<NormalizedText>& pieces) const override { split_all(pieces, matcher_, behavior_); }

 private:
  Matcher matcher_;
  Behavior behavior_;
};

bool is_whitespace(char32_t c) { return unicode::is_whitespace(c); }
bool is_punctuation(char32_t c) { return unicode::is_punctuation(c); }
bool is_numeric(char32_t c) { return unicode::is_numeric(c); }

Matcher char_matcher(bool (*predicate)(char32_t)) {
  return [predicate](std::string_view text) { return match_chars(text, predicate); };
}

Matcher regex_matcher(std::shared_ptr<const Regex> regex, bool invert) {
  return [regex = std::move(regex), invert](std::string_view text) { return match_regex(text, *regex, invert); };
}

class BertPreTokenizer final : public PreTokenizer {
 public:
  void split(std::vector<NormalizedText>& pieces) const override {
    split_all(pieces, char_matcher(is_whitespace), Behavior::Removed);
    split_all(pieces, char_matcher(is_punctuation), Behavior::Isolated);
  }
};

// SentencePiece-style word boundaries: spaces become `replacement`, a word-start marker is prepended, and each
// marker starts a new piece.
class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  enum class Prepend { Always, First, Never };
  MetaspacePreTokenizer(char32_t replacement, Prepend prepend, bool split_words)
      : prepend_(prepend), split_words_(split_words) {
    utf8::append(replacement_, replacement);
  }

  void split(std::vector<NormalizedText>& pieces) const override {
    std::vector<NormalizedText> out;
    out.reserve(pieces.size());
    for (const auto& piece : pieces) {
      NormalizedText replaced;
      replaced.text.reserve(piece.text.size() + 8);
      replaced.origin.reserve(piece.text.size() + 8);
      const bool starts_with_marker = piece.text.starts_with(' ') || piece.text.starts_with(replacement_);
      const bool prepend = !starts_with_marker && (prepend_ == Prepend::Always ||
                                                   (prepend_ == Prepend::First && piece.original(0, 0).begin == 0));
      if (prepend) {
        replaced.text += replacement_;
        replaced.origin.assign(replacement_.size(), piece.original(0, 0));
      }
      for (std::size_t i = 0; i < piece.text.size(); ++i) {
        if (piece.text[i] == ' ') {
          replaced.text += replacement_;
          replaced.origin.insert(replaced.origin.end(), replacement_.size(), piece.origin[i]);
        } else {
          replaced.text += piece.text[i];
          replaced.origin.push_back(piece.origin[i]);
        }
      }
      if (!split_words_) {
        if (!replaced.empty()) out.push_back(std::move(replaced));
        continue;
      }
      // Each marker starts a new piece (MergedWithNext); a marker at the very start opens the first one.
      std::size_t start = 0;
      std::size_t at = replaced.text.find(replacement_, 1);
      while (at != std::string::npos) {
        out.push_back(replaced.slice(start, at));
        start = at;
        at = replaced.text.find(replacement_, at + replacement_.size());
      }
      if (start < replaced.text.size()) out.push_back(replaced.slice(start, replaced.text.size()));
    }
    pieces = std::move(out);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_words_;
};

Behavior parse_behavior(const JsonPath& node, std::string_view key, Behavior fallback) {
  if (!node.has(key)) return fallback;
  const std::string name = node.string(key);
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  node.unsupported(key);
}

char32_t single_char(const JsonPath& node, std::string_view key) {
  const std::string text = node.string(key);
  std::size_t pos = 0;
  const char32_t c = text.empty() ? 0 : utf8::decode(text, pos);
  if (text.empty() || pos != text.size() || utf8::find_invalid(text))
    node.fail_at(key, "expected a single character, found \"", text, "\"");
  return c;
}

std::unique_ptr<PreTokenizer> parse_metaspace(const JsonPath& node) {
  using Prepend = MetaspacePreTokenizer::Prepend;
  Prepend prepend = Prepend::Always;
  if (node.has("prepend_scheme")) {
    const std::string scheme = node.string("prepend_scheme");
    if (scheme == "always")
      prepend = Prepend::Always;
    else if (scheme == "first")
      prepend = Prepend::First;
    else if (scheme == "never")
      prepend = Prepend::Never;
    else
      node.unsupported("prepend_scheme");
  }
  // Files written before prepend_scheme existed say add_prefix_space: false for "never".
  if (!node.boolean_or("add_prefix_space", true)) prepend = Prepend::Never;
  return std::make_unique<MetaspacePreTokenizer>(single_char(node, "replacement"), prepend,
                                                 node.boolean_or("split", true));
}

}  // namespace

std::unique_ptr<PreTokenizer> PreTokenizer::parse(const JsonPath& node) {
  const std::string type = node.type();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const auto& step : node.elements("pretokenizers")) steps.push_back(parse(step));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Metaspace") return parse_metaspace(node);
  if (type == "WhitespaceSplit")
    return std::make_unique<PatternPreTokenizer>(char_matcher(is_whitespace), Behavior::Removed);
  if (type == "Whitespace") return std::make_unique<PatternPreTokenizer>(match_word_runs, Behavior::Isolated);
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "Punctuation")
    return std::make_unique<PatternPreTokenizer>(char_matcher(is_punctuation),
                                                 parse_behavior(node, "behavior", Behavior::Isolated));
  if (type == "Digits")
    return std::make_unique<PatternPreTokenizer>(char_matcher(is_numeric), node.boolean_or("individual_digits", false)
                                                                               ? Behavior::Isolated
                                                                               : Behavior::Contiguous);
  if (type == "CharDelimiterSplit") {
    const char32_t delimiter = single_char(node, "delimiter");
    std::string literal;
    utf8::append(literal, delimiter);
    return std::make_unique<PatternPreTokenizer>(
        regex_matcher(std::make_shared<const Regex>(regex_escape(literal), node.file()), false), Behavior::Removed);
  }
  if (type == "Split") {
    const JsonPath pattern = node["pattern"];
    const std::string where = node.file() + ": " + pattern.path();
    std::shared_ptr<const Regex> regex;
    if (pattern.has("String"))
      regex = std::make_shared<const Regex>(regex_escape(pattern.string("String")), where);
    else if (pattern.has("Regex"))
      regex = std::make_shared<const Regex>(pattern.string("Regex"), where);
    else
      pattern.fail_at({}, "expected {\"String\": ...} or {\"Regex\": ...}, found ", to_json_text(pattern.json()));
    if (!node.has("behavior")) node.fail_at("behavior", "missing");
    return std::make_unique<PatternPreTokenizer>(regex_matcher(std::move(regex), node.boolean_or("invert", false)),
                                                 parse_behavior(node, "behavior", Behavior::Removed));
  }
  node.unsupported("type");
}

}  // namespace ksearch
