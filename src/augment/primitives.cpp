// The librosa-equivalent signal changes. The phase vocoder keeps librosa's mixed precision under
// NumPy 2: complex64 STFT, float32 angles and phase accumulator, float64 phase advance and
// magnitude interpolation, each output bin rounded to complex64. The float32 accumulator matters:
// after a hundred frames its rounding step is ~0.01 rad in the top bins.
#pragma GCC optimize("fp-contract=off")
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>

#include "ser/audio/audio.hpp"
#include "ser/augment/augment.hpp"
#include "ser/dsp/complex_abs.hpp"
#include "ser/dsp/numpy_atan2.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/error.hpp"

namespace ser::augment {

namespace {

void require_positive(double v, const char* what) {
  if (!(v > 0.0) || !std::isfinite(v)) {
    fail_config(what, "must be a finite number > 0 (got " + std::to_string(v) + ")");
  }
}

// Outside it an op's output length (and cost) grows without bound: factor 1e-6 asks for a
// million-fold longer signal.
void require_rate(double v, const char* what) {
  if (!(v >= kMinRate && v <= kMaxRate)) {
    fail_config(what, "must be in [0.25, 4] (got " + std::to_string(v) + ")");
  }
}

// librosa.resample(..., res_type="soxr_hq", fix=True); equal rates return the input unchanged.
std::vector<float> resample_librosa(const std::vector<float>& y, double orig_sr, double target_sr) {
  if (orig_sr == target_sr) return y;
  return audio::resample(y, orig_sr, target_sr);
}

}  // namespace

std::vector<float> change_speed(const std::vector<float>& y, int sr, double factor) {
  require_rate(factor, "speed factor");
  if (y.empty()) return {};
  return resample_librosa(y, sr, static_cast<double>(sr) / factor);
}

std::vector<float> time_stretch(const std::vector<float>& y, double rate) {
  require_rate(rate, "tempo rate");
  const auto out_len = static_cast<std::size_t>(std::nearbyint(static_cast<double>(y.size()) / rate));
  if (y.empty() || out_len == 0) return std::vector<float>(out_len, 0.0f);
  const dsp::ComplexMatrix D = dsp::stft(y.data(), y.size());
  const Eigen::Index n_bins = D.rows(), n_cols = D.cols();
  const int n_fft = 2 * static_cast<int>(n_bins - 1), hop = n_fft / 4;

  // np.arange(0, n_cols, rate): ceil(n_cols / rate) steps at i * rate.
  const auto n_steps = static_cast<Eigen::Index>(std::ceil(static_cast<double>(n_cols) / rate));
  // Angles and magnitudes of every column plus the two zero columns librosa pads with.
  std::vector<float> angle(static_cast<std::size_t>(n_bins * (n_cols + 2)), 0.0f);
  std::vector<float> mag(angle.size(), 0.0f);
  for (Eigen::Index t = 0; t < n_cols; ++t) {
    for (Eigen::Index k = 0; k < n_bins; ++k) {
      const std::complex<float> z = D(k, t);
      const auto i = static_cast<std::size_t>(t * n_bins + k);
      angle[i] = dsp::numpy_atan2f(z.imag(), z.real());
      mag[i] = dsp::numpy_abs(z);
    }
  }
  // hop * fft_frequencies(sr=2 pi, n_fft) as NumPy evaluates it: k * (1 / (n_fft * (1 / (2 pi)))).
  std::vector<double> phi_advance(static_cast<std::size_t>(n_bins));
  const double bin_hz = 1.0 / (n_fft * (1.0 / (2.0 * M_PI)));
  for (Eigen::Index k = 0; k < n_bins; ++k) phi_advance[static_cast<std::size_t>(k)] = hop * (static_cast<double>(k) * bin_hz);

  std::vector<float> phase_acc(angle.begin(), angle.begin() + n_bins);
  dsp::ComplexMatrix S(n_bins, n_steps);
  const double two_pi = 2.0 * M_PI;
  for (Eigen::Index t = 0; t < n_steps; ++t) {
    const double step = static_cast<double>(t) * rate;
    const auto c = static_cast<std::size_t>(step);
    const double alpha = std::fmod(step, 1.0);
    const float* m0 = mag.data() + c * n_bins;
    const float* m1 = m0 + n_bins;
    const float* a0 = angle.data() + c * n_bins;
    const float* a1 = a0 + n_bins;
    std::complex<float>* out = S.col(t).data();
    for (Eigen::Index k = 0; k < n_bins; ++k) {
      const double m = (1.0 - alpha) * static_cast<double>(m0[k]) + alpha * static_cast<double>(m1[k]);
      float sin_p, cos_p;
      ::sincosf(phase_acc[static_cast<std::size_t>(k)], &sin_p, &cos_p);
      out[k] = {static_cast<float>(static_cast<double>(cos_p) * m), static_cast<float>(static_cast<double>(sin_p) * m)};
      double dphase = static_cast<double>(a1[k] - a0[k]) - phi_advance[static_cast<std::size_t>(k)];
      dphase = dphase - two_pi * std::nearbyint(dphase / two_pi);
      phase_acc[static_cast<std::size_t>(k)] = static_cast<float>(
          static_cast<double>(phase_acc[static_cast<std::size_t>(k)]) + (phi_advance[static_cast<std::size_t>(k)] + dphase));
    }
  }
  return dsp::istft(S, out_len, hop);
}

std::vector<float> pitch_shift(const std::vector<float>& y, int sr, double n_steps, int bins_per_octave) {
  if (!std::isfinite(n_steps)) fail_config("pitch steps", "must be a finite number of semitones");
  if (bins_per_octave <= 0) fail_config("pitch bins_per_octave", "must be a positive integer");
  if (!(std::abs(n_steps) <= kMaxPitchOctaves * bins_per_octave)) {
    fail_config("pitch steps", "must be within two octaves (|steps| <= 2 * bins_per_octave)");
  }
  const double rate = std::pow(2.0, -n_steps / bins_per_octave);
  std::vector<float> out = resample_librosa(time_stretch(y, rate), static_cast<double>(sr) / rate, sr);
  out.resize(y.size(), 0.0f);  // util.fix_length to the input's length
  return out;
}

Trimmed trim(const std::vector<float>& y, double top_db, int frame_length, int hop) {
  require_positive(top_db, "trim top_db");
  Trimmed r;
  const std::size_t n = y.size();
  if (n == 0) return r;
  // feature.rms(center=True, pad_mode="constant"): frame t covers y[t*hop - L/2, t*hop + L/2).
  const std::size_t L = static_cast<std::size_t>(frame_length), H = static_cast<std::size_t>(hop);
  const std::size_t frames = 1 + n / H;
  std::vector<float> rms(frames);
  for (std::size_t t = 0; t < frames; ++t) {
    const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(t * H) - static_cast<std::ptrdiff_t>(L / 2);
    double acc = 0.0;
    for (std::size_t j = 0; j < L; ++j) {
      const std::ptrdiff_t i = start + static_cast<std::ptrdiff_t>(j);
      if (i < 0 || static_cast<std::size_t>(i) >= n) continue;
      const float v = y[static_cast<std::size_t>(i)];
      acc += static_cast<double>(v * v);  // np.square in float32
    }
    rms[t] = std::sqrt(static_cast<float>(acc) / static_cast<float>(L));
  }
  // amplitude_to_db(rms, ref=np.max, top_db=None) > -top_db, in float32 as librosa computes it.
  const float ref = *std::max_element(rms.begin(), rms.end());
  const float amin = 1e-10f;
  const float ref_db = 10.0f * std::log10(std::max(amin, ref * ref));
  std::ptrdiff_t first = -1, last = -1;
  for (std::size_t t = 0; t < frames; ++t) {
    const float db = 10.0f * std::log10(std::max(amin, rms[t] * rms[t])) - ref_db;
    if (db > static_cast<float>(-top_db)) {
      if (first < 0) first = static_cast<std::ptrdiff_t>(t);
      last = static_cast<std::ptrdiff_t>(t);
    }
  }
  if (first < 0) return r;
  r.start = static_cast<std::size_t>(first) * H;
  r.end = std::min(n, static_cast<std::size_t>(last + 1) * H);
  r.samples.assign(y.begin() + static_cast<std::ptrdiff_t>(r.start), y.begin() + static_cast<std::ptrdiff_t>(r.end));
  return r;
}

std::vector<float> add_noise(const std::vector<float>& y, double snr_db, double fraction, Rng& rng) {
  if (!std::isfinite(snr_db)) fail_config("noise snr_db", "must be a finite number of dB");
  if (!(fraction > 0.0 && fraction <= 1.0)) fail_config("noise fraction", "must be in (0, 1]");
  std::vector<float> out = y;
  const std::size_t n = y.size();
  if (n == 0) return out;
  const auto len = std::clamp<std::size_t>(static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n))), 1, n);
  const std::size_t start = len == n ? 0 : static_cast<std::size_t>(rng.below(n - len + 1));
  double power = 0.0;
  for (std::size_t i = start; i < start + len; ++i) power += static_cast<double>(y[i]) * y[i];
  power /= static_cast<double>(len);
  const double sigma = std::sqrt(power / std::pow(10.0, snr_db / 10.0));
  for (std::size_t i = start; i < start + len; ++i) out[i] = static_cast<float>(y[i] + sigma * rng.normal());
  return out;
}

std::vector<float> shift(const std::vector<float>& y, std::size_t samples, bool delay) {
  const std::size_t n = y.size();
  if (samples >= n && samples > 0) {
    fail_input("shift", "a shift of " + std::to_string(samples) + " samples is not shorter than the clip (" +
                            std::to_string(n) + " samples)");
  }
  std::vector<float> out(n, 0.0f);
  if (delay) {
    std::copy(y.begin(), y.end() - static_cast<std::ptrdiff_t>(samples), out.begin() + static_cast<std::ptrdiff_t>(samples));
  } else {
    std::copy(y.begin() + static_cast<std::ptrdiff_t>(samples), y.end(), out.begin());
  }
  return out;
}

}  // namespace ser::augment
