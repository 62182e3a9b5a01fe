#pragma once
// Filter banks with librosa 0.11's default construction (float32 weights).
#include "ser/dsp/types.hpp"

namespace ser::dsp {

double hz_to_mel_slaney(double hz);
double mel_to_hz_slaney(double mel);

// librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False, norm="slaney").
Matrix mel_filterbank(double sr, int n_fft, int n_mels = 128, double fmin = 0.0, double fmax = -1.0);

// librosa.filters.chroma(sr, n_fft, tuning, n_chroma=12, ctroct=5, octwidth=2, norm=2, base_c=True).
Matrix chroma_filterbank(double sr, int n_fft, double tuning, int n_chroma = 12);

// Orthonormal DCT-II matrix (n_out x n_in), scipy.fft.dct(type=2, norm="ortho") rows 0..n_out-1.
MatrixD dct_ortho_matrix(int n_out, int n_in);

}  // namespace ser::dsp
