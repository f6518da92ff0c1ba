// On-disk cache of a model's packed weights.  Packing every dense layer into oneDNN's layout (and quantising it, for
// int8) is most of a model's load time — 40–70 ms for e5-small, seconds for bge-m3 — and a one-off `ksearch search`
// pays it on every run.  The packed layout depends only on the weights, the precision, oneDNN's version and the CPU,
// so it is made once and every later process maps it (the pages are shared through the page cache).
//
// One file per model and precision: $KSEARCH_CACHE_DIR/packed/ (default $XDG_CACHE_HOME/ksearch, else
// ~/.cache/ksearch; KSEARCH_CACHE_DIR=off disables the cache).  Its header names what it was made from — each weight
// file's path, size and modification time, the precision, oneDNN's version and the CPU's instruction set — and each
// layer's exact oneDNN layout; anything different and the layer is packed afresh and the file rewritten.  The file is
// written whole or not at all (temp file, fsync, rename), so a crash leaves the old file or none.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "embed/linear.h"

namespace ksearch {

class TensorStore;

class PackedWeightCache {
 public:
  PackedWeightCache(const TensorStore& store, Precision precision);

  bool enabled() const { return !path_.empty(); }
  const std::filesystem::path& path() const { return path_; }

  // Every layer's packed weights, by tensor-name prefix, from a cache file made from exactly these weights; empty
  // when there is none or it is stale or damaged (a damaged file is never an error: it is rebuilt).
  std::map<std::string, PackedWeights, std::less<>> load() const;

  // Writes the file for `layers` (name, weights), replacing any older one.  Throws Error naming the path.
  void save(const std::vector<std::pair<std::string, PackedWeights>>& layers) const;

 private:
  std::filesystem::path path_;
  std::string key_;  // the header's first lines: what the packed weights were made from
};

}  // namespace ksearch
