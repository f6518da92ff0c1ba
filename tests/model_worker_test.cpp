#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "embed/embedder.h"
#include "embed/model.h"
#include "server/metrics.h"
#include "server/model_worker.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
using namespace std::chrono_literals;
using Sequences = std::vector<std::vector<TokenId>>;

const Embedder& tiny_embedder() {
  static const Embedder embedder(Model::load_dir(testing::fixture("tiny-e5-bert"), "tiny-e5"));
  return embedder;
}

std::vector<TokenId> tokens(const std::string& text) { return tiny_embedder().tokenize(text, TextKind::Passage).ids; }

std::size_t token_count(const Sequences& sequences) {
  std::size_t count = 0;
  for (const auto& ids : sequences) count += ids.size();
  return count;
}

// The value of the sample named `name` (e.g. "ksearch_model_batch_requests_sum") in the exposition text.
double sample(const std::string& exposition, const std::string& name) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  ADD_FAILURE() << name << " not in:\n" << exposition;
  return -1;
}

// Keeps the worker thread busy in a task until open(), so the jobs submitted meanwhile wait in the queue together.
class Gate {
 public:
  explicit Gate(ModelWorker& worker) {
    busy_ = worker.run([this, opened = open_.get_future().share()] {
      entered_.set_value();
      opened.wait();
    });
    entered_.get_future().wait();
  }
  ~Gate() {
    open();
    busy_.wait();
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  void open() {
    if (!opened_) open_.set_value();
    opened_ = true;
  }

 private:
  std::promise<void> entered_;
  std::promise<void> open_;
  bool opened_ = false;
  std::future<void> busy_;
};

TEST(ModelWorker, RequestsWaitingTogetherShareOneForwardPassWithinTheTokenBudget) {
  const Embedder& embedder = tiny_embedder();
  const std::vector<Sequences> requests = {
      {tokens("서울특별시는 대한민국의 수도이다.")},
      {tokens("부산은 항구 도시이다."), tokens("김치는 배추로 담근다.")},
      {tokens("한강이 흐른다.")},
      {tokens("제주도는 화산섬이다.")},
  };
  // Room for the first three requests only: the fourth needs a pass of its own.
  const std::size_t budget = token_count(requests[0]) + token_count(requests[1]) + token_count(requests[2]);
  Metrics metrics;
  ModelWorker worker(budget, 16, &metrics);
  std::vector<std::future<Embeddings>> futures;
  {
    Gate gate(worker);
    for (const Sequences& request : requests) futures.push_back(worker.embed(embedder, request));
    EXPECT_EQ(worker.queued(), requests.size());
  }

  for (std::size_t r = 0; r < requests.size(); ++r) {
    const Embeddings merged = futures[r].get();
    const Embeddings alone = embedder.embed_tokens(requests[r], false);
    ASSERT_EQ(merged.size(), requests[r].size()) << "request " << r;
    EXPECT_EQ(merged.dimension, alone.dimension);
    EXPECT_EQ(merged.token_counts, alone.token_counts) << "request " << r;
    ASSERT_EQ(merged.values.size(), alone.values.size());
    for (std::size_t i = 0; i < alone.values.size(); ++i)
      EXPECT_NEAR(merged.values[i], alone.values[i], 1e-5) << "request " << r << " value " << i;
  }

  const std::string exposition = metrics.render({});
  EXPECT_EQ(sample(exposition, "ksearch_model_batch_requests_count"), 2);  // forward passes
  EXPECT_EQ(sample(exposition, "ksearch_model_batch_requests_bucket{le=\"1\"}"), 1);
  EXPECT_EQ(sample(exposition, "ksearch_model_batch_requests_sum"), 4);
  EXPECT_EQ(sample(exposition, "ksearch_model_batch_sequences_sum"), 5);
  double all_tokens = 0;
  for (const Sequences& request : requests) all_tokens += static_cast<double>(token_count(request));
  EXPECT_EQ(sample(exposition, "ksearch_model_batch_tokens_sum"), all_tokens);
}

TEST(ModelWorker, SubmittingBeyondTheQueueLimitIsOverloaded) {
  ModelWorker worker(1024, 2);
  std::future<void> task;
  std::future<Embeddings> embedded;
  {
    Gate gate(worker);  // the running task has left the queue
    task = worker.run([] {});
    embedded = worker.embed(tiny_embedder(), {tokens("서울")});
    try {
      worker.run([] {});
      ADD_FAILURE() << "a third job was queued";
    } catch (const Overloaded& e) {
      EXPECT_NE(std::string(e.what()).find("2 requests queued (limit 2)"), std::string::npos) << e.what();
    }
    EXPECT_THROW(worker.embed(tiny_embedder(), {tokens("부산")}), Overloaded);
    EXPECT_EQ(worker.queued(), 2u);
  }
  EXPECT_NO_THROW(task.get());
  EXPECT_EQ(embedded.get().size(), 1u);
  // The refusals took no place: once the queue drains there is room again.
  EXPECT_NO_THROW(worker.run([] {}).get());
}

TEST(ModelWorker, TasksRunInOrderOnTheWorkerThread) {
  ModelWorker worker(1024, 64);
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  std::vector<std::future<void>> done;
  {
    Gate gate(worker);
    for (int i = 0; i < 20; ++i)
      done.push_back(worker.run([&order, &threads, i] {
        order.push_back(i);
        threads.push_back(std::this_thread::get_id());
      }));
  }
  for (auto& future : done) future.get();
  std::vector<int> expected(20);
  for (int i = 0; i < 20; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(order, expected);
  const std::set<std::thread::id> distinct(threads.begin(), threads.end());
  EXPECT_EQ(distinct.size(), 1u);
  EXPECT_NE(threads.at(0), std::this_thread::get_id());
}

TEST(ModelWorker, AnExceptionInAJobReachesItsFutureAndTheWorkerGoesOn) {
  ModelWorker worker(1 << 20, 8);
  std::future<void> failed = worker.run([] { fail("reranker broke on purpose"); });
  const std::size_t limit = tiny_embedder().max_tokens();
  std::future<Embeddings> too_long =
      worker.embed(tiny_embedder(), {std::vector<TokenId>(limit + 1, tokens("서울").at(1))});
  try {
    failed.get();
    ADD_FAILURE() << "the task's exception was lost";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "reranker broke on purpose");
  }
  try {
    too_long.get();
    ADD_FAILURE() << "the forward pass's exception was lost";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds max_tokens"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(worker.run([] {}).get());
  EXPECT_EQ(worker.embed(tiny_embedder(), {tokens("서울")}).get().size(), 1u);
}

TEST(ModelWorker, DestructionFinishesTheQueuedJobs) {
  std::atomic<int> ran = 0;
  std::vector<std::future<void>> tasks;
  std::future<Embeddings> embedded;
  std::promise<void> entered;
  std::promise<void> open;
  std::optional<ModelWorker> worker;
  worker.emplace(1024, 16);
  std::future<void> busy = worker->run([&entered, opened = open.get_future().share()] {
    entered.set_value();
    opened.wait();
  });
  entered.get_future().wait();
  for (int i = 0; i < 5; ++i) tasks.push_back(worker->run([&ran] { ++ran; }));
  embedded = worker->embed(tiny_embedder(), {tokens("서울")});
  ASSERT_EQ(worker->queued(), 6u);
  // Opened only after the destructor has begun, so it finds the jobs still queued.
  std::jthread opener([&open] {
    std::this_thread::sleep_for(100ms);
    open.set_value();
  });
  worker.reset();
  for (auto& task : tasks) {
    ASSERT_EQ(task.wait_for(0s), std::future_status::ready);
    EXPECT_NO_THROW(task.get());
  }
  EXPECT_EQ(ran, 5);
  EXPECT_EQ(embedded.get().size(), 1u);
  EXPECT_NO_THROW(busy.get());
}

}  // namespace
}  // namespace ksearch
