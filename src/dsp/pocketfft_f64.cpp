// Double-precision forward real FFT bit-identical to pocketfft's C++ rfftp plan (numpy.fft.rfft
// in NumPy >= 2.0, scipy.fft.rfft) on float64 data; see pocketfft_f64.hpp. What has to match:
//   * factorisation order 4,4,..,(a 2 moved to the front),3,5 and stages run last to first;
//   * twiddles exp(2 pi i k/n) as the double product of two octant-reduced sin/cos tables
//     (pocketfft's sincos_2pibyn; for double there is no final rounding);
//   * each butterfly's association order and which products are formed.
// Every pass is a template over the element type V: double for one transform, or a GCC vector
// of RealFftF64::kLanes doubles for that many independent transforms (one per lane). Vector
// +, -, * are lane-wise IEEE operations, so each lane repeats the scalar computation exactly.
// NumPy/SciPy never fuse a*b+c, so contraction is off for this file, and so is the
// auto-vectoriser (GCC 12 fuses its add/sub pairs into vfmaddsub even with fp-contract=off);
// `objdump -d pocketfft_f64.cpp.o | grep -c vfmadd` must print 0.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-tree-vectorize")
#endif

#include "ser/dsp/pocketfft_f64.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ser::dsp {
namespace {

using std::size_t;
constexpr size_t kL = RealFftF64::kLanes;
// Lane vector (naturally aligned: forward_lanes() checks its buffers).
typedef double Lanes __attribute__((vector_size(sizeof(double) * kL)));

struct Cd {
  double r, i;
};

// exp(2 pi i k / n) the way pocketfft's sincos_2pibyn<double> computes it.
class UnitRootsF64 {
 public:
  explicit UnitRootsF64(size_t n) : n_(n) {
    constexpr long double kPi = 3.141592653589793238462643383279502884197L;
    const double ang = static_cast<double>(0.25L * kPi / static_cast<long double>(n));
    const size_t nval = (n + 2) / 2;
    while ((size_t(1) << bits_) * (size_t(1) << bits_) < nval) ++bits_;
    lo_mask_ = (size_t(1) << bits_) - 1;
    lo_.assign(lo_mask_ + 1, Cd{1.0, 0.0});
    hi_.assign((nval + lo_mask_) / (lo_mask_ + 1), Cd{1.0, 0.0});
    for (size_t i = 1; i < lo_.size(); ++i) lo_[i] = reduced(i, n, ang);
    for (size_t i = 1; i < hi_.size(); ++i) hi_[i] = reduced(i << bits_, n, ang);
  }
  Cd operator[](size_t k) const {
    const bool upper = 2 * k > n_;  // exp(2 pi i k/n) = conj(exp(2 pi i (n-k)/n))
    if (upper) k = n_ - k;
    const Cd a = lo_[k & lo_mask_], b = hi_[k >> bits_];
    const double re = a.r * b.r - a.i * b.i;
    const double im = a.r * b.i + a.i * b.r;
    return {re, upper ? -im : im};
  }

 private:
  // exp(2 pi i x/n) from sin/cos of an angle in [0, pi/4] (multiples of ang = pi/(4n)).
  static Cd reduced(size_t x, size_t n, double ang) {
    size_t e = x * 8;  // angle in units of ang
    const bool lower_half = e >= 4 * n;
    if (lower_half) e = 8 * n - e;
    const bool second_quadrant = e >= 2 * n;
    if (second_quadrant) e -= 2 * n;
    const bool upper_octant = e >= n;
    if (upper_octant) e = 2 * n - e;
    const double c = std::cos(static_cast<double>(e) * ang), s = std::sin(static_cast<double>(e) * ang);
    Cd v = upper_octant ? Cd{s, c} : Cd{c, s};
    if (second_quadrant) v = Cd{-v.i, v.r};
    if (lower_half) v.i = -v.i;
    return v;
  }
  size_t n_, bits_ = 1, lo_mask_ = 0;
  std::vector<Cd> lo_, hi_;
};

// Radices in pocketfft's rfftp order, or empty when a prime factor > 5 (radfg) is needed.
std::vector<size_t> radices(size_t n) {
  std::vector<size_t> f;
  size_t m = n;
  for (; m % 4 == 0; m /= 4) f.push_back(4);
  if (m % 2 == 0) {
    m /= 2;
    f.push_back(2);
    std::swap(f.front(), f.back());
  }
  for (size_t d = 3; d <= 5; d += 2)
    for (; m % d == 0; m /= d) f.push_back(d);
  if (m != 1) f.clear();
  return f;
}

constexpr double kTaur = -0.5;
constexpr double kTaui = static_cast<double>(0.8660254037844386467637231707529362L);
constexpr double kTr11 = static_cast<double>(0.3090169943749474241022934171828191L);
constexpr double kTi11 = static_cast<double>(0.9510565162951535721164393333793821L);
constexpr double kTr12 = static_cast<double>(-0.8090169943749474241022934171828191L);
constexpr double kTi12 = static_cast<double>(0.5877852522924731291687059546390728L);
constexpr double kHsqt2 = static_cast<double>(0.707106781186547524400844362104849L);

// Index helpers of one forward pass: input cc(a,k,j) = cc[a + ido*(k + l1*j)], output
// ch(a,j,k) = ch[a + ido*(j + ip*k)], twiddle x at index i: wa[i + x*(ido-1)].
template <class V, size_t IP>
struct Pass {
  size_t ido, l1;
  const V* cc;
  V* ch;
  const double* wa;
  V in(size_t a, size_t k, size_t j) const { return cc[a + ido * (k + l1 * j)]; }
  V& out(size_t a, size_t j, size_t k) const { return ch[a + ido * (j + IP * k)]; }
  // (dr, di) = conj(w_x at i-2, i-1) * (in(i-1,k,j), in(i,k,j)) with FFTPACK's MULPM grouping.
  void twiddled(size_t x, size_t i, size_t k, size_t j, V& dr, V& di) const {
    const double wr = wa[i - 2 + x * (ido - 1)], wi = wa[i - 1 + x * (ido - 1)];
    const V re = in(i - 1, k, j), im = in(i, k, j);
    dr = wr * re + wi * im;
    di = wr * im - wi * re;
  }
};

// FFTPACK's PM: a = c + d, b = c - d.
template <class V>
inline void sum_diff(V& a, V& b, V c, V d) {
  a = c + d;
  b = c - d;
}

template <class V>
void radf2(const Pass<V, 2>& p) {
  const size_t ido = p.ido, l1 = p.l1;
  for (size_t k = 0; k < l1; ++k) sum_diff(p.out(0, 0, k), p.out(ido - 1, 1, k), p.in(0, k, 0), p.in(0, k, 1));
  if (ido % 2 == 0)
    for (size_t k = 0; k < l1; ++k) {
      p.out(0, 1, k) = -p.in(ido - 1, k, 1);
      p.out(ido - 1, 0, k) = p.in(ido - 1, k, 0);
    }
  if (ido <= 2) return;
  for (size_t k = 0; k < l1; ++k)
    for (size_t i = 2, ic = ido - 2; i < ido; i += 2, ic -= 2) {
      V tr2, ti2;
      p.twiddled(0, i, k, 1, tr2, ti2);
      sum_diff(p.out(i - 1, 0, k), p.out(ic - 1, 1, k), p.in(i - 1, k, 0), tr2);
      sum_diff(p.out(i, 0, k), p.out(ic, 1, k), ti2, p.in(i, k, 0));
    }
}

template <class V>
void radf3(const Pass<V, 3>& p) {
  const size_t ido = p.ido, l1 = p.l1;
  for (size_t k = 0; k < l1; ++k) {
    const V cr2 = p.in(0, k, 1) + p.in(0, k, 2);
    p.out(0, 0, k) = p.in(0, k, 0) + cr2;
    p.out(0, 2, k) = kTaui * (p.in(0, k, 2) - p.in(0, k, 1));
    p.out(ido - 1, 1, k) = p.in(0, k, 0) + kTaur * cr2;
  }
  if (ido == 1) return;
  for (size_t k = 0; k < l1; ++k)
    for (size_t i = 2, ic = ido - 2; i < ido; i += 2, ic -= 2) {
      V dr2, di2, dr3, di3;
      p.twiddled(0, i, k, 1, dr2, di2);
      p.twiddled(1, i, k, 2, dr3, di3);
      const V cr2 = dr2 + dr3, ci2 = di2 + di3;
      const V c0r = p.in(i - 1, k, 0), c0i = p.in(i, k, 0);
      p.out(i - 1, 0, k) = c0r + cr2;
      p.out(i, 0, k) = c0i + ci2;
      const V tr2 = c0r + kTaur * cr2, ti2 = c0i + kTaur * ci2;
      const V tr3 = kTaui * (di2 - di3), ti3 = kTaui * (dr3 - dr2);
      sum_diff(p.out(i - 1, 2, k), p.out(ic - 1, 1, k), tr2, tr3);
      sum_diff(p.out(i, 2, k), p.out(ic, 1, k), ti3, ti2);
    }
}

template <class V>
void radf4(const Pass<V, 4>& p) {
  const size_t ido = p.ido, l1 = p.l1;
  for (size_t k = 0; k < l1; ++k) {
    V tr1, tr2;
    sum_diff(tr1, p.out(0, 2, k), p.in(0, k, 3), p.in(0, k, 1));
    sum_diff(tr2, p.out(ido - 1, 1, k), p.in(0, k, 0), p.in(0, k, 2));
    sum_diff(p.out(0, 0, k), p.out(ido - 1, 3, k), tr2, tr1);
  }
  if (ido % 2 == 0)
    for (size_t k = 0; k < l1; ++k) {
      const V a1 = p.in(ido - 1, k, 1), a3 = p.in(ido - 1, k, 3);
      const V ti1 = -kHsqt2 * (a1 + a3);
      const V tr1 = kHsqt2 * (a1 - a3);
      sum_diff(p.out(ido - 1, 0, k), p.out(ido - 1, 2, k), p.in(ido - 1, k, 0), tr1);
      sum_diff(p.out(0, 3, k), p.out(0, 1, k), ti1, p.in(ido - 1, k, 2));
    }
  if (ido <= 2) return;
  for (size_t k = 0; k < l1; ++k)
    for (size_t i = 2, ic = ido - 2; i < ido; i += 2, ic -= 2) {
      V cr2, ci2, cr3, ci3, cr4, ci4;
      p.twiddled(0, i, k, 1, cr2, ci2);
      p.twiddled(1, i, k, 2, cr3, ci3);
      p.twiddled(2, i, k, 3, cr4, ci4);
      V tr1, tr2, tr3, tr4, ti1, ti2, ti3, ti4;
      sum_diff(tr1, tr4, cr4, cr2);
      sum_diff(ti1, ti4, ci2, ci4);
      sum_diff(tr2, tr3, p.in(i - 1, k, 0), cr3);
      sum_diff(ti2, ti3, p.in(i, k, 0), ci3);
      sum_diff(p.out(i - 1, 0, k), p.out(ic - 1, 3, k), tr2, tr1);
      sum_diff(p.out(i, 0, k), p.out(ic, 3, k), ti1, ti2);
      sum_diff(p.out(i - 1, 2, k), p.out(ic - 1, 1, k), tr3, ti4);
      sum_diff(p.out(i, 2, k), p.out(ic, 1, k), tr4, ti3);
    }
}

template <class V>
void radf5(const Pass<V, 5>& p) {
  const size_t ido = p.ido, l1 = p.l1;
  for (size_t k = 0; k < l1; ++k) {
    V cr2, cr3, ci4, ci5;
    sum_diff(cr2, ci5, p.in(0, k, 4), p.in(0, k, 1));
    sum_diff(cr3, ci4, p.in(0, k, 3), p.in(0, k, 2));
    const V c0 = p.in(0, k, 0);
    p.out(0, 0, k) = c0 + cr2 + cr3;
    p.out(ido - 1, 1, k) = c0 + kTr11 * cr2 + kTr12 * cr3;
    p.out(0, 2, k) = kTi11 * ci5 + kTi12 * ci4;
    p.out(ido - 1, 3, k) = c0 + kTr12 * cr2 + kTr11 * cr3;
    p.out(0, 4, k) = kTi12 * ci5 - kTi11 * ci4;
  }
  if (ido == 1) return;
  for (size_t k = 0; k < l1; ++k)
    for (size_t i = 2, ic = ido - 2; i < ido; i += 2, ic -= 2) {
      V dr2, di2, dr3, di3, dr4, di4, dr5, di5;
      p.twiddled(0, i, k, 1, dr2, di2);
      p.twiddled(1, i, k, 2, dr3, di3);
      p.twiddled(2, i, k, 3, dr4, di4);
      p.twiddled(3, i, k, 4, dr5, di5);
      // FFTPACK names: c2 = d2 + d5, c5 = i(d5 - d2) componentwise, same for (d3, d4).
      const V cr2 = dr2 + dr5, ci5 = dr5 - dr2, ci2 = di2 + di5, cr5 = di2 - di5;
      const V cr3 = dr3 + dr4, ci4 = dr4 - dr3, ci3 = di3 + di4, cr4 = di3 - di4;
      const V c0r = p.in(i - 1, k, 0), c0i = p.in(i, k, 0);
      p.out(i - 1, 0, k) = c0r + cr2 + cr3;
      p.out(i, 0, k) = c0i + ci2 + ci3;
      const V tr2 = c0r + kTr11 * cr2 + kTr12 * cr3, ti2 = c0i + kTr11 * ci2 + kTr12 * ci3;
      const V tr3 = c0r + kTr12 * cr2 + kTr11 * cr3, ti3 = c0i + kTr12 * ci2 + kTr11 * ci3;
      const V tr5 = cr5 * kTi11 + cr4 * kTi12, tr4 = cr5 * kTi12 - cr4 * kTi11;
      const V ti5 = ci5 * kTi11 + ci4 * kTi12, ti4 = ci5 * kTi12 - ci4 * kTi11;
      sum_diff(p.out(i - 1, 2, k), p.out(ic - 1, 1, k), tr2, tr5);
      sum_diff(p.out(i, 2, k), p.out(ic, 1, k), ti5, ti2);
      sum_diff(p.out(i - 1, 4, k), p.out(ic - 1, 3, k), tr3, tr4);
      sum_diff(p.out(i, 4, k), p.out(ic, 3, k), ti4, ti3);
    }
}

#if defined(__AVX512F__)
// In-register transpose of an 8x8 float block: r[i][j] -> r[j][i].
inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}
constexpr bool kTransposeLanes = kL == 8;  // 8x8 blocks: 8 frames x 8 samples
#else
constexpr bool kTransposeLanes = false;
#endif

double* thread_scratch(size_t n) {
  thread_local std::vector<double> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace

bool RealFftF64::supported(std::size_t n) { return n == 1 || (n > 1 && !radices(n).empty()); }

RealFftF64::RealFftF64(std::size_t n) : n_(n) {
  if (!supported(n))
    throw std::invalid_argument("RealFftF64: size " + std::to_string(n) +
                                " is not a product of 2, 3 and 5 (unsupported)");
  if (n == 1) return;
  const UnitRootsF64 roots(n);
  size_t l1 = 1;
  for (size_t ip : radices(n)) {
    const size_t ido = n / (l1 * ip);
    const size_t base = tw_.size();
    stages_.push_back({ip, base});
    tw_.resize(base + (ip - 1) * (ido - 1));
    for (size_t j = 1; j < ip; ++j)
      for (size_t i = 1; i <= (ido - 1) / 2; ++i) {
        const Cd w = roots[j * l1 * i];
        tw_[base + (j - 1) * (ido - 1) + 2 * i - 2] = w.r;
        tw_[base + (j - 1) * (ido - 1) + 2 * i - 1] = w.i;
      }
    l1 *= ip;
  }
}

// pocketfft's rfftp::pass_all<true>: stages last to first, ping-ponging between c and ch (its
// final copy_and_norm with fct == 1 only copies, which the callers do or avoid).
template <class V>
V* RealFftF64::run(V* c, V* ch) const {
  V* p1 = c;
  V* p2 = ch;
  size_t l1 = n_;
  for (size_t s = stages_.size(); s-- > 0;) {
    const size_t ip = stages_[s].ip, ido = n_ / l1;
    l1 /= ip;
    const double* wa = tw_.data() + stages_[s].tw_off;
    switch (ip) {
      case 2: radf2(Pass<V, 2>{ido, l1, p1, p2, wa}); break;
      case 3: radf3(Pass<V, 3>{ido, l1, p1, p2, wa}); break;
      case 4: radf4(Pass<V, 4>{ido, l1, p1, p2, wa}); break;
      default: radf5(Pass<V, 5>{ido, l1, p1, p2, wa}); break;
    }
    std::swap(p1, p2);
  }
  return p1;
}

void RealFftF64::forward(const double* in, std::complex<double>* out) const {
  // Work in the output (2*(n/2+1) >= n doubles), then unpack the half-complex order in place,
  // top down: double a (a >= 1) moves to a+1; imaginary parts of DC (and Nyquist) become 0.
  double* t = reinterpret_cast<double*>(out);
  std::copy(in, in + n_, t);
  const double* r = run<double>(t, thread_scratch(n_));
  if (r != t) std::copy(r, r + n_, t);
  for (size_t a = n_ - 1; a >= 1; --a) t[a + 1] = t[a];
  t[1] = 0.0;
  if (n_ % 2 == 0) t[n_ + 1] = 0.0;
}

const double* RealFftF64::forward_lanes(double* data, double* scratch) const {
  if (reinterpret_cast<std::uintptr_t>(data) % alignof(Lanes) != 0 ||
      reinterpret_cast<std::uintptr_t>(scratch) % alignof(Lanes) != 0)
    throw std::invalid_argument("RealFftF64::forward_lanes: buffers must be 64-byte aligned");
  return reinterpret_cast<const double*>(run<Lanes>(reinterpret_cast<Lanes*>(data), reinterpret_cast<Lanes*>(scratch)));
}


void RealFftF64::load_lanes(const float* const* frame, const double* w, double* data) const {
  const size_t n = n_;
#if defined(__AVX512F__)
  if (kTransposeLanes && n % 8 == 0) {
    for (size_t a = 0; a < n; a += 8) {
      __m256 r[8];
      for (size_t l = 0; l < 8; ++l) r[l] = _mm256_loadu_ps(frame[l] + a);
      transpose8(r);  // r[j] = sample a+j of frames 0..7
      for (size_t j = 0; j < 8; ++j) {
        const __m512d x = __builtin_convertvector(r[j], __m512d);
        _mm512_storeu_pd(data + (a + j) * 8, w ? _mm512_mul_pd(_mm512_set1_pd(w[a + j]), x) : x);
      }
    }
    return;
  }
#endif
  for (size_t l = 0; l < kL; ++l)
    for (size_t a = 0; a < n; ++a)
      data[a * kL + l] = w ? w[a] * static_cast<double>(frame[l][a]) : static_cast<double>(frame[l][a]);
}

void RealFftF64::store_lanes(const double* half, std::complex<float>* const* out, std::size_t lanes) const {
  const size_t n = n_;
  if (lanes > kL) throw std::invalid_argument("RealFftF64::store_lanes: more lanes than kLanes");
#if defined(__AVX512F__)
  if (kTransposeLanes && n % 8 == 0 && lanes == kL) {
    // Float a+1 of output l is element a of the half-complex result; then DC's value moves to
    // float 0 and the imaginary parts of DC and Nyquist become zero.
    for (size_t a = 0; a < n; a += 8) {
      __m256 r[8];
      for (size_t j = 0; j < 8; ++j) r[j] = __builtin_convertvector(_mm512_loadu_pd(half + (a + j) * 8), __m256);
      transpose8(r);  // r[l] = elements a..a+7 of lane l
      for (size_t l = 0; l < 8; ++l) _mm256_storeu_ps(reinterpret_cast<float*>(out[l]) + a + 1, r[l]);
    }
    for (size_t l = 0; l < 8; ++l) {
      float* f = reinterpret_cast<float*>(out[l]);
      f[0] = f[1];
      f[1] = 0.0f;
      f[n + 1] = 0.0f;
    }
    return;
  }
#endif
  for (size_t l = 0; l < lanes; ++l) {
    const double* d = half + l;
    std::complex<float>* col = out[l];
    col[0] = std::complex<float>(static_cast<float>(d[0]), 0.0f);
    size_t b = 1;
    for (; 2 * b < n; ++b)
      col[b] = std::complex<float>(static_cast<float>(d[(2 * b - 1) * kL]), static_cast<float>(d[2 * b * kL]));
    if (2 * b == n) col[b] = std::complex<float>(static_cast<float>(d[(n - 1) * kL]), 0.0f);
  }
}

}  // namespace ser::dsp
