#include "ser/dsp/filters.hpp"

#include <cmath>
#include <vector>

namespace ser::dsp {

namespace {
constexpr double kMelFSp = 200.0 / 3.0;
constexpr double kMinLogHz = 1000.0;
constexpr double kMinLogMel = kMinLogHz / kMelFSp;
const double kLogStep = std::log(6.4) / 27.0;
}  // namespace

double hz_to_mel_slaney(double hz) {
  if (hz >= kMinLogHz) return kMinLogMel + std::log(hz / kMinLogHz) / kLogStep;
  return hz / kMelFSp;
}

double mel_to_hz_slaney(double mel) {
  if (mel >= kMinLogMel) return kMinLogHz * std::exp(kLogStep * (mel - kMinLogMel));
  return kMelFSp * mel;
}

Matrix mel_filterbank(double sr, int n_fft, int n_mels, double fmin, double fmax) {
  if (fmax < 0) fmax = sr / 2.0;
  const int n_bins = n_fft / 2 + 1;
  // mel_frequencies(n_mels + 2): np.linspace over the mel scale, mapped back to Hz.
  const double min_mel = hz_to_mel_slaney(fmin), max_mel = hz_to_mel_slaney(fmax);
  std::vector<double> mel_f(static_cast<std::size_t>(n_mels) + 2);
  const double step = (max_mel - min_mel) / (n_mels + 1);
  for (int i = 0; i < n_mels + 2; ++i) mel_f[static_cast<std::size_t>(i)] = mel_to_hz_slaney(min_mel + i * step);
  mel_f.back() = mel_to_hz_slaney(max_mel);

  Matrix weights(n_mels, n_bins);
  for (int m = 0; m < n_mels; ++m) {
    const auto i = static_cast<std::size_t>(m);
    const double fdiff_lo = mel_f[i + 1] - mel_f[i];
    const double fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
    const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
    for (int k = 0; k < n_bins; ++k) {
      const double f = k * sr / n_fft;  // np.fft.rfftfreq
      const double lower = -(mel_f[i] - f) / fdiff_lo;
      const double upper = (mel_f[i + 2] - f) / fdiff_hi;
      // Stored as float32 first, then scaled by enorm (float64) and rounded again, as librosa.
      const float w = static_cast<float>(std::max(0.0, std::min(lower, upper)));
      weights(m, k) = static_cast<float>(static_cast<double>(w) * enorm);
    }
  }
  return weights;
}

Matrix chroma_filterbank(double sr, int n_fft, double tuning, int n_chroma) {
  const double ctroct = 5.0, octwidth = 2.0;
  const double a440 = 440.0 * std::pow(2.0, tuning / n_chroma);
  std::vector<double> frqbins(static_cast<std::size_t>(n_fft));
  for (int k = 1; k < n_fft; ++k) {
    const double f = static_cast<double>(k) * sr / n_fft;  // np.linspace(0, sr, n_fft, endpoint=False)
    frqbins[static_cast<std::size_t>(k)] = n_chroma * std::log2(f / (a440 / 16.0));
  }
  // The 0 Hz bin sits 1.5 octaves below bin 1.
  frqbins[0] = frqbins[1] - 1.5 * n_chroma;
  std::vector<double> binwidth(static_cast<std::size_t>(n_fft));
  for (int k = 0; k + 1 < n_fft; ++k) {
    binwidth[static_cast<std::size_t>(k)] = std::max(frqbins[static_cast<std::size_t>(k) + 1] - frqbins[static_cast<std::size_t>(k)], 1.0);
  }
  binwidth.back() = 1.0;

  const double half = std::round(n_chroma / 2.0);
  MatrixD wts(n_chroma, n_fft);
  for (int k = 0; k < n_fft; ++k) {
    const double fb = frqbins[static_cast<std::size_t>(k)];
    double norm = 0.0;
    for (int c = 0; c < n_chroma; ++c) {
      double d = std::fmod(fb - c + half + 10.0 * n_chroma, static_cast<double>(n_chroma));
      if (d < 0) d += n_chroma;
      d -= half;
      const double g = 2.0 * d / binwidth[static_cast<std::size_t>(k)];
      wts(c, k) = std::exp(-0.5 * g * g);
      norm += wts(c, k) * wts(c, k);
    }
    norm = std::sqrt(norm);
    const double oct_weight = std::exp(-0.5 * std::pow((fb / n_chroma - ctroct) / octwidth, 2.0));
    for (int c = 0; c < n_chroma; ++c) {
      wts(c, k) = (norm > 0 ? wts(c, k) / norm : wts(c, k)) * oct_weight;
    }
  }
  // base_c: roll rows by -3 so that row 0 is C; keep the non-negative frequencies.
  const int n_bins = n_fft / 2 + 1;
  const int shift = 3 * (n_chroma / 12);
  Matrix out(n_chroma, n_bins);
  for (int c = 0; c < n_chroma; ++c) {
    const int src = (c + shift) % n_chroma;
    for (int k = 0; k < n_bins; ++k) out(c, k) = static_cast<float>(wts(src, k));
  }
  return out;
}

MatrixD dct_ortho_matrix(int n_out, int n_in) {
  MatrixD m(n_out, n_in);
  for (int k = 0; k < n_out; ++k) {
    const double scale = k == 0 ? std::sqrt(1.0 / n_in) : std::sqrt(2.0 / n_in);
    for (int n = 0; n < n_in; ++n) m(k, n) = scale * std::cos(M_PI * k * (2.0 * n + 1.0) / (2.0 * n_in));
  }
  return m;
}

}  // namespace ser::dsp
