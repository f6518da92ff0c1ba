// The model an index records (store/ IndexSettings) against the model a command loads (embed/ ModelIdentity).
#pragma once

#include <string>

#include "embed/model_identity.h"
#include "store/chunk_store.h"

namespace ksearch {

// The identity of the model the index was built with (empty id: lexical only).
ModelIdentity recorded_model(const IndexSettings& settings);

// Writes `identity` into the settings an index records (an empty identity: lexical only).
void record_model(IndexSettings& settings, const ModelIdentity& identity);

// Throws Error naming both models when `model` is not the one the index at `index_dir` was built with.  `force`
// accepts a different model whose vectors have the index's dimension (the user vouches it is the same space).
void check_query_model(const IndexSettings& settings, const ModelIdentity& model, bool force,
                       const std::string& index_dir);

}  // namespace ksearch
