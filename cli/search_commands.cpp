#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/search_output.h"
#include "cli/terminal.h"
#include "search/eval.h"

namespace ksearch::cli {
namespace {

struct SearchFlags {
  std::string query;
  std::optional<std::string> db;
  std::size_t k = 10;
  std::string mode = "auto";
  std::string path_glob;
  std::vector<std::string> extensions;
  bool json = false;
  std::optional<std::string> rerank;  // present: rerank (value: model, "" = default)
  std::size_t rerank_top = 50;
  std::optional<std::string> model;
  std::string precision = "fp32";
  bool explain = false;
};

void run_search(const SearchFlags& flags) {
  SearchOptions options;
  options.k = flags.k;
  options.mode = parse_search_mode(flags.mode);
  options.path_glob = flags.path_glob;
  options.extensions = flags.extensions;
  options.rerank = flags.rerank.has_value();
  options.rerank_top = flags.rerank_top;
  EngineOptions engine_options;
  engine_options.model = flags.model;
  if (flags.rerank && !flags.rerank->empty()) engine_options.rerank_model = *flags.rerank;
  engine_options.load_model = options.mode != SearchMode::Lexical;
  engine_options.precision = parse_precision(flags.precision);
  const auto engine = SearchEngine::open(locate_index(flags.db), engine_options);
  const SearchResponse response = engine->search(flags.query, options);
  if (flags.explain && response.mode == SearchMode::Hybrid) std::cerr << describe_fusion(engine->fusion()) << '\n';
  if (flags.json)
    std::cout << to_json_text(response_json(flags.query, response)) << '\n';
  else
    print_response(flags.query, response, is_terminal(stdout));
}

struct EvalFlags {
  std::string beir;
  std::string squad;
  std::string mode = "auto";
  std::optional<std::string> model;
  std::size_t k = 10;
  bool json = false;
  std::optional<std::size_t> limit;
  std::optional<std::string> rerank;
  int chunk_tokens = 0;
  std::string precision = "fp32";
  bool plain_rrf = false;
};

void run_eval(const EvalFlags& flags) {
  if (flags.beir.empty() == flags.squad.empty()) fail("eval needs exactly one of --beir DIR or --squad FILE");
  const EvalSet set = flags.beir.empty() ? load_squad(flags.squad) : load_beir(flags.beir);
  EvalOptions options;
  options.mode = parse_search_mode(flags.mode);
  options.model = flags.model;
  options.k = flags.k;
  options.limit_queries = flags.limit;
  options.rerank = flags.rerank.has_value();
  if (flags.rerank && !flags.rerank->empty()) options.rerank_model = *flags.rerank;
  options.chunk_tokens = flags.chunk_tokens;
  options.precision = parse_precision(flags.precision);
  options.calibrated_fusion = !flags.plain_rrf;
  const EvalReport r = evaluate(set, options);
  const Json json = {{"documents", r.documents},     {"queries", r.queries},         {"mode", r.mode},
                     {"model", r.model.empty() ? Json() : Json(r.model)},            {"rerank", options.rerank},
                     {"ndcg@10", r.ndcg_at_10},      {"recall@1", r.recall_at_1},   {"recall@5", r.recall_at_5},
                     {"recall@10", r.recall_at_10},  {"mrr@10", r.mrr_at_10},       {"index_seconds", r.index_seconds},
                     {"search_seconds", r.search_seconds}};
  if (flags.json) {
    std::cout << to_json_text(json) << '\n';
    return;
  }
  std::printf("%zu documents, %zu queries · %s%s%s\n", r.documents, r.queries, r.mode.c_str(),
              r.model.empty() ? "" : (" · " + r.model).c_str(), options.rerank ? " · reranked" : "");
  std::printf("nDCG@10 %.4f  Recall@1 %.4f  Recall@5 %.4f  Recall@10 %.4f  MRR@10 %.4f\n", r.ndcg_at_10,
              r.recall_at_1, r.recall_at_5, r.recall_at_10, r.mrr_at_10);
  std::printf("indexing %.1fs · %.1f queries/s\n", r.index_seconds,
              r.search_seconds > 0 ? static_cast<double>(r.queries) / r.search_seconds : 0.0);
}

}  // namespace

void add_search_commands(CLI::App& app) {
  auto flags = std::make_shared<SearchFlags>();
  CLI::App* search = app.add_subcommand("search", "search the index");
  search->add_option("query", flags->query, "what to look for")->required();
  search->add_option("--db", flags->db, "index folder (default: nearest .ksearch/ upward)");
  search->add_option("-k,--top", flags->k, "number of results")->capture_default_str();
  search->add_option("--mode", flags->mode, "dense, lexical or hybrid (default: hybrid when the index has a model)")
      ->check(CLI::IsMember({"auto", "dense", "lexical", "hybrid"}));
  search->add_option("--path", flags->path_glob, "only paths matching GLOB (gitignore syntax)");
  search->add_option("--ext", flags->extensions, "only these file extensions (pdf, md, ...)");
  search->add_flag("--json", flags->json, "print JSON");
  search->add_flag("--explain", flags->explain, "say how hybrid fusion weighs the legs, and why (on stderr)");
  search->add_option("--rerank", flags->rerank, "rerank with a cross-encoder (default model: bge-reranker-v2-m3-ko)")
      ->expected(0, 1)
      ->default_str("");
  search->add_option("--rerank-top", flags->rerank_top, "candidates to rerank")->capture_default_str();
  search->add_option("-m,--model", flags->model, "embedding model to use instead of the index's (same weights)");
  search->add_option("--precision", flags->precision, "encoder precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  search->callback([flags] { run_search(*flags); });

  auto eval_flags = std::make_shared<EvalFlags>();
  CLI::App* eval = app.add_subcommand("eval", "retrieval quality on a BEIR folder or a SQuAD-format file");
  eval->add_option("--beir", eval_flags->beir, "BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)");
  eval->add_option("--squad", eval_flags->squad, "SQuAD-format JSON (e.g. KorQuAD): question -> its paragraph");
  eval->add_option("--mode", eval_flags->mode, "dense, lexical or hybrid (default: hybrid with a model)")
      ->check(CLI::IsMember({"auto", "dense", "lexical", "hybrid"}));
  eval->add_option("-m,--model", eval_flags->model, "embedding model (default: none, lexical only)");
  eval->add_option("-k", eval_flags->k, "cut-off")->capture_default_str();
  eval->add_option("--limit", eval_flags->limit, "evaluate only the first N queries");
  eval->add_option("--rerank", eval_flags->rerank, "rerank with a cross-encoder")->expected(0, 1)->default_str("");
  eval->add_option("--chunk-tokens", eval_flags->chunk_tokens, "chunk size in model tokens");
  eval->add_option("--precision", eval_flags->precision, "encoder precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  eval->add_flag("--json", eval_flags->json, "print JSON");
  eval->add_flag("--plain-rrf", eval_flags->plain_rrf, "hybrid with equal weights, not the fitted fusion");
  eval->callback([eval_flags] { run_eval(*eval_flags); });

  auto shell_db = std::make_shared<std::optional<std::string>>();
  CLI::App* shell = app.add_subcommand("shell", "interactive search prompt (also `ksearch` with no arguments)");
  shell->add_option("--db", *shell_db, "index folder (default: nearest .ksearch/ upward)");
  shell->callback([shell_db] {
    if (const int code = run_shell(*shell_db); code != 0) std::exit(code);
  });
}

}  // namespace ksearch::cli
