#include "base/hash.h"

#include <openssl/evp.h>

#include "base/error.h"

namespace ksearch {

struct Digest::State {
  EVP_MD_CTX* context = nullptr;
};

Digest::Digest(Kind kind) : state_(std::make_unique<State>()) {
  state_->context = EVP_MD_CTX_new();
  KSEARCH_ASSERT(state_->context != nullptr);
  KSEARCH_ASSERT(EVP_DigestInit_ex(state_->context, kind == Kind::Sha1 ? EVP_sha1() : EVP_sha256(), nullptr) == 1);
}

Digest::~Digest() { EVP_MD_CTX_free(state_->context); }

void Digest::update(std::string_view data) {
  KSEARCH_ASSERT(EVP_DigestUpdate(state_->context, data.data(), data.size()) == 1);
}

std::string Digest::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  KSEARCH_ASSERT(EVP_DigestFinal_ex(state_->context, digest, &length) == 1);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Digest digest;
  digest.update(data);
  return digest.hex();
}

}  // namespace ksearch
