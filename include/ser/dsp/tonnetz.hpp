#pragma once
// librosa 0.11 feature.tonnetz and the branch that feeds it in the 193-dim vector:
// y -> effects.harmonic -> estimate_tuning (36 bins/octave) -> cqt -> chroma_cqt -> tonnetz.
#include <cstddef>
#include <vector>

#include "ser/dsp/types.hpp"

namespace ser::dsp {

// Tonal centroids (6 x frames, float64) of a chroma matrix: each frame L1-normalised (frames
// summing below float32 tiny are left as they are), projected on fifths, minor and major thirds.
MatrixD tonnetz_from_chroma(const Matrix& chroma);

struct HarmonicBranch {
  std::vector<float> y_harm;  // effects.harmonic(y)
  double tuning_cqt = 0.0;    // estimate_tuning(y_harm, bins_per_octave=36)
  Matrix cqt_mag;             // |cqt(y_harm, tuning=tuning_cqt)|, 252 x T
  Matrix chroma_cqt;          // 12 x T
  MatrixD tonnetz;            // 6 x T
};

// D must be stft(y) with the defaults (n_fft 2048, hop 512, Hann). tuning_override, when given,
// replaces the tuning estimate (for checks against librosa's own value on flat histograms).
HarmonicBranch harmonic_branch(const float* y, std::size_t n, double sr, const ComplexMatrix& D,
                               const double* tuning_override = nullptr);
// The same from S = stft_magnitude(y, n) instead of the complex STFT (hpss.hpp's harmonic(y, n,
// S)): identical numbers in a fraction of the memory.
HarmonicBranch harmonic_branch(const float* y, std::size_t n, double sr, const Matrix& S,
                               const double* tuning_override = nullptr);
// The rest of the branch given y_harm = harmonic(y, ...): for callers that free the spectrogram
// before the tuning estimate and the CQT run.
HarmonicBranch harmonic_branch_from(std::vector<float> y_harm, double sr, const double* tuning_override = nullptr);

}  // namespace ser::dsp
