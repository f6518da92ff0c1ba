#include "embed/pooling.h"

#include <cstring>

namespace ksearch {

std::vector<float> pool(const PackedHidden& hidden, Pooling pooling) {
  const std::size_t batch = hidden.offsets.size() - 1;
  const auto width = static_cast<std::size_t>(hidden.hidden);
  std::vector<float> out(batch * width, 0.0f);
  for (std::size_t s = 0; s < batch; ++s) {
    float* target = out.data() + s * width;
    const std::size_t begin = hidden.offsets[s];
    const std::size_t end = hidden.offsets[s + 1];
    if (pooling == Pooling::Cls) {
      std::memcpy(target, hidden.row(begin), width * sizeof(float));
      continue;
    }
    for (std::size_t t = begin; t < end; ++t) {
      const float* row = hidden.row(t);
      for (std::size_t i = 0; i < width; ++i) target[i] += row[i];
    }
    const float inverse = 1.0f / static_cast<float>(end - begin);
    for (std::size_t i = 0; i < width; ++i) target[i] *= inverse;
  }
  return out;
}

TransformerEncoder::Rows rows_read_by(Pooling pooling) {
  return pooling == Pooling::Cls ? TransformerEncoder::Rows::First : TransformerEncoder::Rows::All;
}

}  // namespace ksearch
