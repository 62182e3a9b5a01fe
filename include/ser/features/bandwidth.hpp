#pragma once
// The band a model was trained on, and the warning for inputs that cover less of it. A model
// trained on 48 kHz recordings and analysed up to 11 kHz reads the empty band of a 16 kHz or
// telephone recording as signal: its answers on such input are confident and wrong, so every
// such input is named (predict and evaluate, per file and in the summary).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"

namespace ser::features {

// An input whose effective bandwidth is below this share of the trained band is warned about:
// the resampler's transition band and recordings' own roll-off make a few percent normal.
inline constexpr double kBandwidthTolerance = 0.9;

struct TrainedBand {
  double analysis_hz = 0;   // the band the features cover: features.fmax, else the set's rate / 2
  double bandwidth_hz = 0;  // what the training files cover within it (5th percentile); 0 = unknown
};

// model.json "audio": the analysis band, the training files' bandwidth (5th percentile, median,
// minimum, each capped at the analysis band) and native rates (rate -> count). Files whose
// facts are unknown (a store from before they were recorded) are left out; none known gives no
// "bandwidth_hz", so no warning is ever made from a guess.
nlohmann::json trained_band_json(const FeatureSet& set, const std::vector<AudioFacts>& training_files);
// Reads it back; nullopt for a card without "audio" (trained before it was recorded). Throws
// ser::Error (input) naming `where` for malformed values.
std::optional<TrainedBand> trained_band_from_json(const nlohmann::json& audio, const std::string& where);

// "" when the input covers the trained band, else the warning, e.g. "bandwidth 3900 Hz (8000 Hz
// file) is below the 7900 Hz the model was trained on: its answer is unreliable". Unknown facts
// on either side give "".
std::string bandwidth_warning(const AudioFacts& input, const TrainedBand& band);

}  // namespace ser::features
