#pragma once
// Features of augmented copies for training-time augmentation: each source item's audio is
// loaded once, every recipe is applied `copies` times with seeds that depend only on (seed, item
// id, recipe, copy), and the copies' vectors are cached like any other file (keyed by the source
// file's bytes, the recipe as written, the copy number and the seed).
#include <cstdint>
#include <string>
#include <vector>

#include "ser/augment/augment.hpp"
#include "ser/data/corpus.hpp"
#include "ser/features/registry.hpp"

namespace ser::features {

struct AugmentOptions {
  int copies = 1;           // per recipe and source item
  std::uint64_t seed = 42;
  int jobs = 0;             // 0 = every hardware thread
  bool use_cache = true;
  std::string cache_dir;    // required when use_cache
};

struct CopyRow {
  std::size_t source;   // index into the items given
  std::size_t recipe;   // index into the recipes given
  int copy;             // 0-based
};

struct AugmentedFeatures {
  std::vector<CopyRow> rows;  // source ascending, then recipe, then copy
  std::vector<float> values;  // rows.size() x dim
  std::size_t computed = 0, from_cache = 0;
  double seconds = 0;
};

// Copies of items[s] for every s in `sources`. The first copy that cannot be made (unreadable
// audio, an op that does not fit the clip) throws ser::Error naming the source file and the op:
// a training run must not quietly train on fewer copies than configured.
AugmentedFeatures augment_features(const std::vector<data::Item>& items, const std::vector<std::size_t>& sources,
                                   const std::vector<augment::Recipe>& recipes, const FeatureSet& set,
                                   const AugmentOptions& opt);

// The id of a copy, for listings: "<source id>#<recipe tag>.<copy + 1>", e.g. "03a01Fa#speed.1".
std::string copy_id(const std::string& source_id, const augment::Recipe& recipe, int copy);

}  // namespace ser::features
