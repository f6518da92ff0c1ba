#include "server/model_worker.h"

#include <cstring>

namespace ksearch {

ModelWorker::ModelWorker(std::size_t max_batch_tokens, std::size_t max_queue, Metrics* metrics)
    : max_batch_tokens_(max_batch_tokens), max_queue_(max_queue), metrics_(metrics), thread_([this] { loop(); }) {}

ModelWorker::~ModelWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::size_t ModelWorker::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void ModelWorker::push(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queue_)
      throw Overloaded(cat("server busy: ", queue_.size(), " requests queued (limit ", max_queue_, "); retry shortly"));
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

std::future<Embeddings> ModelWorker::embed(const Embedder& embedder, std::vector<std::vector<TokenId>> sequences) {
  Job job;
  job.embedder = &embedder;
  for (const auto& ids : sequences) job.tokens += ids.size();
  job.sequences = std::move(sequences);
  auto future = job.embedded.get_future();
  push(std::move(job));
  return future;
}

std::future<void> ModelWorker::run(std::function<void()> task) {
  Job job;
  job.task = std::move(task);
  auto future = job.done.get_future();
  push(std::move(job));
  return future;
}

void ModelWorker::loop() {
  while (true) {
    std::vector<Job> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
      // Merge the embedding jobs for the same model waiting behind it, within the token budget.
      if (batch.front().embedder != nullptr) {
        std::size_t tokens = batch.front().tokens;
        for (auto it = queue_.begin(); it != queue_.end();) {
          if (it->embedder == batch.front().embedder && tokens + it->tokens <= max_batch_tokens_) {
            tokens += it->tokens;
            batch.push_back(std::move(*it));
            it = queue_.erase(it);
          } else {
            ++it;
          }
        }
      }
    }
    if (batch.front().embedder == nullptr) {
      try {
        batch.front().task();
        batch.front().done.set_value();
      } catch (...) {
        batch.front().done.set_exception(std::current_exception());
      }
      continue;
    }
    try {
      std::vector<std::vector<TokenId>> all;
      std::size_t tokens = 0;
      for (auto& job : batch) {
        tokens += job.tokens;
        for (auto& ids : job.sequences) all.push_back(std::move(ids));
      }
      if (metrics_ != nullptr) metrics_->record_forward_pass(batch.size(), all.size(), tokens);
      const Embeddings merged = batch.front().embedder->embed_tokens(all, false);
      std::size_t next = 0;
      for (auto& job : batch) {
        Embeddings part;
        part.dimension = merged.dimension;
        const std::size_t count = job.sequences.size();
        part.values.assign(merged.values.begin() + static_cast<std::ptrdiff_t>(next * merged.dimension),
                           merged.values.begin() + static_cast<std::ptrdiff_t>((next + count) * merged.dimension));
        part.token_counts.assign(merged.token_counts.begin() + static_cast<std::ptrdiff_t>(next),
                                 merged.token_counts.begin() + static_cast<std::ptrdiff_t>(next + count));
        part.truncated.assign(count, false);
        next += count;
        job.embedded.set_value(std::move(part));
      }
    } catch (...) {
      for (auto& job : batch) job.embedded.set_exception(std::current_exception());
    }
  }
}

}  // namespace ksearch
