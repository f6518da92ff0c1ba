// Sentence-transformers pooling over packed hidden states.
#pragma once

#include <vector>

#include "embed/encoder.h"
#include "embed/model_spec.h"

namespace ksearch {

// [batch, hidden]: CLS = the first token's state; Mean = average over every token of the sequence (the model's
// attention mask covers <s> and </s>, so they are included, as sentence-transformers does).
std::vector<float> pool(const PackedHidden& hidden, Pooling pooling);

// The hidden states pool() reads: CLS pooling only each sequence's first.
TransformerEncoder::Rows rows_read_by(Pooling pooling);

}  // namespace ksearch
