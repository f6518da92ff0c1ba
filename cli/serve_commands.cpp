#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "base/env.h"
#include "base/json.h"
#include "cli/commands.h"
#include "cli/input_lines.h"
#include "search/index_handle.h"
#include "search/index_watch.h"
#include "server/http_server.h"

namespace ksearch::cli {
namespace fs = std::filesystem;
namespace {

struct ServeFlags {
  std::optional<std::string> db;
  std::optional<std::string> model;
  std::optional<std::string> rerank_model;
  bool no_rerank = false;
  ServeOptions serve;
  std::string api_key;
  bool api_key_given = false;
  ApiLimits limits;
  std::vector<std::string> served_model_names;
  std::vector<std::string> cors_origins;
  std::string precision = "fp32";
  bool watch = false;
};

// Logs what a background re-index of `serve --watch` did (the first run only when it changed something).
void log_watch_run(const IndexSummary& summary, const WatchBatch* batch) {
  if (batch == nullptr && summary.indexed + summary.removed == 0) return;
  // A batch without paths is a rescan (the catch-up after the watches are set, or a lost-events overflow).
  const std::string what = batch == nullptr       ? "indexed"
                           : batch->paths.empty() ? "re-indexed"
                                                  : cat("re-indexed after ", batch->paths.size(), " change(s)");
  std::cerr << "ksearch: " << what << ": indexed " << summary.indexed << ", removed " << summary.removed << ", skipped "
            << summary.skipped << " (" << summary.chunks_added << " chunks)" << std::endl;
}

void run_serve(ServeFlags flags) {
  if (flags.api_key_given && flags.api_key.empty())
    fail("--api-key is empty; give a key, or leave the option out to serve without one");
  if (!flags.api_key_given) flags.api_key = env::text("KSEARCH_API_KEY").value_or("");
  if (!is_loopback(flags.serve.host) && flags.api_key.empty())
    std::cerr << "ksearch: warning: listening on " << flags.serve.host
              << " without --api-key: anyone who can reach this address can use the server\n";

  // The index is optional: without one the embedding and rerank routes still work.
  std::optional<IndexLocation> location;
  try {
    location = locate_index(flags.db);
  } catch (const Error& e) {
    if (flags.db) throw;
    std::cerr << "ksearch: " << e.what() << "; serving without /v1/search\n";
  }
  std::string index_model;
  if (location) index_model = read_index_settings(*location).model_id;

  std::shared_ptr<const Model> model;
  std::shared_ptr<const Embedder> embedder;
  const std::string model_name =
      flags.model.value_or(index_model.empty() ? std::string(kDefaultEmbeddingModel) : index_model);
  try {
    model = Model::load(model_name, parse_precision(flags.precision));
    embedder = std::make_shared<const Embedder>(model);
  } catch (const Error& e) {
    if (flags.model) throw;
    std::cerr << "ksearch: " << e.what() << "\nksearch: serving without an embedding model\n";
  }
  std::shared_ptr<const CrossEncoder> reranker;
  std::string reranker_problem;
  if (!flags.no_rerank) {
    try {
      reranker = std::make_shared<const CrossEncoder>(
          Model::load(flags.rerank_model.value_or(std::string(kDefaultRerankModel)), parse_precision(flags.precision)));
    } catch (const Error& e) {
      if (flags.rerank_model) throw;
      reranker_problem = cat("reranker unavailable: ", e.what());
      std::cerr << "ksearch: " << reranker_problem << '\n';
    }
  }
  std::shared_ptr<SearchEngine> engine;
  if (location) {
    EngineOptions options;
    options.reranker = reranker;
    options.precision = parse_precision(flags.precision);
    if (embedder && embedder->spec().id == index_model) options.embedder = embedder;
    engine = SearchEngine::open(*location, options);
    if (!engine->notice().empty()) std::cerr << "ksearch: " << engine->notice() << '\n';
  }
  // The watch re-indexes in its own thread; the server's refresher swaps each committed generation in, and every
  // search runs on one snapshot, so a search during a run sees the index as it was before or after a commit.
  struct BackgroundWatch {
    std::unique_ptr<IndexWatch> watch;
    std::thread thread;
    // A run in progress finishes first: it commits in small transactions and is crash-safe either way.
    ~BackgroundWatch() {
      if (!thread.joinable()) return;
      watch->stop();
      thread.join();
    }
  } background;
  if (flags.watch) {
    if (!engine) fail("--watch needs an index to keep up to date (create one with `ksearch index FOLDER`)");
    IndexOptions options;
    options.db_dir = location->dir;
    options.root = location->root;
    options.wait_for_lock = true;
    options.precision = parse_precision(flags.precision);
    options.loaded_model = model;  // used when it is the index's model: one copy in memory, not two
    background.watch = std::make_unique<IndexWatch>(options);
    flags.serve.refresh_seconds = std::min(flags.serve.refresh_seconds, 0.25);
    // SIGINT and SIGTERM stop the server; the watch thread starts with them blocked so its waits are not cut short.
    sigset_t signals, previous;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, &previous);
    background.thread = std::thread([watch = background.watch.get()] {
      try {
        watch->run(log_watch_run);
      } catch (const std::exception& e) {
        std::cerr << "ksearch: watching stopped: " << e.what() << "; serving the index as it is" << std::endl;
      }
    });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  ApiConfig config;
  config.api_key = flags.api_key;
  config.limits = flags.limits;
  config.served_model_names = flags.served_model_names;
  config.cors_origins = flags.cors_origins;
  config.local_host_names_only = is_loopback(flags.serve.host) && flags.api_key.empty();
  const Api api(config, engine, embedder, reranker, reranker_problem);
  serve(api, engine, flags.serve, [&](int port) {
    std::cerr << "ksearch: serving on http://" << flags.serve.host << ':' << port
              << (engine ? cat(" · index ", engine->location().dir.string()) : std::string())
              << (embedder ? " · model " + embedder->spec().id : std::string())
              << (reranker ? " · reranker " + reranker->model().spec.id : std::string()) << std::endl;
    std::cout << to_json_text(Json{{"port", port}}) << std::endl;
  });
}

struct RerankFlags {
  std::string model{kDefaultRerankModel};
  std::string query;
  std::string input;
  InputFormat format = InputFormat::Text;
  bool sigmoid = false;
  std::size_t max_tokens = 0;
};

void run_rerank(const RerankFlags& flags) {
  const CrossEncoder reranker(Model::load(flags.model), flags.max_tokens);
  const auto passages = read_inputs(flags.input, flags.format);
  const auto logits = reranker.score(flags.query, passages);
  std::vector<std::size_t> order(passages.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return logits[a] > logits[b]; });
  for (std::size_t index : order)
    std::cout << to_json_text(Json{{"index", index}, {"score", flags.sigmoid ? sigmoid(logits[index]) : logits[index]}})
              << '\n';
}

}  // namespace

void add_serve_commands(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve =
      app.add_subcommand("serve", "HTTP server: OpenAI/TEI/Jina-compatible embeddings and rerank, and /v1/search");
  serve->add_option("--db", flags->db, "index folder (default: nearest .ksearch/ upward; none: no /v1/search)");
  serve->add_option("-m,--model", flags->model, "embedding model (default: the index's, else the default model)");
  serve->add_option("--rerank-model", flags->rerank_model, "cross-encoder (default: dragonkue/bge-reranker-v2-m3-ko)");
  serve->add_flag("--no-rerank", flags->no_rerank, "do not load a reranker");
  serve->add_option("--precision", flags->precision, "encoder precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  serve->add_option("--host", flags->serve.host, "address to bind")->capture_default_str();
  serve->add_option("--port", flags->serve.port, "port (0: any free port)")->capture_default_str();
  serve->add_option("--api-key", flags->api_key, "require 'Authorization: Bearer KEY' (also $KSEARCH_API_KEY)")
      ->each([flags](const std::string&) { flags->api_key_given = true; });
  serve->add_option("--threads", flags->serve.threads, "request threads (requests handled at once)")
      ->capture_default_str();
  serve->add_option("--max-connections", flags->serve.max_connections, "open connections; more are refused with 503")
      ->capture_default_str();
  serve->add_option("--read-timeout", flags->serve.read_timeout_seconds, "seconds a request may take to arrive")
      ->capture_default_str();
  serve
      ->add_option("--write-timeout", flags->serve.write_timeout_seconds,
                   "seconds a client may take to read a response")
      ->capture_default_str();
  serve->add_option("--keep-alive", flags->serve.keep_alive_seconds, "seconds an idle connection stays open")
      ->capture_default_str();
  serve->add_option("--served-model-name", flags->served_model_names,
                    "a name the embedding model answers to (repeatable; the first is reported)");
  serve->add_option("--cors-allow-origin", flags->cors_origins, "an origin browsers may call from (repeatable; * any)");
  serve->add_option("--max-body-bytes", flags->limits.max_body_bytes, "larger request bodies get 413")
      ->capture_default_str();
  serve->add_option("--max-search-body-bytes", flags->limits.max_search_body_bytes, "the same for /v1/search")
      ->capture_default_str();
  serve->add_option("--search-timeout", flags->limits.search_seconds, "seconds a /v1/search may run before 503")
      ->capture_default_str();
  serve->add_option("--max-inputs", flags->limits.max_inputs, "texts per request")->capture_default_str();
  serve->add_option("--max-queue", flags->limits.max_queue, "queued model jobs before 429")->capture_default_str();
  serve->add_option("--max-batch-tokens", flags->limits.max_batch_tokens, "tokens per merged forward pass")
      ->capture_default_str();
  serve->add_flag("--watch", flags->watch, "index again in the background whenever the indexed documents change");
  serve->callback([flags] { run_serve(*flags); });

  auto rerank_flags = std::make_shared<RerankFlags>();
  CLI::App* rerank = app.add_subcommand("rerank", "score passages (one per line) against a query with a cross-encoder");
  rerank->add_option("query", rerank_flags->query, "the query")->required();
  rerank->add_option("-m,--model", rerank_flags->model, "cross-encoder model")->capture_default_str();
  rerank->add_option("-i,--input", rerank_flags->input, "passages file (default: stdin), one per line");
  rerank->add_option("--input-format", rerank_flags->format, "text or jsonl")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, InputFormat>{{"text", InputFormat::Text}, {"jsonl", InputFormat::Jsonl}}));
  rerank->add_flag("--sigmoid", rerank_flags->sigmoid, "print sigmoid(logit) in 0..1 instead of the raw logit");
  rerank->add_option("--max-tokens", rerank_flags->max_tokens, "truncate pairs to N tokens");
  rerank->callback([rerank_flags] { run_rerank(*rerank_flags); });
}

}  // namespace ksearch::cli
