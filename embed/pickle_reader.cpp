#include "embed/pickle_reader.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include "base/error.h"

namespace ksearch {
namespace {

// Far above what a state dict needs (a few entries per tensor), far below what could exhaust memory.
constexpr std::size_t kMaxMemo = 1u << 20;
constexpr std::size_t kMaxStack = 1u << 16;  // the pickler sets dict items 1000 at a time
constexpr std::size_t kMaxValues = 1u << 21;
constexpr std::size_t kMaxDepth = 32;  // containers inside containers, and open MARKs

enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };
enum class Callable { OrderedDict, RebuildTensor, RebuildParameter, StorageType };

struct Value {
  Kind kind = Kind::None;
  std::int64_t integer = 0;        // Bool, Int; the index into storages_ or tensors_ for Storage and Tensor
  double real = 0;                 // Float
  std::string text;                // String
  std::vector<std::size_t> items;  // Tuple, List; Dict as key, value, key, value, ...
  std::size_t depth = 0;
  Callable callable = Callable::OrderedDict;  // Global
  DType dtype = DType::F32;                   // Global StorageType
};

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "str";
    case Kind::Tuple:
      return "tuple";
    case Kind::List:
      return "list";
    case Kind::Dict:
      return "dict";
    case Kind::Global:
      return "global";
    case Kind::Storage:
      return "storage";
    case Kind::Tensor:
      return "tensor";
  }
  return "?";
}

class Unpickler {
 public:
  Unpickler(std::span<const std::byte> bytes, const std::string& where) : bytes_(bytes), where_(where) {}

  std::vector<PickledTensor> run() {
    while (true) {
      opcode_at_ = position_;
      const auto opcode = static_cast<std::uint8_t>(take(1)[0]);
      if (opcode == '.') break;
      step(opcode);
    }
    if (stack_.size() != 1 || !marks_.empty())
      fail(where_, ": pickle STOP at byte ", opcode_at_, " leaves ", stack_.size(), " values and ", marks_.size(),
           " marks on the stack, expected the state dict alone");
    return state_dict(at(stack_.back()));
  }

 private:
  [[noreturn]] void reject(std::uint8_t opcode) const {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", opcode);
    fail(where_, ": pickle opcode ", hex, " at byte ", opcode_at_,
         " is not allowed in a state dict (a checkpoint must hold tensors only, never code)");
  }
  template <typename... Parts>
  [[noreturn]] void malformed(Parts&&... what) const {
    fail(where_, ": malformed pickle at byte ", opcode_at_, ": ", std::forward<Parts>(what)...);
  }

  std::span<const std::byte> take(std::uint64_t count) {
    if (count > bytes_.size() - position_)
      fail(where_, ": truncated pickle: the opcode at byte ", opcode_at_, " needs ", count, " bytes at byte ",
           position_, " but the pickle ends at byte ", bytes_.size());
    const auto out = bytes_.subspan(position_, count);
    position_ += count;
    return out;
  }
  std::uint64_t take_le(int size) {
    const auto bytes = take(size);
    std::uint64_t value = 0;
    for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
    return value;
  }
  std::string take_line() {
    const std::size_t begin = position_;
    while (true) {
      if (take(1)[0] == std::byte{'\n'}) break;
      if (position_ - begin > 256) malformed("GLOBAL name longer than 256 bytes");
    }
    return std::string(reinterpret_cast<const char*>(bytes_.data() + begin), position_ - begin - 1);
  }

  Value& at(std::size_t index) { return values_[index]; }
  std::size_t make(Value value) {
    if (values_.size() >= kMaxValues) malformed("more than ", kMaxValues, " values");
    values_.push_back(std::move(value));
    return values_.size() - 1;
  }
  void push(std::size_t index) {
    if (stack_.size() >= kMaxStack) malformed("more than ", kMaxStack, " values on the stack");
    stack_.push_back(index);
  }
  std::size_t pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) malformed("pop from an empty stack");
    const std::size_t index = stack_.back();
    stack_.pop_back();
    return index;
  }
  std::size_t top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) malformed("empty stack");
    return stack_.back();
  }
  // The values above the last MARK, which is removed.
  std::vector<std::size_t> pop_mark() {
    if (marks_.empty()) malformed("no MARK to pop to");
    std::vector<std::size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void push_simple(Kind kind, std::int64_t integer = 0) {
    Value value;
    value.kind = kind;
    value.integer = integer;
    push(make(std::move(value)));
  }
  void push_string(std::uint64_t length) {
    const auto bytes = take(length);
    Value value;
    value.kind = Kind::String;
    value.text.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    push(make(std::move(value)));
  }
  void push_container(Kind kind, std::vector<std::size_t> items) {
    Value value;
    value.kind = kind;
    for (std::size_t item : items) value.depth = std::max(value.depth, at(item).depth + 1);
    if (value.depth > kMaxDepth) malformed("containers nested deeper than ", kMaxDepth);
    value.items = std::move(items);
    push(make(std::move(value)));
  }
  // Appends `items` to the list or dict `target`.
  void extend(std::size_t target, Kind kind, const std::vector<std::size_t>& items) {
    if (at(target).kind != kind) malformed("adding items to a ", kind_name(at(target).kind));
    if (kind == Kind::Dict && items.size() % 2 != 0) malformed("SETITEMS with an odd number of values");
    for (std::size_t item : items) {
      if (at(item).depth + 1 > kMaxDepth) malformed("containers nested deeper than ", kMaxDepth);
      at(target).depth = std::max(at(target).depth, at(item).depth + 1);
      at(target).items.push_back(item);
    }
  }
  void memo_put(std::uint64_t key) {
    if (key >= kMaxMemo) malformed("memo key ", key, " exceeds the limit ", kMaxMemo);
    memo_[key] = top();
  }
  void memo_get(std::uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) malformed("memo key ", key, " was never stored");
    push(it->second);
  }

  void global(const std::string& module, const std::string& name) {
    static const std::map<std::string, DType, std::less<>> kStorages = {
        {"FloatStorage", DType::F32},  {"HalfStorage", DType::F16}, {"BFloat16Storage", DType::BF16},
        {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32}};
    Value value;
    value.kind = Kind::Global;
    if (module == "collections" && name == "OrderedDict") {
      value.callable = Callable::OrderedDict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      value.callable = Callable::RebuildTensor;
    } else if (module == "torch._utils" && name == "_rebuild_parameter") {
      value.callable = Callable::RebuildParameter;
    } else if (const auto it = kStorages.find(name); module == "torch" && it != kStorages.end()) {
      value.callable = Callable::StorageType;
      value.dtype = it->second;
    } else {
      fail(where_, ": pickle global ", module, ".", name, " at byte ", opcode_at_,
           " is not allowed in a state dict (a checkpoint must hold tensors only, never code; allowed: "
           "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, "
           "torch.{Float,Half,BFloat16,Double,Long,Int}Storage)");
    }
    push(make(std::move(value)));
  }

  std::int64_t integer(std::size_t index, const char* what) {
    if (at(index).kind != Kind::Int) malformed(what, " is a ", kind_name(at(index).kind), ", not an int");
    return at(index).integer;
  }
  std::vector<std::int64_t> integers(std::size_t index, const char* what) {
    if (at(index).kind != Kind::Tuple) malformed(what, " is a ", kind_name(at(index).kind), ", not a tuple");
    std::vector<std::int64_t> out;
    for (std::size_t item : at(index).items) {
      out.push_back(integer(item, what));
      if (out.back() < 0) malformed(what, " has a negative entry");
    }
    return out;
  }

  // ('storage', TYPE, KEY, LOCATION, NUMEL) -> a storage reference.
  void persistent_id() {
    const Value& id = at(pop());
    const auto& items = id.items;
    if (id.kind != Kind::Tuple || items.size() != 5 || at(items[0]).kind != Kind::String ||
        at(items[0]).text != "storage" || at(items[1]).kind != Kind::Global ||
        at(items[1]).callable != Callable::StorageType || at(items[2]).kind != Kind::String ||
        at(items[3]).kind != Kind::String || at(items[4]).kind != Kind::Int || at(items[4]).integer < 0)
      malformed("persistent id is not ('storage', torch.*Storage, key, location, numel)");
    storages_.push_back({at(items[1]).dtype, at(items[2]).text, static_cast<std::uint64_t>(at(items[4]).integer)});
    Value value;
    value.kind = Kind::Storage;
    value.integer = static_cast<std::int64_t>(storages_.size() - 1);
    push(make(std::move(value)));
  }

  void reduce() {
    const std::size_t arguments = pop();
    const std::size_t callable = pop();
    if (at(callable).kind != Kind::Global || at(callable).callable == Callable::StorageType)
      malformed("REDUCE of a ", kind_name(at(callable).kind), " (only the allowed globals may be called)");
    if (at(arguments).kind != Kind::Tuple) malformed("REDUCE arguments are not a tuple");
    const std::vector<std::size_t> args = at(arguments).items;
    Value value;
    switch (at(callable).callable) {
      case Callable::OrderedDict:
        if (!args.empty()) malformed("OrderedDict called with arguments");
        value.kind = Kind::Dict;
        break;
      case Callable::RebuildTensor: {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args.size() != 6 && args.size() != 7) malformed("_rebuild_tensor_v2 takes 6 or 7 arguments");
        if (at(args[0]).kind != Kind::Storage) malformed("_rebuild_tensor_v2's first argument is not a storage");
        PickledTensor tensor;
        tensor.storage = storages_[static_cast<std::size_t>(at(args[0]).integer)];
        tensor.storage_offset = integer(args[1], "storage offset");
        if (tensor.storage_offset < 0) malformed("negative storage offset");
        tensor.shape = integers(args[2], "size");
        tensor.stride = integers(args[3], "stride");
        if (tensor.shape.size() != tensor.stride.size()) malformed("size and stride of different lengths");
        tensors_.push_back(std::move(tensor));
        value.kind = Kind::Tensor;
        value.integer = static_cast<std::int64_t>(tensors_.size() - 1);
        break;
      }
      case Callable::RebuildParameter:
        // (data, requires_grad, backward_hooks)
        if (args.size() != 3 || at(args[0]).kind != Kind::Tensor)
          malformed("_rebuild_parameter takes (tensor, requires_grad, backward_hooks)");
        value = at(args[0]);
        break;
      case Callable::StorageType:
        break;
    }
    push(make(std::move(value)));
  }

  void step(std::uint8_t opcode) {
    switch (opcode) {
      case 0x80:
        take(1);
        break;  // PROTO
      case 0x95:
        take(8);
        break;  // FRAME: a hint for buffered readers
      case '}':
        push_container(Kind::Dict, {});
        break;
      case ']':
        push_container(Kind::List, {});
        break;
      case ')':
        push_container(Kind::Tuple, {});
        break;
      case '(':
        if (marks_.size() >= kMaxDepth) malformed("more than ", kMaxDepth, " open MARKs");
        marks_.push_back(stack_.size());
        break;
      case 't':
        push_container(Kind::Tuple, pop_mark());
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<std::size_t> items(opcode - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push_container(Kind::Tuple, std::move(items));
        break;
      }
      case 'X':
        push_string(take_le(4));
        break;  // BINUNICODE
      case 0x8c:
        push_string(take_le(1));
        break;  // SHORT_BINUNICODE
      case 0x8d:
        push_string(take_le(8));
        break;  // BINUNICODE8
      case 'q':
        memo_put(take_le(1));
        break;  // BINPUT
      case 'r':
        memo_put(take_le(4));
        break;  // LONG_BINPUT
      case 0x94:
        memo_put(memo_.size());
        break;  // MEMOIZE
      case 'h':
        memo_get(take_le(1));
        break;  // BINGET
      case 'j':
        memo_get(take_le(4));
        break;  // LONG_BINGET
      case 'J':
        push_simple(Kind::Int, static_cast<std::int32_t>(take_le(4)));
        break;  // BININT
      case 'K':
        push_simple(Kind::Int, static_cast<std::int64_t>(take_le(1)));
        break;  // BININT1
      case 'M':
        push_simple(Kind::Int, static_cast<std::int64_t>(take_le(2)));
        break;      // BININT2
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const std::uint64_t length = take_le(1);
        if (length > 8) malformed("LONG1 of ", length, " bytes (more than 64 bits)");
        std::uint64_t bits = length == 0 ? 0 : take_le(static_cast<int>(length));
        if (length > 0 && length < 8 && (bits >> (8 * length - 1)) != 0) bits |= ~std::uint64_t{0} << (8 * length);
        push_simple(Kind::Int, static_cast<std::int64_t>(bits));
        break;
      }
      case 0x88:
        push_simple(Kind::Bool, 1);
        break;  // NEWTRUE
      case 0x89:
        push_simple(Kind::Bool, 0);
        break;  // NEWFALSE
      case 'N':
        push_simple(Kind::None);
        break;
      case 'G': {  // BINFLOAT: big-endian double
        const auto bytes = take(8);
        std::uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<std::uint8_t>(bytes[i]);
        Value value;
        value.kind = Kind::Float;
        std::memcpy(&value.real, &bits, sizeof bits);
        push(make(std::move(value)));
        break;
      }
      case 'c': {  // GLOBAL module\nname\n
        const std::string module = take_line();
        const std::string name = take_line();
        global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::size_t name = pop();
        const std::size_t module = pop();
        if (at(module).kind != Kind::String || at(name).kind != Kind::String) malformed("STACK_GLOBAL of non-strings");
        global(at(module).text, at(name).text);
        break;
      }
      case 'Q':
        persistent_id();
        break;  // BINPERSID
      case 'R':
        reduce();
        break;
      case 's': {  // SETITEM
        const std::size_t value = pop();
        const std::size_t key = pop();
        extend(top(), Kind::Dict, {key, value});
        break;
      }
      case 'u': {  // SETITEMS
        const std::vector<std::size_t> items = pop_mark();
        extend(top(), Kind::Dict, items);
        break;
      }
      case 'a': {  // APPEND
        const std::size_t item = pop();
        extend(top(), Kind::List, {item});
        break;
      }
      case 'e': {  // APPENDS
        const std::vector<std::size_t> items = pop_mark();
        extend(top(), Kind::List, items);
        break;
      }
      case 'b': {  // BUILD: an OrderedDict's attributes (torch keeps the modules' versions in `_metadata`)
        const std::size_t state = pop();
        if (at(top()).kind != Kind::Dict || at(state).kind != Kind::Dict)
          malformed("BUILD of a ", kind_name(at(top()).kind), " (only a dict's attributes may be set)");
        break;
      }
      default:
        reject(opcode);
    }
  }

  std::vector<PickledTensor> state_dict(const Value& dict) {
    if (dict.kind != Kind::Dict) fail(where_, ": the pickle holds a ", kind_name(dict.kind), ", not a state dict");
    std::vector<PickledTensor> out;
    std::set<std::string, std::less<>> names;
    for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
      const Value& key = at(dict.items[i]);
      const Value& value = at(dict.items[i + 1]);
      if (key.kind != Kind::String)
        fail(where_, ": state dict key ", i / 2, " is a ", kind_name(key.kind), ", not a str");
      if (value.kind != Kind::Tensor)
        fail(where_, ": state dict entry ", key.text, " is a ", kind_name(value.kind), ", not a tensor");
      if (!names.insert(key.text).second) fail(where_, ": state dict entry ", key.text, " appears twice");
      out.push_back(tensors_[static_cast<std::size_t>(value.integer)]);
      out.back().name = key.text;
    }
    return out;
  }

  std::span<const std::byte> bytes_;
  const std::string& where_;
  std::size_t position_ = 0;
  std::size_t opcode_at_ = 0;
  std::vector<Value> values_;
  std::vector<std::size_t> stack_;
  std::vector<std::size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<std::uint64_t, std::size_t> memo_;
  std::vector<PickledStorage> storages_;
  std::vector<PickledTensor> tensors_;
};

}  // namespace

std::vector<PickledTensor> read_state_dict_pickle(std::span<const std::byte> pickle, const std::string& where) {
  return Unpickler(pickle, where).run();
}

}  // namespace ksearch
