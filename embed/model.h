// A loaded model: its spec, tokenizer and encoder, shared by the embedder and the cross-encoder.
#pragma once

#include <memory>
#include <string_view>

#include "embed/bge_m3_heads.h"
#include "embed/encoder.h"
#include "embed/model_spec.h"
#include "embed/tokenizer.h"

namespace ksearch {

struct Model {
  ModelSpec spec;
  Tokenizer tokenizer;
  TransformerEncoder encoder;
  BgeM3Heads heads;  // sparse_linear.pt / colbert_linear.pt where the folder has them (BGE-M3)

  // Resolves `name` (alias, hub id or folder), reads its files and binds its weights.  Throws Error naming the file
  // and field for anything missing or inconsistent, including a tokenizer whose vocabulary does not fit the
  // embedding matrix.
  static std::shared_ptr<const Model> load(std::string_view name, Precision precision = Precision::Fp32);
  static std::shared_ptr<const Model> load_dir(const std::filesystem::path& dir, const std::string& id,
                                               const KernelPlan& plan = KernelPlan::choose(Precision::Fp32));
};

}  // namespace ksearch
