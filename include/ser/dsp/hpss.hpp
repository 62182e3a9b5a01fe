#pragma once
// Harmonic/percussive separation as librosa 0.11 computes it (decompose.hpss on a complex STFT,
// effects.harmonic), with scipy.ndimage.median_filter(mode="reflect") medians.
#include <cmath>
#include <complex>
#include <cstddef>
#include <vector>

#include "ser/dsp/types.hpp"

namespace ser::dsp {

// Sliding median of `width` values along the step axis, independently for each lane:
// in[step * stride + lane], lanes contiguous. Window [t - width/2, t + width - 1 - width/2], the
// value of rank width/2 (scipy's median_filter, origin 0). Out-of-range steps are mirrored like
// scipy's mode "reflect" (d c b a | a b c d | d c b a), repeatedly (period 2n) for signals shorter
// than the window. (scipy itself maps positions -2kn, k >= 2, to index -1 and reads outside the
// array, which matters for n <= 3 at width 31; that is not imitated.) out may not alias in; it
// uses the same layout and stride.
void median_filter_lanes(const float* in, float* out, std::size_t n_lanes, std::size_t n_steps, std::size_t stride,
                         int width);

// scipy.ndimage.median_filter(S, size=(1, width)) (along time) and size=(width, 1) (along frequency).
Matrix median_filter_time(const Matrix& S, int width);
Matrix median_filter_freq(const Matrix& S, int width);

// librosa.decompose.hpss(D, kernel_size=kernel, power=power, margin=margin)[0].
ComplexMatrix hpss_harmonic(const ComplexMatrix& D, int kernel = 31, float power = 2.0f, float margin = 1.0f);

// librosa.effects.harmonic(y) given D = stft(y) (n_fft 2048, hop 512, Hann): the harmonic part
// inverted to n samples; the same numbers as istft(hpss_harmonic(D), n), without materialising
// the masked STFT. Uses per-thread scratch buffers.
std::vector<float> harmonic(const float* y, std::size_t n, const ComplexMatrix& D);

// The same numbers from y and S = stft_magnitude(y, n) alone: the complex STFT is recomputed a
// block of frames at a time as the inverse consumes it, so it never exists whole (for a
// 10-minute file that is 212 MB, plus 318 MB of median planes, not held).
std::vector<float> harmonic(const float* y, std::size_t n, const Matrix& S);

}  // namespace ser::dsp
