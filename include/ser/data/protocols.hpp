#pragma once
// Evaluation protocols (PROTOCOLS.md): turn a list of corpus items into train / validation / test
// folds. Validation is always carved from a fold's TRAINING part, so the test part is touched only
// by the final model of that fold. Everything is a pure function of (items, dataset, config): the
// same inputs and seed give identical folds on every machine (no std::shuffle or
// std::uniform_int_distribution, whose output differs between standard libraries).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ser/data/corpus.hpp"

namespace ser::data {

// Indices into the item list given to build_folds, each part sorted ascending.
// `index` is 0-based and equals the fold's position in the returned vector.
struct Fold {
  int index = 0;
  std::vector<std::size_t> train, validation, test;
};

struct ProtocolConfig {
  std::string name = "speaker_kfold";  // random_kfold | speaker_kfold | holdout | cross_corpus
  int k = 5;  // random_kfold folds; speaker_kfold folds when made from the data
  // speaker_kfold: the test speakers of each fold; empty = the built-in table of `dataset`, or,
  // for a corpus without one (a manifest), k speaker-disjoint folds made from its speakers.
  std::vector<std::vector<std::string>> speaker_table;
  // Carved from the TRAINING part only: per class (random_kfold, holdout by fraction) or as whole
  // speakers (speaker_kfold, holdout by speakers). 0 = no validation set.
  double validation_fraction = 0.1;
  std::vector<std::string> holdout_test_speakers;  // holdout by speakers, or
  double holdout_test_fraction = 0.2;              // holdout by a stratified fraction when no speakers given
  std::uint64_t seed = 42;
  // Items with identical audio on both sides of a fold's train/test boundary are refused (their
  // test scores would not be held-out) unless this is set; they are then counted and warned about.
  bool allow_duplicates = false;
  // cross_corpus: train on the config's corpus (all of it), test on this one, with the classes
  // both share. test_label_map renames test-corpus labels to training labels ("anger": "angry");
  // unmapped labels are used as they are. Features of the test corpus go to test_features_out.
  std::string test_dataset, test_root, test_manifest, test_features_out;
  std::map<std::string, std::string> test_label_map;
};

// The built-in speaker_kfold table for a dataset ("ravdess": the EmoBox 6 folds of 4 actors;
// "emodb": leave-one-speaker-out over its 10 speakers); empty for any other dataset.
std::vector<std::vector<std::string>> builtin_speaker_table(const std::string& dataset);

// Builds the folds for `items` (labels and speakers from data::Item).
//  random_kfold:  stratified k-fold by label; per class the seeded-shuffled items are dealt
//                 round-robin (continuing across classes), so per-class and total fold sizes
//                 differ by at most 1. Validation: ceil(fraction * n) of each class's training
//                 items, at least 1 when the class has >= 2 and always leaving 1 in train.
//  speaker_kfold: test = the fold's speakers' items; validation = every item of
//                 ceil(fraction * n_train_speakers) seeded-chosen training speakers (at least 1
//                 when fraction > 0, never all of them); train = the rest. With the built-in
//                 table, corpus speakers absent from the table train in every fold; with a given
//                 table they are an error. Without either (a manifest), k folds are made from
//                 the corpus's speakers: shuffled by the seed, dealt most items first to the
//                 fold with the fewest items (k = number of speakers: leave-one-speaker-out).
//  holdout:       one fold; by holdout_test_speakers (validation by speakers as above) or, when
//                 none are given, a stratified holdout_test_fraction of each class (at least 1 item
//                 of classes with >= 2 items, always leaving 1 for training), validation stratified
//                 from the training part.
// Throws ser::Error (ErrorKind::Config, subject = the config key, e.g. "protocol.speaker_table")
// for: an unknown protocol, k < 2 or k > the smallest class count, a table speaker that is not in
// the corpus, a speaker in two folds, corpus speakers in no fold of a given table, an empty fold,
// a fold whose training part lacks a class present in its test part, an empty corpus, items
// without a label, items without a speaker under a speaker protocol, fractions out of range, and
// folds made from the data with k > the number of speakers.
std::vector<Fold> build_folds(const std::vector<Item>& items, const std::string& dataset, const ProtocolConfig& cfg);

// Independent check of the leakage rules, used by tests and by the trainer before training:
// indices in range, no index twice, the three parts disjoint and together covering every item;
// with speaker_disjoint, no speaker in two of train/validation/test and no item without a speaker.
// Returns "" when the fold is fine, else a one-line description of the first problem found.
std::string check_fold(const std::vector<Item>& items, const Fold& fold, bool speaker_disjoint);

// Training-time augmentation (leakage rule 2). Copies are rows appended after the n_items corpus
// items: row n_items + j is copy j, made from item copy_source[j]. with_copies adds to the
// training part exactly the copies of its training items; validation and test stay as they are.
Fold with_copies(const Fold& fold, const std::vector<std::size_t>& copy_source, std::size_t n_items);

// Independent check of a fold with copies: no copy in validation or test, every copy in training
// made from a training item and, with speaker_disjoint, none made from a validation or test
// speaker's item. "" when the fold is fine, else the first problem.
std::string check_copies(const std::vector<Item>& items, const Fold& fold, const std::vector<std::size_t>& copy_source,
                         bool speaker_disjoint);

}  // namespace ser::data
