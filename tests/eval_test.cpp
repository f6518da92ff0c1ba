// ksearch eval's library side: metrics of one ranking, the bootstrap intervals, and every mode side by side.
#include "search/eval.h"

#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace ksearch {
namespace {

// Six short Korean documents and a question for each, answered by its own document.
EvalSet tiny_set() {
  EvalSet set;
  set.documents = {
      {"d1", "서울", "서울특별시는 대한민국의 수도이며 한강이 도시를 가로질러 흐른다."},
      {"d2", "부산", "부산광역시는 대한민국 제2의 도시이고 해운대 해수욕장으로 유명하다."},
      {"d3", "김치", "김치는 배추와 무를 소금에 절여 고춧가루와 젓갈로 양념한 발효 음식이다."},
      {"d4", "한글", "한글은 세종대왕이 1443년에 창제한 문자로 자음과 모음을 모아 쓴다."},
      {"d5", "태권도", "태권도는 발차기와 주먹 지르기를 중심으로 하는 한국의 무술이다."},
      {"d6", "제주", "제주도는 한라산과 오름, 돌하르방으로 알려진 화산섬이다."},
  };
  set.queries = {
      {"q1", "한강이 흐르는 수도는?", {{"d1", 1}}},      {"q2", "해운대 해수욕장이 있는 도시", {{"d2", 1}}},
      {"q3", "배추를 절여 만든 발효 음식", {{"d3", 1}}}, {"q4", "세종대왕이 창제한 문자", {{"d4", 1}}},
      {"q5", "발차기 중심의 한국 무술", {{"d5", 1}}},    {"q6", "한라산이 있는 화산섬", {{"d6", 1}}},
      {"q7", "대한민국 제2의 도시에서", {{"d2", 1}}},    {"q8", "자음과 모음을 모아 쓰는 글자", {{"d4", 1}}},
  };
  return set;
}

void expect_interval_holds_value(const Estimate& e, const std::string& what) {
  EXPECT_LE(e.low, e.value) << what;
  EXPECT_GE(e.high, e.value) << what;
  EXPECT_GE(e.low, -1.0) << what;
  EXPECT_LE(e.high, 1.0) << what;
}

TEST(Eval, ScoreRankingFollowsBeirDefinitions) {
  const QueryMetrics m = score_ranking({"x", "a", "y"}, {{"a", 1}});
  EXPECT_DOUBLE_EQ(m.ndcg_at_10, 1.0 / std::log2(3.0));
  EXPECT_DOUBLE_EQ(m.mrr_at_10, 0.5);
  EXPECT_EQ(m.recall_at_1, 0);
  EXPECT_EQ(m.recall_at_5, 1);
  const QueryMetrics missing = score_ranking({"x"}, {{"a", 1}});
  EXPECT_EQ(missing.ndcg_at_10, 0);
  EXPECT_EQ(missing.recall_at_10, 0);
}

TEST(Eval, BootstrapIntervalHoldsTheMeanAndIsSeeded) {
  std::vector<double> values;
  double sum = 0, squares = 0;
  for (int i = 0; i < 200; ++i) {
    values.push_back((i * 37 % 101) / 100.0);
    sum += values.back();
    squares += values.back() * values.back();
  }
  const double mean = sum / 200, standard_error = std::sqrt((squares / 200 - mean * mean) / 200);
  const Estimate a = bootstrap_mean(values, 1000, 7);
  EXPECT_NEAR(a.value, mean, 1e-12);
  EXPECT_LT(a.low, a.value);
  EXPECT_GT(a.high, a.value);
  // A 95% interval of a mean spans about ±1.96 standard errors.
  EXPECT_NEAR(a.high - a.low, 2 * 1.96 * standard_error, 0.2 * 2 * 1.96 * standard_error);
  const Estimate again = bootstrap_mean(values, 1000, 7);
  EXPECT_EQ(a.low, again.low);
  EXPECT_EQ(a.high, again.high);
  const Estimate other_seed = bootstrap_mean(values, 1000, 8);
  EXPECT_TRUE(other_seed.low != a.low || other_seed.high != a.high);
  const std::vector<double> constant(50, 0.25);
  const Estimate flat = bootstrap_mean(constant, 100, 1);
  EXPECT_EQ(flat.low, 0.25);
  EXPECT_EQ(flat.high, 0.25);
}

TEST(Eval, ReportsEveryModeSideBySide) {
  EvalOptions options;
  options.model = testing::fixture("tiny-e5-bert").string();
  options.rerank = true;
  options.rerank_model = testing::test_data("models/tiny-reranker").string();
  options.bootstrap_resamples = 200;
  const EvalReport report = evaluate(tiny_set(), options);
  EXPECT_EQ(report.documents, 6u);
  EXPECT_EQ(report.queries, 8u);
  EXPECT_FALSE(report.fusion.empty());
  const std::vector<EvalMode> expected = {EvalMode::Lexical, EvalMode::Dense, EvalMode::Hybrid, EvalMode::PlainRrf,
                                          EvalMode::Rerank};
  ASSERT_EQ(report.modes.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const EvalModeReport& row = report.modes[i];
    const std::string name(eval_mode_name(row.mode));
    EXPECT_EQ(row.mode, expected[i]);
    EXPECT_EQ(row.skipped, "") << name;
    expect_interval_holds_value(row.ndcg_at_10, name + " nDCG@10");
    expect_interval_holds_value(row.recall_at_1, name + " Recall@1");
    expect_interval_holds_value(row.recall_at_10, name + " Recall@10");
    expect_interval_holds_value(row.mrr_at_10, name + " MRR@10");
    EXPECT_EQ(row.ndcg_vs_lexical.has_value(), row.mode != EvalMode::Lexical) << name;
    if (row.ndcg_vs_lexical) {
      EXPECT_NEAR(row.ndcg_vs_lexical->value, row.ndcg_at_10.value - report.modes[0].ndcg_at_10.value, 1e-12);
      expect_interval_holds_value(*row.ndcg_vs_lexical, name + " vs lexical");
    }
  }
  EXPECT_EQ(report.modes[4].over, "hybrid");
  // Every question shares words with its answer only: the keyword leg finds each one first.
  EXPECT_EQ(report.modes[0].recall_at_1.value, 1.0);
}

TEST(Eval, ModesThatCannotRunAreSkippedWithTheReason) {
  EvalOptions options;
  const EvalReport report = evaluate(tiny_set(), options);
  ASSERT_EQ(report.modes.size(), 5u);
  EXPECT_EQ(report.modes[0].skipped, "");
  for (std::size_t i = 1; i < 4; ++i)
    EXPECT_EQ(report.modes[i].skipped, "no embedding model (give --model)") << eval_mode_name(report.modes[i].mode);
  EXPECT_EQ(report.modes[4].skipped, "no cross-encoder asked (give --rerank [MODEL])");
  EXPECT_TRUE(report.fusion.empty());
}

TEST(Eval, DocumentFilesAreNamedAfterTitlesOfAnyCharacters) {
  EvalSet set = tiny_set();
  // Separators, hidden-file and glob characters, control characters, and a title cut at 120 bytes inside 가.
  const std::vector<std::string> titles = {"a/b\\c",     ".숨김", "#제목 *",
                                           "줄\n바꿈\t", "..",    std::string(119, 'x') + "가나다"};
  for (std::size_t i = 0; i < titles.size(); ++i) set.documents[i].title = titles[i];
  EvalOptions options;
  options.modes = {EvalMode::Lexical};
  const EvalReport report = evaluate(set, options);
  ASSERT_EQ(report.modes.size(), 1u);
  EXPECT_EQ(report.modes[0].recall_at_1.value, 1.0);
}

TEST(Eval, SameSeedSameReportAndModesCanBeChosen) {
  EvalOptions options;
  options.model = testing::fixture("tiny-e5-bert").string();
  options.modes = {EvalMode::Dense, EvalMode::Lexical};
  const EvalReport a = evaluate(tiny_set(), options), b = evaluate(tiny_set(), options);
  ASSERT_EQ(a.modes.size(), 2u);  // in EvalMode order, whatever order they were asked in
  EXPECT_EQ(a.modes[0].mode, EvalMode::Lexical);
  EXPECT_EQ(a.modes[1].mode, EvalMode::Dense);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a.modes[i].ndcg_at_10.value, b.modes[i].ndcg_at_10.value);
    EXPECT_EQ(a.modes[i].ndcg_at_10.low, b.modes[i].ndcg_at_10.low);
    EXPECT_EQ(a.modes[i].ndcg_at_10.high, b.modes[i].ndcg_at_10.high);
    EXPECT_EQ(a.modes[i].mrr_at_10.low, b.modes[i].mrr_at_10.low);
  }
  EXPECT_EQ(a.modes[1].ndcg_vs_lexical->low, b.modes[1].ndcg_vs_lexical->low);
  EXPECT_THROW(parse_eval_mode("bm25"), Error);
  EXPECT_EQ(parse_eval_mode("plain-rrf"), EvalMode::PlainRrf);
}

// Issue #34's acceptance on a set of real Korean text: a random-weight model has nothing to add, and the calibrated
// fusion must see that (pseudo-queries alone cannot tell it: both legs find the sentence's own chunk).
TEST(Eval, CalibratedHybridKeepsLexicalQualityWithARandomModel) {
  EvalOptions options;
  options.model = testing::fixture("tiny-e5-bert").string();
  options.modes = {EvalMode::Lexical, EvalMode::Hybrid, EvalMode::PlainRrf};
  options.bootstrap_resamples = 100;
  const EvalReport report = evaluate(load_beir(testing::test_data("eval/korean-ict")), options);
  ASSERT_EQ(report.modes.size(), 3u);
  const double lexical = report.modes[0].ndcg_at_10.value;
  EXPECT_GT(lexical, 0.3);
  EXPECT_GE(report.modes[1].ndcg_at_10.value, lexical - 0.005) << report.fusion;
  EXPECT_LT(report.modes[2].ndcg_at_10.value, lexical - 0.05);  // what plain RRF costs, for scale
}

}  // namespace
}  // namespace ksearch
