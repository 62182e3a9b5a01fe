#include "ser/features/augmented.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <new>
#include <stdexcept>

#include "extract_internal.hpp"
#include "ser/audio/audio.hpp"
#include "ser/error.hpp"
#include "ser/util/hash.hpp"
#include "ser/util/parallel.hpp"

namespace ser::features {

std::string copy_id(const std::string& source_id, const augment::Recipe& recipe, int copy) {
  return source_id + "#" + augment::recipe_tag(recipe) + "." + std::to_string(copy + 1);
}

AugmentedFeatures augment_features(const std::vector<data::Item>& items, const std::vector<std::size_t>& sources,
                                   const std::vector<augment::Recipe>& recipes, const FeatureSet& set,
                                   const AugmentOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  if (opt.copies < 1) fail_config("augment.copies", "must be >= 1");
  AugmentedFeatures out;
  const std::size_t per_source = recipes.size() * static_cast<std::size_t>(opt.copies), dim = set.dim();
  for (std::size_t s : sources) {
    if (s >= items.size()) fail_runtime("augment", "source index out of range");
    for (std::size_t r = 0; r < recipes.size(); ++r)
      for (int c = 0; c < opt.copies; ++c) out.rows.push_back({s, r, c});
  }
  out.values.assign(out.rows.size() * dim, 0.0f);
  if (out.rows.empty()) return out;

  std::unique_ptr<detail::FeatureCache> cache;
  if (opt.use_cache) cache = std::make_unique<detail::FeatureCache>(opt.cache_dir, set);
  std::vector<unsigned char> cached(out.rows.size(), 0);

  // One task per source: its audio is decoded once for all of its copies.
  util::parallel_for(sources.size(), util::resolve_jobs(opt.jobs, sources.size()), [&](std::size_t k) {
    const data::Item& item = items[sources[k]];
    std::vector<std::uint64_t> keys(per_source);
    std::vector<bool> done(per_source, false);
    std::size_t missing = per_source;
    if (cache) {
      const std::uint64_t file_key = cache->key_for(item.path);
      std::vector<float> v;
      for (std::size_t q = 0; q < per_source; ++q) {
        const CopyRow& row = out.rows[k * per_source + q];
        const std::string salt = recipes[row.recipe].text + '\0' + std::to_string(row.recipe) + '\0' + std::to_string(row.copy) + '\0' +
                                 std::to_string(opt.seed) + '\0' + item.id;
        keys[q] = util::hash64(salt, file_key);
        if (AudioFacts unused; cache->load(keys[q], v, unused)) {
          std::copy(v.begin(), v.end(), out.values.begin() + static_cast<std::ptrdiff_t>((k * per_source + q) * dim));
          done[q] = true;
          cached[k * per_source + q] = 1;
          --missing;
        }
      }
    }
    if (missing == 0) return;
    // Copies are bounded (audio limits, op ranges), but whatever happens the message names the
    // file: never a bare "std::bad_alloc".
    try {
      const audio::Signal signal = load_for(item.path, set);
      for (std::size_t q = 0; q < per_source; ++q) {
        if (done[q]) continue;
        const CopyRow& row = out.rows[k * per_source + q];
        const augment::Augmented a =
            augment::apply_recipe(recipes[row.recipe], signal.samples,
                                  signal.sample_rate, augment::copy_seed(opt.seed, item.id, row.recipe, row.copy), item.path);
        const std::vector<float> v = set.compute(audio::Signal{a.samples, signal.sample_rate});
        if (v.size() != dim) fail_runtime(item.path, "feature set returned a vector of the wrong length for a copy");
        for (float x : v) {
          if (!std::isfinite(x)) fail_runtime(item.path, "copy '" + a.applied + "' has non-finite features");
        }
        std::copy(v.begin(), v.end(), out.values.begin() + static_cast<std::ptrdiff_t>((k * per_source + q) * dim));
        if (cache) cache->store(keys[q], v, {signal.native_rate, signal.bandwidth_hz});
      }
    } catch (const std::bad_alloc&) {
      fail_runtime(item.path, "out of memory while making its augmented copies");
    } catch (const std::length_error&) {
      fail_runtime(item.path, "an augmented copy would be impossibly long");
    }
  });
  for (unsigned char c : cached) (c ? out.from_cache : out.computed)++;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace ser::features
