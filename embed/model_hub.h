// Fetching models from the Hugging Face Hub into the standard Hugging Face cache, so files are shared with Python
// tools both ways:  $HF_HOME/hub/models--ORG--NAME/{blobs/ETAG, snapshots/COMMIT/FILE -> ../../blobs/ETAG,
// refs/REVISION}.  Honours HF_ENDPOINT (default https://huggingface.co), HF_TOKEN and HF_HUB_OFFLINE.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksearch {

struct HubFile {
  std::string name;  // path in the repository ("1_Pooling/config.json")
  std::uint64_t size = 0;
  std::string sha256;   // LFS files: content SHA-256 (also their blob name)
  std::string blob_id;  // git blob id (SHA-1 of "blob SIZE\0" + content) for non-LFS files
};

struct PullProgress {
  std::string file;
  std::uint64_t done = 0, total = 0;
  double seconds = 0;
};

struct PullOptions {
  std::string revision = "main";
  std::string endpoint;              // "" = $HF_ENDPOINT or https://huggingface.co
  std::optional<std::string> token;  // "" = $HF_TOKEN
  std::filesystem::path cache;       // "" = the Hugging Face hub cache from the environment
  std::function<void(const PullProgress&)> progress;
};

struct PullResult {
  std::string id, commit;
  std::filesystem::path snapshot;
  std::vector<std::string> files;
  std::uint64_t bytes_downloaded = 0;
};

struct HubListing {
  std::string commit;  // the revision's commit sha
  std::vector<HubFile> files;
};

// The hub's answer to /api/models/ID/revision/REV?blobs=true; `where` names it in errors.  Throws Error for
// malformed JSON, wrongly typed fields, a missing commit and unsafe file names ("../x", "/x").
HubListing parse_hub_listing(std::string_view body, const std::string& where);

// The files of a repository ksearch reads, in listing order: config.json; tokenizer.json and/or
// sentencepiece.bpe.model; one set of weights (model.safetensors, else its shards + index, else pytorch_model.bin,
// else its shards + index); and, when listed, BGE-M3's sparse_linear.pt / colbert_linear.pt and the
// sentence-transformers configs.  Throws Error naming the essential file the listing lacks.
std::vector<HubFile> select_model_files(const std::vector<HubFile>& available);

// Downloads `id` (resuming partial blobs, verifying sizes and SHA-256 / git blob ids), then links the snapshot once
// every file is complete; an interrupted download stays in blobs/ETAG.incomplete for the next pull to resume.
// Throws Error with the cause (offline, 401 without token, 404, checksum mismatch, disk errors).
PullResult pull_model(const std::string& id, const PullOptions& options);

struct CachedModel {
  std::string id;
  std::filesystem::path repo;  // models--ORG--NAME
  std::filesystem::path snapshot;
  std::string revision;
  std::uint64_t bytes = 0;
};

// Models present in the hub cache.
std::vector<CachedModel> cached_models(const std::filesystem::path& cache);

}  // namespace ksearch
