#pragma once
// protocol.name "cross_corpus" (private to src/train): train on the config's corpus, test on
// another. Both corpora's features are joined into one table (training items first) with the
// classes both share, and the protocol is one fold: train = the training corpus, test = the test
// corpus. Everything downstream (inner-CV search on the training corpus only, normalisation,
// OOD calibration, metrics, report, `ser evaluate --run`, `ser compare`) is the usual fold code.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ser/config/config.hpp"
#include "ser/data/protocols.hpp"
#include "ser/features/extract.hpp"

namespace ser::train::detail {

struct CrossCorpus {
  features::FeatureTable table;      // training items, then test items (labels mapped)
  std::vector<std::string> classes;  // shared, in the training corpus' label order
  data::Fold fold;
  nlohmann::json description;        // metrics.json "cross_corpus": corpora, classes, what was left out
};

// `train` is the training corpus' table as extracted. Extracts (or, with features.from_store,
// reads) the test corpus with the same feature set into protocol.test_features_out. Training
// speakers are renamed "<dataset>:<speaker>" so that two corpora's speaker "03" never merge in
// speaker normalisation or the leakage check; test items keep their ids and speakers, so a
// within-corpus run on the same test corpus pairs with this one in `ser compare`. Throws
// ser::Error when fewer than 2 classes are shared or an id is in both corpora.
CrossCorpus join_cross_corpus(const config::Config& cfg, const features::FeatureSet& set,
                              features::FeatureTable train, const std::vector<std::string>& training_labels,
                              bool progress);

// The labels a run trains on, applied to `table`: each item's label renamed by cfg.label_map, and,
// with cfg.classes, only those classes kept (in that order; other items removed from the table,
// counted in *left_out as label -> items). Without cfg.classes: `corpus_labels` (the dataset's
// own label order, or the manifest's labels sorted) renamed by label_map. Throws ser::Error
// (config, "classes") for a class the corpus lacks, fewer than 2 classes, or a label no class takes.
std::vector<std::string> select_classes(const config::Config& cfg, features::FeatureTable& table,
                                        const std::vector<std::string>& corpus_labels, nlohmann::json* left_out);

// The store of one corpus: extracted (cached per file) or, with features.from_store, read as it
// is; checked to hold `set` made with the same settings.
features::FeatureTable load_corpus_features(const config::Config& cfg, const std::string& dataset,
                                            const std::string& source, const std::string& out,
                                            const features::FeatureSet& set, bool progress);

}  // namespace ser::train::detail
