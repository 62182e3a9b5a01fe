#pragma once
// Frame-level spectral features over a magnitude spectrogram S (n_fft/2+1 x frames), with
// librosa 0.11 defaults.
#include "ser/dsp/types.hpp"

namespace ser::dsp {

// librosa.power_to_db(S, ref=1, amin=1e-10, top_db): top_db clips relative to the maximum of
// the whole matrix. top_db < 0 disables clipping.
Matrix power_to_db(const Matrix& S, float amin = 1e-10f, float top_db = 80.0f);
MatrixD power_to_db(const MatrixD& S, double amin = 1e-10, double top_db = 80.0);

// melspectrogram(power=2) from the magnitude: mel_basis . |S|^2.
Matrix melspectrogram(const Matrix& S_mag, double sr, int n_fft = 2048, int n_mels = 128);

// mfcc(S=power_to_db(mel)): orthonormal DCT-II over the mel axis, first n_mfcc rows.
Matrix mfcc_from_mel_db(const Matrix& mel_db, int n_mfcc = 40);

// chroma_stft(S=S_mag, tuning): filter bank times S, each frame divided by its maximum.
Matrix chroma_stft(const Matrix& S_mag, double sr, double tuning, int n_fft = 2048, int n_chroma = 12);

// spectral_contrast(S=S_mag): fmin 200, 6 octave bands + remainder, quantile 0.02, in dB.
MatrixD spectral_contrast(const Matrix& S_mag, double sr, int n_fft = 2048, double fmin = 200.0, int n_bands = 6,
                          double quantile = 0.02);

}  // namespace ser::dsp
