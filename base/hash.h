// SHA-256 (OpenSSL libcrypto): content hashes for incremental indexing, tokenizer fingerprints, download checks.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace ksearch {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  std::string hex_digest();  // finishes the hash; lowercase hex

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::string_view data);

}  // namespace ksearch
