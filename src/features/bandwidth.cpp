#include "ser/features/bandwidth.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "ser/error.hpp"

namespace ser::features {

namespace {

double analysis_band(const FeatureSet& set) {
  return set.band_limit_hz() > 0 ? set.band_limit_hz() : set.sample_rate() / 2.0;
}

// numpy's default (linear) percentile of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

nlohmann::json trained_band_json(const FeatureSet& set, const std::vector<AudioFacts>& training_files) {
  const double analysis = analysis_band(set);
  nlohmann::json j = {{"analysis_band_hz", analysis}, {"band_limit_hz", set.band_limit_hz()}};
  std::vector<double> bw;
  std::map<int, std::size_t> rates;
  for (const auto& f : training_files) {
    if (!f.known()) continue;
    bw.push_back(std::min(f.bandwidth_hz, analysis));
    ++rates[f.native_rate];
  }
  j["files"] = bw.size();
  if (bw.empty()) return j;
  std::sort(bw.begin(), bw.end());
  j["bandwidth_hz"] = std::round(percentile(bw, 5));
  j["bandwidth_median_hz"] = std::round(percentile(bw, 50));
  j["bandwidth_min_hz"] = std::round(bw.front());
  nlohmann::json r = nlohmann::json::object();
  for (const auto& [rate, n] : rates) r[std::to_string(rate)] = n;
  j["native_rates"] = r;
  return j;
}

std::optional<TrainedBand> trained_band_from_json(const nlohmann::json& audio, const std::string& where) {
  if (audio.is_null()) return std::nullopt;
  auto number = [&](const char* key, bool required) {
    if (!audio.contains(key)) {
      if (required) fail_input(where, std::string("'audio' lacks ") + key);
      return 0.0;
    }
    const auto& v = audio[key];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
      fail_input(where, std::string("'audio.") + key + "' must be a number >= 0");
    }
    return v.get<double>();
  };
  if (!audio.is_object()) fail_input(where, "'audio' must be an object");
  TrainedBand b;
  b.analysis_hz = number("analysis_band_hz", true);
  b.bandwidth_hz = number("bandwidth_hz", false);
  return b;
}

std::string bandwidth_warning(const AudioFacts& input, const TrainedBand& band) {
  if (!input.known() || band.bandwidth_hz <= 0) return "";
  const double covered = std::min(input.bandwidth_hz, band.analysis_hz);
  if (covered >= kBandwidthTolerance * band.bandwidth_hz) return "";
  return "bandwidth " + std::to_string(std::lround(covered)) + " Hz (a " + std::to_string(input.native_rate) +
         " Hz file) is below the " + std::to_string(std::lround(band.bandwidth_hz)) +
         " Hz the model was trained on: features read the missing band as signal, so the answer is unreliable";
}

}  // namespace ser::features
