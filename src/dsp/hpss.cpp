// GCC contracts a*b+c into FMA in C++ even with -std=c++17; NumPy/SciPy round each operation,
// so contraction is switched off for this file (explicit std::fma stays where NumPy uses one).
#pragma GCC optimize("fp-contract=off")

#include "ser/dsp/complex_abs.hpp"
#include "ser/dsp/hpss.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "istft_detail.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/error.hpp"

namespace ser::dsp {

namespace {

// 16 neighbouring lanes (rows) per SIMD vector: one zmm register with AVX-512, two ymm otherwise.
constexpr int kLanes = 16;
typedef float vf __attribute__((vector_size(kLanes * sizeof(float))));

inline vf vload(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void vstore(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline vf vmin(vf a, vf b) { return a < b ? a : b; }
inline vf vmax(vf a, vf b) { return a < b ? b : a; }
inline vf vsplat(float x) { return vf{} + x; }

// scipy's NI_EXTEND_REFLECT offsets: symmetric extension with period 2n.
std::size_t reflect_index(std::ptrdiff_t j, std::size_t n) {
  const auto period = static_cast<std::ptrdiff_t>(2 * n);
  std::ptrdiff_t m = j % period;
  if (m < 0) m += period;
  return static_cast<std::size_t>(m < static_cast<std::ptrdiff_t>(n) ? m : period - 1 - m);
}

// Each lane keeps its window sorted in s[0..W). A step removes the outgoing value (the first
// element >= it shifts the tail down) and inserts the incoming one (t[i] = max(r[i-1],
// min(r[i], x))), all with min/max/blend so 16 lanes advance together without branches.
// ext[k] is the source step of window position k - lo - 1.
template <int W>
void median_block(const float* in, std::size_t stride, const std::size_t* ext, std::size_t n_out, float* out,
                  std::size_t out_stride) {
  constexpr int rank = W / 2;
  const vf inf = vsplat(std::numeric_limits<float>::infinity());
  vf s[W];
  for (int i = 0; i < W; ++i) s[i] = inf;
  for (int k = 1; k <= W; ++k) {  // fill: insertion only; the +inf tail drops off
    const vf x = vload(in + ext[k] * stride);
    vf prev = -inf;
#pragma GCC unroll 64
    for (int i = 0; i < W; ++i) {
      const vf cur = s[i];
      s[i] = vmax(prev, vmin(cur, x));
      prev = cur;
    }
  }
  vstore(out, s[rank]);
  for (std::size_t t = 1; t < n_out; ++t) {
    const vf old = vload(in + ext[t] * stride);
    const vf x = vload(in + ext[t + W] * stride);
    vf prev = -inf;
#pragma GCC unroll 64
    for (int i = 0; i < W - 1; ++i) {
      const vf r = s[i] < old ? s[i] : s[i + 1];
      s[i] = vmax(prev, vmin(r, x));
      prev = r;
    }
    s[W - 1] = vmax(prev, x);
    vstore(out + t * out_stride, s[rank]);
  }
}

// Any width, one lane at a time; used for widths without a SIMD instantiation.
void median_generic(const float* in, float* out, std::size_t n_lanes, std::size_t stride, const std::size_t* ext,
                    std::size_t n_out, int W) {
  std::vector<float> win(static_cast<std::size_t>(W));
  const std::size_t rank = static_cast<std::size_t>(W / 2);
  for (std::size_t lane = 0; lane < n_lanes; ++lane) {
    for (int k = 0; k < W; ++k) win[static_cast<std::size_t>(k)] = in[ext[k + 1] * stride + lane];
    std::sort(win.begin(), win.end());
    out[lane] = win[rank];
    for (std::size_t t = 1; t < n_out; ++t) {
      const float old = in[ext[t] * stride + lane], x = in[ext[t + static_cast<std::size_t>(W)] * stride + lane];
      auto it = std::lower_bound(win.begin(), win.end(), old);
      win.erase(it == win.end() ? it - 1 : it);  // only NaN input could miss
      win.insert(std::upper_bound(win.begin(), win.end(), x), x);
      out[t * stride + lane] = win[rank];
    }
  }
}

using BlockFn = void (*)(const float*, std::size_t, const std::size_t*, std::size_t, float*, std::size_t);

BlockFn block_kernel(int W) {
  switch (W) {
    case 3:
      return median_block<3>;
    case 5:
      return median_block<5>;
    case 7:
      return median_block<7>;
    case 9:
      return median_block<9>;
    case 15:
      return median_block<15>;
    case 31:
      return median_block<31>;
    default:
      return nullptr;
  }
}

}  // namespace

void median_filter_lanes(const float* in, float* out, std::size_t n_lanes, std::size_t n_steps, std::size_t stride,
                         int width) {
  if (width < 1) fail_runtime("median_filter", "width must be positive");
  if (n_lanes == 0 || n_steps == 0) return;
  const std::size_t W = static_cast<std::size_t>(width);
  const auto lo = static_cast<std::ptrdiff_t>(W / 2);
  // ext[k]: source step of window position k - lo - 1, for the first window and every step after.
  std::vector<std::size_t> ext(n_steps + W);
  for (std::size_t k = 0; k < ext.size(); ++k) ext[k] = reflect_index(static_cast<std::ptrdiff_t>(k) - lo - 1, n_steps);

  const BlockFn kernel = block_kernel(width);
  if (!kernel) {
    median_generic(in, out, n_lanes, stride, ext.data(), n_steps, width);
    return;
  }
  const std::size_t full = n_lanes / kLanes * kLanes;
  for (std::size_t l = 0; l < full; l += kLanes) kernel(in + l, stride, ext.data(), n_steps, out + l, stride);
  if (full < n_lanes) {  // the last lanes through a zero-padded 16-lane copy
    const std::size_t rest = n_lanes - full;
    std::vector<float> tin(n_steps * kLanes, 0.0f), tout(n_steps * kLanes);
    for (std::size_t t = 0; t < n_steps; ++t)
      std::memcpy(&tin[t * kLanes], in + t * stride + full, rest * sizeof(float));
    kernel(tin.data(), kLanes, ext.data(), n_steps, tout.data(), kLanes);
    for (std::size_t t = 0; t < n_steps; ++t)
      std::memcpy(out + t * stride + full, &tout[t * kLanes], rest * sizeof(float));
  }
}

namespace {

// Per-thread buffers for the spectrogram-sized planes: allocations of this size are mmapped and
// page-faulted afresh on every call otherwise.
struct Scratch {
  std::vector<float> s, h, p, st, pt;
};
Scratch& scratch() {
  thread_local Scratch sc;
  return sc;
}

// dst[c * dst_ld + r] = src[r * src_ld + c] for r < rows, c < cols, in cache-sized tiles.
void transpose(const float* src, std::size_t rows, std::size_t cols, std::size_t src_ld, float* dst,
               std::size_t dst_ld) {
  constexpr std::size_t kTile = 64;  // writes run contiguously inside a tile
  for (std::size_t r0 = 0; r0 < rows; r0 += kTile)
    for (std::size_t c0 = 0; c0 < cols; c0 += kTile) {
      const std::size_t r1 = std::min(rows, r0 + kTile), c1 = std::min(cols, c0 + kTile);
      for (std::size_t c = c0; c < c1; ++c)
        for (std::size_t r = r0; r < r1; ++r) dst[c * dst_ld + r] = src[r * src_ld + c];
    }
}

void median_time_into(const float* S, float* out, std::size_t F, std::size_t T, int width) {
  median_filter_lanes(S, out, F, T, F, width);
}

// Transposed so that frames become the contiguous lanes; the lane count is padded to 16.
void median_freq_into(const float* S, float* out, std::size_t F, std::size_t T, int width) {
  Scratch& sc = scratch();
  const std::size_t Tp = (T + kLanes - 1) / kLanes * kLanes;
  sc.st.assign(F * Tp, 0.0f);
  sc.pt.resize(F * Tp);
  transpose(S, T, F, F, sc.st.data(), Tp);
  median_filter_lanes(sc.st.data(), sc.pt.data(), Tp, F, Tp, width);
  transpose(sc.pt.data(), F, T, Tp, out, F);
}

}  // namespace

Matrix median_filter_time(const Matrix& S, int width) {
  Matrix out(S.rows(), S.cols());
  median_time_into(S.data(), out.data(), static_cast<std::size_t>(S.rows()), static_cast<std::size_t>(S.cols()), width);
  return out;
}

Matrix median_filter_freq(const Matrix& S, int width) {
  Matrix out(S.rows(), S.cols());
  median_freq_into(S.data(), out.data(), static_cast<std::size_t>(S.rows()), static_cast<std::size_t>(S.cols()), width);
  return out;
}

namespace {

// util.softmask(H, P * margin, power 2, split_zeros) and the product with magphase's phase, all
// float32: Z = max(X, X_ref) (1 where below tiny), mask = (X/Z)^2 / ((X/Z)^2 + (X_ref/Z)^2)
// (`fill` where Z is below tiny), phase = D / |D| (1 + 0j where |D| == 0), out = (S * mask) * phase.
void harmonic_mask_square(const float* __restrict d, const float* __restrict s, const float* __restrict h,
                          const float* __restrict p, float* __restrict o, std::size_t n, float margin, float fill) {
  for (std::size_t i = 0; i < n; ++i) {
    const float x = h[i], xr = p[i] * margin;
    const float z = std::max(x, xr);
    const bool bad = z < std::numeric_limits<float>::min();
    const float zs = bad ? 1.0f : z;
    const float a = x / zs, b = xr / zs;
    const float m = a * a, r = b * b;
    const float mask = bad ? fill : m / (m + r);
    const float mag = s[i];
    const float one = mag == 0.0f ? 1.0f : 0.0f;
    const float nz = mag + one;
    const float sm = mag * mask;
    o[2 * i] = sm * (d[2 * i] / nz + one);
    o[2 * i + 1] = sm * (d[2 * i + 1] / nz);
  }
}

// Any other power (NumPy's float32 power), or a hard mask for an infinite one.
void harmonic_mask_general(const float* d, const float* s, const float* h, const float* p, float* o, std::size_t n,
                           float power, float margin, float fill) {
  for (std::size_t i = 0; i < n; ++i) {
    const float x = h[i], xr = p[i] * margin;
    const float z = std::max(x, xr);
    float mask;
    if (std::isinf(power)) {
      mask = x > xr ? 1.0f : 0.0f;
    } else if (z < std::numeric_limits<float>::min()) {
      mask = fill;
    } else {
      const float m = std::pow(x / z, power), r = std::pow(xr / z, power);
      mask = m / (m + r);
    }
    const float mag = s[i];
    const float one = mag == 0.0f ? 1.0f : 0.0f;
    const float nz = mag + one;
    const float sm = mag * mask;
    o[2 * i] = sm * (d[2 * i] / nz + one);
    o[2 * i + 1] = sm * (d[2 * i + 1] / nz);
  }
}

// |D|, its time and frequency medians into the thread's scratch planes.
void hpss_planes(const ComplexMatrix& D, int kernel) {
  Scratch& sc = scratch();
  const auto F = static_cast<std::size_t>(D.rows()), T = static_cast<std::size_t>(D.cols());
  sc.s.resize(F * T);
  sc.h.resize(F * T);
  sc.p.resize(F * T);
  numpy_abs(D.data(), sc.s.data(), F * T);
  median_time_into(sc.s.data(), sc.h.data(), F, T, kernel);
  median_freq_into(sc.s.data(), sc.p.data(), F, T, kernel);
}

// A plane this large (about 40 s of audio) is released after use rather than kept per thread.
constexpr std::size_t kKeepScratch = std::size_t{1} << 23;

void release_large(std::vector<float>& v) {
  if (v.capacity() > kKeepScratch) std::vector<float>().swap(v);
}

void harmonic_mask(const float* d, std::size_t offset, std::size_t n, float* o, float power, float margin) {
  const Scratch& sc = scratch();
  const float fill = margin == 1.0f ? 0.5f : 0.0f;  // split_zeros: both margins are `margin` here
  const float *s = sc.s.data() + offset, *h = sc.h.data() + offset, *p = sc.p.data() + offset;
  if (power == 2.0f)
    harmonic_mask_square(d, s, h, p, o, n, margin, fill);
  else
    harmonic_mask_general(d, s, h, p, o, n, power, margin, fill);
}

}  // namespace

ComplexMatrix hpss_harmonic(const ComplexMatrix& D, int kernel, float power, float margin) {
  hpss_planes(D, kernel);
  ComplexMatrix out(D.rows(), D.cols());
  harmonic_mask(reinterpret_cast<const float*>(D.data()), 0, static_cast<std::size_t>(D.size()),
                reinterpret_cast<float*>(out.data()), power, margin);
  return out;
}

std::vector<float> harmonic(const float* y, std::size_t n, const Matrix& S) {
  // The frequency medians and the STFT columns are made per block of frames as the inverse
  // walks forward: each depends on its own frame only, so the numbers are those of the
  // whole-matrix path, and only |D| (S itself) and its time medians span the signal.
  const auto F = static_cast<std::size_t>(S.rows()), T = static_cast<std::size_t>(S.cols());
  constexpr std::size_t kBlock = 256;
  Scratch& sc = scratch();
  sc.h.resize(F * T);
  median_time_into(S.data(), sc.h.data(), F, T, 31);
  std::vector<float> p(F * kBlock);
  std::vector<std::complex<float>> d(F * kBlock);
  std::size_t block = T;  // none yet
  std::vector<float> out = detail::istft_columns(
      static_cast<int>(F), T, n, 512, [&](std::size_t t, std::complex<float>* col) {
        if (t / kBlock != block) {
          block = t / kBlock;
          const std::size_t t0 = block * kBlock, count = std::min(kBlock, T - t0);
          median_freq_into(S.data() + t0 * F, p.data(), F, count, 31);
          stft_columns(y, n, 2 * static_cast<int>(F - 1), 512, t0, count, d.data());
        }
        const std::size_t k = t - block * kBlock;
        harmonic_mask_square(reinterpret_cast<const float*>(d.data() + k * F), S.data() + t * F, sc.h.data() + t * F,
                             p.data() + k * F, reinterpret_cast<float*>(col), F, 1.0f, 0.5f);
      });
  release_large(sc.h);
  release_large(sc.st);
  release_large(sc.pt);
  return out;
}

std::vector<float> harmonic(const float* /*y*/, std::size_t n, const ComplexMatrix& D) {
  // Masks each frame as the inverse STFT consumes it; same numbers as istft(hpss_harmonic(D)).
  hpss_planes(D, 31);
  const auto F = static_cast<std::size_t>(D.rows());
  return detail::istft_columns(static_cast<int>(F), static_cast<std::size_t>(D.cols()), n, 512,
                               [&](std::size_t t, std::complex<float>* col) {
                                 harmonic_mask(reinterpret_cast<const float*>(D.data() + t * F), t * F, F,
                                               reinterpret_cast<float*>(col), 2.0f, 1.0f);
                               });
}

}  // namespace ser::dsp
