#pragma once
// The 193-dim utterance vector of Issa et al. (2020), exactly as librosa 0.11 computes it
// (FEATURES.md): means over frames of mfcc(40) | chroma_stft(12) | mel(128) | contrast(7) |
// tonnetz(6). The frame-level matrices are public for sequence models.
#include <optional>
#include <vector>

#include "ser/dsp/types.hpp"
#include "ser/features/registry.hpp"

namespace ser::features {

struct Issa193Frames {
  dsp::Matrix mfcc;         // 40 x T
  dsp::Matrix chroma_stft;  // 12 x T
  dsp::Matrix mel;          // 128 x T (power)
  dsp::MatrixD contrast;    // 7 x T (dB)
  dsp::MatrixD tonnetz;     // 6 x T
  double tuning_stft = 0;
  double tuning_cqt = 0;
};

// Replaces the estimated tunings, e.g. with librosa's own values when checking a file whose
// near-flat tuning histogram tips the other way.
struct TuningOverride {
  std::optional<double> stft;
  std::optional<double> cqt;
};

// y: mono float32 at `sr` (22050 for the published set).
Issa193Frames issa193_frames(const std::vector<float>& y, double sr, const TuningOverride& tuning = {});
std::vector<float> issa193_vector(const Issa193Frames& frames);

class Issa193 : public FeatureSet {
 public:
  std::string name() const override { return "issa193"; }
  int sample_rate() const override { return 22050; }
  std::vector<Block> blocks() const override;
  std::string settings_fingerprint() const override;
  std::vector<float> compute(const audio::Signal& signal) const override;
};

}  // namespace ser::features
