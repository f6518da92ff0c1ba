#include "embed/attention.h"

#include <algorithm>
#include <cmath>

#include "embed/ops.h"

namespace ksearch {
namespace {

// Scores are computed for blocks of query rows so memory stays bounded for 8k-token inputs.
constexpr std::size_t kQueryBlock = 256;
// fp32 attention on our tiles (ops::gemm_small) up to this many tokens; longer, oneDNN's sgemm is faster
// (docs/performance-history.md).
constexpr std::size_t kTiledAttentionTokens = 512;

std::size_t round_up(std::size_t value, std::size_t step) { return (value + step - 1) / step * step; }

}  // namespace

Attention::Attention(const KernelPlan& plan, std::size_t hidden, std::size_t heads)
    : backend_(plan.attention),
      fp32_tiles_(plan.fp32_tiles),
      hidden_(hidden),
      head_dim_(hidden / heads),
      scale_(1.0f / std::sqrt(static_cast<float>(hidden / heads))) {}

std::size_t Attention::qkv_padding() { return ops::kSmallGemmColumns; }

std::size_t Attention::Scratch::capacity_bytes() const {
  std::size_t bytes = (scores.capacity() + keys_transposed.capacity() + inverse_sums.capacity()) * sizeof(float);
  for (const auto* v : {&queries, &probabilities, &keys, &values}) bytes += v->capacity() * sizeof(std::uint16_t);
  return bytes;
}

void Attention::fit(Scratch& scratch, std::size_t longest) const {
  const bool fp16 = backend_ == AttentionBackend::Fp16;
  const bool tiles = backend_ == AttentionBackend::Fp32 && fp32_tiles_;
  // kᵀ's rows, whole tiles wide for ops::gemm_small (up to kTiledAttentionTokens) and ops::gemm_fp16 (any length).
  scratch.keys_stride = fp16 ? round_up(longest, ops::kHalfGemmColumns)
                             : round_up(std::min(longest, kTiledAttentionTokens), ops::kSmallGemmColumns);
  const std::size_t block = std::min(longest, kQueryBlock);
  scratch.scores.resize(block * longest);
  if (tiles || fp16) scratch.keys_transposed.resize(head_dim_ * scratch.keys_stride);
  if (fp16) {
    scratch.queries.resize(longest * head_dim_);
    scratch.probabilities.resize(block * longest);
    scratch.inverse_sums.resize(block);
    scratch.keys.resize(head_dim_ * scratch.keys_stride);  // rows read to a whole block past the length, lanes unused
    scratch.values.resize(longest * head_dim_ + ops::kHalfGemmColumns);  // the last row is read a block wide
  }
  if (!reads_bf16()) return;
  const std::size_t even_longest = (longest + 1) / 2 * 2;
  scratch.probabilities.resize(block * even_longest);
  scratch.inverse_sums.resize(block);
  scratch.keys.resize(ops::bf16_packed_size(head_dim_, longest));
  scratch.values.resize(ops::bf16_packed_size(longest, head_dim_));
}

void Attention::attend(const AttentionHead& head, Scratch& scratch) const {
  const std::size_t length = head.length, queries = head.queries, stride = head.qkv_stride, d = head_dim_;
  const std::size_t key = hidden_, value = 2 * hidden_;  // from the query's columns
  float* s = scratch.scores.data();
  switch (backend_) {
    case AttentionBackend::Bf16Dots:
    case AttentionBackend::Bf16Amx: {
      const ops::Bf16Unit unit = backend_ == AttentionBackend::Bf16Amx ? ops::Bf16Unit::Amx : ops::Bf16Unit::Dots;
      const std::size_t even_length = (length + 1) / 2 * 2;
      ops::pack_bf16(true, head.qkv_bf16 + key, d, length, stride, scratch.keys.data());  // kᵀ
      ops::pack_bf16(false, head.qkv_bf16 + value, length, d, stride, scratch.values.data());
      for (std::size_t row = 0; row < queries; row += kQueryBlock) {
        const std::size_t block = std::min(kQueryBlock, queries - row);
        ops::gemm_bf16(unit, block, length, d, 1.0f, nullptr, head.qkv_bf16 + row * stride, stride, scratch.keys.data(),
                       s, length);
        ops::softmax_rows_bf16(s, block, length, length, scale_, scratch.probabilities.data(), even_length,
                               scratch.inverse_sums.data());
        const std::size_t out = row * head.context_stride;
        if (head.context_bf16 != nullptr)
          ops::gemm_bf16(unit, block, d, length, 1.0f, scratch.inverse_sums.data(), scratch.probabilities.data(),
                         even_length, scratch.values.data(), head.context_bf16 + out, head.context_stride);
        else
          ops::gemm_bf16(unit, block, d, length, 1.0f, scratch.inverse_sums.data(), scratch.probabilities.data(),
                         even_length, scratch.values.data(), head.context + out, head.context_stride);
      }
      return;
    }
    case AttentionBackend::Fp16: {
      float* keys = scratch.keys_transposed.data();
      const std::size_t keys_stride = scratch.keys_stride;
      ops::transpose(head.qkv + key, length, d, stride, keys, keys_stride);
      ops::to_float16(keys, d, length, keys_stride, 1.0f, scratch.keys.data(), keys_stride);
      ops::to_float16(head.qkv, queries, d, stride, scale_, scratch.queries.data(), d);
      ops::to_float16(head.qkv + value, length, d, stride, 1.0f, scratch.values.data(), d);
      for (std::size_t row = 0; row < queries; row += kQueryBlock) {
        const std::size_t block = std::min(kQueryBlock, queries - row);
        ops::gemm_fp16(block, length, d, nullptr, scratch.queries.data() + row * d, d, scratch.keys.data(), keys_stride,
                       s, length);
        ops::softmax_rows_fp16(s, block, length, length, scratch.probabilities.data(), length,
                               scratch.inverse_sums.data());
        ops::gemm_fp16(block, d, length, scratch.inverse_sums.data(), scratch.probabilities.data(), length,
                       scratch.values.data(), d, head.context + row * head.context_stride, head.context_stride);
      }
      return;
    }
    case AttentionBackend::Fp32:
      break;
  }
  if (fp32_tiles_ && length <= kTiledAttentionTokens) {
    float* keys = scratch.keys_transposed.data();
    ops::transpose(head.qkv + key, length, d, stride, keys, scratch.keys_stride);
    for (std::size_t row = 0; row < queries; row += kQueryBlock) {
      const std::size_t block = std::min(kQueryBlock, queries - row);
      ops::gemm_small(block, length, d, head.qkv + row * stride, stride, keys, scratch.keys_stride, s, length);
      ops::softmax_rows(s, block, length, length, scale_);
      ops::gemm_small(block, d, length, s, length, head.qkv + value, stride, head.context + row * head.context_stride,
                      head.context_stride);
    }
    return;
  }
  for (std::size_t row = 0; row < queries; row += kQueryBlock) {
    const std::size_t block = std::min(kQueryBlock, queries - row);
    ops::gemm_serial(true, block, length, d, scale_, head.qkv + row * stride, stride, head.qkv + key, stride, 0.0f, s,
                     length);
    ops::softmax_rows(s, block, length, length, 1.0f);
    ops::gemm_serial(false, block, d, length, 1.0f, s, length, head.qkv + value, stride, 0.0f,
                     head.context + row * head.context_stride, head.context_stride);
  }
}

}  // namespace ksearch
