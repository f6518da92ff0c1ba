// plan_index_settings: the settings `ksearch index` gives an index from its old settings, the run's options and
// the model, without a model or a database.
#include "search/index_settings_plan.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace ksearch {
namespace {

namespace fs = std::filesystem;

IndexingModel model_a() {
  return {{"org/model-a", "bert", "cls", 384, "fingerprint-a"}, 256, 512, "query: ", "passage: "};
}

IndexingModel model_b() { return {{"org/model-b", "xlm-roberta", "mean", 1024, "fingerprint-b"}, 512, 8192, "", ""}; }

// The settings a previous run with `model` (none: lexical only) left, covering the whole root.
IndexSettings built_with(const std::optional<IndexingModel>& model, int chunk_tokens, int overlap_tokens) {
  IndexSettings settings;
  if (model) {
    settings.model_id = model->identity.id;
    settings.architecture = model->identity.architecture;
    settings.pooling = model->identity.pooling;
    settings.dimension = model->identity.dimension;
    settings.tokenizer_fingerprint = model->identity.tokenizer_fingerprint;
    settings.query_prefix = model->query_prefix;
    settings.passage_prefix = model->passage_prefix;
  }
  settings.chunk_tokens = chunk_tokens;
  settings.overlap_tokens = overlap_tokens;
  settings.roots = {""};
  return settings;
}

// `ksearch index /data/docs` with model A into /data/docs/.ksearch.
IndexSettingsRequest fresh_request() {
  IndexSettingsRequest request;
  request.location = {"/data/docs/.ksearch", "/data/docs"};
  request.model = model_a();
  request.folders = {"/data/docs"};
  return request;
}

// A plain `ksearch index` re-run of an index that model A built with `chunk_tokens` and `overlap_tokens`.
IndexSettingsRequest rerun_request(int chunk_tokens = 300, int overlap_tokens = 10) {
  IndexSettingsRequest request = fresh_request();
  request.old_settings = built_with(model_a(), chunk_tokens, overlap_tokens);
  request.store_has_files = true;
  request.folders.clear();
  return request;
}

std::string error_of(const IndexSettingsRequest& request) {
  try {
    plan_index_settings(request);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(IndexSettingsPlan, FreshIndexTakesTheModelsDefaults) {
  const IndexSettingsPlan plan = plan_index_settings(fresh_request());
  EXPECT_EQ(plan.settings.chunk_tokens, 256);
  EXPECT_EQ(plan.settings.overlap_tokens, 32);
  EXPECT_EQ(plan.settings.model_id, "org/model-a");
  EXPECT_EQ(plan.settings.architecture, "bert");
  EXPECT_EQ(plan.settings.pooling, "cls");
  EXPECT_EQ(plan.settings.dimension, 384);
  EXPECT_EQ(plan.settings.tokenizer_fingerprint, "fingerprint-a");
  EXPECT_EQ(plan.settings.query_prefix, "query: ");
  EXPECT_EQ(plan.settings.passage_prefix, "passage: ");
  EXPECT_EQ(plan.settings.index_spec, "auto");
  EXPECT_EQ(plan.settings.roots, std::vector<std::string>{""});
  EXPECT_EQ(plan.settings.root, "") << "the index folder's parent is the root: nothing to record";
  EXPECT_EQ(plan.folders, std::vector<fs::path>{"/data/docs"});
  EXPECT_EQ(plan.walk_excludes, std::vector<std::string>{"/.ksearch/"});
  EXPECT_FALSE(plan.rebuild) << "a fresh index is built in place";
  EXPECT_FALSE(plan.force_rechunk);
  EXPECT_TRUE(plan.notices.empty());
}

TEST(IndexSettingsPlan, FreshLexicalIndexChunksBy512Tokens) {
  IndexSettingsRequest request = fresh_request();
  request.model.reset();
  const IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_EQ(plan.settings.model_id, "");
  EXPECT_EQ(plan.settings.dimension, 0);
  EXPECT_EQ(plan.settings.query_prefix, "");
  EXPECT_EQ(plan.settings.chunk_tokens, 512);
  EXPECT_EQ(plan.settings.overlap_tokens, 64);
}

TEST(IndexSettingsPlan, ChunkTokensAboveTheModelsLimitAreLoweredWithANotice) {
  IndexSettingsRequest request = fresh_request();
  request.chunk_tokens = 4096;
  const IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_EQ(plan.settings.chunk_tokens, 512);
  EXPECT_EQ(plan.settings.overlap_tokens, 64);
  EXPECT_EQ(plan.notices, std::vector<std::string>{"--chunk-tokens 4096 exceeds the model's limit; using 512"});
}

TEST(IndexSettingsPlan, ChunksHaveAtLeast16Tokens) {
  IndexSettingsRequest request = fresh_request();
  request.chunk_tokens = 5;
  const IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_EQ(plan.settings.chunk_tokens, 16);
  EXPECT_EQ(plan.settings.overlap_tokens, 2);
}

TEST(IndexSettingsPlan, OverlapIsAtMostHalfAChunk) {
  IndexSettingsRequest request = fresh_request();
  request.chunk_tokens = 100;
  request.overlap_tokens = 80;
  EXPECT_EQ(plan_index_settings(request).settings.overlap_tokens, 50);
  request.overlap_tokens = 0;
  EXPECT_EQ(plan_index_settings(request).settings.overlap_tokens, 0) << "no overlap is a choice, not the default";
}

TEST(IndexSettingsPlan, PlainRerunKeepsTheIndexsChunking) {
  const IndexSettingsPlan plan = plan_index_settings(rerun_request(300, 10));
  EXPECT_EQ(plan.settings.chunk_tokens, 300);
  EXPECT_EQ(plan.settings.overlap_tokens, 10);
  EXPECT_FALSE(plan.force_rechunk);
  EXPECT_FALSE(plan.rebuild);
  EXPECT_TRUE(plan.notices.empty());
  EXPECT_EQ(plan.folders, std::vector<fs::path>{"/data/docs"}) << "the folders the index was built from";
}

TEST(IndexSettingsPlan, ChangedChunkingForcesRechunking) {
  IndexSettingsRequest request = rerun_request(300, 10);
  request.chunk_tokens = 200;
  IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_EQ(plan.settings.chunk_tokens, 200);
  EXPECT_EQ(plan.settings.overlap_tokens, 25) << "the old overlap belongs to the old chunk size";
  EXPECT_TRUE(plan.force_rechunk);

  request = rerun_request(300, 10);
  request.overlap_tokens = 20;
  plan = plan_index_settings(request);
  EXPECT_EQ(plan.settings.chunk_tokens, 300);
  EXPECT_EQ(plan.settings.overlap_tokens, 20);
  EXPECT_TRUE(plan.force_rechunk);

  request = rerun_request(300, 10);
  request.chunk_tokens = 300;
  request.overlap_tokens = 10;
  EXPECT_FALSE(plan_index_settings(request).force_rechunk) << "the same chunking given again";
}

TEST(IndexSettingsPlan, RebuildTakesTheModelsDefaultsAndDoesNotForceRechunking) {
  IndexSettingsRequest request = rerun_request(300, 10);
  request.rebuild = true;
  const IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_TRUE(plan.rebuild);
  EXPECT_FALSE(plan.force_rechunk) << "a rebuild indexes every file anyway";
  EXPECT_EQ(plan.settings.chunk_tokens, 256);
  EXPECT_EQ(plan.settings.overlap_tokens, 32);
}

TEST(IndexSettingsPlan, ModelChangeWithoutRebuildFailsNamingBothModelsAndTheCommand) {
  IndexSettingsRequest request = rerun_request();
  request.model = model_b();
  request.model_option = "org/model-b";
  const std::string error = error_of(request);
  EXPECT_NE(error.find("the index at /data/docs/.ksearch was built with model 'org/model-a'"), std::string::npos)
      << error;
  EXPECT_NE(error.find("not 'org/model-b'"), std::string::npos) << error;
  EXPECT_NE(error.find("`ksearch index --rebuild --model org/model-b`"), std::string::npos) << error;

  // The index's own model, changed since (another tokenizer): the command needs no --model.
  request = rerun_request();
  request.model->identity.tokenizer_fingerprint = "fingerprint-a2";
  const std::string tokenizer_error = error_of(request);
  EXPECT_NE(tokenizer_error.find("another tokenizer"), std::string::npos) << tokenizer_error;
  EXPECT_NE(tokenizer_error.find("`ksearch index --rebuild`"), std::string::npos) << tokenizer_error;
}

TEST(IndexSettingsPlan, ModelChangeWithRebuildRebuildsWithTheNewModel) {
  IndexSettingsRequest request = rerun_request();
  request.model = model_b();
  request.model_option = "org/model-b";
  request.rebuild = true;
  const IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_TRUE(plan.rebuild);
  EXPECT_EQ(plan.settings.model_id, "org/model-b");
  EXPECT_EQ(plan.settings.dimension, 1024);
  EXPECT_EQ(plan.settings.pooling, "mean");
  EXPECT_EQ(plan.settings.query_prefix, "");
  EXPECT_EQ(plan.settings.chunk_tokens, 512);
  EXPECT_EQ(plan.settings.overlap_tokens, 64);
}

TEST(IndexSettingsPlan, ModelChangeOfAnIndexWithoutFilesRebuilds) {
  IndexSettingsRequest request = rerun_request();
  request.store_has_files = false;
  request.model = model_b();
  const IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_TRUE(plan.rebuild);
  EXPECT_EQ(plan.settings.model_id, "org/model-b");
}

TEST(IndexSettingsPlan, LexicalOnlyToSemanticAndBackIsAModelChange) {
  IndexSettingsRequest request = rerun_request();
  request.old_settings = built_with(std::nullopt, 512, 64);
  const std::string added = error_of(request);
  EXPECT_NE(added.find("semantic search added or dropped"), std::string::npos) << added;
  EXPECT_NE(added.find("(none: lexical only)"), std::string::npos) << added;

  request = rerun_request();
  request.model.reset();
  const std::string dropped = error_of(request);
  EXPECT_NE(dropped.find("semantic search added or dropped"), std::string::npos) << dropped;
  EXPECT_NE(dropped.find("`ksearch index --rebuild --no-model`"), std::string::npos) << dropped;

  request.rebuild = true;
  const IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_TRUE(plan.rebuild);
  EXPECT_EQ(plan.settings.model_id, "");
  EXPECT_EQ(plan.settings.dimension, 0);
  EXPECT_EQ(plan.settings.passage_prefix, "");
}

TEST(IndexSettingsPlan, NamedFoldersJoinTheIndexedOnes) {
  IndexSettingsRequest request = rerun_request();
  request.old_settings->roots = {"a"};
  request.folders = {"/data/docs/a/b", "/data/docs/ab", "/data/docs/c", "/elsewhere/x"};
  const IndexSettingsPlan plan = plan_index_settings(request);
  // a/b is walked with a; ab is not below a.
  EXPECT_EQ(plan.settings.roots, (std::vector<std::string>{"/elsewhere/x", "a", "ab", "c"}));
  EXPECT_EQ(plan.folders, (std::vector<fs::path>{"/elsewhere/x", "/data/docs/a", "/data/docs/ab", "/data/docs/c"}));
}

TEST(IndexSettingsPlan, TheWholeRootCoversFoldersBelowItButNotOutside) {
  IndexSettingsRequest request = rerun_request();
  request.folders = {"/data/docs/sub", "/data/docs"};
  EXPECT_EQ(plan_index_settings(request).settings.roots, std::vector<std::string>{""});

  request.folders = {"/elsewhere"};
  EXPECT_EQ(plan_index_settings(request).settings.roots, (std::vector<std::string>{"", "/elsewhere"}));

  request.old_settings->roots = {"/elsewhere"};
  request.folders = {"/elsewhere/deeper"};
  EXPECT_EQ(plan_index_settings(request).settings.roots, std::vector<std::string>{"/elsewhere"});
}

TEST(IndexSettingsPlan, NoFolderAtAllIsNothingToIndex) {
  IndexSettingsRequest request = fresh_request();
  request.folders.clear();
  EXPECT_NE(error_of(request).find("nothing to index"), std::string::npos) << error_of(request);

  request = rerun_request();
  request.old_settings->roots.clear();
  EXPECT_NE(error_of(request).find("nothing to index"), std::string::npos) << error_of(request);
}

TEST(IndexSettingsPlan, ExcludesArePersistedReplacedOrCleared) {
  IndexSettingsRequest request = rerun_request();
  request.old_settings->excludes = {"*.log"};
  IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_EQ(plan.settings.excludes, std::vector<std::string>{"*.log"});
  EXPECT_EQ(plan.walk_excludes, (std::vector<std::string>{"*.log", "/.ksearch/"}));

  request.excludes = std::vector<std::string>{"*.tmp", "build/"};
  plan = plan_index_settings(request);
  EXPECT_EQ(plan.settings.excludes, (std::vector<std::string>{"*.tmp", "build/"}));

  request.excludes = std::vector<std::string>{};
  plan = plan_index_settings(request);
  EXPECT_TRUE(plan.settings.excludes.empty());
  EXPECT_EQ(plan.walk_excludes, std::vector<std::string>{"/.ksearch/"});
}

TEST(IndexSettingsPlan, FollowSymlinksIsKeptUnlessGiven) {
  IndexSettingsRequest request = rerun_request();
  request.old_settings->follow_symlinks = true;
  EXPECT_TRUE(plan_index_settings(request).settings.follow_symlinks);
  request.follow_symlinks = false;
  EXPECT_FALSE(plan_index_settings(request).settings.follow_symlinks);
  request = fresh_request();
  EXPECT_FALSE(plan_index_settings(request).settings.follow_symlinks);
  request.follow_symlinks = true;
  EXPECT_TRUE(plan_index_settings(request).settings.follow_symlinks);
}

TEST(IndexSettingsPlan, IndexSpecDefaultsToAutoAndFollowsTheUser) {
  IndexSettingsRequest request = fresh_request();
  request.index_spec = "HNSW32";
  EXPECT_EQ(plan_index_settings(request).settings.index_spec, "HNSW32");

  request = rerun_request();
  request.old_settings->index_spec = "Flat";
  EXPECT_EQ(plan_index_settings(request).settings.index_spec, "Flat") << "kept from the index";
  request.old_settings->index_spec = "";
  EXPECT_EQ(plan_index_settings(request).settings.index_spec, "auto");
  request.index_spec = "not a factory string";
  EXPECT_THROW(plan_index_settings(request), Error);
}

TEST(IndexSettingsPlan, IndexFolderOutsideTheRootRecordsTheRoot) {
  IndexSettingsRequest request = fresh_request();
  request.location = {"/var/indexes/docs", "/data/docs"};
  IndexSettingsPlan plan = plan_index_settings(request);
  EXPECT_EQ(plan.settings.root, "/data/docs");
  EXPECT_TRUE(plan.walk_excludes.empty()) << "the index folder is not in the tree";

  // --db ./idx inside the tree: its parent is the root, and the walk leaves it out.
  request.location = {"/data/docs/idx", "/data/docs"};
  plan = plan_index_settings(request);
  EXPECT_EQ(plan.settings.root, "");
  EXPECT_EQ(plan.walk_excludes, std::vector<std::string>{"/idx/"});
}

}  // namespace
}  // namespace ksearch
