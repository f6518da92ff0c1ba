#include "search/model_check.h"

#include "base/error.h"

namespace ksearch {

ModelIdentity recorded_model(const IndexSettings& settings) {
  return {settings.model_id, settings.architecture, settings.pooling, settings.dimension,
          settings.tokenizer_fingerprint};
}

void record_model(IndexSettings& settings, const ModelIdentity& identity) {
  settings.model_id = identity.id;
  settings.architecture = identity.architecture;
  settings.pooling = identity.pooling;
  settings.dimension = identity.dimension;
  settings.tokenizer_fingerprint = identity.tokenizer_fingerprint;
}

void check_query_model(const IndexSettings& settings, const ModelIdentity& model, bool force,
                       const std::string& index_dir) {
  const ModelIdentity recorded = recorded_model(settings);
  const std::string difference = identity_difference(recorded, model);
  if (difference.empty()) return;
  const bool same_dimension = model.dimension == recorded.dimension;
  if (force && same_dimension) return;
  fail("the index at ", index_dir, " was built with model ", describe_identity(recorded), ", not ",
       describe_identity(model), ": ", difference, "; re-index with `ksearch index --rebuild --model ", model.id, "`",
       same_dimension ? ", or pass --force to search with it anyway" : "");
}

}  // namespace ksearch
