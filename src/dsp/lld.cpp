#include "ser/dsp/lld.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "ser/dsp/pocketfft_f32.hpp"

namespace ser::dsp {

namespace {

// NumPy's pairwise summation (add.reduce over a contiguous axis), in the element type.
template <typename T>
T pairwise_sum(const T* a, std::size_t n) {
  if (n < 8) {
    T res = 0;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    T r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// np.fft.rfftfreq(n_fft, 1/sr): k * (1 / (n_fft * (1/sr))).
std::vector<double> fft_freqs(double sr, std::size_t n_bins) {
  const double n_fft = 2.0 * static_cast<double>(n_bins - 1);
  const double val = 1.0 / (n_fft * (1.0 / sr));
  std::vector<double> f(n_bins);
  for (std::size_t k = 0; k < n_bins; ++k) f[k] = static_cast<double>(k) * val;
  return f;
}

// util.normalize(S[:, t], norm=1): float64 length, float32 result; columns whose length is below
// float32's tiny are left as they are.
void normalize_l1(const float* s, std::size_t n, double* mag, float* out) {
  for (std::size_t k = 0; k < n; ++k) mag[k] = std::abs(static_cast<double>(s[k]));
  double length = pairwise_sum(mag, n);
  if (length < static_cast<double>(std::numeric_limits<float>::min())) length = 1.0;
  for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<float>(static_cast<double>(s[k]) / length);
}

// scipy.fft.next_fast_len(n, real=True): the smallest 2^a 3^b 5^c >= n.
std::size_t next_fast_len_real(std::size_t n) {
  std::size_t best = std::numeric_limits<std::size_t>::max();
  for (std::size_t p5 = 1; p5 < best; p5 *= 5) {
    for (std::size_t p35 = p5; p35 < best; p35 *= 3) {
      std::size_t v = p35;
      while (v < n) v *= 2;
      best = std::min(best, v);
      if (p35 >= n) break;
    }
    if (p5 >= n) break;
  }
  return best;
}

}  // namespace

Matrix delta(const Matrix& X, int width) {
  if (width < 3 || width % 2 == 0) throw std::invalid_argument("delta: width must be odd and >= 3");
  const Eigen::Index T = X.cols(), half = width / 2;
  if (T < width) throw std::invalid_argument("delta: fewer frames than the window width");
  // Correlation weights w[half + k] for offsets k = -half..half. For width 9 (librosa's default)
  // they are SciPy's own savgol_coeffs(9, 1, deriv=1), reversed: a least-squares solution whose
  // last bits (and the -3.5e-18 centre) differ from the exact k / 60. SciPy's correlate1d
  // sees them as antisymmetric and sums (x[t+j] - x[t-j]) * w[j] from the outermost tap in; both
  // the weights and that order decide the float32 rounding of a delta, and the mean of a delta
  // over a file cancels down to where those roundings show.
  static const double kSavgol9[9] = {-0.06666666666666668,  -0.05000000000000002, -0.033333333333333354,
                                     -0.016666666666666673, -3.469446951953614e-18, 0.016666666666666666,
                                     0.03333333333333334,   0.05000000000000002,  0.06666666666666667};
  std::vector<double> w(static_cast<std::size_t>(width));
  if (width == 9) {
    std::copy(kSavgol9, kSavgol9 + 9, w.begin());
  } else {
    double norm = 0;
    for (Eigen::Index k = -half; k <= half; ++k) norm += static_cast<double>(k) * static_cast<double>(k);
    for (Eigen::Index k = -half; k <= half; ++k) w[static_cast<std::size_t>(k + half)] = static_cast<double>(k) / norm;
  }
  const double* wc = w.data() + half;  // wc[k], k = -half..half
  Matrix out(X.rows(), T);
  for (Eigen::Index r = 0; r < X.rows(); ++r) {
    auto slope_at = [&](Eigen::Index c) {
      double acc = static_cast<double>(X(r, c)) * wc[0];
      for (Eigen::Index j = -half; j < 0; ++j) {
        acc += (static_cast<double>(X(r, c + j)) - static_cast<double>(X(r, c - j))) * wc[j];
      }
      return acc;
    };
    for (Eigen::Index t = half; t < T - half; ++t) out(r, t) = static_cast<float>(slope_at(t));
    // mode="interp": the first/last half frames take the slope of the line fitted to the
    // first/last `width` frames (least squares: sum k x / sum k^2, exact for a line).
    auto fitted_slope = [&](Eigen::Index c) {
      double num = 0, den = 0;
      for (Eigen::Index k = -half; k <= half; ++k) {
        num += static_cast<double>(k) * static_cast<double>(X(r, c + k));
        den += static_cast<double>(k) * static_cast<double>(k);
      }
      return static_cast<float>(num / den);
    };
    const float first = fitted_slope(half), last = fitted_slope(T - 1 - half);
    for (Eigen::Index t = 0; t < half; ++t) {
      out(r, t) = first;
      out(r, T - 1 - t) = last;
    }
  }
  return out;
}

Matrix rms_from_magnitude(const Matrix& S_mag, int frame_length) {
  const auto bins = static_cast<std::size_t>(S_mag.rows());
  if (bins != static_cast<std::size_t>(frame_length / 2 + 1)) throw std::invalid_argument("rms: S does not match frame_length");
  Matrix out(1, S_mag.cols());
  std::vector<float> x(bins);
  const float denom = static_cast<float>(static_cast<double>(frame_length) * frame_length);
  for (Eigen::Index t = 0; t < S_mag.cols(); ++t) {
    const float* s = S_mag.col(t).data();
    for (std::size_t k = 0; k < bins; ++k) x[k] = s[k] * s[k];
    x[0] *= 0.5f;
    if (frame_length % 2 == 0) x[bins - 1] *= 0.5f;
    const float power = 2.0f * pairwise_sum(x.data(), bins) / denom;
    out(0, t) = std::sqrt(power);
  }
  return out;
}

MatrixD zero_crossing_rate(const float* y, std::size_t n, int frame_length, int hop) {
  const std::size_t frames = 1 + n / static_cast<std::size_t>(hop), half = static_cast<std::size_t>(frame_length / 2);
  MatrixD out(1, static_cast<Eigen::Index>(frames));
  if (n == 0) {
    out.setZero();
    return out;
  }
  // Sign bit of the edge-padded signal, samples with |y| <= 1e-10 counted as +0.
  const float thr = 1e-10f;
  const std::size_t padded = n + 2 * half;
  auto sign_at = [&](std::size_t j) {
    const float v = y[j < half ? 0 : (j - half >= n ? n - 1 : j - half)];
    return std::abs(v) <= thr ? false : std::signbit(v);
  };
  // prefix[j] = number of sign changes between positions i-1, i for 1 <= i <= j.
  std::vector<std::uint32_t> prefix(padded, 0);
  bool prev = sign_at(0);
  for (std::size_t j = 1; j < padded; ++j) {
    const bool cur = sign_at(j);
    prefix[j] = prefix[j - 1] + (cur != prev ? 1u : 0u);
    prev = cur;
  }
  const std::size_t L = static_cast<std::size_t>(frame_length);
  for (std::size_t t = 0; t < frames; ++t) {
    const std::size_t s = t * static_cast<std::size_t>(hop);  // frame covers [s, s + L)
    const std::uint32_t count = prefix[s + L - 1] - prefix[s];
    out(0, static_cast<Eigen::Index>(t)) = static_cast<double>(count) / static_cast<double>(L);
  }
  return out;
}

MatrixD spectral_centroid(const Matrix& S_mag, double sr) {
  const auto bins = static_cast<std::size_t>(S_mag.rows());
  const std::vector<double> freq = fft_freqs(sr, bins);
  std::vector<double> mag(bins), prod(bins);
  std::vector<float> norm(bins);
  MatrixD out(1, S_mag.cols());
  for (Eigen::Index t = 0; t < S_mag.cols(); ++t) {
    normalize_l1(S_mag.col(t).data(), bins, mag.data(), norm.data());
    for (std::size_t k = 0; k < bins; ++k) prod[k] = freq[k] * static_cast<double>(norm[k]);
    out(0, t) = pairwise_sum(prod.data(), bins);
  }
  return out;
}

MatrixD spectral_bandwidth(const Matrix& S_mag, double sr, const MatrixD& centroid) {
  const auto bins = static_cast<std::size_t>(S_mag.rows());
  const std::vector<double> freq = fft_freqs(sr, bins);
  std::vector<double> mag(bins), prod(bins);
  std::vector<float> norm(bins);
  MatrixD out(1, S_mag.cols());
  for (Eigen::Index t = 0; t < S_mag.cols(); ++t) {
    normalize_l1(S_mag.col(t).data(), bins, mag.data(), norm.data());
    const double c = centroid(0, t);
    for (std::size_t k = 0; k < bins; ++k) {
      const double dev = std::abs(c - freq[k]);
      prod[k] = static_cast<double>(norm[k]) * (dev * dev);
    }
    out(0, t) = std::sqrt(pairwise_sum(prod.data(), bins));
  }
  return out;
}

MatrixD spectral_rolloff(const Matrix& S_mag, double sr, double roll_percent) {
  const auto bins = static_cast<std::size_t>(S_mag.rows());
  const std::vector<double> freq = fft_freqs(sr, bins);
  std::vector<float> cum(bins);
  const float pct = static_cast<float>(roll_percent);
  MatrixD out(1, S_mag.cols());
  for (Eigen::Index t = 0; t < S_mag.cols(); ++t) {
    const float* s = S_mag.col(t).data();
    float acc = 0;
    for (std::size_t k = 0; k < bins; ++k) cum[k] = acc = acc + s[k];
    const float threshold = pct * cum[bins - 1];
    std::size_t k = 0;
    while (k + 1 < bins && cum[k] < threshold) ++k;
    out(0, t) = freq[k];
  }
  return out;
}

Matrix spectral_flatness(const Matrix& S_mag, float amin) {
  const auto bins = static_cast<std::size_t>(S_mag.rows());
  std::vector<float> thresh(bins), logs(bins);
  Matrix out(1, S_mag.cols());
  const float n = static_cast<float>(bins);
  for (Eigen::Index t = 0; t < S_mag.cols(); ++t) {
    const float* s = S_mag.col(t).data();
    for (std::size_t k = 0; k < bins; ++k) {
      thresh[k] = std::max(amin, s[k] * s[k]);
      logs[k] = std::log(thresh[k]);
    }
    const float gmean = std::exp(pairwise_sum(logs.data(), bins) / n);
    const float amean = pairwise_sum(thresh.data(), bins) / n;
    out(0, t) = gmean / amean;
  }
  return out;
}

std::vector<double> yin(const float* y, std::size_t n, double fmin, double fmax, double sr, int frame_length, int hop,
                        double trough_threshold) {
  if (fmin <= 0 || fmax <= fmin || frame_length < 4 || hop < 1) throw std::invalid_argument("yin: bad parameters");
  const std::size_t N = static_cast<std::size_t>(frame_length), H = static_cast<std::size_t>(hop);
  const std::size_t win = N / 2;
  const std::size_t min_period = static_cast<std::size_t>(std::floor(sr / fmax));
  const std::size_t max_period = std::min(static_cast<std::size_t>(std::ceil(sr / fmin)), N - win - 1);
  if (min_period < 1 || max_period <= min_period + 1) throw std::invalid_argument("yin: bad period range");
  const std::size_t frames = 1 + n / H;
  const std::size_t M = next_fast_len_real(2 * N - 1);
  const RealFftF32 fft(M);
  constexpr std::size_t L = RealFftF32::kLanes;

  // Zero-padded signal (center=True, pad_mode="constant"), long enough for every frame.
  std::vector<float> ypad(frames * H + N, 0.0f);
  std::copy(y, y + n, ypad.begin() + static_cast<std::ptrdiff_t>(N / 2));

  const std::size_t spec_len = M / 2 + 1;
  std::vector<float> in(M, 0.0f), scratch(fft.scratch_size());
  std::vector<std::complex<float>> spec(L * spec_len);  // power spectra, then the acf in place
  std::vector<float> d(max_period + 1);
  const std::size_t K = max_period - min_period + 1;
  std::vector<double> yv(K);
  std::vector<double> f0(frames);

  for (std::size_t t0 = 0; t0 < frames; t0 += L) {
    const std::size_t lanes = std::min(L, frames - t0);
    const std::complex<float>* spectra[L];
    float* outs[L];
    for (std::size_t l = 0; l < lanes; ++l) {
      const float* frame = ypad.data() + (t0 + l) * H;
      std::copy(frame, frame + N, in.begin());
      std::complex<float>* sp = spec.data() + l * spec_len;
      fft.forward(in.data(), sp, 1.0f, scratch.data());
      // spectrum.real**2 + spectrum.imag**2 in float32, as a real (zero imaginary) spectrum.
      for (std::size_t k = 0; k < spec_len; ++k) {
        const float re = sp[k].real(), im = sp[k].imag();
        sp[k] = std::complex<float>(re * re + im * im, 0.0f);
      }
      spectra[l] = sp;
      outs[l] = reinterpret_cast<float*>(sp);
    }
    fft.backward_batch(spectra, outs, lanes, 1.0f / static_cast<float>(M));

    for (std::size_t l = 0; l < lanes; ++l) {
      const float* frame = ypad.data() + (t0 + l) * H;
      const float* acf = outs[l];
      // d[tau] = 2 (acf[0] - acf[tau]) - c[tau - 1], all float32, where c is cumsum(frame**2)
      // with its first element zeroed (librosa sets row 0 to 0 before the subtraction).
      d[0] = 0.0f;
      d[1] = 2.0f * (acf[0] - acf[1]);
      float energy = frame[0] * frame[0];
      for (std::size_t tau = 2; tau <= max_period; ++tau) {
        energy += frame[tau - 1] * frame[tau - 1];
        d[tau] = 2.0f * (acf[0] - acf[tau]) - energy;
      }
      // Cumulative mean (float32 cumsum, divided by tau in float64) and the normalised
      // difference d[tau] / (mean + tiny), float64.
      std::size_t period = K;  // the first trough below the threshold
      std::size_t argmin = 0;
      double minval = std::numeric_limits<double>::infinity();
      bool nan_seen = false;
      float running = 0.0f;
      for (std::size_t tau = 1; tau <= max_period; ++tau) {
        running += d[tau];
        if (tau >= min_period) {
          const double den = static_cast<double>(running) / static_cast<double>(tau);
          yv[tau - min_period] = static_cast<double>(d[tau]) / (den + std::numeric_limits<double>::min());
        }
      }
      for (std::size_t i = 0; i < K; ++i) {
        const double v = yv[i];
        if (!nan_seen) {
          if (std::isnan(v)) {
            nan_seen = true;
            argmin = i;
          } else if (v < minval) {
            minval = v;
            argmin = i;
          }
        }
        if (period == K && v < trough_threshold) {
          bool trough;
          if (i == 0) trough = yv[0] < yv[1];
          else if (i == K - 1) trough = yv[K - 1] < yv[K - 2];
          else trough = yv[i] < yv[i - 1] && yv[i] <= yv[i + 1];
          if (trough) period = i;
        }
      }
      const std::size_t p = period < K ? period : argmin;
      double shift = 0.0;
      if (p > 0 && p + 1 < K) {
        const double a = (yv[p + 1] + yv[p - 1]) - 2.0 * yv[p];
        const double b = (yv[p + 1] - yv[p - 1]) / 2.0;
        if (!(std::abs(b) >= std::abs(a))) shift = -b / a;
      }
      f0[t0 + l] = sr / (static_cast<double>(min_period + p) + shift);
    }
  }
  return f0;
}

}  // namespace ser::dsp
