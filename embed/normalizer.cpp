#include "embed/normalizer.h"

#include <array>
#include <optional>
#include <vector>

#include "base/utf8.h"
#include "embed/precompiled_charsmap.h"
#include "embed/regex.h"
#include "embed/unicode_text.h"

namespace ksearch {
namespace {

// Rebuilds `text` keeping the characters `keep` accepts, each mapped through `map`.
template <typename Keep, typename Map>
NormalizedText filter_map(const NormalizedText& text, Keep keep, Map map) {
  NormalizedText out;
  out.text.reserve(text.text.size());
  out.origin.reserve(text.text.size());
  std::size_t pos = 0;
  while (pos < text.text.size()) {
    const std::size_t start = pos;
    const char32_t c = utf8::decode(text.text, pos);
    if (!keep(c)) continue;
    const char32_t mapped = map(c);
    if (mapped == c)
      out.append(text, start, pos);
    else
      out.push(mapped, text.original(start, pos));
  }
  return out;
}

std::string decode_base64(std::string_view text, const JsonPath& where) {
  std::array<int, 256> value{};
  value.fill(-1);
  const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i)
    value[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    if (c == '=') break;
    const int v = value[static_cast<unsigned char>(c)];
    if (v < 0) where.fail_at("precompiled_charsmap", "invalid base64 character '", c, "'");
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++count == 4) {
      out += static_cast<char>(bits >> 16);
      out += static_cast<char>((bits >> 8) & 0xFF);
      out += static_cast<char>(bits & 0xFF);
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) out += static_cast<char>(bits >> 4);
  if (count == 3) {
    out += static_cast<char>(bits >> 10);
    out += static_cast<char>((bits >> 2) & 0xFF);
  }
  if (count == 1) where.fail_at("precompiled_charsmap", "truncated base64");
  return out;
}

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  NormalizedText apply(NormalizedText text) const override {
    for (const auto& step : steps_) text = step->apply(std::move(text));
    return text;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

class PrecompiledNormalizer final : public Normalizer {
 public:
  explicit PrecompiledNormalizer(PrecompiledCharsmap charsmap) : charsmap_(std::move(charsmap)) {}
  NormalizedText apply(NormalizedText text) const override { return charsmap_.apply(text); }

 private:
  PrecompiledCharsmap charsmap_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(Regex pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  NormalizedText apply(NormalizedText text) const override {
    const auto matches = pattern_.find_all(text.text);
    if (matches.empty()) return text;
    NormalizedText out;
    std::size_t done = 0;
    for (const auto& match : matches) {
      if (match.begin == match.end) continue;
      out.append(text, done, match.begin);
      const ByteRange from = text.original(match.begin, match.end);
      out.text += content_;
      out.origin.insert(out.origin.end(), content_.size(), from);
      done = match.end;
    }
    out.append(text, done, text.text.size());
    return out;
  }

 private:
  Regex pattern_;
  std::string content_;
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  NormalizedText apply(NormalizedText text) const override {
    std::size_t begin = 0;
    std::size_t end = text.text.size();
    if (left_) {
      while (begin < end) {
        std::size_t next = begin;
        if (!unicode::is_whitespace(utf8::decode(text.text, next))) break;
        begin = next;
      }
    }
    if (right_) {
      while (end > begin) {
        const std::size_t start = utf8::floor_boundary(text.text, end - 1);
        std::size_t next = start;
        if (!unicode::is_whitespace(utf8::decode(text.text, next))) break;
        end = start;
      }
    }
    if (begin == 0 && end == text.text.size()) return text;
    return text.slice(begin, end);
  }

 private:
  bool left_;
  bool right_;
};

class StripAccentsNormalizer final : public Normalizer {
 public:
  NormalizedText apply(NormalizedText text) const override {
    return filter_map(
        text, [](char32_t c) { return !unicode::is_nonspacing_mark(c); }, [](char32_t c) { return c; });
  }
};

class FormNormalizer final : public Normalizer {
 public:
  explicit FormNormalizer(unicode::Form form) : form_(form) {}
  NormalizedText apply(NormalizedText text) const override { return unicode::normalize(std::move(text), form_); }

 private:
  unicode::Form form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  NormalizedText apply(NormalizedText text) const override { return unicode::lowercase(text); }
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  NormalizedText apply(NormalizedText text) const override {
    if (text.empty()) return text;
    NormalizedText out;
    out.text = prefix_;
    out.origin.assign(prefix_.size(), text.original(0, 0));
    out.append(text, 0, text.text.size());
    return out;
  }

 private:
  std::string prefix_;
};

// BERT's BasicTokenizer cleanup: drop NUL, U+FFFD and controls, map whitespace to ' ', pad CJK ideographs with
// spaces, strip accents (NFD, then drop nonspacing marks) and lowercase.
class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        handle_chinese_chars_(handle_chinese_chars),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  NormalizedText apply(NormalizedText text) const override {
    if (clean_text_)
      text = filter_map(
          text, [](char32_t c) { return c != 0 && c != 0xFFFD && !unicode::is_control(c); },
          [](char32_t c) { return unicode::is_whitespace(c) ? U' ' : c; });
    if (handle_chinese_chars_) text = pad_chinese(text);
    if (strip_accents_) {
      text = unicode::normalize(std::move(text), unicode::Form::Nfd);
      text = StripAccentsNormalizer().apply(std::move(text));
    }
    if (lowercase_) text = unicode::lowercase(text);
    return text;
  }

 private:
  static NormalizedText pad_chinese(const NormalizedText& text) {
    NormalizedText out;
    std::size_t pos = 0;
    while (pos < text.text.size()) {
      const std::size_t start = pos;
      const char32_t c = utf8::decode(text.text, pos);
      if (unicode::is_cjk_ideograph(c)) {
        const ByteRange from = text.original(start, pos);
        out.push(U' ', from);
        out.append(text, start, pos);
        out.push(U' ', from);
      } else {
        out.append(text, start, pos);
      }
    }
    return out;
  }

  bool clean_text_;
  bool handle_chinese_chars_;
  bool strip_accents_;
  bool lowercase_;
};

Regex parse_pattern(const JsonPath& node) {
  const JsonPath pattern = node["pattern"];
  const std::string where = pattern.file() + ": " + pattern.path();
  if (pattern.has("String")) return Regex(regex_escape(pattern.string("String")), where);
  if (pattern.has("Regex")) return Regex(pattern.string("Regex"), where);
  pattern.fail_at({}, "expected {\"String\": ...} or {\"Regex\": ...}, found ", to_json_text(pattern.json()));
}

}  // namespace

std::unique_ptr<Normalizer> Normalizer::parse(const JsonPath& node) {
  const std::string type = node.type();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const auto& step : node.elements("normalizers")) steps.push_back(parse(step));
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  if (type == "Precompiled") {
    const std::string blob =
        node.has("precompiled_charsmap") ? decode_base64(node.string("precompiled_charsmap"), node) : std::string();
    return std::make_unique<PrecompiledNormalizer>(
        PrecompiledCharsmap(blob, node.file() + ": " + node.path() + ".precompiled_charsmap"));
  }
  if (type == "Replace") return std::make_unique<ReplaceNormalizer>(parse_pattern(node), node.string("content"));
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(node.boolean_or("strip_left", true), node.boolean_or("strip_right", true));
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "NFC") return std::make_unique<FormNormalizer>(unicode::Form::Nfc);
  if (type == "NFD") return std::make_unique<FormNormalizer>(unicode::Form::Nfd);
  if (type == "NFKC") return std::make_unique<FormNormalizer>(unicode::Form::Nfkc);
  if (type == "NFKD") return std::make_unique<FormNormalizer>(unicode::Form::Nfkd);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(node.string("prepend"));
  if (type == "BertNormalizer") {
    const bool lowercase = node.boolean_or("lowercase", true);
    return std::make_unique<BertNormalizer>(node.boolean_or("clean_text", true),
                                            node.boolean_or("handle_chinese_chars", true),
                                            node.boolean_or("strip_accents", lowercase), lowercase);
  }
  node.unsupported("type");
}

}  // namespace ksearch
