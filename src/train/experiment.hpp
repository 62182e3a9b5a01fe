#pragma once
// The state of one `ser train` run shared by the run's parts (private to src/train): the corpus
// features, folds, training-time copies and the per-fold rows the models see.
#include <string>
#include <vector>

#include "ser/augment/augment.hpp"
#include "ser/config/config.hpp"
#include "ser/data/protocols.hpp"
#include "ser/eval/overlap.hpp"
#include "ser/features/augmented.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"
#include "ser/features/speaker_norm.hpp"
#include "ser/train/trainer.hpp"

namespace ser::train::detail {

struct Experiment {
  const config::Config& cfg;
  std::unique_ptr<features::FeatureSet> set;
  features::FeatureTable table;
  std::vector<std::string> labels;
  std::vector<int> y;  // per row of `values`: the items, then the copies
  std::vector<data::Fold> folds;
  std::string run_dir;
  bool by_speaker = false;
  // Training-time augmentation: rows past the items are copies; copy j was made from item
  // copy_source[j] with recipes[copy_rows[j].recipe].
  std::vector<float> values;
  std::vector<augment::Recipe> recipes;
  std::vector<features::CopyRow> copy_rows;
  std::vector<std::size_t> copy_source;
  std::vector<std::string> speakers;  // per item, for speaker normalisation
  bool speaker_norm = false;
  // Per item: its id, size and content hash, written beside every model as the items it learnt
  // from (eval/overlap.hpp), so an evaluation can tell held-out items from training items.
  std::vector<eval::ContentRecord> content;
};

// The rows a fold's models see: as extracted, or each speaker standardised (speaker_norm.hpp)
// with statistics that never read a test label and never let a test row touch a training row.
struct FoldRows {
  const std::vector<float>* extracted = nullptr;
  bool normalized = false;
  features::FoldNormalization norm;
  const std::vector<float>& values() const { return normalized ? norm.values : *extracted; }
};

FoldRows fold_rows(const Experiment& ex, const data::Fold& fold);

// A manifest written by `ser augment --with-originals` names each row's `source`: warns when test
// items share one with training items (copies made before the split).
void warn_about_shared_sources(const Experiment& ex);
// Items with identical audio (ex.content) on both sides of a fold's train/test boundary: refused
// (ser::Error naming the corpus, a few pairs and the count) unless protocol.allow_duplicates,
// then warned about, as are duplicates that stay inside one split.
void check_duplicates(const Experiment& ex);
// Items whose copies the folds about to train will use (training parts, validation for refit,
// every item for the final model).
std::vector<std::size_t> copy_sources(const Experiment& ex, const std::vector<int>& folds, bool final_model);
void add_copies(Experiment& ex, const std::vector<std::size_t>& sources);
// The fold as trained: its training part plus the copies of its training items, checked against
// leakage rule 2 independently of how it was built.
data::Fold with_training_copies(const Experiment& ex, const data::Fold& fold);
// fold-K/augmented.csv: the copies a model trained on, for audits.
void write_copy_list(const Experiment& ex, const data::Fold& trained, const std::string& dir);

// scaler.json, history.csv (torch models), training_items.csv and, last, model.json (feature
// set and band, labels, scaler, normalisation, the training audio's band, `ood`) beside the
// weights in `dir`. `test`: the items the model must not have learnt from (empty: none).
void write_model_files(const Experiment& ex, const std::string& dir, const FoldResult& r, const TrainConfig& tc,
                       const features::FoldNormalization* norm, const std::vector<std::size_t>& test,
                       const nlohmann::json& ood);

}  // namespace ser::train::detail
