#pragma once
// librosa.estimate_tuning / piptrack / pitch_tuning. Speech gives nearly flat tuning histograms,
// so this path runs in float32 exactly where librosa does: a float64 shortcut moves the
// estimate on about 1 % of files.
#include "ser/dsp/types.hpp"

namespace ser::dsp {

// S: magnitude spectrogram (n_fft/2+1 x frames), float32 as librosa's np.abs(stft) gives it.
// Returns the tuning deviation in fractions of a bin, in [-0.5, 0.5), at 0.01 resolution.
double estimate_tuning(const Matrix& S, double sr, int n_fft = 2048, int bins_per_octave = 12,
                       double fmin = 150.0, double fmax = 4000.0, float threshold = 0.1f);

}  // namespace ser::dsp
