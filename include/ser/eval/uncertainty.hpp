#pragma once
// Prediction tables as resampling inputs (eval/stats.hpp): items identified by their id, grouped
// by the "repeat" column when a run has repeats, each item's unit its speaker (speaker protocols)
// or itself; and the bootstrap intervals a run's metrics.json and report.md carry.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ser/eval/predictions.hpp"
#include "ser/eval/stats.hpp"

namespace ser::eval {

inline constexpr int kBootstrapResamples = 2000;
inline constexpr double kConfidenceLevel = 0.95;

// A table's items in a fixed order (sorted by id) and its predictions per repeat.
struct ScoredTable {
  stats::Scored scored;
  std::vector<std::string> ids;    // parallel to scored.truth
  std::vector<std::string> units;  // name of each unit (speaker or item id)
  std::string unit;                // "speaker" | "item"
  int repeats = 1;
};

// unit: "speaker" resamples the `speaker` column's values (every row needs one), "item" each
// item. Throws ser::Error (input) naming `origin` for unlabelled rows, an id given twice within a
// repeat, repeats over different items, or an item whose truth or speaker differs between repeats.
ScoredTable scored_table(const PredictionTable& table, const std::string& unit, const std::string& origin);

// The resampling unit a protocol calls for: speakers when its test folds are speakers.
std::string resample_unit_for(const std::string& protocol, bool holdout_by_speaker);

// {"level", "method", "resamples", "seed", "unit", "n_units", "accuracy": [lo, hi],
//  "balanced_accuracy": [...], "macro_f1": [...]} for the table's pooled metrics.
nlohmann::json bootstrap_json(const ScoredTable& t, std::uint64_t seed, int resamples = kBootstrapResamples);

// "[0.512, 0.566]" from a [lo, hi] pair of bootstrap_json; "" when absent.
std::string interval_text(const nlohmann::json& ci, const std::string& key);

}  // namespace ser::eval
