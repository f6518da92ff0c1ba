#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include "base/display_width.h"
#include "cli/commands.h"
#include "cli/open_file.h"
#include "cli/search_output.h"
#include "cli/terminal.h"
#include "ingest/document.h"
#include "search/document_excerpt.h"
#include "search/eval.h"
#include "search/last_search.h"
#include "search/search_request.h"

namespace ksearch::cli {
namespace {

struct SearchFlags {
  std::vector<std::string> query_words;  // joined with spaces: `ksearch search 학생 성적` needs no quotes
  std::optional<std::string> db;
  long long k = 10;
  std::string mode = "auto";
  std::string path_glob;
  std::vector<std::string> extensions;
  bool json = false;
  bool vimgrep = false;
  bool files_with_matches = false;
  std::optional<std::string> format;
  bool absolute = false;
  std::string color = "auto";
  std::optional<std::string> rerank;  // present: rerank (value: model, "" = default)
  long long rerank_top = 50;
  std::optional<std::string> model;
  bool force = false;
  std::string precision = "fp32";
  bool explain = false;
};

std::string joined_query(const std::vector<std::string>& words) {
  std::string query;
  for (const auto& word : words) query += (query.empty() ? "" : " ") + word;
  return query;
}

void run_search(const SearchFlags& flags) {
  const std::string query = joined_query(flags.query_words);
  if (static_cast<int>(flags.vimgrep) + static_cast<int>(flags.files_with_matches) + static_cast<int>(flags.json) +
          static_cast<int>(flags.format.has_value()) >
      1)
    throw CLI::ValidationError("--json, --vimgrep, -l and --format", "choose one output format");
  SearchRequest request;
  request.query = query;
  request.k = flags.k;
  request.mode = flags.mode;
  request.path_glob = flags.path_glob;
  request.extensions = flags.extensions;
  request.rerank = flags.rerank.has_value();
  request.rerank_top = flags.rerank_top;
  SearchOptions options;
  try {
    options = search_options(request);
  } catch (const Error& e) {
    throw CLI::ValidationError(e.what());  // a usage error: exit status 2
  }
  EngineOptions engine_options;
  engine_options.model = flags.model;
  engine_options.force_model = flags.force;
  if (flags.rerank && !flags.rerank->empty()) engine_options.rerank_model = *flags.rerank;
  engine_options.load_model = options.mode != SearchMode::Lexical;
  engine_options.precision = parse_precision(flags.precision);
  const auto engine = SearchEngine::open(locate_index(flags.db), engine_options);
  const SearchResponse response = engine->search(query, options);
  remember_search(engine->location(), query, response);
  if (flags.explain && response.mode == SearchMode::Hybrid) std::cerr << describe_fusion(engine->fusion()) << '\n';
  if (flags.json) {
    std::cout << to_json_text(response_json(query, response)) << '\n';
  } else {
    OutputOptions output;
    output.format = flags.vimgrep              ? ResultFormat::Vimgrep
                    : flags.files_with_matches ? ResultFormat::Files
                    : flags.format             ? ResultFormat::Template
                                               : ResultFormat::Pretty;
    if (flags.format) output.template_text = *flags.format;
    output.color = use_color(flags.color, stdout);
    output.width = terminal_width(stdout);
    output.absolute = flags.absolute;
    output.working_dir = std::filesystem::current_path();
    print_response(std::cout, query, response, engine->location().root, output);
  }
  std::cout.flush();
  if (response.results.empty()) throw ExitStatus{1};
}

struct EvalFlags {
  std::string beir;
  std::string squad;
  std::vector<std::string> modes;
  std::optional<std::string> model;
  std::size_t k = 10;
  bool json = false;
  std::optional<std::size_t> limit;
  std::optional<std::string> rerank;
  int chunk_tokens = 0;
  std::string precision = "fp32";
  std::size_t resamples = 1000;
  std::uint64_t seed = 1;
};

Json estimate_json(const Estimate& e) { return {{"value", e.value}, {"low", e.low}, {"high", e.high}}; }

Json eval_json(const EvalReport& r) {
  Json modes = Json::array();
  for (const EvalModeReport& row : r.modes) {
    Json mode = {{"mode", eval_mode_name(row.mode)}};
    if (!row.skipped.empty()) {
      mode["skipped"] = row.skipped;
    } else {
      if (!row.over.empty()) mode["over"] = row.over;
      mode["ndcg@10"] = estimate_json(row.ndcg_at_10);
      mode["recall@1"] = estimate_json(row.recall_at_1);
      mode["recall@5"] = estimate_json(row.recall_at_5);
      mode["recall@10"] = estimate_json(row.recall_at_10);
      mode["mrr@10"] = estimate_json(row.mrr_at_10);
      if (row.ndcg_vs_lexical) mode["ndcg@10_vs_lexical"] = estimate_json(*row.ndcg_vs_lexical);
      mode["refused"] = row.refused;
      mode["search_seconds"] = row.search_seconds;
    }
    modes.push_back(std::move(mode));
  }
  return {{"documents", r.documents},
          {"queries", r.queries},
          {"model", r.model.empty() ? Json() : Json(r.model)},
          {"fusion", r.fusion.empty() ? Json() : Json(r.fusion)},
          {"index_seconds", r.index_seconds},
          {"bootstrap", {{"resamples", r.bootstrap_resamples}, {"seed", r.bootstrap_seed}, {"confidence", 0.95}}},
          {"modes", std::move(modes)}};
}

std::string estimate_text(const Estimate& e, const char* format) {
  char text[64];
  std::snprintf(text, sizeof text, format, e.value, e.low, e.high);
  return text;
}

void run_eval(const EvalFlags& flags) {
  if (flags.beir.empty() == flags.squad.empty()) fail("eval needs exactly one of --beir DIR or --squad FILE");
  const EvalSet set = flags.beir.empty() ? load_squad(flags.squad) : load_beir(flags.beir);
  EvalOptions options;
  for (const std::string& mode : flags.modes) options.modes.push_back(parse_eval_mode(mode));
  options.model = flags.model;
  options.k = flags.k;
  options.limit_queries = flags.limit;
  options.rerank = flags.rerank.has_value();
  if (flags.rerank && !flags.rerank->empty()) options.rerank_model = *flags.rerank;
  options.chunk_tokens = flags.chunk_tokens;
  options.precision = parse_precision(flags.precision);
  options.bootstrap_resamples = flags.resamples;
  options.bootstrap_seed = flags.seed;
  const EvalReport r = evaluate(set, options);
  if (flags.json) {
    std::cout << to_json_text(eval_json(r)) << '\n';
    return;
  }
  std::printf("%zu documents, %zu queries%s · indexing %.1fs\n", r.documents, r.queries,
              r.model.empty() ? "" : (" · " + r.model).c_str(), r.index_seconds);
  if (!r.fusion.empty()) std::printf("%s\n", r.fusion.c_str());
  std::printf("95%% intervals from %zu bootstrap resamples of the queries (seed %llu); Δ: paired, vs lexical\n\n",
              r.bootstrap_resamples, static_cast<unsigned long long>(r.bootstrap_seed));
  const char* cell = "%.4f [%.3f, %.3f]";
  std::printf("%-18s %-22s %-22s %-22s %-22s %-22s %-26s %s\n", "mode", "nDCG@10", "Recall@1", "Recall@5", "Recall@10",
              "MRR@10", "Δ nDCG@10", "queries/s");
  for (const EvalModeReport& row : r.modes) {
    const std::string name =
        row.over.empty() ? std::string(eval_mode_name(row.mode)) : cat(eval_mode_name(row.mode), " (", row.over, ")");
    if (!row.skipped.empty()) {
      std::printf("%-18s skipped: %s\n", name.c_str(), row.skipped.c_str());
      continue;
    }
    const std::string difference =
        row.ndcg_vs_lexical ? estimate_text(*row.ndcg_vs_lexical, "%+.4f [%+.3f, %+.3f]") : "";
    std::printf("%-18s %-22s %-22s %-22s %-22s %-22s %-26s %.1f\n", name.c_str(),
                estimate_text(row.ndcg_at_10, cell).c_str(), estimate_text(row.recall_at_1, cell).c_str(),
                estimate_text(row.recall_at_5, cell).c_str(), estimate_text(row.recall_at_10, cell).c_str(),
                estimate_text(row.mrr_at_10, cell).c_str(), difference.c_str(),
                row.search_seconds > 0 ? static_cast<double>(r.queries) / row.search_seconds : 0.0);
  }
  std::size_t refused = 0;
  for (const EvalModeReport& row : r.modes) refused = std::max(refused, row.refused);
  if (refused > 0)
    std::printf("\n%zu queries over the search limits (at most %zu distinct terms) were refused, scored as misses\n",
                refused, kMaxQueryTerms);
}

struct ShowFlags {
  std::string target;  // PATH, PATH:LINE or PATH:LINE:COLUMN (as --vimgrep prints)
  std::size_t context = 5;
  std::string color = "auto";
};

// `ksearch show PATH:LINE`: the document's text around a line (office formats through the ingest readers), for a
// quick look or an fzf preview.  Lines are numbered, the asked one marked; the page is named where there are pages.
void run_show(const ShowFlags& flags) {
  std::filesystem::path path = flags.target;
  int line = 0;
  // Strip up to two trailing :NUMBER parts, unless the whole name is an existing file.
  for (int part = 0; part < 2 && !std::filesystem::exists(path); ++part) {
    const std::string text = path.string();
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size() ||
        text.find_first_not_of("0123456789", colon + 1) != std::string::npos)
      break;
    line = std::stoi(text.substr(colon + 1));
    path = text.substr(0, colon);
  }
  if (!std::filesystem::exists(path)) fail(flags.target, ": no such file");
  const Document document = read_document(path);
  const DocumentExcerpt excerpt = excerpt_lines(document, path.string(), static_cast<std::size_t>(line),
                                                static_cast<std::size_t>(line), flags.context);
  const Style style{use_color(flags.color, stdout)};
  const std::size_t width = terminal_width(stdout);
  int page = -1;
  for (const ExcerptLine& excerpt_line : excerpt.lines) {
    if (excerpt_line.page > 0 && excerpt_line.page != page) {
      std::cout << style.dim(cat("── page ", excerpt_line.page, " ──")) << '\n';
      page = excerpt_line.page;
    }
    const bool target = static_cast<int>(excerpt_line.number) == line;
    char gutter[32];
    std::snprintf(gutter, sizeof gutter, "%6zu%s ", excerpt_line.number, target ? ">" : ":");
    std::string text = fit_width(escape_controls(excerpt_line.text), width > 9 ? width - 9 : 1);
    std::cout << (target ? style.bold(gutter + text) : style.dim(gutter) + text) << '\n';
  }
}

struct OpenFlags {
  long long n = 0;
  std::optional<std::string> db;
};

// `ksearch open N`: the N-th result of the last search in this index, in the editor or viewer.
void run_open(const OpenFlags& flags) {
  const IndexLocation location = locate_index(flags.db);
  const LastSearch last = load_last_search(location);
  OutputOptions output;
  output.working_dir = std::filesystem::current_path();
  open_result(last.result(flags.n), last.query, location.root, output, std::cout);
}

}  // namespace

void remember_search(const IndexLocation& location, std::string_view query, const SearchResponse& response) {
  if (::access(location.dir.c_str(), W_OK) != 0) return;  // a read-only index is searched, not written
  try {
    save_last_search(location, query, response);
  } catch (const Error& e) {
    std::cerr << "ksearch: warning: `ksearch open` will not know this search: " << e.what() << '\n';
  }
}

void add_search_commands(CLI::App& app) {
  auto flags = std::make_shared<SearchFlags>();
  CLI::App* search = app.add_subcommand("search", "search the index");
  search->add_option("query", flags->query_words, "what to look for (several words need no quotes)")->required();
  search->add_option("--db", flags->db, "index folder (default: nearest .ksearch/ upward)");
  search->add_option("-k,--top", flags->k, "number of results (1 or more)")
      ->check(CLI::Range(1LL, kMaxResults))
      ->capture_default_str();
  search->add_option("--mode", flags->mode, "dense, lexical or hybrid (default: hybrid when the index has a model)")
      ->check(CLI::IsMember({"auto", "dense", "lexical", "hybrid"}));
  search->add_option("--path", flags->path_glob, "only paths matching GLOB (gitignore syntax)");
  search->add_option("--ext", flags->extensions, "only these extensions (pdf, .md, HWP; comma-separated or repeated)")
      ->delimiter(',')
      ->allow_extra_args(false);
  search->add_flag("--json", flags->json, "print JSON");
  search->add_flag("--vimgrep", flags->vimgrep, "print path:line:column:text per result (for editors' quickfix)");
  search->add_flag("-l,--files-with-matches", flags->files_with_matches, "print each matching file once");
  search->add_option("--format", flags->format,
                     "print TEMPLATE per result: {rank} {path} {line} {column} {page} {score} {text}");
  search->add_flag("--absolute", flags->absolute, "absolute paths (default: from the working folder)");
  search->add_option("--color", flags->color, "auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  search->add_flag("--explain", flags->explain, "say how hybrid fusion weighs the legs, and why (on stderr)");
  search->add_option("--rerank", flags->rerank, "rerank with a cross-encoder (default model: bge-reranker-v2-m3-ko)")
      ->expected(0, 1)
      ->default_str("");
  search->add_option("--rerank-top", flags->rerank_top, "candidates to rerank")->capture_default_str();
  search->add_option("-m,--model", flags->model, "embedding model to use instead of the index's (same weights)");
  search->add_flag("--force", flags->force, "search with --model although it differs from the index's model");
  search->add_option("--precision", flags->precision, "encoder precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  search->callback([flags] { run_search(*flags); });

  auto eval_flags = std::make_shared<EvalFlags>();
  CLI::App* eval = app.add_subcommand("eval", "retrieval quality on a BEIR folder or a SQuAD-format file");
  eval->add_option("--beir", eval_flags->beir, "BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)");
  eval->add_option("--squad", eval_flags->squad, "SQuAD-format JSON (e.g. KorQuAD): question -> its paragraph");
  eval->add_option("--mode", eval_flags->modes,
                   "modes to compare, comma-separated: lexical, dense, hybrid, plain-rrf, rerank (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"lexical", "dense", "hybrid", "plain-rrf", "rerank"}));
  eval->add_option("-m,--model", eval_flags->model, "embedding model (default: none, lexical only)");
  eval->add_option("-k", eval_flags->k, "cut-off")->capture_default_str();
  eval->add_option("--limit", eval_flags->limit, "evaluate only the first N queries");
  eval->add_option("--rerank", eval_flags->rerank, "rerank with a cross-encoder")->expected(0, 1)->default_str("");
  eval->add_option("--chunk-tokens", eval_flags->chunk_tokens, "chunk size in model tokens");
  eval->add_option("--precision", eval_flags->precision, "encoder precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  eval->add_option("--resamples", eval_flags->resamples, "bootstrap resamples for the 95% intervals")
      ->capture_default_str();
  eval->add_option("--seed", eval_flags->seed, "bootstrap seed")->capture_default_str();
  eval->add_flag("--json", eval_flags->json, "print JSON");
  eval->callback([eval_flags] { run_eval(*eval_flags); });

  auto show_flags = std::make_shared<ShowFlags>();
  CLI::App* show = app.add_subcommand("show", "print a document's text around a line (PATH:LINE, as --vimgrep prints)");
  show->add_option("target", show_flags->target, "PATH, PATH:LINE or PATH:LINE:COLUMN")->required();
  show->add_option("-C,--context", show_flags->context, "lines before and after")->capture_default_str();
  show->add_option("--color", show_flags->color, "auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  show->callback([show_flags] { run_show(*show_flags); });

  auto open_flags = std::make_shared<OpenFlags>();
  CLI::App* open =
      app.add_subcommand("open", "open result N of the last search ($EDITOR at the line; documents with xdg-open)");
  open->add_option("n", open_flags->n, "result number, as the search printed it")->required();
  open->add_option("--db", open_flags->db, "index folder (default: nearest .ksearch/ upward)");
  open->callback([open_flags] { run_open(*open_flags); });

  auto shell_db = std::make_shared<std::optional<std::string>>();
  CLI::App* shell = app.add_subcommand("shell", "interactive search prompt (also `ksearch` with no arguments)");
  shell->add_option("--db", *shell_db, "index folder (default: nearest .ksearch/ upward)");
  shell->callback([shell_db] {
    if (const int code = run_shell(*shell_db); code != 0) throw ExitStatus{code};
  });
}

}  // namespace ksearch::cli
