// Reciprocal rank fusion (Cormack et al., SIGIR 2009): score(d) = Σ_lists w_list / (k + rank_list(d)), ranks from
// 1; the weights (1 each unless given) come from fusion calibration (search/fusion_calibration.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ksearch {

struct FusedHit {
  std::int64_t id;
  double score;
  std::size_t best_rank;  // smallest rank over the lists: equal scores go by it,
  std::size_t best_list;  // then by the list that gave it (earlier first): an order free of ids
};

// Fuses ranked id lists (best first); ids missing from a list contribute nothing for it.  `weights`: one per list,
// or empty for 1 each.
std::vector<FusedHit> reciprocal_rank_fusion(std::span<const std::vector<std::int64_t>> lists, double k = 60.0,
                                             std::span<const double> weights = {});

}  // namespace ksearch
