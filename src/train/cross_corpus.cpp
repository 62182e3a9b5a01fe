#include "cross_corpus.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <set>

#include "ser/data/corpus.hpp"
#include "ser/error.hpp"

namespace ser::train::detail {

namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

nlohmann::json counts_json(const std::map<std::string, std::size_t>& counts) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [label, n] : counts) j[label] = n;
  return j;
}

// Keeps the rows for which keep(i) holds, in order.
template <class Keep>
void keep_rows(features::FeatureTable& t, Keep keep) {
  std::size_t n = 0;
  const bool facts = t.audio.size() == t.items.size();
  for (std::size_t i = 0; i < t.items.size(); ++i) {
    if (!keep(i)) continue;
    if (n != i) {
      t.items[n] = std::move(t.items[i]);
      std::copy_n(t.values.begin() + static_cast<std::ptrdiff_t>(i * t.dim), t.dim,
                  t.values.begin() + static_cast<std::ptrdiff_t>(n * t.dim));
      if (facts) t.audio[n] = t.audio[i];
    }
    ++n;
  }
  t.items.resize(n);
  t.values.resize(n * t.dim);
  if (facts) t.audio.resize(n);
}

}  // namespace

std::vector<std::string> select_classes(const config::Config& cfg, features::FeatureTable& table,
                                        const std::vector<std::string>& corpus_labels, nlohmann::json* left_out) {
  auto renamed = [&](const std::string& l) {
    const auto it = cfg.label_map.find(l);
    return it == cfg.label_map.end() ? l : it->second;
  };
  for (auto& item : table.items) item.label = renamed(item.label);
  std::vector<std::string> labels;
  for (const auto& l : corpus_labels) {
    const std::string r = renamed(l);
    if (std::find(labels.begin(), labels.end(), r) == labels.end()) labels.push_back(r);
  }
  if (cfg.classes.empty()) return labels;
  std::set<std::string> present;
  for (const auto& item : table.items) present.insert(item.label);
  std::set<std::string> seen;
  for (const auto& c : cfg.classes) {
    if (!seen.insert(c).second) fail_config("classes", "'" + c + "' is listed twice");
    if (!present.count(c)) {
      fail_config("classes", "'" + c + "' is not a label of " + cfg.dataset + " (after label_map: " +
                                 joined({present.begin(), present.end()}) + ")");
    }
  }
  if (cfg.classes.size() < 2) fail_config("classes", "a model needs at least 2 classes");
  std::map<std::string, std::size_t> dropped;
  keep_rows(table, [&](std::size_t i) {
    if (seen.count(table.items[i].label)) return true;
    ++dropped[table.items[i].label];
    return false;
  });
  if (left_out) *left_out = counts_json(dropped);
  std::size_t n = 0;
  for (const auto& [l, c] : dropped) n += c;
  if (n) spdlog::info("classes: {} item(s) of other labels left out ({})", n, counts_json(dropped).dump());
  return cfg.classes;
}

features::FeatureTable load_corpus_features(const config::Config& cfg, const std::string& dataset,
                                            const std::string& source, const std::string& out,
                                            const features::FeatureSet& set, bool progress) {
  // A features.blocks mistake is named before an hour of extraction, not after.
  const auto ranges = features::block_columns(set.blocks(), cfg.features.blocks);
  if (!cfg.features.from_store) {
    const data::CorpusIndex index = data::index_corpus(dataset, source);
    features::ExtractOptions ex;
    ex.out_dir = out;
    ex.jobs = cfg.features.jobs;
    ex.use_cache = cfg.features.cache;
    ex.cache_dir = cfg.features.cache_dir;
    ex.progress = progress;
    ex.frames = cfg.features.frames;
    const auto extracted = features::extract_corpus(index, set, ex);
    if (extracted.failed) {
      spdlog::warn("{} file(s) could not be used (listed in {}/meta.json); using the rest", extracted.failed, out);
    }
  }
  features::FeatureTable table = features::read_feature_store(out);
  const std::string stored_set = table.meta.value("feature_set", "");
  const std::string stored_fp = table.meta.value("settings_fingerprint", "");
  if (stored_set != set.name() || stored_fp != set.settings_fingerprint()) {
    fail_config("features.set", "the store in " + out + " holds '" + stored_set + "' features made with other settings than '" +
                                    set.name() + "' here (" + stored_fp + "); re-extract it");
  }
  if (table.items.empty()) fail_runtime(out, "no usable items");
  if (!cfg.features.blocks.empty()) {
    // Only the chosen blocks' columns, re-numbered: the rest of training sees a narrower set.
    std::size_t dim = 0;
    for (const auto& r : ranges) dim += r.second;
    std::vector<float> values;
    values.reserve(table.items.size() * dim);
    for (std::size_t i = 0; i < table.items.size(); ++i) {
      for (const auto& [off, size] : ranges) values.insert(values.end(), table.row(i) + off, table.row(i) + off + size);
    }
    nlohmann::json blocks = nlohmann::json::array();
    std::size_t at = 0;
    for (const auto& b : table.meta["blocks"]) {
      const auto off = b.value("offset", std::size_t{0});
      if (std::none_of(ranges.begin(), ranges.end(), [&](const auto& r) { return r.first == off; })) continue;
      blocks.push_back({{"name", b["name"]}, {"offset", at}, {"size", b["size"]}});
      at += b.value("size", std::size_t{0});
    }
    table.values = std::move(values);
    table.dim = dim;
    table.meta["blocks"] = blocks;
    table.meta["dim"] = dim;
    spdlog::info("features.blocks: {} of {} values ({} blocks)", dim, set.dim(), blocks.size());
  }
  return table;
}

CrossCorpus join_cross_corpus(const config::Config& cfg, const features::FeatureSet& set,
                              features::FeatureTable train, const std::vector<std::string>& training_labels,
                              bool progress) {
  const data::ProtocolConfig& p = cfg.protocol;
  const std::string test_source = p.test_dataset == "manifest" ? p.test_manifest : p.test_root;
  features::FeatureTable test =
      load_corpus_features(cfg, p.test_dataset, test_source, p.test_features_out, set, progress);

  // Test labels in training names; the classes are the training labels the test corpus has too.
  std::set<std::string> test_labels;
  for (auto& item : test.items) {
    const auto it = p.test_label_map.find(item.label);
    if (it != p.test_label_map.end()) item.label = it->second;
    test_labels.insert(item.label);
  }
  for (const auto& [from, to] : p.test_label_map) {
    if (std::find(training_labels.begin(), training_labels.end(), to) == training_labels.end()) {
      fail_config("protocol.test_label_map", "'" + from + "' maps to '" + to + "', which is not a label of " + cfg.dataset +
                                                 " (" + joined(training_labels) + ")");
    }
  }
  CrossCorpus out;
  for (const auto& l : training_labels) {
    if (test_labels.count(l)) out.classes.push_back(l);
  }
  if (!cfg.classes.empty() && out.classes.size() != training_labels.size()) {
    std::vector<std::string> missing;
    for (const auto& l : training_labels) {
      if (!test_labels.count(l)) missing.push_back(l);
    }
    fail_config("classes", p.test_dataset + " has no item of " + joined(missing) +
                               " (after protocol.test_label_map); list only classes both corpora have");
  }
  if (out.classes.size() < 2) {
    fail_config("protocol.test_label_map", "the corpora share " + std::to_string(out.classes.size()) +
                                               " class(es) (" + cfg.dataset + ": " + joined(training_labels) + "; " +
                                               p.test_dataset + ", mapped: " +
                                               joined({test_labels.begin(), test_labels.end()}) +
                                               "); map the test corpus' labels to the training ones");
  }
  const std::set<std::string> shared(out.classes.begin(), out.classes.end());

  // Join: training items of shared classes, then test items of shared classes.
  std::set<std::string> train_ids;
  std::map<std::string, std::size_t> dropped_train, dropped_test;
  features::FeatureTable& t = out.table;
  t.dim = train.dim;
  t.meta = train.meta;
  const bool facts = train.audio.size() == train.items.size() && test.audio.size() == test.items.size();
  auto take = [&](const features::FeatureTable& from, std::size_t i, data::Item item) {
    t.items.push_back(std::move(item));
    t.values.insert(t.values.end(), from.row(i), from.row(i) + from.dim);
    if (facts) t.audio.push_back(from.audio[i]);
  };
  for (std::size_t i = 0; i < train.items.size(); ++i) {
    data::Item item = train.items[i];
    if (!shared.count(item.label)) {
      ++dropped_train[item.label];
      continue;
    }
    train_ids.insert(item.id);
    if (!item.speaker.empty()) item.speaker = cfg.dataset + ":" + item.speaker;
    take(train, i, std::move(item));
  }
  const std::size_t n_train = t.items.size();
  for (std::size_t i = 0; i < test.items.size(); ++i) {
    if (!shared.count(test.items[i].label)) {
      ++dropped_test[test.items[i].label];
      continue;
    }
    if (train_ids.count(test.items[i].id)) {
      fail_input(test.items[i].path, "item id '" + test.items[i].id + "' is in both corpora; ids must tell them apart");
    }
    take(test, i, test.items[i]);
  }
  if (t.items.size() == n_train) fail_runtime(test_source, "no test item has a shared class");
  for (const auto* from : {&train, &test}) {
    for (const auto& c : from->metadata_columns) {
      if (std::find(t.metadata_columns.begin(), t.metadata_columns.end(), c) == t.metadata_columns.end()) {
        t.metadata_columns.push_back(c);
      }
    }
  }

  // One fold. Validation (torch models' epoch choice) is whole training speakers, seeded.
  data::Fold& f = out.fold;
  f.index = 0;
  std::vector<std::string> speakers;
  for (std::size_t i = 0; i < n_train; ++i) speakers.push_back(t.items[i].speaker);
  std::sort(speakers.begin(), speakers.end());
  speakers.erase(std::unique(speakers.begin(), speakers.end()), speakers.end());
  std::mt19937_64 rng(p.seed);
  std::shuffle(speakers.begin(), speakers.end(), rng);
  std::size_t n_val = 0;
  if (p.validation_fraction > 0 && speakers.size() > 1) {
    n_val = std::clamp<std::size_t>(static_cast<std::size_t>(p.validation_fraction * speakers.size() + 0.5), 1,
                                    speakers.size() - 1);
  }
  const std::set<std::string> validation(speakers.begin(), speakers.begin() + static_cast<std::ptrdiff_t>(n_val));
  for (std::size_t i = 0; i < n_train; ++i) (validation.count(t.items[i].speaker) ? f.validation : f.train).push_back(i);
  for (std::size_t i = n_train; i < t.items.size(); ++i) f.test.push_back(i);

  out.description = {{"train_dataset", cfg.dataset},
                     {"test_dataset", p.test_dataset},
                     {"classes", out.classes},
                     {"label_map", p.test_label_map},
                     {"train_items", n_train},
                     {"test_items", t.items.size() - n_train},
                     {"train_items_left_out", counts_json(dropped_train)},
                     {"test_items_left_out", counts_json(dropped_test)}};
  spdlog::info("cross-corpus: {} -> {} on {} shared classes ({}): {} training, {} test items", cfg.dataset,
               p.test_dataset, out.classes.size(), joined(out.classes), n_train, t.items.size() - n_train);
  return out;
}

}  // namespace ser::train::detail
