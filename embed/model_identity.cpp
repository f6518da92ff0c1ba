#include "embed/model_identity.h"

#include "base/error.h"

namespace ksearch {
namespace {

// The last path component of an id or folder ("nlpai-lab/KURE-v1" and "/data/models/KURE-v1/" -> "KURE-v1").
std::string_view model_name(std::string_view id) {
  while (id.size() > 1 && id.back() == '/') id.remove_suffix(1);
  const auto slash = id.rfind('/');
  return slash == std::string_view::npos ? id : id.substr(slash + 1);
}

}  // namespace

ModelIdentity model_identity(const ModelSpec& spec, std::string tokenizer_fingerprint) {
  return {spec.id, std::string(architecture_name(spec.config.architecture)), std::string(pooling_name(spec.pooling)),
          spec.dimension(), std::move(tokenizer_fingerprint)};
}

std::string identity_difference(const ModelIdentity& recorded, const ModelIdentity& actual) {
  std::string out;
  const auto differ = [&](std::string_view field, const std::string& was, const std::string& now) {
    if (was.empty() || was == now) return;
    out += cat(out.empty() ? "" : "; ", field, " ", now.empty() ? "(none)" : now, ", not ", was);
  };
  if (model_name(recorded.id) != model_name(actual.id))
    differ("model", std::string(model_name(recorded.id)), std::string(model_name(actual.id)));
  differ("architecture", recorded.architecture, actual.architecture);
  differ("pooling", recorded.pooling, actual.pooling);
  if (recorded.dimension != 0 && recorded.dimension != actual.dimension)
    differ("dimension", std::to_string(recorded.dimension), std::to_string(actual.dimension));
  if (!recorded.tokenizer_fingerprint.empty() && recorded.tokenizer_fingerprint != actual.tokenizer_fingerprint)
    out += cat(out.empty() ? "" : "; ", "another tokenizer (vocabulary or normalisation differ)");
  return out;
}

std::string describe_identity(const ModelIdentity& identity) {
  if (identity.id.empty()) return "(none: lexical only)";
  std::string out = cat("'", identity.id, "'");
  if (!identity.architecture.empty() || !identity.pooling.empty() || identity.dimension > 0) {
    out += " (";
    std::string details;
    const auto add = [&](const std::string& part) { details += (details.empty() ? "" : ", ") + part; };
    if (!identity.architecture.empty()) add(identity.architecture);
    if (!identity.pooling.empty()) add(identity.pooling + " pooling");
    if (identity.dimension > 0) add(cat(identity.dimension, " dimensions"));
    out += details + ")";
  }
  return out;
}

}  // namespace ksearch
