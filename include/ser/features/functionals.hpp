#pragma once
// The 1020-dim `functionals` utterance vector (FUNCTIONALS.md), exactly as its librosa 0.11
// reference computes it: six statistics over frames (mean, population std, 10th and 90th
// percentile, slope, mean absolute difference) of mfcc(40), delta mfcc(40), log-mel(64),
// chroma_stft(12), contrast(7) and six scalar descriptors, then a yin pitch block and the
// duration. The frame-level matrices are public for sequence models.
#include <string>
#include <vector>

#include "ser/dsp/types.hpp"
#include "ser/features/issa193.hpp"
#include "ser/features/registry.hpp"

namespace ser::features {

// Frames below this count are an error (delta's 9-frame window).
constexpr int kFunctionalsMinFrames = 9;

struct FunctionalsFrames {
  dsp::Matrix mfcc;         // 40 x T, = issa193's mfcc
  dsp::Matrix delta_mfcc;   // 40 x T
  dsp::Matrix logmel;       // 64 x T, power_to_db of the 64-band mel of |S|^2
  dsp::Matrix chroma_stft;  // 12 x T, = issa193's
  dsp::MatrixD contrast;    // 7 x T, = issa193's
  dsp::MatrixD rms;         // 1 x T (librosa computes it in float32; values are float32's)
  dsp::MatrixD zcr;         // 1 x T
  dsp::MatrixD centroid;    // 1 x T
  dsp::MatrixD bandwidth;   // 1 x T
  dsp::MatrixD rolloff;     // 1 x T
  dsp::Matrix flatness;     // 1 x T
  std::vector<double> f0;   // T, yin(fmin 60, fmax 600)
  std::vector<unsigned char> voiced;  // T, rms > 0.1 max(rms)
  double tuning_stft = 0;
  std::size_t n_samples = 0;
  double sr = 0;
};

// y: mono float32 at `sr` (22050 for the published set). Throws ser::Error (input) when y gives
// fewer than 9 frames: "too short for functionals (T frames, needs 9)".
FunctionalsFrames functionals_frames(const std::vector<float>& y, double sr, const TuningOverride& tuning = {});
std::vector<float> functionals_vector(const FunctionalsFrames& frames);

// Both sets from one STFT / magnitude / mel / mfcc / chroma / contrast pass; each part equals
// what issa193_frames and functionals_frames give on their own.
struct Issa193FunctionalsFrames {
  Issa193Frames issa193;
  FunctionalsFrames functionals;
};
Issa193FunctionalsFrames issa193_functionals_frames(const std::vector<float>& y, double sr,
                                                    const TuningOverride& tuning = {});

// The parity blocks (72): "<group>.<stat>" for mfcc, dmfcc, logmel, chroma, contrast (stat one of
// mean, std, p10, p90, slope, mad), "<scalar>.<stat>" for each of rms, zcr, centroid,
// bandwidth, rolloff, flatness (one value each), then pitch.mean, pitch.std, pitch.p10,
// pitch.p90, voiced_ratio, duration.
std::vector<Block> functionals_blocks();

class Functionals : public FeatureSet {
 public:
  std::string name() const override { return "functionals"; }
  int sample_rate() const override { return 22050; }
  std::vector<Block> blocks() const override { return functionals_blocks(); }
  std::string settings_fingerprint() const override;
  std::vector<float> compute(const audio::Signal& signal) const override;
  // Frames (features.frames): each analysis frame's mfcc(40), dmfcc(40), logmel(64), chroma(12),
  // contrast(7), rms, zcr, centroid, bandwidth, rolloff, flatness: 169 values, 22050 / 512 Hz,
  // the very matrices the statistics are taken over.
  std::vector<Block> frame_blocks() const override;
  double frame_rate_hz() const override { return 22050.0 / 512.0; }
  std::vector<float> compute_with_frames(const audio::Signal& signal, const FrameSink& frames) const override;
};

}  // namespace ser::features
