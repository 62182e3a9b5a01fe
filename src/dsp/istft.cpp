// librosa 0.11 istft(center=True, window="hann", length=N) as it runs under NumPy 2: the
// complex64 frames go through pocketfft's float32 irfft (a float64 irfft leaves ~1-ulp noise on
// every sample, which near-silent CQT frames amplify ~1000x), the float64 window multiplies the
// float32 result, and the products are overlap-added into a float32 buffer (each addition
// rounded to float32); the window sum-square is built the same way.
// GCC contracts a*b+c into FMA in C++ even with -std=c++17; NumPy/SciPy round each operation,
// so contraction is switched off for this file.
#pragma GCC optimize("fp-contract=off")
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>

#include "istft_detail.hpp"
#include "ser/dsp/pocketfft_f32.hpp"
#include "ser/dsp/stft.hpp"

namespace ser::dsp {

namespace {


struct IstftTables {
  std::vector<double> window;
  RealFftF32 irfft;
  explicit IstftTables(int n) : window(make_window(Window::Hann, n)), irfft(static_cast<std::size_t>(n)) {}
};

// Immutable per n_fft, so shared by all threads once built.
const IstftTables& tables(int n) {
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<const IstftTables>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[n];
  if (!slot) slot = std::make_unique<const IstftTables>(n);
  return *slot;
}

void overlap_add(float* __restrict out, const double* __restrict w, const float* __restrict frame, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<float>(static_cast<double>(out[k]) + w[k] * frame[k]);
}

}  // namespace

namespace detail {

std::vector<float> istft_columns(int n_bins, std::size_t n_cols, std::size_t length, int hop, const ColumnFn& column) {
  std::vector<float> y(length, 0.0f);
  const int n_fft = 2 * (n_bins - 1);
  if (n_fft <= 0 || hop <= 0 || length == 0) return y;
  const std::size_t N = static_cast<std::size_t>(n_fft), half = N / 2, H = static_cast<std::size_t>(hop);
  // Frames needed for `length` samples once the n_fft/2 padding at both ends is counted.
  const std::size_t n_frames = std::min(n_cols, (length + 2 * half + H - 1) / H);
  if (n_frames == 0) return y;
  const IstftTables& tab = tables(n_fft);
  const std::vector<double>& w = tab.window;
  const std::size_t buf_len = N + H * (n_frames - 1);
  std::vector<float> buf(buf_len, 0.0f);
  // kLanes frames per inverse transform call (one per SIMD lane, same bits as one at a time);
  // overlap-add stays in frame order, as its float32 rounding depends on it.
  constexpr std::size_t L = RealFftF32::kLanes;
  const std::size_t B = static_cast<std::size_t>(n_bins);
  std::vector<float> frames(L * N);
  std::vector<std::complex<float>> cols(L * B);
  const std::complex<float>* in[L];
  float* out[L];
  for (std::size_t l = 0; l < L; ++l) in[l] = cols.data() + l * B, out[l] = frames.data() + l * N;
  for (std::size_t t0 = 0; t0 < n_frames; t0 += L) {
    const std::size_t lanes = std::min(L, n_frames - t0);
    for (std::size_t l = 0; l < lanes; ++l) column(t0 + l, cols.data() + l * B);
    tab.irfft.backward_batch(in, out, lanes, 1.0f / static_cast<float>(n_fft));  // numpy's 1/n scaling
    for (std::size_t l = 0; l < lanes; ++l) overlap_add(buf.data() + (t0 + l) * H, w.data(), out[l], N);
  }

  // window_sumsquare, float32-accumulated in frame order, only where samples are kept. Where all
  // n_fft/hop frames overlap it depends on the position modulo hop alone.
  const std::size_t q = N % H == 0 ? N / H : 0;
  std::vector<float> periodic(H, 0.0f);
  for (std::size_t r = 0; r < H && q > 0; ++r)
    for (std::size_t j = q; j-- > 0;)
      periodic[r] = static_cast<float>(static_cast<double>(periodic[r]) + w[r + j * H] * w[r + j * H]);
  const float tiny = std::numeric_limits<float>::min();
  const std::size_t avail = buf_len > half ? std::min(length, buf_len - half) : 0;
  std::vector<float> ss(H);
  for (std::size_t p0 = half; p0 < half + avail;) {  // one hop-long segment at a time
    const std::size_t a = p0 / H, seg_end = std::min((a + 1) * H, half + avail);
    const std::size_t t_hi = std::min(n_frames - 1, a), t_lo = a + 1 >= q && q > 0 ? a + 1 - q : 0;
    const std::size_t r0 = p0 - a * H, len = seg_end - p0;
    const float* sq = periodic.data() + r0;
    if (!(q > 0 && t_hi + 1 - t_lo == q)) {
      for (std::size_t r = 0; r < len; ++r) {
        const std::size_t p = p0 + r;
        float acc = 0.0f;
        for (std::size_t t = t_lo; t <= t_hi; ++t)
          acc = static_cast<float>(static_cast<double>(acc) + w[p - t * H] * w[p - t * H]);
        ss[r] = acc;
      }
      sq = ss.data();
    }
    float* out = y.data() + (p0 - half);
    const float* in = buf.data() + p0;
    for (std::size_t r = 0; r < len; ++r) out[r] = sq[r] > tiny ? in[r] / sq[r] : in[r];
    p0 = seg_end;
  }
  return y;
}

}  // namespace detail

std::vector<float> istft(const ComplexMatrix& D, std::size_t length, int hop) {
  const auto n_bins = static_cast<std::size_t>(D.rows());
  return detail::istft_columns(static_cast<int>(D.rows()), static_cast<std::size_t>(D.cols()), length, hop,
                               [&](std::size_t t, std::complex<float>* out) {
                                 std::memcpy(out, D.data() + t * n_bins, n_bins * sizeof(std::complex<float>));
                               });
}

}  // namespace ser::dsp
