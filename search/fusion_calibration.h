// Fusion that fits itself to the corpus (issue #34).  Reciprocal rank fusion with equal weights is blind to how
// good each leg is: a weak embedding model drags hybrid far below lexical.  So pseudo-queries are drawn from the
// index's own chunks (inverse cloze: one sentence of a chunk is the query, that chunk its one answer), both legs
// are run on them, and the weighted-RRF weights that rank the answers best on half the queries are kept (moving off
// the better leg alone only for a gain clearly above noise); the other half, held out from the fit, measures each
// leg, plain RRF and the fitted fusion, and is stored as the evidence.
// The candidate weights include each leg alone, so on the fitting half hybrid is never worse than the better leg.
#pragma once

#include <cstddef>
#include <string>

#include "base/json.h"

namespace ksearch {

class SearchEngine;
class ChunkStore;

struct FusionWeights {
  double dense = 1.0, lexical = 1.0;  // weights of each leg's reciprocal ranks
};

// Quality of one ranking on the held-out pseudo-queries.
struct LegQuality {
  double recall_at_10 = 0, mrr_at_10 = 0;
};

struct FusionCalibration {
  FusionWeights weights;
  std::size_t fit_queries = 0, heldout_queries = 0;
  LegQuality dense, lexical, plain_rrf, fused;  // on the held-out queries
  // Weights a user set (`ksearch calibrate --weights`): index runs keep them instead of fitting new ones.
  bool by_hand = false;
  // Whether hybrid search uses `weights` (fitted or set); false means plain RRF.
  bool in_effect() const { return fit_queries > 0 || by_hand; }
};

// Weights set by hand, checked: each at least 0, not both 0.  Throws Error naming them otherwise.
FusionCalibration fusion_set_by_hand(FusionWeights weights);

// The saved form (index meta "fusion_calibration").
Json fusion_calibration_json(const FusionCalibration& calibration);
FusionCalibration fusion_calibration_from_json(const Json& json, const std::string& where);

// One or two lines for `status` and `search --explain`, e.g. "fusion: dense 0.05, lexical 1 (fitted on 100
// pseudo-queries) ..." and, for a weak leg, "dense leg weak on this corpus: recall@10 0.21 vs lexical 0.93 on 100
// held-out pseudo-queries"; weights set by hand say so.
std::string describe_fusion(const FusionCalibration& calibration);

struct CalibrationOptions {
  std::size_t queries = 200;  // pseudo-queries drawn (fewer when the index has fewer usable chunks)
  std::size_t depth = 50;     // each leg's list depth, as in hybrid search
  double rrf_k = 60.0;
};

// Fits the fusion on `engine`'s index (which must have an embedding model).  Returns nullopt-like empty
// calibration (fit_queries 0) when the index has too few chunks with a usable sentence to say anything.
FusionCalibration calibrate_fusion(const SearchEngine& engine, const ChunkStore& store,
                                   const CalibrationOptions& options = {});

}  // namespace ksearch
