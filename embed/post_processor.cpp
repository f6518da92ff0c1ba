#include "embed/post_processor.h"

#include <algorithm>
#include <map>
#include <string>

namespace ksearch {
namespace {

TokenId parse_id(const JsonPath& where, const Json& value) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > kMaxTokenId)
    where.fail_at({}, "expected a token id, found ", to_json_text(value));
  return value.get<TokenId>();
}

// ["</s>", 2] as RobertaProcessing and BertProcessing write their special tokens.
TokenId parse_token_pair(const JsonPath& node, std::string_view key) {
  const JsonPath pair = node[key];
  if (!pair.json().is_array() || pair.json().size() != 2 || !pair.json()[0].is_string())
    node.fail_at(key, "expected [token, id], found ", to_json_text(pair.json()));
  return parse_id(pair, pair.json()[1]);
}

}  // namespace

PostProcessor PostProcessor::parse(const JsonPath& root) {
  PostProcessor processor;
  if (!root.has("post_processor")) return processor;
  const JsonPath node = root["post_processor"];
  const std::string type = node.type();
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const TokenId cls = parse_token_pair(node, "cls");
    const TokenId sep = parse_token_pair(node, "sep");
    if (type == "RobertaProcessing") return roberta(cls, sep);
    processor.single_ = {{-1, {cls}, 0}, {0, {}, 0}, {-1, {sep}, 0}};
    processor.pair_ = {{-1, {cls}, 0}, {0, {}, 0}, {-1, {sep}, 0}, {1, {}, 1}, {-1, {sep}, 1}};
    return processor;
  }
  if (type != "TemplateProcessing") node.unsupported("type");
  std::map<std::string, std::vector<TokenId>> specials;
  if (node.has("special_tokens"))
    for (const auto& [name, special] : node.members("special_tokens")) {
      std::vector<TokenId> ids;
      for (const auto& id : special.elements("ids")) ids.push_back(parse_id(id, id.json()));
      specials[name] = std::move(ids);
    }
  const auto parse_template = [&](std::string_view key) {
    std::vector<Item> items;
    for (const auto& piece : node.elements(key)) {
      if (piece.has("Sequence")) {
        const JsonPath sequence = piece["Sequence"];
        const std::string id = sequence.string("id");
        if (id != "A" && id != "B") sequence.fail_at("id", "expected \"A\" or \"B\", found \"", id, "\"");
        items.push_back({id == "A" ? 0 : 1, {}, static_cast<std::int32_t>(sequence.integer_or("type_id", 0))});
      } else if (piece.has("SpecialToken")) {
        const JsonPath special = piece["SpecialToken"];
        const std::string id = special.string("id");
        const auto it = specials.find(id);
        if (it == specials.end()) special.fail_at("id", "\"", id, "\" is not in post_processor.special_tokens");
        items.push_back({-1, it->second, static_cast<std::int32_t>(special.integer_or("type_id", 0))});
      } else {
        piece.fail_at({}, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}, found ",
                      to_json_text(piece.json()).substr(0, 80));
      }
    }
    return items;
  };
  processor.single_ = parse_template("single");
  processor.pair_ = parse_template("pair");
  return processor;
}

PostProcessor PostProcessor::roberta(TokenId cls, TokenId sep) {
  PostProcessor processor;
  processor.single_ = {{-1, {cls}, 0}, {0, {}, 0}, {-1, {sep}, 0}};
  processor.pair_ = {{-1, {cls}, 0}, {0, {}, 0}, {-1, {sep, sep}, 0}, {1, {}, 0}, {-1, {sep}, 0}};
  return processor;
}

std::size_t PostProcessor::added_tokens(bool pair) const {
  std::size_t count = 0;
  for (const auto& item : pair ? pair_ : single_) count += item.ids.size();
  return count;
}

void PostProcessor::apply(std::span<const TokenId> a, std::span<const TokenId> b, bool pair, std::vector<TokenId>& ids,
                          std::vector<std::int32_t>& type_ids) const {
  const auto& items = pair ? pair_ : single_;
  if (items.empty()) {  // no post-processor: the sequences as they are
    ids.insert(ids.end(), a.begin(), a.end());
    type_ids.insert(type_ids.end(), a.size(), 0);
    if (pair) {
      ids.insert(ids.end(), b.begin(), b.end());
      type_ids.insert(type_ids.end(), b.size(), 1);
    }
    return;
  }
  for (const auto& item : items) {
    if (item.sequence < 0) {
      ids.insert(ids.end(), item.ids.begin(), item.ids.end());
      type_ids.insert(type_ids.end(), item.ids.size(), item.type_id);
    } else {
      const auto& sequence = item.sequence == 0 ? a : b;
      ids.insert(ids.end(), sequence.begin(), sequence.end());
      type_ids.insert(type_ids.end(), sequence.size(), item.type_id);
    }
  }
}

TokenId PostProcessor::leading_special() const {
  if (single_.empty() || single_.front().sequence >= 0 || single_.front().ids.empty()) return -1;
  return single_.front().ids.front();
}

TokenId PostProcessor::trailing_special() const {
  if (single_.empty() || single_.back().sequence >= 0 || single_.back().ids.empty()) return -1;
  return single_.back().ids.back();
}

TokenId PostProcessor::max_id() const {
  TokenId max = -1;
  for (const auto* items : {&single_, &pair_})
    for (const auto& item : *items)
      for (const TokenId id : item.ids) max = std::max(max, id);
  return max;
}

}  // namespace ksearch
