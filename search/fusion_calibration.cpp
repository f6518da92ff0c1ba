#include "search/fusion_calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "base/error.h"
#include "search/hybrid.h"
#include "search/searcher.h"
#include "store/chunk_store.h"

namespace ksearch {
namespace {

constexpr std::size_t kMinQueries = 20;        // below this the fit says nothing
constexpr std::size_t kMinSentenceBytes = 30;  // about ten Hangul syllables: shorter sentences are headings
constexpr std::size_t kMaxSentenceBytes = 400;

// One sentence of `text` to ask with: among the sentences of a usable length, the one `pick` selects.  Sentences
// end at . ? ! or a line break; empty when none fits.
std::string pick_sentence(const std::string& text, std::size_t pick) {
  std::vector<std::string> sentences;
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const bool stop = text[i] == '.' || text[i] == '?' || text[i] == '!';
    const bool end = i == text.size() || text[i] == '\n' || (stop && (i + 1 == text.size() || text[i + 1] == ' '));
    if (!end) continue;
    std::size_t first = begin, last = std::min(i + 1, text.size());
    while (first < last && (text[first] == ' ' || text[first] == '\t')) ++first;
    if (last - first >= kMinSentenceBytes && last - first <= kMaxSentenceBytes)
      sentences.push_back(text.substr(first, last - first));
    begin = i + 1;
  }
  return sentences.empty() ? std::string() : sentences[pick % sentences.size()];
}

struct PseudoQuery {
  std::int64_t answer;
  std::vector<std::int64_t> dense, lexical;  // each leg's ranked chunk ids
};

// Rank (1-based) of `answer` in `ranking`, 0 when absent.
std::size_t rank_of(std::int64_t answer, const std::vector<std::int64_t>& ranking) {
  const auto it = std::find(ranking.begin(), ranking.end(), answer);
  return it == ranking.end() ? 0 : static_cast<std::size_t>(it - ranking.begin()) + 1;
}

std::vector<std::int64_t> fuse(const PseudoQuery& query, const FusionWeights& weights, double rrf_k) {
  const std::vector<std::int64_t> lists[] = {query.dense, query.lexical};
  const double list_weights[] = {weights.dense, weights.lexical};
  std::vector<std::int64_t> out;
  for (const FusedHit& hit : reciprocal_rank_fusion(lists, rrf_k, list_weights)) out.push_back(hit.id);
  return out;
}

template <typename Ranking>
LegQuality quality(std::span<const PseudoQuery> queries, Ranking&& ranking) {
  LegQuality out;
  for (const PseudoQuery& query : queries) {
    const std::size_t rank = rank_of(query.answer, ranking(query));
    if (rank >= 1 && rank <= 10) {
      out.recall_at_10 += 1;
      out.mrr_at_10 += 1.0 / static_cast<double>(rank);
    }
  }
  const double n = std::max<double>(1, static_cast<double>(queries.size()));
  out.recall_at_10 /= n;
  out.mrr_at_10 /= n;
  return out;
}

// Whether `candidate` beats `incumbent` (per-query scores of the same queries) by more than 1.96 standard errors of
// the paired difference.
bool clearly_better(const std::vector<double>& candidate, const std::vector<double>& incumbent) {
  KSEARCH_ASSERT(candidate.size() == incumbent.size() && candidate.size() > 1);
  const auto n = static_cast<double>(candidate.size());
  double sum = 0, squares = 0;
  for (std::size_t i = 0; i < candidate.size(); ++i) {
    const double difference = candidate[i] - incumbent[i];
    sum += difference;
    squares += difference * difference;
  }
  const double mean = sum / n, variance = std::max(0.0, (squares - n * mean * mean) / (n - 1));
  return mean > 0 && mean > 1.96 * std::sqrt(variance / n);
}

bool usable(const FusionWeights& weights) {
  return std::isfinite(weights.dense) && std::isfinite(weights.lexical) && weights.dense >= 0 && weights.lexical >= 0 &&
         weights.dense + weights.lexical > 0;
}

Json quality_json(const LegQuality& quality) {
  return {{"recall@10", quality.recall_at_10}, {"mrr@10", quality.mrr_at_10}};
}

// A saved field of the wrong type stops the read with an Error naming it, which readers turn into plain RRF and a
// notice; nlohmann's own type errors would name no field and escape them.  An absent field takes its default.
void check_field(const Json& object, const char* key, const std::string& name, bool (Json::*is_type)() const noexcept,
                 const char* type, const std::string& where) {
  if (object.contains(key) && !(object[key].*is_type)())
    fail(where, ": fusion calibration field ", name, " is not ", type, " (`ksearch calibrate` fits it again)");
}

LegQuality quality_from_json(const Json& json) { return {json.value("recall@10", 0.0), json.value("mrr@10", 0.0)}; }

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

}  // namespace

Json fusion_calibration_json(const FusionCalibration& c) {
  if (c.by_hand) return {{"dense_weight", c.weights.dense}, {"lexical_weight", c.weights.lexical}, {"by_hand", true}};
  return {{"dense_weight", c.weights.dense},        {"lexical_weight", c.weights.lexical},
          {"fit_queries", c.fit_queries},           {"heldout_queries", c.heldout_queries},
          {"dense", quality_json(c.dense)},         {"lexical", quality_json(c.lexical)},
          {"plain_rrf", quality_json(c.plain_rrf)}, {"fused", quality_json(c.fused)}};
}

FusionCalibration fusion_set_by_hand(FusionWeights weights) {
  if (!usable(weights))
    fail("fusion weights dense ", weights.dense, ", lexical ", weights.lexical,
         " are not usable: give each a finite number of at least 0, and not both 0");
  FusionCalibration out;
  out.weights = weights;
  out.by_hand = true;
  return out;
}

FusionCalibration fusion_calibration_from_json(const Json& json, const std::string& where) {
  if (!json.is_object()) fail(where, ": fusion calibration is not a JSON object");
  FusionCalibration c;
  for (const char* field : {"dense_weight", "lexical_weight"})
    check_field(json, field, field, &Json::is_number, "a number", where);
  for (const char* field : {"fit_queries", "heldout_queries"})
    check_field(json, field, field, &Json::is_number_unsigned, "a count", where);
  for (const char* leg : {"dense", "lexical", "plain_rrf", "fused"}) {
    check_field(json, leg, leg, &Json::is_object, "an object", where);
    if (json.contains(leg))
      for (const char* measure : {"recall@10", "mrr@10"})
        check_field(json[leg], measure, cat(leg, '.', measure), &Json::is_number, "a number", where);
  }
  check_field(json, "by_hand", "by_hand", &Json::is_boolean, "true or false", where);
  c.weights.dense = json.value("dense_weight", 1.0);
  c.weights.lexical = json.value("lexical_weight", 1.0);
  if (!usable(c.weights))
    fail(where, ": fusion weights dense ", c.weights.dense, ", lexical ", c.weights.lexical,
         " are not usable (`ksearch calibrate` fits them again)");
  c.fit_queries = json.value("fit_queries", std::size_t{0});
  c.heldout_queries = json.value("heldout_queries", std::size_t{0});
  c.dense = quality_from_json(json.value("dense", Json::object()));
  c.lexical = quality_from_json(json.value("lexical", Json::object()));
  c.plain_rrf = quality_from_json(json.value("plain_rrf", Json::object()));
  c.fused = quality_from_json(json.value("fused", Json::object()));
  c.by_hand = json.value("by_hand", false);
  return c;
}

std::string describe_fusion(const FusionCalibration& c) {
  if (c.by_hand)
    return cat("fusion: dense ", number(c.weights.dense), ", lexical ", number(c.weights.lexical),
               " (set by hand; `ksearch calibrate` fits them to the index again)");
  if (c.fit_queries == 0) return "fusion: plain reciprocal rank (not calibrated)";
  std::string text =
      cat("fusion: dense ", number(c.weights.dense), ", lexical ", number(c.weights.lexical), " (fitted on ",
          c.fit_queries, " pseudo-queries; on ", c.heldout_queries, " held out recall@10 hybrid ",
          number(c.fused.recall_at_10), ", plain RRF ", number(c.plain_rrf.recall_at_10), ")");
  const auto weak = [&](const char* leg, const LegQuality& mine, const char* other, const LegQuality& theirs) {
    text += cat("\n", leg, " leg weak on this corpus: recall@10 ", number(mine.recall_at_10), " vs ", other, " ",
                number(theirs.recall_at_10), " on ", c.heldout_queries, " pseudo-queries");
  };
  if (c.weights.dense < c.weights.lexical && c.dense.mrr_at_10 < c.lexical.mrr_at_10)
    weak("dense", c.dense, "lexical", c.lexical);
  else if (c.weights.lexical < c.weights.dense && c.lexical.mrr_at_10 < c.dense.mrr_at_10)
    weak("lexical", c.lexical, "dense", c.dense);
  return text;
}

FusionCalibration calibrate_fusion(const SearchEngine& engine, const ChunkStore& store,
                                   const CalibrationOptions& options) {
  KSEARCH_ASSERT(engine.has_model());
  std::vector<PseudoQuery> queries;
  SearchOptions search;
  search.k = options.depth;
  for (const ChunkRecord& chunk : store.sample_chunks(options.queries)) {
    const std::string sentence = pick_sentence(chunk.text, static_cast<std::size_t>(chunk.id));
    if (sentence.empty()) continue;
    PseudoQuery query{chunk.id, {}, {}};
    search.mode = SearchMode::Dense;
    for (const SearchHit& hit : engine.search(sentence, search).results) query.dense.push_back(hit.chunk.id);
    search.mode = SearchMode::Lexical;
    for (const SearchHit& hit : engine.search(sentence, search).results) query.lexical.push_back(hit.chunk.id);
    queries.push_back(std::move(query));
  }
  FusionCalibration out;
  if (queries.size() < kMinQueries) return out;
  // Alternate queries between the halves so both see the whole corpus.
  std::vector<PseudoQuery> fit, heldout;
  for (std::size_t i = 0; i < queries.size(); ++i) (i % 2 == 0 ? fit : heldout).push_back(std::move(queries[i]));

  const auto dense_only = [](const PseudoQuery& q) { return q.dense; };
  const auto lexical_only = [](const PseudoQuery& q) { return q.lexical; };
  const bool dense_better = quality(fit, dense_only).mrr_at_10 > quality(fit, lexical_only).mrr_at_10;
  // From the better leg alone, through more and more of the weaker one to equal weights, to less of the better
  // one; the first of equally good candidates wins, so a weak leg gets the least weight that does no harm.
  std::vector<FusionWeights> candidates;
  const double steps[] = {0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7};
  const auto with_weaker = [&](double weaker) {
    return dense_better ? FusionWeights{1.0, weaker} : FusionWeights{weaker, 1.0};
  };
  for (double step : steps) candidates.push_back(with_weaker(step));
  candidates.push_back({1.0, 1.0});
  for (auto it = std::rbegin(steps); it != std::rend(steps); ++it)
    candidates.push_back(dense_better ? FusionWeights{*it, 1.0} : FusionWeights{1.0, *it});
  // A candidate replaces the best so far only when its gain in reciprocal rank, paired over the fitting queries, is
  // clearly above noise (mean over 1.96 standard errors): pseudo-queries are easy for both legs (the sentence is in
  // its chunk), so a useless leg can win by a hair there and then cost real questions (docs/benchmarks.md, korean-ict).
  std::vector<double> best_ranks;
  for (const FusionWeights& weights : candidates) {
    std::vector<double> ranks;
    for (const PseudoQuery& query : fit) {
      const std::size_t rank = rank_of(query.answer, fuse(query, weights, options.rrf_k));
      ranks.push_back(rank >= 1 && rank <= 10 ? 1.0 / static_cast<double>(rank) : 0.0);
    }
    if (best_ranks.empty() || clearly_better(ranks, best_ranks)) {
      best_ranks = std::move(ranks);
      out.weights = weights;
    }
  }
  out.fit_queries = fit.size();
  out.heldout_queries = heldout.size();
  out.dense = quality(heldout, dense_only);
  out.lexical = quality(heldout, lexical_only);
  out.plain_rrf = quality(heldout, [&](const PseudoQuery& q) { return fuse(q, FusionWeights{}, options.rrf_k); });
  out.fused = quality(heldout, [&](const PseudoQuery& q) { return fuse(q, out.weights, options.rrf_k); });
  return out;
}

}  // namespace ksearch
