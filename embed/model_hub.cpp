#include "embed/model_hub.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "base/env.h"
#include "base/error.h"
#include "base/files.h"
#include "base/hash.h"
#include "base/json.h"
#include "embed/model_spec.h"

namespace ksearch {
namespace fs = std::filesystem;
namespace {

constexpr int kAttempts = 4;

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // of the first response (before redirects): the hub's metadata
  std::map<std::string, std::string> final_headers;
  std::string body;
  std::string error;  // transport error, empty when the exchange completed
};

struct Transfer {
  Response* response;
  std::FILE* sink = nullptr;  // body to a file instead of `response->body`
  int responses = 0;          // responses seen so far (redirects included)
  std::uint64_t received = 0;
  std::uint64_t offset = 0;
  std::uint64_t total = 0;
  const std::function<void(std::uint64_t, std::uint64_t)>* on_progress = nullptr;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  if (line.starts_with("HTTP/")) {
    ++transfer->responses;
    transfer->response->final_headers.clear();
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon == std::string::npos) return size * count;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
  transfer->response->final_headers[name] = value;
  if (transfer->responses == 1) transfer->response->headers[name] = value;
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer->sink != nullptr) {
    if (std::fwrite(data, 1, bytes, transfer->sink) != bytes) return 0;
  } else {
    transfer->response->body.append(data, bytes);
  }
  transfer->received += bytes;
  if (transfer->on_progress != nullptr && *transfer->on_progress)
    (*transfer->on_progress)(transfer->offset + transfer->received, transfer->total);
  return bytes;
}

// libcurl is opened on the first download rather than linked: with its TLS, Kerberos, LDAP and SSH libraries it made
// every ksearch process load 25 more shared libraries, while only model downloads use it (docs/performance-history.md,
// "Start-up costs").
struct CurlApi {
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
};

const CurlApi& curl_api() {
  static const CurlApi api = [] {
    constexpr const char* kLibrary = "libcurl.so.4";
    void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
      fail("downloading a model needs libcurl (", kLibrary, ", Debian package libcurl4): ", ::dlerror());
    const auto bind = [&]<typename Function>(Function& function, const char* name) {
      function = reinterpret_cast<Function>(::dlsym(library, name));
      if (function == nullptr) fail(kLibrary, " has no ", name, " (libcurl too old?)");
    };
    CurlApi loaded{};
    decltype(&curl_global_init) global_init = nullptr;
    bind(global_init, "curl_global_init");
    bind(loaded.easy_init, "curl_easy_init");
    bind(loaded.easy_setopt, "curl_easy_setopt");
    bind(loaded.easy_perform, "curl_easy_perform");
    bind(loaded.easy_getinfo, "curl_easy_getinfo");
    bind(loaded.easy_strerror, "curl_easy_strerror");
    bind(loaded.easy_cleanup, "curl_easy_cleanup");
    bind(loaded.slist_append, "curl_slist_append");
    bind(loaded.slist_free_all, "curl_slist_free_all");
    if (const CURLcode code = global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK)
      fail("libcurl initialisation failed: ", loaded.easy_strerror(code));
    return loaded;
  }();
  return api;
}

class Http {
 public:
  Http(std::string token) : token_(std::move(token)), curl_(curl_api()) {}

  // GET (or HEAD) `url`; the body goes to `sink` when given, appended from `offset` with a Range request.
  Response request(const std::string& url, bool head, std::FILE* sink = nullptr, std::uint64_t offset = 0,
                   std::uint64_t total = 0,
                   const std::function<void(std::uint64_t, std::uint64_t)>* progress = nullptr) {
    Response response;
    CURL* curl = curl_.easy_init();
    if (curl == nullptr) fail("libcurl initialisation failed");
    Transfer transfer{&response, sink, 0, 0, offset, total, progress};
    curl_slist* headers = nullptr;
    headers = curl_.slist_append(headers, "User-Agent: ksearch/0.1 (+libcurl)");
    if (!token_.empty()) headers = curl_.slist_append(headers, ("Authorization: Bearer " + token_).c_str());
    curl_.easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_.easy_setopt(curl, CURLOPT_FOLLOWLOCATION, head ? 0L : 1L);
    curl_.easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_.easy_setopt(curl, CURLOPT_NOBODY, head ? 1L : 0L);
    curl_.easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_.easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_.easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_.easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_.easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);  // abort stalled transfers (< 1 KiB/s for 60 s)
    curl_.easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (offset > 0) curl_.easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
    const CURLcode code = curl_.easy_perform(curl);
    curl_.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    if (code != CURLE_OK) response.error = curl_.easy_strerror(code);
    curl_.slist_free_all(headers);
    curl_.easy_cleanup(curl);
    return response;
  }

 private:
  std::string token_;
  const CurlApi& curl_;
};

std::string strip_quotes(std::string value) {
  if (value.starts_with("W/")) value.erase(0, 2);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  return value;
}

[[noreturn]] void fail_status(const std::string& id, const std::string& what, const Response& response) {
  if (response.status == 401 || response.status == 403)
    fail(what, ": access denied (HTTP ", response.status, "): ", id,
         " is private or gated; set HF_TOKEN to a Hugging Face token with access to it");
  if (response.status == 404)
    fail(what, ": not found on the hub (HTTP 404): check the model id '", id, "' and revision");
  if (!response.error.empty()) fail(what, ": ", response.error);
  fail(what, ": HTTP ", response.status);
}

// Files read when present; their absence changes nothing a preset or default does not cover.
const std::set<std::string>& optional_model_files() {
  static const std::set<std::string> kFiles = {"tokenizer_config.json",
                                               "special_tokens_map.json",
                                               "modules.json",
                                               "sentence_bert_config.json",
                                               "config_sentence_transformers.json",
                                               "1_Pooling/config.json",
                                               "sparse_linear.pt",
                                               "colbert_linear.pt"};  // BGE-M3's sparse and multi-vector heads
  return kFiles;
}

// The shards `STEM-0000K-of-0000N.EXTENSION` of sharded weights with their index `index_name`, or nothing when the
// repository does not list that index.  A listed index whose shards are not all listed is an error.
std::vector<std::string> sharded_weights(const std::set<std::string>& listed, const std::string& stem,
                                         const std::string& extension, const std::string& index_name) {
  if (!listed.contains(index_name)) return {};
  const std::regex shard(stem + R"(-(\d{1,5})-of-(\d{1,5})\.)" + extension);
  std::set<std::string> shards;
  std::set<int> parts;
  int count = 0;
  for (const auto& name : listed) {
    std::smatch match;
    if (!std::regex_match(name, match, shard)) continue;
    const int of = std::stoi(match[2].str());
    if (count != 0 && of != count)
      fail(index_name, ": the repository lists shards of ", count, " and of ", of, " files");
    count = of;
    parts.insert(std::stoi(match[1].str()));
    shards.insert(name);
  }
  if (count == 0) fail(index_name, ": the repository lists the index but no ", stem, "-*-of-*.", extension, " shards");
  for (int part = 1; part <= count; ++part)
    if (!parts.contains(part)) fail(index_name, ": the repository does not list shard ", part, " of ", count);
  std::vector<std::string> out(shards.begin(), shards.end());
  out.push_back(index_name);
  return out;
}

// A safe repository-relative path: no absolute paths, no "..".
void check_relative(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos ||
      name.find('\\') != std::string::npos)
    fail("refusing unsafe file name from the hub: '", name, "'");
}

std::string file_digest(const fs::path& path, Digest::Kind kind, std::string_view prefix) {
  Digest digest(kind);
  digest.update(prefix);
  std::ifstream in(path, std::ios::binary);
  std::string buffer(1 << 20, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    digest.update(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
  }
  return digest.hex();
}

void link_atomically(const fs::path& target, const fs::path& link) {
  fs::create_directories(link.parent_path());
  const fs::path temp = link.string() + ".tmp." + std::to_string(::getpid());
  std::error_code ignored;
  fs::remove(temp, ignored);
  fs::create_symlink(target, temp);
  fs::rename(temp, link);
}

}  // namespace

std::vector<HubFile> select_model_files(const std::vector<HubFile>& available) {
  std::set<std::string> listed;
  for (const auto& file : available) listed.insert(file.name);
  if (!listed.contains("config.json")) fail("the repository lists no config.json (not a transformers model)");
  if (!listed.contains("tokenizer.json") && !listed.contains("sentencepiece.bpe.model"))
    fail("the repository lists no tokenizer: tokenizer.json or sentencepiece.bpe.model");

  std::set<std::string> wanted = optional_model_files();
  wanted.insert({"config.json", "tokenizer.json", "sentencepiece.bpe.model"});
  // One set of weights, in the order transformers prefers them; never safetensors and pytorch weights both.
  std::vector<std::string> weights;
  if (listed.contains("model.safetensors")) weights = {"model.safetensors"};
  if (weights.empty()) weights = sharded_weights(listed, "model", "safetensors", "model.safetensors.index.json");
  if (weights.empty() && listed.contains("pytorch_model.bin")) weights = {"pytorch_model.bin"};
  if (weights.empty()) weights = sharded_weights(listed, "pytorch_model", "bin", "pytorch_model.bin.index.json");
  if (weights.empty()) fail("the repository lists no weights: model.safetensors or pytorch_model.bin");
  wanted.insert(weights.begin(), weights.end());

  std::vector<HubFile> out;
  for (const auto& file : available)
    if (wanted.contains(file.name)) out.push_back(file);
  return out;
}

HubListing parse_hub_listing(std::string_view body, const std::string& where) {
  const Json json = parse_json(body, where);
  if (!json.is_object()) fail(where, ": expected a JSON object");
  HubListing listing;
  listing.commit = optional_field<std::string>(json, "sha", where).value_or("");
  const std::string& commit = listing.commit;
  if (commit.empty() || commit.find('/') != std::string::npos || commit.find("..") != std::string::npos)
    fail(where, ": no usable commit sha in the answer");
  const Json siblings = optional_field<Json>(json, "siblings", where).value_or(Json::array());
  if (!siblings.is_array()) fail(where, ": field 'siblings' is not an array");
  for (const auto& sibling : siblings) {
    HubFile file;
    file.name = required_field<std::string>(sibling, "rfilename", where);
    check_relative(file.name);
    file.size = optional_field<std::uint64_t>(sibling, "size", where).value_or(0);
    file.blob_id = optional_field<std::string>(sibling, "blobId", where).value_or("");
    if (const auto lfs = optional_field<Json>(sibling, "lfs", where); lfs && lfs->is_object()) {
      file.sha256 = optional_field<std::string>(*lfs, "sha256", where).value_or("");
      file.size = optional_field<std::uint64_t>(*lfs, "size", where).value_or(file.size);
    }
    listing.files.push_back(std::move(file));
  }
  return listing;
}

PullResult pull_model(const std::string& id, const PullOptions& options) {
  if (id.find('/') == std::string::npos || id.find("..") != std::string::npos || id.front() == '/') {
    const auto suggestion = closest_preset_name(id);
    fail("'", id, "' is not a Hugging Face model id (ORG/NAME) or a model alias",
         suggestion ? "; did you mean " + *suggestion + "?" : std::string());
  }
  const fs::path cache = options.cache.empty() ? hub_cache_dir() : options.cache;
  const fs::path repo = cache / hf_cache_folder_name(id);
  if (ModelSearchPaths::from_environment().offline) {
    try {
      const ResolvedModel resolved = resolve_model(id);
      return {id, "", resolved.dir, {}, 0};
    } catch (const Error&) {
      fail("HF_HUB_OFFLINE is set, so ", id, " cannot be downloaded, and it is not in the cache (", (repo).string(),
           ")");
    }
  }
  std::string endpoint = options.endpoint.empty() ? env::text("HF_ENDPOINT").value_or("") : options.endpoint;
  if (endpoint.empty()) endpoint = "https://huggingface.co";
  while (endpoint.ends_with("/")) endpoint.pop_back();
  Http http(options.token.value_or(env::text("HF_TOKEN").value_or("")));

  const std::string info_url = endpoint + "/api/models/" + id + "/revision/" + options.revision + "?blobs=true";
  const Response info = http.request(info_url, false);
  if (!info.error.empty() || info.status != 200) fail_status(id, "cannot fetch model information for " + id, info);
  const HubListing listing = parse_hub_listing(info.body, info_url);
  const std::string& commit = listing.commit;
  const std::vector<HubFile> files = select_model_files(listing.files);

  PullResult result{id, commit, repo / "snapshots" / commit, {}, 0};
  fs::create_directories(repo / "blobs");
  std::vector<std::string> blob_names;  // of `files`, in order
  for (const HubFile& file : files) {
    const std::string url = endpoint + "/" + id + "/resolve/" + commit + "/" + file.name;
    // The hub's own headers (before the CDN redirect) name the blob: X-Linked-Etag for LFS files, else ETag.
    const Response head = http.request(url, true);
    if (!head.error.empty() || (head.status != 200 && (head.status < 300 || head.status >= 400)))
      fail_status(id, "cannot fetch " + file.name, head);
    std::string etag = strip_quotes(head.headers.count("x-linked-etag") ? head.headers.at("x-linked-etag")
                                    : head.headers.count("etag")        ? head.headers.at("etag")
                                                                        : "");
    if (etag.empty()) etag = !file.sha256.empty() ? file.sha256 : file.blob_id;
    if (etag.empty() || etag.find('/') != std::string::npos || etag.find("..") != std::string::npos)
      fail("no usable ETag for ", file.name, " from ", url);
    std::uint64_t expected_size = file.size;
    if (const auto it = head.headers.find("x-linked-size"); it != head.headers.end())
      expected_size = std::stoull(it->second);
    else if (const auto length = head.headers.find("content-length");
             length != head.headers.end() && expected_size == 0)
      expected_size = std::stoull(length->second);
    const std::string sha256 = !file.sha256.empty() ? file.sha256 : (head.headers.count("x-linked-etag") ? etag : "");

    const fs::path blob = repo / "blobs" / etag;
    const fs::path partial = blob.string() + ".incomplete";
    std::error_code error;
    if (!(fs::exists(blob, error) && (expected_size == 0 || fs::file_size(blob, error) == expected_size))) {
      const auto start = std::chrono::steady_clock::now();
      const std::function<void(std::uint64_t, std::uint64_t)> report = [&](std::uint64_t done, std::uint64_t total) {
        if (options.progress)
          options.progress({file.name, done, total,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
      };
      Response download;
      for (int attempt = 0; attempt < kAttempts; ++attempt) {
        // Resume what an earlier, interrupted attempt (or run) left.
        const std::uint64_t have = fs::exists(partial, error) ? fs::file_size(partial, error) : 0;
        if (expected_size > 0 && have >= expected_size) break;
        std::FILE* sink = std::fopen(partial.c_str(), "ab");
        if (sink == nullptr) fail(partial.string(), ": cannot write");
        download = http.request(url, false, sink, have, expected_size, &report);
        std::fclose(sink);
        if (download.status == 416) {  // the server has nothing past `have`: the partial file is complete or wrong
          download.error.clear();
          break;
        }
        if (download.status == 200 && have > 0) {
          // The server ignored the Range request: it sent the whole file, appended after the partial bytes.
          fs::remove(partial);
          continue;
        }
        if (download.error.empty() && (download.status == 200 || download.status == 206)) break;
        if (download.status >= 400 && download.status != 429 && download.status < 500)
          fail_status(id, "cannot download " + file.name, download);
      }
      if (!download.error.empty() && download.status != 416) {
        const std::uint64_t received = fs::exists(partial, error) ? fs::file_size(partial, error) : 0;
        fail("download of ", file.name, " failed after ", kAttempts, " attempts (", received, " of ", expected_size,
             " bytes received, kept in ", partial.string(), "): ", download.error, "; run `ksearch model pull ", id,
             "` again to resume");
      }
      const std::uint64_t size = fs::file_size(partial, error);
      if (expected_size > 0 && size != expected_size) {
        fs::remove(partial, error);
        fail(file.name, ": downloaded ", size, " bytes, expected ", expected_size, " (transfer incomplete)");
      }
      // Verify the content: LFS files by SHA-256, other files by their git blob id (SHA-1 of "blob N\0" + bytes).
      if (!sha256.empty()) {
        const std::string actual = file_digest(partial, Digest::Kind::Sha256, "");
        if (actual != sha256) {
          fs::remove(partial, error);
          fail(file.name, ": SHA-256 mismatch (expected ", sha256, ", got ", actual, "); the download is corrupt");
        }
      } else if (!file.blob_id.empty()) {
        const std::string prefix = "blob " + std::to_string(size) + std::string(1, '\0');
        const std::string actual = file_digest(partial, Digest::Kind::Sha1, prefix);
        if (actual != file.blob_id) {
          fs::remove(partial, error);
          fail(file.name, ": git blob id mismatch (expected ", file.blob_id, ", got ", actual,
               "); the download is corrupt");
        }
      }
      sync_path(partial);
      fs::rename(partial, blob);
      result.bytes_downloaded += size;
    }
    blob_names.push_back(etag);
  }
  // The snapshot appears only once every file is complete, so an interrupted pull never looks like a model.
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string& name = files[i].name;
    // snapshots/COMMIT/FILE -> ../../blobs/ETAG (one more ../ per folder level in FILE)
    fs::path target = "../..";
    for (std::size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1))
      target /= "..";
    link_atomically(target / "blobs" / blob_names[i], result.snapshot / name);
    result.files.push_back(name);
  }
  if (options.revision != commit) {
    fs::create_directories(repo / "refs");
    write_file_atomically(repo / "refs" / options.revision, commit);
  }
  return result;
}

std::vector<CachedModel> cached_models(const fs::path& cache) {
  std::vector<CachedModel> out;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(cache, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("models--")) continue;
    CachedModel model;
    model.repo = entry.path();
    std::string id = name.substr(8);
    if (const auto dash = id.find("--"); dash != std::string::npos) id.replace(dash, 2, "/");
    model.id = id;
    const fs::path ref = entry.path() / "refs" / "main";
    if (fs::exists(ref, error)) {
      model.revision = read_file(ref);
      while (!model.revision.empty() && std::isspace(static_cast<unsigned char>(model.revision.back())))
        model.revision.pop_back();
      model.snapshot = entry.path() / "snapshots" / model.revision;
    } else {
      for (const auto& snapshot : fs::directory_iterator(entry.path() / "snapshots", error))
        model.snapshot = snapshot.path();
      model.revision = model.snapshot.filename().string();
    }
    for (const auto& blob : fs::directory_iterator(entry.path() / "blobs", error))
      if (blob.is_regular_file(error)) model.bytes += blob.file_size(error);
    out.push_back(std::move(model));
  }
  std::sort(out.begin(), out.end(), [](const CachedModel& a, const CachedModel& b) { return a.id < b.id; });
  return out;
}

}  // namespace ksearch
