#include "search/hybrid.h"

#include <algorithm>
#include <unordered_map>

#include "base/error.h"

namespace ksearch {

std::vector<FusedHit> reciprocal_rank_fusion(std::span<const std::vector<std::int64_t>> lists, double k,
                                             std::span<const double> weights) {
  KSEARCH_ASSERT(weights.empty() || weights.size() == lists.size());
  std::unordered_map<std::int64_t, FusedHit> fused;
  for (std::size_t l = 0; l < lists.size(); ++l) {
    const auto& list = lists[l];
    const double weight = weights.empty() ? 1.0 : weights[l];
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto [it, inserted] = fused.try_emplace(list[i], FusedHit{list[i], 0.0, i + 1, l});
      it->second.score += weight / (k + static_cast<double>(i + 1));
      if (i + 1 < it->second.best_rank) {
        it->second.best_rank = i + 1;
        it->second.best_list = l;
      }
    }
  }
  std::vector<FusedHit> out;
  out.reserve(fused.size());
  for (auto& [id, hit] : fused) out.push_back(hit);
  // Not by id: ids follow the indexing history, and the same folder should rank the same however it was indexed.
  std::sort(out.begin(), out.end(), [](const FusedHit& a, const FusedHit& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.best_rank != b.best_rank) return a.best_rank < b.best_rank;
    return a.best_list < b.best_list;  // distinct hits never share both: one rank of one list each
  });
  return out;
}

}  // namespace ksearch
