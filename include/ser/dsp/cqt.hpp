#pragma once
// Constant-Q transform as librosa 0.11 computes it (cqt = vqt with gamma 0): Hann-windowed
// wavelets, sparsified FFT basis, octave-by-octave recursive halving with soxr HQ.
#include <cstddef>

#include "ser/dsp/types.hpp"

namespace ser::dsp {

// np.abs(librosa.cqt(y, sr=sr, hop_length=hop, fmin=fmin, n_bins=n_bins,
// bins_per_octave=bins_per_octave, tuning=tuning)): n_bins x frames, float32. The filter basis
// depends on (sr, tuning, hop, fmin, n_bins, bins_per_octave) only and is cached (thread-safe).
Matrix cqt_magnitude(const float* y, std::size_t n, double sr, double tuning, int hop = 512,
                     double fmin = 32.703195662574829, int n_bins = 252, int bins_per_octave = 36);

// The rest of librosa.feature.chroma_cqt given C = |cqt| starting at C1: filters.cq_to_chroma
// (base C), negative values cleared, each frame divided by its maximum (frames whose maximum is
// below float32 tiny are left as they are).
Matrix chroma_cqt_from_magnitude(const Matrix& C, int bins_per_octave = 36, int n_chroma = 12);

}  // namespace ser::dsp
