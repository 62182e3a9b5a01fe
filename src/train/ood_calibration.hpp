#pragma once
// How far outside its training data an input may lie before a model's answer is flagged, learnt
// per model (private to src/train). The statistic is the largest |standardised feature| (max |z|,
// what `ser predict` reports); its distribution on *held-out* speech is estimated on the training
// part alone: K-fold (5; by speaker when the protocol is) hold-out, a scaler fitted on the other
// parts standardising each held-out row. The threshold is its 99th percentile, so about 1 % of
// new speech like the training speech is flagged (measured per fold on its test part).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "experiment.hpp"

namespace ser::train::detail {

inline constexpr double kOodQuantile = 0.99;

// {"statistic": "max_abs_z", "quantile", "threshold", "held_out_rows", "method"} for model.json's
// "ood", from the rows the model trained on (items only, no copies); null when fewer than 2
// groups (speakers or items) make a hold-out impossible.
nlohmann::json ood_calibration(const Experiment& ex, const FoldRows& rows, const std::vector<std::size_t>& trained,
                               std::uint64_t seed);

// The fraction of `test` rows (standardised by `scaler`) whose max |z| exceeds the threshold.
double ood_false_alarm_rate(const Experiment& ex, const FoldRows& rows, const std::vector<std::size_t>& test,
                            const features::StandardScaler& scaler, double threshold);

}  // namespace ser::train::detail
