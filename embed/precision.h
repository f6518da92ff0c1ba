// The numeric precision a model's layers run at, chosen per model at load (`--precision`).
#pragma once

#include <string_view>

namespace ksearch {

enum class Precision { Fp32, Bf16, Int8 };
std::string_view precision_name(Precision precision);
Precision parse_precision(std::string_view name);  // "fp32" | "bf16" | "int8"; throws Error otherwise

}  // namespace ksearch
