// One thread runs all model work of the server, so concurrent requests never oversubscribe the cores, and
// embedding requests that arrive together are merged into one forward pass (as TEI batches), which keeps
// throughput under load close to offline `ksearch embed`.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "base/error.h"
#include "embed/embedder.h"
#include "server/metrics.h"

namespace ksearch {

// The queue is full: the caller should answer 429.
class Overloaded : public Error {
 public:
  using Error::Error;
};

class ModelWorker {
 public:
  // `max_batch_tokens`: token budget of one merged forward pass; `max_queue`: jobs waiting before submit() refuses;
  // `metrics` (optional, outliving the worker) records each forward pass.
  ModelWorker(std::size_t max_batch_tokens, std::size_t max_queue, Metrics* metrics = nullptr);
  ~ModelWorker();
  ModelWorker(const ModelWorker&) = delete;
  ModelWorker& operator=(const ModelWorker&) = delete;

  // Embeds tokenized sequences with `embedder`, merged with other requests for the same embedder.  The vectors are
  // pooled but not normalised (each request normalises as it asked).
  std::future<Embeddings> embed(const Embedder& embedder, std::vector<std::vector<TokenId>> sequences);
  // Runs any other model work (reranking) on the worker thread.
  std::future<void> run(std::function<void()> task);

  std::size_t queued() const;
  std::size_t max_batch_tokens() const { return max_batch_tokens_; }
  std::size_t max_queue() const { return max_queue_; }

 private:
  struct Job {
    const Embedder* embedder = nullptr;  // null: a plain task
    std::vector<std::vector<TokenId>> sequences;
    std::promise<Embeddings> embedded;
    std::function<void()> task;
    std::promise<void> done;
    std::size_t tokens = 0;
  };
  void loop();
  void push(Job job);

  const std::size_t max_batch_tokens_;
  const std::size_t max_queue_;
  Metrics* const metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ksearch
