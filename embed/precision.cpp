#include "embed/precision.h"

#include "base/error.h"

namespace ksearch {

std::string_view precision_name(Precision precision) {
  switch (precision) {
    case Precision::Fp32:
      return "fp32";
    case Precision::Bf16:
      return "bf16";
    case Precision::Int8:
      return "int8";
  }
  return "?";
}

Precision parse_precision(std::string_view name) {
  if (name == "fp32" || name.empty()) return Precision::Fp32;
  if (name == "bf16") return Precision::Bf16;
  if (name == "int8") return Precision::Int8;
  fail("unknown precision '", name, "' (use fp32, bf16 or int8)");
}

}  // namespace ksearch
