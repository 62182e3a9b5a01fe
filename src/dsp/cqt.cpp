// librosa 0.11 vqt(gamma=0) with its float32/complex64 roundings: the basis is built in float64,
// stored as complex64 (filters.wavelet), FFT'd and sparsified (util.sparsify_rows); the
// per-octave STFT runs in float64 (pocketfft's rfft, bit for bit) and is stored as complex64;
// basis.dot(D) is scipy's CSR product in complex64 arithmetic, accumulated in column order,
// which is reproduced exactly.
// Not reproduced bit for bit: NumPy 2 FFTs the complex64 basis in float32 (pocketfft); here it
// is a float64 FFT rounded to complex64 (1e-7 relative, 1.3e-5 at most in chroma).
// GCC contracts a*b+c into FMA in C++ even with -std=c++17; NumPy/SciPy round each operation,
// so contraction is switched off for this file (explicit std::fma stays where NumPy uses one).
#pragma GCC optimize("fp-contract=off")
#include "ser/dsp/complex_abs.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/dsp/cqt.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "ser/audio/audio.hpp"
#include "ser/dsp/fft.hpp"
#include "ser/dsp/hpss.hpp"
#include "ser/dsp/pocketfft_f64.hpp"
#include "ser/error.hpp"

namespace ser::dsp {

namespace {

// Two float32 roundings that the low octaves of near-silent frames amplify ~1000x (their
// response is leakage from loud frames with heavy cancellation), so each was checked against
// the references: fft_basis *= sqrt(sr / my_sr) is done in float64 (NumPy 2: a float64 scalar
// promotes complex64), while the resampler's y /= sqrt(ratio) only matches as a float32
// division (float64 gives 2.6e-4 instead of 1.3e-5 relative chroma error on RAVDESS).

constexpr double kHannBandwidth = 1.50018310546875;  // filters.WINDOW_BANDWIDTHS["hann"]


// numpy's pairwise summation of a contiguous array (np.sum).
template <typename F>
F pairwise_sum(const F* a, std::size_t n) {
  if (n < 8) {
    F r = -0.0;
    for (std::size_t i = 0; i < n; ++i) r += a[i];
    return r;
  }
  if (n <= 128) {
    F r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    F res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// np.abs of complex128, NumPy's SIMD formula (see numpy_abs).
double abs_f64(std::complex<double> z) {
  const double re = std::fabs(z.real()), im = std::fabs(z.imag());
  const double hi = std::max(re, im), lo = std::min(re, im);
  const double r = hi == 0.0 ? 0.0 : lo / hi;
  return std::sqrt(std::fma(r, r, 1.0)) * hi;
}

struct OctaveBasis {
  double sr = 0;
  int hop = 0, n_fft = 0;
  int row_lo = 0, row_hi = 0;  // output rows (CQT bins) of this octave
  int bin_lo = 0, bin_hi = 0;  // FFT bins any filter uses
  bool halve_after = false;    // the signal is halved before the next octave
  std::vector<int> ptr, col;   // CSR, col relative to bin_lo
  std::vector<float> re, im;
};

struct CqtPlan {
  int early = 0;  // early downsampling count
  int n_bins = 0;
  std::vector<OctaveBasis> octaves;
  std::vector<double> inv_sqrt_len;  // 1 / sqrt(filter length at the (early-downsampled) rate)
};

// filters.wavelet + __vqt_filter_fft + sparsify_rows for one octave, then the sqrt(sr / my_sr) gain.
void build_octave(OctaveBasis& ob, const double* freqs, const double* alpha, int m, double gain) {
  std::vector<double> lengths(static_cast<std::size_t>(m));
  for (int j = 0; j < m; ++j) lengths[j] = (1.0 / alpha[j]) * ob.sr / freqs[j];
  const double max_len = *std::max_element(lengths.begin(), lengths.end());
  const int n_fft = static_cast<int>(std::pow(2.0, std::ceil(std::log2(max_len))));
  ob.n_fft = n_fft;
  const int n_keep = n_fft / 2 + 1;
  ComplexFft fft(n_fft);
  std::complex<double>* buf = fft.data();
  std::vector<std::complex<float>> spec(static_cast<std::size_t>(n_keep));
  std::vector<float> mags(static_cast<std::size_t>(n_keep)), sorted(static_cast<std::size_t>(n_keep));
  std::vector<std::vector<int>> cols(static_cast<std::size_t>(m));
  std::vector<std::vector<std::complex<float>>> vals(static_cast<std::size_t>(m));
  const double tiny = std::numeric_limits<double>::min();
  for (int j = 0; j < m; ++j) {
    const double ilen = lengths[j];
    const double start = std::floor(-ilen / 2), stop = std::floor(ilen / 2);
    const int M = static_cast<int>(stop - start);
    const std::vector<double> w = make_window(Window::Hann, M);
    std::vector<std::complex<double>> z(static_cast<std::size_t>(M));
    std::vector<double> zabs(static_cast<std::size_t>(M));
    for (int k = 0; k < M; ++k) {
      const double ang = (((start + k) * 2) * M_PI) * freqs[j] / ob.sr;
      z[k] = std::complex<double>(std::cos(ang) * w[k], std::sin(ang) * w[k]);
      zabs[k] = abs_f64(z[k]);
    }
    const double l1 = pairwise_sum(zabs.data(), zabs.size());
    // normalize(norm=1): numpy's complex / real division multiplies by the reciprocal.
    const double inv = l1 < tiny ? 1.0 : 1.0 / l1;
    const double scale = ilen / n_fft;  // basis *= lengths / n_fft (complex64 *= float64)
    std::fill(buf, buf + n_fft, std::complex<double>(0.0, 0.0));
    const int lpad = (n_fft - M) / 2;
    for (int k = 0; k < M; ++k) {
      const std::complex<float> c(static_cast<float>(z[k].real() * inv), static_cast<float>(z[k].imag() * inv));
      buf[lpad + k] = std::complex<double>(static_cast<float>(static_cast<double>(c.real()) * scale),
                                           static_cast<float>(static_cast<double>(c.imag()) * scale));
    }
    fft.forward();
    // sparsify_rows(quantile=0.01) on the complex64 FFT, in float32 as NumPy 2 does it: drop the
    // smallest magnitudes holding < 1 % of the row's L1 mass.
    for (int b = 0; b < n_keep; ++b)
      spec[b] = std::complex<float>(static_cast<float>(buf[b].real()), static_cast<float>(buf[b].imag()));
    numpy_abs(spec.data(), mags.data(), spec.size());
    const float norm = pairwise_sum(mags.data(), mags.size());
    sorted = mags;
    std::sort(sorted.begin(), sorted.end());
    float cum = 0.0f;
    int thr = 0;
    for (int b = 0; b < n_keep; ++b) {
      cum += sorted[b] / norm;
      if (!(cum < 0.01f)) {
        thr = b;
        break;
      }
    }
    const float threshold = sorted[thr];
    for (int b = 0; b < n_keep; ++b) {
      if (!(mags[b] >= threshold)) continue;
      std::complex<float> v = spec[b];
      v = std::complex<float>(static_cast<float>(v.real() * gain), static_cast<float>(v.imag() * gain));
      cols[j].push_back(b);
      vals[j].push_back(v);
    }
  }
  int lo = n_keep, hi = 0;
  for (const auto& c : cols)
    if (!c.empty()) lo = std::min(lo, c.front()), hi = std::max(hi, c.back() + 1);
  if (lo >= hi) lo = hi = 0;
  ob.bin_lo = lo;
  ob.bin_hi = hi;
  ob.ptr.assign(1, 0);
  for (int j = 0; j < m; ++j) {
    for (std::size_t k = 0; k < cols[j].size(); ++k) {
      ob.col.push_back(cols[j][k] - lo);
      ob.re.push_back(vals[j][k].real());
      ob.im.push_back(vals[j][k].imag());
    }
    ob.ptr.push_back(static_cast<int>(ob.col.size()));
  }
}

// True when octave `ob` would get exactly the filters of `top` (rows at frequencies scaled by the
// same power of two as the sample rate, and bandwidths equal to rounding).
bool same_normalised_filters(const OctaveBasis& top, const OctaveBasis& ob, const std::vector<double>& freqs,
                             const std::vector<double>& alpha) {
  const int m = ob.row_hi - ob.row_lo;
  if (m != top.row_hi - top.row_lo) return false;
  for (int j = 0; j < m; ++j) {
    const double f_top = freqs[static_cast<std::size_t>(top.row_lo + j)] / top.sr;
    const double f_ob = freqs[static_cast<std::size_t>(ob.row_lo + j)] / ob.sr;
    const double a_top = alpha[static_cast<std::size_t>(top.row_lo + j)], a_ob = alpha[static_cast<std::size_t>(ob.row_lo + j)];
    if (f_top != f_ob || std::abs(a_top - a_ob) > 1e-12 * a_top) return false;
  }
  return true;
}

// Copies the top octave's sparse basis (built with gain 1) applying this octave's gain exactly as
// build_octave does.
void rescale_octave(const OctaveBasis& top, OctaveBasis& ob, double gain) {
  ob.n_fft = top.n_fft;
  ob.bin_lo = top.bin_lo;
  ob.bin_hi = top.bin_hi;
  ob.ptr = top.ptr;
  ob.col = top.col;
  ob.re.resize(top.re.size());
  ob.im.resize(top.im.size());
  for (std::size_t k = 0; k < top.re.size(); ++k) {
    ob.re[k] = static_cast<float>(top.re[k] * gain);
    ob.im[k] = static_cast<float>(top.im[k] * gain);
  }
}

int two_factors(int x) {
  if (x <= 0) return 0;
  int n = 0;
  while (x % 2 == 0) ++n, x /= 2;
  return n;
}

std::shared_ptr<const CqtPlan> build_plan(double sr, double tuning, int hop, double fmin, int n_bins, int bpo) {
  if (n_bins < 1 || bpo < 1 || hop < 1) fail_runtime("cqt", "invalid CQT parameters");
  auto plan = std::make_shared<CqtPlan>();
  plan->n_bins = n_bins;
  const int n_octaves = (n_bins + bpo - 1) / bpo;
  const int n_filters = std::min(bpo, n_bins);
  const double fmin_t = fmin * std::pow(2.0, tuning / bpo);
  // interval_frequencies(intervals="equal"): 2**octave * 2**(k / bpo), times fmin.
  std::vector<double> freqs(static_cast<std::size_t>(n_bins));
  for (int i = 0; i < n_bins; ++i)
    freqs[i] = (std::pow(2.0, i / bpo) * std::pow(2.0, static_cast<double>(i % bpo) / bpo)) * fmin_t;
  std::vector<double> alpha(static_cast<std::size_t>(n_bins));
  if (n_bins == 1) {
    const double r = std::pow(2.0, 1.0 / bpo);
    alpha[0] = (r * r - 1) / (r * r + 1);
  } else {  // filters.relative_bandwidth
    std::vector<double> logf(freqs.size()), b(freqs.size());
    for (int i = 0; i < n_bins; ++i) logf[i] = std::log2(freqs[i]);
    b[0] = 1 / (logf[1] - logf[0]);
    b[n_bins - 1] = 1 / (logf[n_bins - 1] - logf[n_bins - 2]);
    for (int i = 1; i + 1 < n_bins; ++i) b[i] = 2 / (logf[i + 1] - logf[i - 1]);
    for (int i = 0; i < n_bins; ++i) alpha[i] = (std::pow(2.0, 2 / b[i]) - 1) / (std::pow(2.0, 2 / b[i]) + 1);
  }
  double cutoff = 0.0;
  for (int i = 0; i < n_bins; ++i) cutoff = std::max(cutoff, freqs[i] * (1 + 0.5 * kHannBandwidth / (1.0 / alpha[i])));
  const double nyquist = sr / 2.0;
  if (cutoff > nyquist) fail_runtime("cqt", "the CQT's top filter exceeds the Nyquist frequency");

  // __early_downsample_count
  const int count1 = std::max(0, static_cast<int>(std::ceil(std::log2(nyquist / cutoff)) - 1) - 1);
  const int count2 = std::max(0, two_factors(hop) - n_octaves + 1);
  plan->early = std::min(count1, count2);
  const double sr_eff = plan->early > 0 ? sr / static_cast<double>(1 << plan->early) : sr;
  int my_hop = plan->early > 0 ? hop / (1 << plan->early) : hop;
  double my_sr = sr_eff;

  for (int i = 0; i < n_octaves; ++i) {
    OctaveBasis ob;
    ob.row_hi = n_bins - n_filters * i;
    ob.row_lo = std::max(0, n_bins - n_filters * (i + 1));
    ob.sr = my_sr;
    ob.hop = my_hop;
    const double gain = std::sqrt(sr_eff / my_sr);
    if (i > 0 && same_normalised_filters(plan->octaves[0], ob, freqs, alpha)) {
      // Every octave's filters are the top octave's at half the rate: the frequencies differ by
      // exact powers of two, so only the gain differs. Designing once saves ~85 % of the cost
      // of a new tuning value.
      rescale_octave(plan->octaves[0], ob, gain);
    } else {
      build_octave(ob, &freqs[ob.row_lo], &alpha[ob.row_lo], ob.row_hi - ob.row_lo, gain);
    }
    if (my_hop % 2 == 0) {
      my_hop /= 2;
      my_sr /= 2.0;
      ob.halve_after = true;
    }
    plan->octaves.push_back(std::move(ob));
  }
  plan->inv_sqrt_len.resize(static_cast<std::size_t>(n_bins));
  for (int i = 0; i < n_bins; ++i) plan->inv_sqrt_len[i] = 1.0 / std::sqrt((1.0 / alpha[i]) * sr_eff / freqs[i]);
  return plan;
}

std::shared_ptr<const CqtPlan> cached_plan(double sr, double tuning, int hop, double fmin, int n_bins, int bpo) {
  using Key = std::tuple<double, double, int, double, int, int>;
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<const CqtPlan>> cache;
  const Key key(sr, tuning, hop, fmin, n_bins, bpo);
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  auto plan = build_plan(sr, tuning, hop, fmin, n_bins, bpo);  // outside the lock; a duplicate is harmless
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() > 4096) cache.clear();
  return cache.emplace(key, plan).first->second;
}

// audio.resample(y, orig_sr=factor, target_sr=1, res_type="soxr_hq", scale=True).
std::vector<float> downsample(const std::vector<float>& y, int factor) {
  std::vector<float> out = audio::resample(y, factor, 1);
  const auto s = static_cast<float>(std::sqrt(1.0 / factor));
  for (float& v : out) v /= s;  // float32 division (see the note at the top)
  return out;
}

// One octave: STFT (ones window, centred, zero padding) of the current signal, kept as
// complex64 bin-major rows so that the CSR product vectorises over frames. The FFT is
// pocketfft's float64 rfft bit for bit (RealFftF64, as librosa's stft under NumPy 2), kLanes
// frames at a time.
void octave_response(const OctaveBasis& ob, const std::vector<float>& y, std::size_t T, const CqtPlan& plan,
                     Matrix& C) {
  constexpr std::size_t L = RealFftF64::kLanes;
  const auto N = static_cast<std::size_t>(ob.n_fft), H = static_cast<std::size_t>(ob.hop);
  const auto NB = static_cast<std::size_t>(ob.bin_hi - ob.bin_lo);
  std::vector<float> dre(NB * T), dim(NB * T);
  // The signal with n_fft/2 zeros either side, and zeros up to the last frame of the last batch.
  const std::size_t half = N / 2, batches = (T + L - 1) / L;
  std::vector<float> xp(std::max(y.size() + 2 * half, (batches * L - 1) * H + N), 0.0f);
  std::copy(y.begin(), y.end(), xp.begin() + static_cast<std::ptrdiff_t>(half));
  const RealFftF64 fft(N);
  LaneBuffer buf(2 * N * L);
  for (std::size_t t0 = 0; t0 < T; t0 += L) {
    const float* frame[L];
    for (std::size_t l = 0; l < L; ++l) frame[l] = xp.data() + (t0 + l) * H;
    fft.load_lanes(frame, nullptr, buf.data());  // window "ones": the float64 samples
    const double* spec = fft.forward_lanes(buf.data(), buf.data() + N * L);
    const std::size_t lanes = std::min(L, T - t0);
    // Half-complex r0, r1, i1, ..., r_{N/2} (L lanes each) -> complex64 bins bin_lo..bin_hi-1.
    for (std::size_t j = 0; j < NB; ++j) {
      const std::size_t b = static_cast<std::size_t>(ob.bin_lo) + j;
      const double* re = spec + (b == 0 ? 0 : 2 * b - 1) * L;
      const double* im = (b == 0 || 2 * b == N) ? nullptr : spec + 2 * b * L;
      float* dr = &dre[j * T + t0];
      float* di = &dim[j * T + t0];
      for (std::size_t l = 0; l < lanes; ++l) {
        dr[l] = static_cast<float>(re[l]);
        di[l] = im ? static_cast<float>(im[l]) : 0.0f;
      }
    }
  }
  std::vector<float> acc_re(T), acc_im(T), mag(T);
  std::vector<std::complex<float>> v(T);
  for (int r = 0; r < ob.row_hi - ob.row_lo; ++r) {
    std::fill(acc_re.begin(), acc_re.end(), 0.0f);
    std::fill(acc_im.begin(), acc_im.end(), 0.0f);
    for (int jj = ob.ptr[r]; jj < ob.ptr[r + 1]; ++jj) {
      const float ar = ob.re[jj], ai = ob.im[jj];
      const float* xr = &dre[static_cast<std::size_t>(ob.col[jj]) * T];
      const float* xi = &dim[static_cast<std::size_t>(ob.col[jj]) * T];
      for (std::size_t t = 0; t < T; ++t) {  // y += a * x, complex64, no fused multiply-add
        const float pr = ar * xr[t] - ai * xi[t];
        const float pi = ar * xi[t] + ai * xr[t];
        acc_re[t] += pr;
        acc_im[t] += pi;
      }
    }
    const int row = ob.row_lo + r;
    const double inv = plan.inv_sqrt_len[static_cast<std::size_t>(row)];  // V /= sqrt(lengths)
    for (std::size_t t = 0; t < T; ++t)
      v[t] = std::complex<float>(static_cast<float>(static_cast<double>(acc_re[t]) * inv),
                                 static_cast<float>(static_cast<double>(acc_im[t]) * inv));
    numpy_abs(v.data(), mag.data(), T);
    for (std::size_t t = 0; t < T; ++t) C(row, static_cast<Eigen::Index>(t)) = mag[t];
  }
}

}  // namespace

Matrix cqt_magnitude(const float* y, std::size_t n, double sr, double tuning, int hop, double fmin, int n_bins,
                     int bins_per_octave) {
  if (n == 0) fail_runtime("cqt", "empty signal");
  const auto plan = cached_plan(sr, tuning, hop, fmin, n_bins, bins_per_octave);
  std::vector<float> cur(y, y + n);
  if (plan->early > 0) {
    if (n < static_cast<std::size_t>(1) << plan->early) fail_runtime("cqt", "signal too short for the CQT");
    cur = downsample(cur, 1 << plan->early);
  }
  // Frames per octave (1 + len / hop) follow from the halving lengths ceil(len / 2); the stack is
  // trimmed to the fewest.
  std::size_t T = std::numeric_limits<std::size_t>::max(), len = cur.size();
  for (const OctaveBasis& ob : plan->octaves) {
    T = std::min(T, 1 + len / static_cast<std::size_t>(ob.hop));
    if (ob.halve_after) len = (len + 1) / 2;
  }
  Matrix C(n_bins, static_cast<Eigen::Index>(T));
  for (std::size_t i = 0; i < plan->octaves.size(); ++i) {
    const OctaveBasis& ob = plan->octaves[i];
    octave_response(ob, cur, T, *plan, C);
    if (ob.halve_after && i + 1 < plan->octaves.size()) cur = downsample(cur, 2);
  }
  return C;
}

Matrix chroma_cqt_from_magnitude(const Matrix& C, int bins_per_octave, int n_chroma) {
  if (n_chroma < 1 || bins_per_octave % n_chroma != 0)
    fail_runtime("chroma_cqt", "bins_per_octave must be a multiple of n_chroma");
  const int merge = bins_per_octave / n_chroma;
  // cq_to_chroma: chroma c takes CQT bins c*merge + m - merge/2 (m < merge) of every octave.
  // C1 is pitch class 0, so no further roll for base C.
  std::vector<int> owner(static_cast<std::size_t>(C.rows()));
  for (Eigen::Index j = 0; j < C.rows(); ++j) {
    const int in_oct = static_cast<int>(j % bins_per_octave);
    const int shifted = (in_oct + merge / 2) % bins_per_octave;
    owner[static_cast<std::size_t>(j)] = shifted / merge;
  }
  Matrix chroma(n_chroma, C.cols());
  std::vector<double> acc(static_cast<std::size_t>(n_chroma));
  const float tiny = std::numeric_limits<float>::min();
  for (Eigen::Index t = 0; t < C.cols(); ++t) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const float* c = C.col(t).data();
    for (Eigen::Index j = 0; j < C.rows(); ++j) acc[owner[static_cast<std::size_t>(j)]] += c[j];
    float mx = 0.0f;
    for (int k = 0; k < n_chroma; ++k) {
      float v = static_cast<float>(acc[k]);
      if (v < 0.0f) v = 0.0f;
      chroma(k, t) = v;
      mx = std::max(mx, v);
    }
    if (mx < tiny) continue;
    for (int k = 0; k < n_chroma; ++k) chroma(k, t) = chroma(k, t) / mx;
  }
  return chroma;
}

}  // namespace ser::dsp
