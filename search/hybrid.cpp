#include "search/hybrid.h"

#include <algorithm>
#include <unordered_map>

namespace ksearch {

std::vector<FusedHit> reciprocal_rank_fusion(std::span<const std::vector<std::int64_t>> lists, double k) {
  std::unordered_map<std::int64_t, FusedHit> fused;
  for (const auto& list : lists) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto [it, inserted] = fused.try_emplace(list[i], FusedHit{list[i], 0.0, i + 1});
      it->second.score += 1.0 / (k + static_cast<double>(i + 1));
      it->second.best_rank = std::min(it->second.best_rank, i + 1);
    }
  }
  std::vector<FusedHit> out;
  out.reserve(fused.size());
  for (auto& [id, hit] : fused) out.push_back(hit);
  std::sort(out.begin(), out.end(), [](const FusedHit& a, const FusedHit& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.best_rank != b.best_rank) return a.best_rank < b.best_rank;
    return a.id < b.id;
  });
  return out;
}

}  // namespace ksearch
