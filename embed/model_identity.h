// What an index records of the model that embedded it (#32), so that searching or extending the index with another
// model is refused rather than silently comparing vectors of different spaces.
#pragma once

#include <string>

#include "embed/model_spec.h"

namespace ksearch {

struct ModelIdentity {
  std::string id;                     // hub id, or the folder path of a model without one
  std::string architecture;           // architecture_name(): "bert", "xlm-roberta"
  std::string pooling;                // pooling_name(): "cls", "mean"
  int dimension = 0;                  // embedding width
  std::string tokenizer_fingerprint;  // Tokenizer::fingerprint()
};

ModelIdentity model_identity(const ModelSpec& spec, std::string tokenizer_fingerprint);

// What tells `actual` apart from the `recorded` model ("architecture bert, not xlm-roberta; pooling mean, not cls"),
// or "" when they are the same model.  Ids match when equal or when they name the same model in different places
// (a folder named NAME and the hub id ORG/NAME); a field the index did not record (older index) matches anything.
std::string identity_difference(const ModelIdentity& recorded, const ModelIdentity& actual);

// "'ID' (ARCHITECTURE, POOLING pooling, DIMENSION dimensions)" for messages.
std::string describe_identity(const ModelIdentity& identity);

}  // namespace ksearch
