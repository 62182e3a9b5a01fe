#include "ser/dsp/tuning.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace ser::dsp {

namespace {

// numba stencil in librosa's _parabolic_interpolation: float32 inputs, the integer constants
// promote the arithmetic to float64, the result is stored as float32.
inline float parabolic_shift(float prev, float cur, float next) {
  const double a = static_cast<double>(next + prev) - 2.0 * static_cast<double>(cur);
  const double b = static_cast<double>(next - prev) / 2.0;
  if (std::abs(b) >= std::abs(a)) return 0.0f;
  return static_cast<float>(-b / a);
}

// np.histogram(residual, np.linspace(-0.5, 0.5, n_bins + 1)) then the left edge of the first
// fullest bin, with numpy's exact float64 edge comparisons.
double histogram_peak(const std::vector<float>& residuals, double resolution) {
  const int n_bins = static_cast<int>(std::ceil(1.0 / resolution));
  std::vector<double> edges(static_cast<std::size_t>(n_bins) + 1);
  const double step = 1.0 / n_bins;
  for (int i = 0; i <= n_bins; ++i) edges[static_cast<std::size_t>(i)] = i * step + -0.5;
  edges.back() = 0.5;
  std::vector<int> counts(static_cast<std::size_t>(n_bins), 0);
  for (float rf : residuals) {
    const double r = rf;
    if (r < -0.5 || r > 0.5) continue;
    auto idx = static_cast<long>(((r - -0.5) / 1.0) * n_bins);
    if (idx == n_bins) --idx;
    if (r < edges[static_cast<std::size_t>(idx)]) --idx;
    if (idx != n_bins - 1 && r >= edges[static_cast<std::size_t>(idx) + 1]) ++idx;
    ++counts[static_cast<std::size_t>(idx)];
  }
  const auto best = std::max_element(counts.begin(), counts.end()) - counts.begin();
  return edges[static_cast<std::size_t>(best)];
}

}  // namespace

double estimate_tuning(const Matrix& S, double sr, int n_fft, int bins_per_octave, double fmin, double fmax,
                       float threshold) {
  const Eigen::Index n_bins = S.rows(), n_frames = S.cols();
  fmin = std::max(fmin, 0.0);
  fmax = std::min(fmax, sr / 2.0);
  // Bins whose centre frequency k * sr / n_fft lies in [fmin, fmax).
  Eigen::Index k_lo = n_bins, k_hi = 0;
  for (Eigen::Index k = 0; k < n_bins; ++k) {
    const double f = static_cast<double>(k) * sr / n_fft;
    if (fmin <= f && f < fmax) {
      k_lo = std::min(k_lo, k);
      k_hi = std::max(k_hi, k + 1);
    }
  }
  // localmax (x[k] > x[k-1] and x[k] >= x[k+1]) needs both neighbours, so the
  // first and last bins never qualify.
  k_lo = std::max<Eigen::Index>(k_lo, 1);
  k_hi = std::min<Eigen::Index>(k_hi, n_bins - 1);

  std::vector<float> pitches, mags;
  for (Eigen::Index t = 0; t < n_frames; ++t) {
    const float* s = S.col(t).data();
    const float ref = threshold * *std::max_element(s, s + n_bins);
    auto gated = [&](Eigen::Index k) { return s[k] > ref ? s[k] : 0.0f; };  // S * (S > ref)
    for (Eigen::Index k = k_lo; k < k_hi; ++k) {
      const float g = gated(k);
      if (!(g > gated(k - 1) && g >= gated(k + 1))) continue;
      const float shift = parabolic_shift(s[k - 1], s[k], s[k + 1]);
      const float avg = (s[k + 1] - s[k - 1]) / 2.0f;  // np.gradient, interior points
      const float dskew = 0.5f * avg * shift;
      const auto pitch = static_cast<float>((static_cast<double>(k) + shift) * sr / n_fft);
      if (pitch > 0.0f) {
        pitches.push_back(pitch);
        mags.push_back(s[k] + dskew);
      }
    }
  }
  if (pitches.empty()) return 0.0;

  // np.median of float32: mean of the two middle values for an even count, in float32.
  std::vector<float> sorted = mags;
  const std::size_t n = sorted.size(), mid = n / 2;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(mid), sorted.end());
  float median = sorted[mid];
  if (n % 2 == 0) {
    const float lower = *std::max_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(mid));
    median = (lower + median) / 2.0f;
  }

  // hz_to_octs in float32: log2(f / (440 / 16)), scaled by bins_per_octave, residual mod 1.
  // NumPy's AVX-512 float32 log2 (SVML) differs from glibc's log2f in the last bit for ~1.3 % of
  // inputs; on a near-flat histogram that can tip the estimate by a bin (0.1-0.2 % of files).
  std::vector<float> residuals;
  residuals.reserve(n);
  const float a440_16 = static_cast<float>(440.0 / 16.0);
  for (std::size_t i = 0; i < n; ++i) {
    if (!(mags[i] >= median)) continue;
    const float octs = std::log2(pitches[i] / a440_16);
    const float scaled = static_cast<float>(bins_per_octave) * octs;
    float r = std::fmod(scaled, 1.0f);
    if (r < 0.0f) r += 1.0f;  // np.mod takes the divisor's sign
    if (r >= 0.5f) r -= 1.0f;
    residuals.push_back(r);
  }
  if (residuals.empty()) return 0.0;
  return histogram_peak(residuals, 0.01);
}

}  // namespace ser::dsp
