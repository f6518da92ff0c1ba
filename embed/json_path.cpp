#include "embed/json_path.h"

namespace ksearch {

JsonPath::JsonPath(const Json& json, std::shared_ptr<const std::string> file, std::string path)
    : json_(&json), file_(std::move(file)), path_(std::move(path)) {}

std::string JsonPath::child_path(std::string_view key) const {
  if (key.empty()) return path_.empty() ? std::string("(top level)") : path_;
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool JsonPath::has(std::string_view key) const {
  if (!json_->is_object()) return false;
  const auto it = json_->find(key);
  return it != json_->end() && !it->is_null();
}

JsonPath JsonPath::operator[](std::string_view key) const {
  if (!json_->is_object()) fail(*file_, ": ", child_path({}), ": expected an object, found ", json_->type_name());
  const auto it = json_->find(key);
  if (it == json_->end() || it->is_null()) fail_at(key, "missing");
  return JsonPath(*it, file_, child_path(key));
}

const Json& JsonPath::member(std::string_view key, Json::value_t want, std::string_view want_name) const {
  const JsonPath node = (*this)[key];
  const bool ok = node.json().type() == want || (want == Json::value_t::number_float && node.json().is_number()) ||
                  (want == Json::value_t::number_integer && node.json().is_number_integer());
  if (!ok) fail_at(key, "expected ", want_name, ", found ", node.json().type_name(), " ", to_json_text(node.json()));
  return node.json();
}

std::vector<JsonPath> JsonPath::elements(std::string_view key) const {
  const Json& array = key.empty() ? *json_ : member(key, Json::value_t::array, "an array");
  if (!array.is_array()) fail(*file_, ": ", child_path({}), ": expected an array, found ", array.type_name());
  std::vector<JsonPath> out;
  out.reserve(array.size());
  const std::string base = child_path(key);
  for (std::size_t i = 0; i < array.size(); ++i) out.emplace_back(array[i], file_, cat(base, "[", i, "]"));
  return out;
}

std::vector<std::pair<std::string, JsonPath>> JsonPath::members(std::string_view key) const {
  const Json& object = member(key, Json::value_t::object, "an object");
  std::vector<std::pair<std::string, JsonPath>> out;
  out.reserve(object.size());
  const std::string base = child_path(key);
  for (const auto& [name, value] : object.items()) out.emplace_back(name, JsonPath(value, file_, base + "." + name));
  return out;
}

std::string JsonPath::string(std::string_view key) const {
  return member(key, Json::value_t::string, "a string").get<std::string>();
}

std::string JsonPath::string_or(std::string_view key, std::string fallback) const {
  return has(key) ? string(key) : fallback;
}

bool JsonPath::boolean_or(std::string_view key, bool fallback) const {
  return has(key) ? member(key, Json::value_t::boolean, "true or false").get<bool>() : fallback;
}

double JsonPath::number(std::string_view key) const {
  return member(key, Json::value_t::number_float, "a number").get<double>();
}

std::int64_t JsonPath::integer(std::string_view key) const {
  const Json& value = member(key, Json::value_t::number_integer, "an integer");
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    fail_at(key, "integer ", to_json_text(value), " is out of range");
  return value.get<std::int64_t>();
}

std::int64_t JsonPath::integer_or(std::string_view key, std::int64_t fallback) const {
  return has(key) ? integer(key) : fallback;
}

void JsonPath::unsupported(std::string_view key) const {
  fail_at(key, to_json_text((*this)[key].json()), " is not supported");
}

}  // namespace ksearch
