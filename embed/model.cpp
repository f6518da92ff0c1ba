#include "embed/model.h"

#include "base/error.h"
#include "embed/tensor_store.h"

namespace ksearch {

std::shared_ptr<const Model> Model::load(std::string_view name, Precision precision) {
  const ResolvedModel resolved = resolve_model(name);
  return load_dir(resolved.dir, resolved.id, KernelPlan::choose(precision));
}

std::shared_ptr<const Model> Model::load_dir(const std::filesystem::path& dir, const std::string& id,
                                             const KernelPlan& plan) {
  ModelSpec spec = load_model_spec(dir, id);
  Tokenizer tokenizer = Tokenizer::load(dir);
  if (tokenizer.vocab_size() > spec.config.vocab_size)
    fail(dir.string(), ": the tokenizer produces ", tokenizer.vocab_size(), " ids but the embedding matrix has only ",
         spec.config.vocab_size, " rows (config.json vocab_size): tokenizer and weights do not belong together");
  auto store = std::make_shared<const TensorStore>(TensorStore::open_model_dir(dir));
  TransformerEncoder encoder(spec.config, std::move(store), plan);
  BgeM3Heads heads = BgeM3Heads::load(dir, spec.config.hidden_size);
  return std::make_shared<const Model>(
      Model{std::move(spec), std::move(tokenizer), std::move(encoder), std::move(heads)});
}

}  // namespace ksearch
