#include "search/eval.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <unordered_map>

#include "base/env.h"
#include "base/error.h"
#include "base/files.h"
#include "base/json.h"
#include "base/utf8.h"
#include "search/indexer.h"

namespace ksearch {
namespace fs = std::filesystem;
namespace {

std::vector<Json> read_jsonl_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) fail(path.string(), ": cannot open");
  std::vector<Json> out;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number)
    if (line.find_first_not_of(" \t\r") != std::string::npos)
      out.push_back(parse_json(line, cat(path.string(), ":", number)));
  return out;
}

std::string json_id(const Json& value, const std::string& where) {
  const auto it = value.find("_id");
  if (it == value.end()) fail(where, ": missing field '_id'");
  return it->is_string() ? it->get<std::string>() : it->dump();
}

class TempFolder {
 public:
  TempFolder() {
    path_ = fs::path(env::text("TMPDIR").value_or("/tmp")) /
            ("ksearch-eval-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device()()));
    fs::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

constexpr EvalMode kEvalModes[] = {EvalMode::Lexical, EvalMode::Dense, EvalMode::Hybrid, EvalMode::PlainRrf,
                                   EvalMode::Rerank};

}  // namespace

EvalSet load_beir(const fs::path& folder) {
  EvalSet set;
  for (const Json& row : read_jsonl_file(folder / "corpus.jsonl"))
    set.documents.push_back({json_id(row, "corpus.jsonl"), row.value("title", ""), row.value("text", "")});
  std::unordered_map<std::string, std::string> query_text;
  for (const Json& row : read_jsonl_file(folder / "queries.jsonl"))
    query_text[json_id(row, "queries.jsonl")] = row.value("text", "");
  fs::path qrels = folder / "qrels" / "test.tsv";
  if (!fs::exists(qrels)) qrels = folder / "qrels.tsv";
  std::ifstream in(qrels);
  if (!in) fail(folder.string(), ": no qrels/test.tsv or qrels.tsv");
  std::map<std::string, EvalQuery> queries;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
      fields.push_back(line.substr(start, tab - start));
    fields.push_back(line.substr(start));
    if (fields.size() < 3) continue;
    int grade = 0;
    try {
      grade = std::stoi(fields[2]);
    } catch (const std::exception&) {
      if (number == 1) continue;  // header
      fail(qrels.string(), ":", number, ": score '", fields[2], "' is not an integer");
    }
    if (grade <= 0) continue;
    const auto text = query_text.find(fields[0]);
    if (text == query_text.end()) continue;
    EvalQuery& query = queries[fields[0]];
    query.id = fields[0];
    query.text = text->second;
    query.relevant[fields[1]] = grade;
  }
  for (auto& [id, query] : queries) set.queries.push_back(std::move(query));
  if (set.queries.empty()) fail(qrels.string(), ": no judged queries");
  return set;
}

EvalSet load_squad(const fs::path& file) {
  const Json json = read_json_file(file);
  const Json& data = json.value("data", Json::array());
  if (!data.is_array() || data.empty()) fail(file.string(), ": no 'data' array (not a SQuAD-format file?)");
  EvalSet set;
  std::unordered_map<std::string, std::string> id_of_context;
  for (const Json& article : data) {
    std::string title = article.value("title", "");
    std::replace(title.begin(), title.end(), '_', ' ');
    for (const Json& paragraph : article.value("paragraphs", Json::array())) {
      const std::string context = paragraph.value("context", "");
      auto [it, inserted] = id_of_context.try_emplace(context, "");
      if (inserted) {
        char id[16];
        std::snprintf(id, sizeof id, "kq%04zu", set.documents.size());
        it->second = id;
        set.documents.push_back({id, title, context});
      }
      for (const Json& qa : paragraph.value("qas", Json::array()))
        set.queries.push_back({qa.value("id", ""), qa.value("question", ""), {{it->second, 1}}});
    }
  }
  return set;
}

QueryMetrics score_ranking(const std::vector<std::string>& ranked, const std::map<std::string, int>& relevant) {
  QueryMetrics m{};
  double dcg = 0;
  std::size_t found_1 = 0, found_5 = 0, found_10 = 0;
  for (std::size_t i = 0; i < ranked.size() && i < 10; ++i) {
    const auto it = relevant.find(ranked[i]);
    if (it == relevant.end()) continue;
    dcg += it->second / std::log2(static_cast<double>(i) + 2.0);
    if (m.mrr_at_10 == 0) m.mrr_at_10 = 1.0 / static_cast<double>(i + 1);
    if (i < 1) ++found_1;
    if (i < 5) ++found_5;
    ++found_10;
  }
  std::vector<int> grades;
  for (const auto& [id, grade] : relevant) grades.push_back(grade);
  std::sort(grades.rbegin(), grades.rend());
  double ideal = 0;
  for (std::size_t i = 0; i < grades.size() && i < 10; ++i)
    ideal += grades[i] / std::log2(static_cast<double>(i) + 2.0);
  const auto total = static_cast<double>(relevant.size());
  m.ndcg_at_10 = ideal > 0 ? dcg / ideal : 0;
  m.recall_at_1 = total > 0 ? found_1 / total : 0;
  m.recall_at_5 = total > 0 ? found_5 / total : 0;
  m.recall_at_10 = total > 0 ? found_10 / total : 0;
  return m;
}

std::string_view eval_mode_name(EvalMode mode) {
  switch (mode) {
    case EvalMode::Lexical:
      return "lexical";
    case EvalMode::Dense:
      return "dense";
    case EvalMode::Hybrid:
      return "hybrid";
    case EvalMode::PlainRrf:
      return "plain-rrf";
    case EvalMode::Rerank:
      return "rerank";
  }
  return "?";
}

EvalMode parse_eval_mode(std::string_view name) {
  for (EvalMode mode : kEvalModes)
    if (name == eval_mode_name(mode)) return mode;
  fail("unknown eval mode '", name, "' (use lexical, dense, hybrid, plain-rrf or rerank)");
}

Estimate bootstrap_mean(std::span<const double> values, std::size_t resamples, std::uint64_t seed) {
  Estimate out;
  if (values.empty()) return out;
  const std::size_t n = values.size();
  for (double v : values) out.value += v;
  out.value /= static_cast<double>(n);
  if (resamples == 0) {
    out.low = out.high = out.value;
    return out;
  }
  // mt19937_64's sequence is fixed by the standard; the distributions are not, so indices are taken by modulo
  // (its bias, under n / 2^64, is far below the interval's own noise).
  std::mt19937_64 generator(seed);
  std::vector<double> means(resamples);
  for (double& mean : means) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += values[generator() % n];
    mean = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const auto at = [&](double quantile) {
    const auto index = static_cast<std::size_t>(quantile * static_cast<double>(resamples - 1) + 0.5);
    return means[std::min(index, resamples - 1)];
  };
  out.low = at(0.025);
  out.high = at(0.975);
  return out;
}

namespace {

// "d0000012 title.txt": the title without path separators or control characters, at most kMaxTitleBytes of it.
std::string file_name(std::size_t position, std::string_view title) {
  constexpr std::size_t kMaxTitleBytes = 120;
  char number[32];
  std::snprintf(number, sizeof number, "d%07zu", position);
  std::string name = number;
  if (!title.empty()) {
    name += ' ';
    for (char c : title.substr(0, utf8::floor_boundary(title, std::min(title.size(), kMaxTitleBytes))))
      name += c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  return name + ".txt";
}

}  // namespace

EvalReport evaluate(const EvalSet& set, const EvalOptions& options) {
  TempFolder temp;
  // One file per document, named by its position (ids may hold any characters) and its title, as a document
  // saved under its title would be: the keyword leg reads file names.
  std::unordered_map<std::string, std::string> id_of_path;
  for (std::size_t i = 0; i < set.documents.size(); ++i) {
    const EvalDocument& document = set.documents[i];
    const std::string name = file_name(i, document.title);
    const std::string text = document.title.empty() ? document.text : document.title + "\n\n" + document.text;
    write_file_atomically(temp.path() / name, text);
    id_of_path[name] = document.id;
  }
  EvalReport report;
  report.documents = set.documents.size();
  report.bootstrap_resamples = options.bootstrap_resamples;
  report.bootstrap_seed = options.bootstrap_seed;
  IndexOptions index;
  index.folders = {temp.path()};
  index.db_dir = temp.path() / ".ksearch";
  if (options.model)
    index.model = options.model;
  else
    index.no_model = true;
  index.chunk_tokens = options.chunk_tokens;
  index.precision = options.precision;
  const auto index_start = std::chrono::steady_clock::now();
  const IndexSummary summary = run_index(index);
  report.index_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - index_start).count();
  report.model = summary.model_id;

  EngineOptions engine_options;
  engine_options.rerank_model = options.rerank_model;
  engine_options.precision = options.precision;
  engine_options.load_model = options.model.has_value();
  const auto engine = SearchEngine::open(summary.location, engine_options);
  if (engine->has_model()) report.fusion = describe_fusion(engine->fusion());
  const std::size_t count = std::min(set.queries.size(), options.limit_queries.value_or(set.queries.size()));
  report.queries = count;

  // Each mode's per-query metrics, kept for the bootstrap and the paired differences.
  std::map<EvalMode, std::vector<QueryMetrics>> per_query;
  for (EvalMode mode : kEvalModes) {
    if (!options.modes.empty() && std::find(options.modes.begin(), options.modes.end(), mode) == options.modes.end())
      continue;
    EvalModeReport& row = report.modes.emplace_back();
    row.mode = mode;
    const bool needs_model = mode == EvalMode::Dense || mode == EvalMode::Hybrid || mode == EvalMode::PlainRrf;
    if (needs_model && !engine->has_model()) {
      row.skipped = "no embedding model (give --model)";
      continue;
    }
    if (mode == EvalMode::Rerank && !options.rerank) {
      row.skipped = "no cross-encoder asked (give --rerank [MODEL])";
      continue;
    }
    SearchOptions search;
    search.k = std::max<std::size_t>(options.k, 10) * 3;  // chunks; results are folded to documents
    search.mode = mode == EvalMode::Lexical                          ? SearchMode::Lexical
                  : mode == EvalMode::Dense                          ? SearchMode::Dense
                  : mode == EvalMode::Rerank && !engine->has_model() ? SearchMode::Lexical
                                                                     : SearchMode::Hybrid;
    search.calibrated_fusion = mode != EvalMode::PlainRrf;
    search.rerank = mode == EvalMode::Rerank;
    if (search.rerank) row.over = std::string(search_mode_name(search.mode));
    std::vector<QueryMetrics>& metrics = per_query[mode];
    const auto search_start = std::chrono::steady_clock::now();
    for (std::size_t q = 0; q < count; ++q) {
      SearchResponse response;
      try {
        response = engine->search(set.queries[q].text, search);
      } catch (const QueryTooLarge&) {
        ++row.refused;  // as a user's query would be: it finds nothing
      }
      std::vector<std::string> ranked;
      std::set<std::string> seen;
      for (const SearchHit& hit : response.results) {
        const std::string& id = id_of_path.at(hit.chunk.path);
        if (seen.insert(id).second) ranked.push_back(id);
      }
      metrics.push_back(score_ranking(ranked, set.queries[q].relevant));
    }
    row.search_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - search_start).count();
  }

  const auto estimate = [&](const std::vector<QueryMetrics>& metrics, double QueryMetrics::*field) {
    std::vector<double> values;
    for (const QueryMetrics& m : metrics) values.push_back(m.*field);
    return bootstrap_mean(values, options.bootstrap_resamples, options.bootstrap_seed);
  };
  const auto lexical = per_query.find(EvalMode::Lexical);
  for (EvalModeReport& row : report.modes) {
    const auto mine = per_query.find(row.mode);
    if (mine == per_query.end()) continue;
    row.ndcg_at_10 = estimate(mine->second, &QueryMetrics::ndcg_at_10);
    row.recall_at_1 = estimate(mine->second, &QueryMetrics::recall_at_1);
    row.recall_at_5 = estimate(mine->second, &QueryMetrics::recall_at_5);
    row.recall_at_10 = estimate(mine->second, &QueryMetrics::recall_at_10);
    row.mrr_at_10 = estimate(mine->second, &QueryMetrics::mrr_at_10);
    if (row.mode == EvalMode::Lexical || lexical == per_query.end()) continue;
    std::vector<double> differences;
    for (std::size_t q = 0; q < count; ++q)
      differences.push_back(mine->second[q].ndcg_at_10 - lexical->second[q].ndcg_at_10);
    row.ndcg_vs_lexical = bootstrap_mean(differences, options.bootstrap_resamples, options.bootstrap_seed);
  }
  return report;
}

}  // namespace ksearch
