// `ksearch model pull` against a small loopback server that answers the Hugging Face Hub's URL shapes
// (/api/models/ID/revision/REV, /ID/resolve/REV/FILE with ETag / X-Linked-Etag / X-Linked-Size and a redirect),
// serving a tiny model made in the test: interrupted transfers resume, corrupt files fail their checksum, private
// repositories need HF_TOKEN, and the result loads like any cached model.
#include "embed/model_hub.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "base/error.h"
#include "base/files.h"
#include "base/hash.h"
#include "embed/embedder.h"
#include "embed/model_spec.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

std::string sha1_blob(const std::string& content) {
  Digest digest(Digest::Kind::Sha1);
  digest.update("blob " + std::to_string(content.size()) + std::string(1, '\0'));
  digest.update(content);
  return digest.hex();
}

class FakeHub {
 public:
  struct File {
    std::string content;
    bool lfs;
  };
  std::map<std::string, File> files;  // repository path -> content
  std::string commit = "0123456789abcdef0123456789abcdef01234567";
  std::string required_token;  // non-empty: 401 without it
  std::string corrupt;         // file served with a flipped byte
  std::string interrupt;       // file whose transfers stop half way
  std::atomic<int> cuts = 1;   // how many transfers of `interrupt` stop half way
  std::atomic<int> range_requests = 0;
  std::atomic<bool> interrupted = false;

  FakeHub() {
    server_.Get(R"(/api/models/([^/]+/[^/]+)/revision/([^/?]+))", [this](const httplib::Request& request,
                                                                         httplib::Response& response) {
      if (!authorized(request, response)) return;
      Json siblings = Json::array();
      for (const auto& [name, file] : files) {
        Json sibling = {{"rfilename", name}, {"size", file.content.size()}, {"blobId", sha1_blob(file.content)}};
        if (file.lfs)
          sibling["lfs"] = {{"sha256", sha256_hex(file.content)}, {"size", file.content.size()}, {"pointerSize", 134}};
        siblings.push_back(sibling);
      }
      response.set_content(Json{{"id", request.matches[1].str()}, {"sha", commit}, {"siblings", siblings}}.dump(),
                           "application/json");
    });
    // The hub answers with metadata headers and redirects LFS files to a CDN path.
    server_.Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))",
                [this](const httplib::Request& request, httplib::Response& response) {
                  if (!authorized(request, response)) return;
                  const auto it = files.find(request.matches[3].str());
                  if (it == files.end()) {
                    response.status = 404;
                    return;
                  }
                  const File& file = it->second;
                  response.set_header("X-Repo-Commit", commit);
                  if (file.lfs) {
                    response.set_header("X-Linked-Etag", "\"" + sha256_hex(file.content) + "\"");
                    response.set_header("X-Linked-Size", std::to_string(file.content.size()));
                    response.set_header("ETag", "\"" + sha1_blob(file.content) + "\"");
                    response.set_redirect("/cdn/" + it->first, 302);
                    return;
                  }
                  response.set_header("ETag", "\"" + sha1_blob(file.content) + "\"");
                  response.set_content(file.content, "application/octet-stream");
                });
    server_.Get(R"(/cdn/(.+))", [this](const httplib::Request& request, httplib::Response& response) {
      const std::string name = request.matches[1].str();
      std::string content = files.at(name).content;
      if (name == corrupt) content[content.size() / 2] ^= 0x5A;
      if (request.has_header("Range")) ++range_requests;
      if (name == interrupt && cuts.fetch_sub(1) > 0) {
        interrupted = true;
        // Send the first half of the body (nothing past it to a resuming Range request), then drop the connection.
        const std::size_t half = content.size() / 2;
        response.set_content_provider(content.size(), "application/octet-stream",
                                      [content, half](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                        if (offset >= half) return false;
                                        sink.write(content.data() + offset, half - offset);
                                        return true;
                                      });
        return;
      }
      response.set_content(content, "application/octet-stream");  // httplib answers Range requests with 206
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Serves `dir` as the repository; binary files are LFS files, as on the hub.
  void add_model_dir(const fs::path& dir) {
    static const std::set<std::string> kLfs = {".safetensors", ".bin", ".pt", ".model"};
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string name = entry.path().lexically_relative(dir).generic_string();
      files[name] = {read_file(entry.path()), kLfs.contains(entry.path().extension().string())};
    }
  }

 private:
  bool authorized(const httplib::Request& request, httplib::Response& response) {
    if (required_token.empty() || request.get_header_value("Authorization") == "Bearer " + required_token) return true;
    response.status = 401;
    response.set_content(R"({"error": "Invalid credentials"})", "application/json");
    return false;
  }
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

PullOptions options_for(const FakeHub& hub, const fs::path& cache) {
  PullOptions options;
  options.endpoint = hub.endpoint();
  options.cache = cache;
  options.token = "";
  return options;
}

TEST(ModelHub, PullsIntoTheHuggingFaceCacheLayoutAndLoads) {
  testing::TempDir dir;
  FakeHub hub;
  hub.add_model_dir(testing::fixture("tiny-e5-bert"));
  hub.files["pytorch_model.bin"] = {"not wanted", true};
  const PullResult result = pull_model("acme/tiny-e5", options_for(hub, dir / "hub"));
  const fs::path repo = dir / "hub" / "models--acme--tiny-e5";
  EXPECT_EQ(result.snapshot, repo / "snapshots" / hub.commit);
  EXPECT_EQ(read_file(repo / "refs" / "main"), hub.commit);
  EXPECT_TRUE(fs::is_symlink(result.snapshot / "model.safetensors"));
  EXPECT_EQ(fs::read_symlink(result.snapshot / "model.safetensors"),
            fs::path("../../blobs") / sha256_hex(hub.files["model.safetensors"].content));
  EXPECT_EQ(fs::read_symlink(result.snapshot / "1_Pooling" / "config.json").string().substr(0, 9), "../../../");
  EXPECT_FALSE(fs::exists(result.snapshot / "pytorch_model.bin"));
  EXPECT_FALSE(fs::exists(result.snapshot / "expected.jsonl"));

  // The cached model resolves by id and embeds exactly like the original folder.
  ModelSearchPaths paths;
  paths.hf_hub = dir / "hub";
  const ResolvedModel resolved = resolve_model("acme/tiny-e5", paths);
  EXPECT_EQ(resolved.dir, result.snapshot);
  const Embedder original(Model::load_dir(testing::fixture("tiny-e5-bert"), "a"));
  const Embedder pulled(Model::load_dir(resolved.dir, "b"));
  const std::vector<std::string> text = {"서울에서 만나요"};
  EXPECT_EQ(std::vector<float>(original.embed(text, TextKind::Raw).values),
            std::vector<float>(pulled.embed(text, TextKind::Raw).values));

  // A second pull finds every blob in place and downloads nothing.
  EXPECT_EQ(pull_model("acme/tiny-e5", options_for(hub, dir / "hub")).bytes_downloaded, 0u);
  const auto cached = cached_models(dir / "hub");
  ASSERT_EQ(cached.size(), 1u);
  EXPECT_EQ(cached[0].id, "acme/tiny-e5");
  EXPECT_GT(cached[0].bytes, 1'000'000u);
}

TEST(ModelHub, InterruptedTransferResumes) {
  testing::TempDir dir;
  FakeHub hub;
  hub.add_model_dir(testing::fixture("tiny-e5-bert"));
  hub.interrupt = "model.safetensors";
  const PullResult result = pull_model("acme/tiny", options_for(hub, dir / "hub"));
  EXPECT_TRUE(hub.interrupted);
  EXPECT_GE(hub.range_requests.load(), 1);
  EXPECT_EQ(read_file(result.snapshot / "model.safetensors"), hub.files["model.safetensors"].content);
}

TEST(ModelHub, CorruptDownloadFailsItsChecksumAndLeavesNothingLoadable) {
  testing::TempDir dir;
  FakeHub hub;
  hub.add_model_dir(testing::fixture("tiny-e5-bert"));
  hub.corrupt = "model.safetensors";
  try {
    pull_model("acme/tiny", options_for(hub, dir / "hub"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("SHA-256 mismatch"), std::string::npos) << e.what();
  }
  const fs::path blobs = dir / "hub" / "models--acme--tiny" / "blobs";
  EXPECT_FALSE(fs::exists(blobs / sha256_hex(hub.files["model.safetensors"].content)));
  for (const auto& entry : fs::directory_iterator(blobs)) EXPECT_FALSE(entry.path().string().ends_with(".incomplete"));
  ModelSearchPaths paths;
  paths.hf_hub = dir / "hub";
  const auto snapshot = dir / "hub" / "models--acme--tiny" / "snapshots" / hub.commit;
  EXPECT_FALSE(fs::exists(snapshot / "model.safetensors"));
}

TEST(ModelHub, PrivateRepositoryNeedsAToken) {
  testing::TempDir dir;
  FakeHub hub;
  hub.add_model_dir(testing::fixture("tiny-bge-m3-xlmr"));
  hub.required_token = "hf_secret";
  try {
    pull_model("acme/private", options_for(hub, dir / "hub"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HF_TOKEN"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("401"), std::string::npos) << e.what();
  }
  PullOptions options = options_for(hub, dir / "hub");
  options.token = "hf_secret";
  EXPECT_NO_THROW(pull_model("acme/private", options));
}

std::vector<HubFile> listing(std::initializer_list<const char*> names) {
  std::vector<HubFile> out;
  for (const char* name : names) {
    HubFile file;
    file.name = name;
    out.push_back(file);
  }
  return out;
}

std::vector<std::string> selected(const std::vector<HubFile>& available) {
  std::vector<std::string> names;
  for (const auto& file : select_model_files(available)) names.push_back(file.name);
  return names;
}

std::string selection_error(const std::vector<HubFile>& available) {
  try {
    select_model_files(available);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelHub, ChoosesOneSetOfWeights) {
  // Sharded safetensors win over pytorch weights; unknown files are left alone.
  EXPECT_EQ(selected(listing({"config.json", "sentencepiece.bpe.model", "model.safetensors.index.json",
                              "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                              "pytorch_model.bin", "onnx/model.onnx", "1_Pooling/config.json", "README.md"})),
            (std::vector<std::string>{"config.json", "sentencepiece.bpe.model", "model.safetensors.index.json",
                                      "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                      "1_Pooling/config.json"}));
  // A shard without its index is not a set of weights: pytorch_model.bin is.
  EXPECT_EQ(selected(listing({"config.json", "sentencepiece.bpe.model", "pytorch_model.bin",
                              "pytorch_model-00001-of-00002.bin", "sparse_linear.pt", "colbert_linear.pt"})),
            (std::vector<std::string>{"config.json", "sentencepiece.bpe.model", "pytorch_model.bin", "sparse_linear.pt",
                                      "colbert_linear.pt"}));
  // bge-m3: pytorch_model.bin and its heads, both tokenizers.
  EXPECT_EQ(selected(listing({"colbert_linear.pt", "config.json", "pytorch_model.bin", "sentencepiece.bpe.model",
                              "sparse_linear.pt", "tokenizer.json", "onnx/model.onnx_data"})),
            (std::vector<std::string>{"colbert_linear.pt", "config.json", "pytorch_model.bin",
                                      "sentencepiece.bpe.model", "sparse_linear.pt", "tokenizer.json"}));
  // KURE-v1: tokenizer.json only; model.safetensors beats pytorch_model.bin.
  EXPECT_EQ(selected(listing({"config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json"})),
            (std::vector<std::string>{"config.json", "model.safetensors", "tokenizer.json"}));
  // Sharded pytorch weights.
  EXPECT_EQ(selected(listing({"config.json", "tokenizer.json", "pytorch_model-00002-of-00002.bin",
                              "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json"})),
            (std::vector<std::string>{"config.json", "tokenizer.json", "pytorch_model-00002-of-00002.bin",
                                      "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json"}));
}

TEST(ModelHub, NamesTheMissingEssentialFile) {
  EXPECT_EQ(selection_error(listing({"config.json", "tokenizer.json", "model.onnx"})),
            "the repository lists no weights: model.safetensors or pytorch_model.bin");
  EXPECT_EQ(selection_error(listing({"config.json", "vocab.txt", "model.safetensors"})),
            "the repository lists no tokenizer: tokenizer.json or sentencepiece.bpe.model");
  EXPECT_EQ(selection_error(listing({"tokenizer.json", "model.safetensors"})),
            "the repository lists no config.json (not a transformers model)");
  EXPECT_EQ(selection_error(listing({"config.json", "tokenizer.json", "model.safetensors.index.json",
                                     "model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors"})),
            "model.safetensors.index.json: the repository does not list shard 2 of 3");
}

std::string listing_error(const std::string& body) {
  try {
    parse_hub_listing(body, "answer");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelHub, ReadsTheHubListingAndRefusesMalformedOnes) {
  const HubListing listing =
      parse_hub_listing(read_file(testing::test_data("fuzz/hub_listing/bge-m3-listing.json")), "bge-m3");
  EXPECT_EQ(listing.commit, "5617a9f61b028005a4858fdac845db406aefb181");
  ASSERT_EQ(listing.files.size(), 8u);
  EXPECT_EQ(listing.files[3].name, "pytorch_model.bin");
  EXPECT_EQ(listing.files[3].size, 2271145830u);
  EXPECT_EQ(listing.files[3].sha256, std::string(64, 'd'));
  EXPECT_EQ(listing.files[2].blob_id, std::string(40, 'c'));
  EXPECT_EQ(selected(listing.files),
            (std::vector<std::string>{"colbert_linear.pt", "config.json", "pytorch_model.bin",
                                      "sentencepiece.bpe.model", "sparse_linear.pt", "tokenizer.json"}));

  EXPECT_EQ(listing_error(R"({"siblings": []})"), "answer: no usable commit sha in the answer");
  EXPECT_EQ(listing_error(R"({"sha": "abc", "siblings": [{"rfilename": "config.json", "size": "big"}]})"),
            "answer: field 'size' has the wrong type (string)");
  EXPECT_EQ(listing_error(R"({"sha": "abc", "siblings": [{"rfilename": "../../etc/passwd"}]})"),
            "refusing unsafe file name from the hub: '../../etc/passwd'");
  EXPECT_EQ(listing_error(R"({"sha": "abc", "siblings": {"rfilename": "config.json"}})"),
            "answer: field 'siblings' is not an array");
  EXPECT_EQ(listing_error("[1, 2]"), "answer: expected a JSON object");
}

// Every file of the folder but the test's own expected outputs.
std::set<std::string> repository_files(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename() != "expected.jsonl")
      names.insert(entry.path().lexically_relative(dir).generic_string());
  return names;
}

std::set<std::string> snapshot_files(const fs::path& snapshot) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(snapshot))
    if (!entry.is_directory()) names.insert(entry.path().lexically_relative(snapshot).generic_string());
  return names;
}

class PublishedLayout : public ::testing::TestWithParam<std::string> {};

TEST_P(PublishedLayout, PullsExactlyTheFilesKsearchReads) {
  testing::TempDir dir;
  FakeHub hub;
  const fs::path layout = testing::fixture("hub/" + GetParam());
  hub.add_model_dir(layout);
  const PullResult result = pull_model("acme/" + GetParam(), options_for(hub, dir / "hub"));
  // The fixture folders hold just the files ksearch reads (plus expected.jsonl, which no hub repository has).
  const std::set<std::string> expected = repository_files(layout);
  EXPECT_EQ(snapshot_files(result.snapshot), expected);
  EXPECT_EQ(std::set<std::string>(result.files.begin(), result.files.end()), expected);
  for (const auto& name : expected) EXPECT_EQ(read_file(result.snapshot / name), read_file(layout / name)) << name;
}

TEST_P(PublishedLayout, CutTransferFailsClearlyAndTheNextPullCompletes) {
  testing::TempDir dir;
  FakeHub hub;
  const fs::path layout = testing::fixture("hub/" + GetParam());
  hub.add_model_dir(layout);
  std::string largest;
  for (const auto& [name, file] : hub.files)
    if (name != "expected.jsonl" && (largest.empty() || file.content.size() > hub.files[largest].content.size()))
      largest = name;
  ASSERT_TRUE(hub.files[largest].lfs) << largest;
  hub.interrupt = largest;
  hub.cuts = 1000;  // every attempt of the first pull is cut
  const std::string id = "acme/" + GetParam();
  try {
    pull_model(id, options_for(hub, dir / "hub"));
    FAIL() << "a cut transfer succeeded";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("download of " + largest + " failed"), std::string::npos) << message;
    EXPECT_NE(message.find("again to resume"), std::string::npos) << message;
  }
  // Only the partial blob, named as incomplete; no snapshot that would resolve as a model.
  const fs::path repo = dir / "hub" / hf_cache_folder_name(id);
  const std::string digest = sha256_hex(hub.files[largest].content);
  EXPECT_FALSE(fs::exists(repo / "blobs" / digest));
  EXPECT_TRUE(fs::exists(repo / "blobs" / (digest + ".incomplete")));
  EXPECT_FALSE(fs::exists(repo / "snapshots"));
  ModelSearchPaths paths;
  paths.hf_hub = dir / "hub";
  EXPECT_THROW(resolve_model(id, paths), Error);

  hub.cuts = 0;
  const int ranges_before = hub.range_requests;
  const PullResult result = pull_model(id, options_for(hub, dir / "hub"));
  EXPECT_GT(hub.range_requests, ranges_before);  // resumed, not restarted
  EXPECT_EQ(read_file(result.snapshot / largest), hub.files[largest].content);
  EXPECT_EQ(snapshot_files(result.snapshot), repository_files(layout));
  EXPECT_EQ(resolve_model(id, paths).dir, result.snapshot);
}

INSTANTIATE_TEST_SUITE_P(Hub, PublishedLayout,
                         ::testing::Values("kure-v1-layout", "koen-e5-tiny-layout", "e5-small-ko-layout",
                                           "bge-m3-layout", "reranker-layout"),
                         [](const auto& test) {
                           std::string name = test.param.substr(0, test.param.find("-layout"));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ModelHub, MistypedAliasGetsASuggestion) {
  try {
    pull_model("e5-smal-ko", PullOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'e5-small-ko' (dragonkue/multilingual-e5-small-ko)?"),
              std::string::npos)
        << e.what();
  }
}

TEST(ModelHub, CommandLinePullListInfoRemove) {
  testing::TempDir dir;
  FakeHub hub;
  hub.add_model_dir(testing::fixture("tiny-e5-bert"));
  const std::map<std::string, std::string> env = {{"HF_ENDPOINT", hub.endpoint()}, {"HF_HOME", (dir / "hf").string()}};
  auto pull = testing::run_ksearch({"model", "pull", "acme/cli-model"}, "", env);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("pulled acme/cli-model"), std::string::npos);
  auto list = testing::run_ksearch({"model", "list", "--json"}, "", env);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(Json::parse(list.out)[0]["id"], "acme/cli-model");
  auto info = testing::run_ksearch({"model", "info", "acme/cli-model", "--json"}, "", env);
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(Json::parse(info.out)["pooling"], "mean");
  auto embed = testing::run_ksearch({"embed", "-m", "acme/cli-model"}, "서울\n", env);
  EXPECT_EQ(embed.exit_code, 0) << embed.err;
  auto offline = testing::run_ksearch({"model", "pull", "acme/other"}, "",
                                      {{"HF_HOME", (dir / "hf").string()}, {"HF_HUB_OFFLINE", "1"}});
  EXPECT_NE(offline.exit_code, 0);
  EXPECT_NE(offline.err.find("HF_HUB_OFFLINE"), std::string::npos) << offline.err;
  auto rm = testing::run_ksearch({"model", "rm", "acme/cli-model"}, "", env);
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_FALSE(fs::exists(dir / "hf" / "hub" / "models--acme--cli-model"));
}

}  // namespace
}  // namespace ksearch
