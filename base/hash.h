// SHA-256 and SHA-1 (OpenSSL libcrypto): content hashes for incremental indexing, tokenizer fingerprints, and
// download verification (LFS files carry SHA-256, other git blobs SHA-1).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace ksearch {

class Digest {
 public:
  enum class Kind { Sha1, Sha256 };
  explicit Digest(Kind kind = Kind::Sha256);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::string_view data);
  std::string hex();  // finishes the hash; lowercase hex

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::string_view data);

}  // namespace ksearch
