#pragma once
// Per-speaker standardisation (FUNCTIONALS.md, last section): every feature of a speaker's rows
// is standardised by that speaker's mean and population std (+1e-8), before the usual scaler.
// Statistics come from the speaker's TRAINING rows when it has any, otherwise from its own rows
// in the part being predicted: their features only, never their labels. For test speakers this
// is transductive, and results that use it say so ("speaker-normalised").
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ser/data/protocols.hpp"

namespace ser::features {

struct SpeakerStats {
  std::size_t n = 0;
  std::vector<double> mean, scale;  // scale = population std + 1e-8
};

// Statistics of rows[indices] (row-major, `dim` per row), in double. Throws ser::Error (input)
// naming the speaker when fewer than 2 rows are given.
SpeakerStats speaker_stats(const float* rows, const std::vector<std::size_t>& indices, std::size_t dim,
                           const std::string& speaker);
// row[j] = (row[j] - mean[j]) / scale[j], computed in double.
void apply_speaker_stats(const SpeakerStats& s, float* row);

nlohmann::json to_json(const SpeakerStats& s);
SpeakerStats speaker_stats_from_json(const nlohmann::json& j, const std::string& origin);

struct FoldNormalization {
  std::vector<float> values;                    // every row of the input, normalised
  std::map<std::string, SpeakerStats> training;  // the training speakers' statistics (kept with the model)
  std::vector<std::string> from_own_part;       // speakers with no training items (validation/test ones)
};

// One fold's rows normalised by the rule above. speakers[i] is item i's speaker (i < n_items);
// rows past n_items are copies, copy j made from item copy_source[j], and are normalised with
// their source's statistics. A training speaker's statistics use its corpus items in fold.train
// only (never copies); a speaker without training items uses its own items of the part it is
// in (validation or test). Items outside the fold are copied unchanged. Throws ser::Error
// (input) for an item without a speaker or a statistics group of fewer than 2 items.
FoldNormalization normalize_fold(const std::vector<float>& values, std::size_t dim,
                                 const std::vector<std::string>& speakers, std::size_t n_items,
                                 const std::vector<std::size_t>& copy_source, const data::Fold& fold);

// Rows grouped by `groups` (one name per row), each group by its own statistics: what prediction
// does with new audio. Groups of fewer than 10 rows are named in `small_groups`.
void normalize_groups(std::vector<float>& rows, std::size_t dim, const std::vector<std::string>& groups,
                      std::vector<std::string>* small_groups = nullptr);

}  // namespace ser::features
