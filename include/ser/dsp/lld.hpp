#pragma once
// Frame-level low-level descriptors as librosa 0.11 computes them (feature/spectral.py,
// feature/utils.py, core/pitch.py), for the `functionals` feature set (FUNCTIONALS.md). Each
// takes librosa's defaults unless stated and returns librosa's dtype: float32 (Matrix) where
// librosa's result is float32, float64 (MatrixD) otherwise. Spectral ones take the float32
// magnitude spectrogram S (n_fft/2+1 x T) of dsp::stft.
#include <cstddef>
#include <vector>

#include "ser/dsp/types.hpp"

namespace ser::dsp {

// librosa.feature.delta(X, width, order=1, axis=-1, mode="interp"): scipy's savgol_filter
// (polyorder 1, deriv 1); the first and last width/2 frames take the slope of the least-squares
// line through the first / last `width` frames. Throws std::invalid_argument when X has fewer
// than `width` columns or width is even or < 3.
Matrix delta(const Matrix& X, int width = 9);

// librosa.feature.rms(S=S, frame_length): float32 as librosa computes it (1 x T).
Matrix rms_from_magnitude(const Matrix& S_mag, int frame_length = 2048);

// librosa.feature.zero_crossing_rate(y, frame_length, hop_length, center=True): edge padding
// of frame_length/2, threshold 1e-10, zero counts as positive; 1 x (1 + n/hop), float64.
MatrixD zero_crossing_rate(const float* y, std::size_t n, int frame_length = 2048, int hop = 512);

// librosa.feature.spectral_centroid(S=S, sr): 1 x T, float64.
MatrixD spectral_centroid(const Matrix& S_mag, double sr);
// librosa.feature.spectral_bandwidth(S=S, sr, centroid=centroid, p=2, norm=True): 1 x T.
MatrixD spectral_bandwidth(const Matrix& S_mag, double sr, const MatrixD& centroid);
// librosa.feature.spectral_rolloff(S=S, sr, roll_percent): 1 x T, float64.
MatrixD spectral_rolloff(const Matrix& S_mag, double sr, double roll_percent = 0.85);
// librosa.feature.spectral_flatness(S=S, amin, power=2): 1 x T, float32.
Matrix spectral_flatness(const Matrix& S_mag, float amin = 1e-10f);

// librosa.yin(y, fmin, fmax, sr, frame_length, hop_length, trough_threshold, center=True,
// pad_mode="constant"), librosa 0.11's float32 path: scipy.fft autocorrelation of each whole
// frame (size next_fast_len(2 frame_length - 1)), reproduced bit for bit with RealFftF32.
// Returns one f0 (Hz, float64) per frame, 1 + n/hop frames.
std::vector<double> yin(const float* y, std::size_t n, double fmin, double fmax, double sr, int frame_length = 2048,
                        int hop = 512, double trough_threshold = 0.1);

}  // namespace ser::dsp
