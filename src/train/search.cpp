#include "ser/train/search.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "ser/error.hpp"
#include "ser/eval/metrics.hpp"
#include "ser/train/trainer.hpp"
#include "ser/util/hash.hpp"

namespace ser::train {

namespace {

// A deterministic shuffle (splitmix64 keys) that every standard library reproduces.
std::vector<std::string> seeded_order(std::vector<std::string> names, std::uint64_t seed) {
  auto key = [seed](const std::string& s) {
    std::uint64_t h = seed ^ 0x9E3779B97F4A7C15ull;
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001B3ull;
    }
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBull;
    return h ^ (h >> 31);
  };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    const auto ka = key(a), kb = key(b);
    return ka != kb ? ka < kb : a < b;
  });
  return names;
}

}  // namespace

std::vector<data::Fold> inner_folds(const SearchInput& in, const data::Fold& outer) {
  const auto& items = *in.items;
  const config::Config& cfg = *in.cfg;
  std::vector<std::size_t> part;  // corpus items of the training part, outer indices
  for (const auto* p : {&outer.train, &outer.validation}) {
    for (std::size_t i : *p) {
      if (i < items.size()) part.push_back(i);
    }
  }
  std::sort(part.begin(), part.end());
  std::vector<data::Item> sub;
  sub.reserve(part.size());
  for (std::size_t i : part) sub.push_back(items[i]);

  data::ProtocolConfig pc;
  pc.seed = cfg.train.seed + 7919u * static_cast<std::uint64_t>(outer.index + 1);
  pc.validation_fraction = is_classic(cfg.train.model.architecture) ? 0.0 : cfg.protocol.validation_fraction;
  const std::string where = "train.search (fold " + std::to_string(outer.index + 1) + ")";
  if (in.by_speaker) {
    std::set<std::string> speakers;
    for (const auto& it : sub) speakers.insert(it.speaker);
    const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(cfg.train.search_folds), speakers.size());
    if (k < 2) fail_config(where, "the training part has fewer than 2 speakers to cross-validate over");
    pc.name = "speaker_kfold";
    pc.speaker_table.assign(k, {});
    const auto order = seeded_order({speakers.begin(), speakers.end()}, pc.seed);
    for (std::size_t s = 0; s < order.size(); ++s) pc.speaker_table[s % k].push_back(order[s]);
  } else {
    std::map<std::string, int> counts;
    for (const auto& it : sub) ++counts[it.label];
    int smallest = sub.empty() ? 0 : counts.begin()->second;
    for (const auto& [l, c] : counts) smallest = std::min(smallest, c);
    pc.name = "random_kfold";
    pc.k = std::min(cfg.train.search_folds, smallest);
    if (pc.k < 2) fail_config(where, "a class has fewer than 2 training items; cannot cross-validate");
  }
  std::vector<data::Fold> folds;
  try {
    folds = data::build_folds(sub, cfg.dataset, pc);
  } catch (const Error& e) {
    fail_config(where, std::string("inner folds: ") + e.what());
  }
  for (auto& f : folds) {
    for (auto* p : {&f.train, &f.validation, &f.test}) {
      for (auto& i : *p) i = part[i];
    }
    if (in.copy_source && !in.copy_source->empty()) f = data::with_copies(f, *in.copy_source, items.size());
  }
  return folds;
}

SearchResult search_fold(const SearchInput& in, const data::Fold& outer) {
  SearchResult r;
  r.config = *in.cfg;
  const std::vector<nlohmann::json> points = config::search_points(in.cfg->train);
  if (in.cfg->train.search.empty()) return r;
  const std::vector<data::Fold> folds = inner_folds(in, outer);
  r.inner_folds = static_cast<int>(folds.size());
  std::vector<std::string> label_names(static_cast<std::size_t>(in.n_classes));
  for (int c = 0; c < in.n_classes; ++c) label_names[static_cast<std::size_t>(c)] = std::to_string(c);
  double best = -1;
  for (const auto& point : points) {
    config::Config pc = config::with_point(*in.cfg, point);
    // Only the decisions are scored: Platt probabilities would cost a 5-fold CV per fit.
    pc.train.model.svm_probability = false;
    nlohmann::json per_fold = nlohmann::json::array();
    double sum = 0;
    for (const auto& f : folds) {
      if (in.keep_going && !in.keep_going()) {
        throw Error(ErrorKind::Interrupted, "train.search", "stopped; run the same command again to resume");
      }
      const FoldResult fr = train_fold(*in.values, in.dim, *in.labels, in.n_classes, f, pc.train, FoldOptions{});
      std::vector<int> truth;
      for (std::size_t i : f.test) truth.push_back((*in.labels)[i]);
      const double uar = eval::compute_metrics(truth, fr.test_predictions, label_names).balanced_accuracy;
      per_fold.push_back(uar);
      sum += uar;
    }
    const double score = sum / static_cast<double>(folds.size());
    spdlog::debug("fold {}: search point {}: inner UAR {:.4f}", outer.index + 1, point.dump(), score);
    r.grid.push_back({{"point", point}, {"inner_uar", score}, {"per_fold", per_fold}});
    if (score > best) {
      best = score;
      r.chosen = point;
      r.inner_uar = score;
    }
  }
  r.config = config::with_point(*in.cfg, r.chosen);
  return r;
}

}  // namespace ser::train
