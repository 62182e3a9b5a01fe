// Single-precision FFTs bit-identical to pocketfft's C++ FFTPACK plans (rfftp / cfftp) as used
// by scipy.fft and numpy.fft (>= 2.0) for float32/complex64 data. What has to match exactly:
//   * factorisation order: real 4,4,..,(2 moved to the front),3,5; complex 8,..,4,..,(2 first),3,5;
//   * twiddles: exp(2 pi i k/n) from octant-reduced double sin/cos held in two tables whose double
//     product is rounded to float (pocketfft's sincos_2pibyn);
//   * every butterfly's association order and which products are formed (IEEE + and * are
//     commutative, so only grouping matters), and the final scale multiply.
// NumPy/SciPy binaries target baseline x86-64, so no a*b+c is ever fused there: contraction is
// turned off for this whole translation unit (GCC forms FMAs on SSA form, so splitting
// expressions into statements would not be enough). GCC 12 still fuses the vectoriser's
// add/sub pairs (the twiddle products) into vfmaddsub despite fp-contract=off, so the
// vectoriser is off here too; the bit-exact tests catch either regression.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-tree-vectorize")
#endif

#include "ser/dsp/pocketfft_f32.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace ser::dsp {
namespace {

using Z = std::complex<float>;
using std::size_t;

struct Cd { double r, i; };
struct Cf { float r, i; };

inline Cf ld(const Z& z) { return {z.real(), z.imag()}; }
inline void st(Z& z, Cf v) { z = Z(v.r, v.i); }
inline Cf operator+(Cf a, Cf b) { return {a.r + b.r, a.i + b.i}; }
inline Cf operator-(Cf a, Cf b) { return {a.r - b.r, a.i - b.i}; }

// exp(2 pi i k / n), computed the way pocketfft does it (see file comment).
class UnitRoots {
 public:
  explicit UnitRoots(size_t n) : n_(n) {
    constexpr long double kPi = 3.141592653589793238462643383279502884197L;
    const double ang = static_cast<double>(0.25L * kPi / static_cast<long double>(n));
    const size_t nval = (n + 2) / 2;
    shift_ = 1;
    while ((size_t(1) << shift_) * (size_t(1) << shift_) < nval) ++shift_;
    mask_ = (size_t(1) << shift_) - 1;
    fine_.resize(mask_ + 1);
    coarse_.resize((nval + mask_) / (mask_ + 1));
    fine_[0] = coarse_[0] = {1.0, 0.0};
    for (size_t i = 1; i < fine_.size(); ++i) fine_[i] = octant(i, n, ang);
    for (size_t i = 1; i < coarse_.size(); ++i) coarse_[i] = octant(i * (mask_ + 1), n, ang);
  }
  Cf operator[](size_t k) const {
    const bool mirrored = 2 * k > n_;  // upper half: conjugate of exp(2 pi i (n-k)/n)
    if (mirrored) k = n_ - k;
    const Cd a = fine_[k & mask_], b = coarse_[k >> shift_];
    const float re = static_cast<float>(a.r * b.r - a.i * b.i);
    const float im = static_cast<float>(a.r * b.i + a.i * b.r);
    return {re, mirrored ? -im : im};
  }

 private:
  // exp(2 pi i x/n) by symmetry from one angle in [0, pi/4] (units of ang = pi/(4n), y = 8x):
  // lower half = conjugate, second quadrant = rotation by 90 degrees, upper octant = swap.
  static Cd octant(size_t x, size_t n, double ang) {
    size_t y = x << 3;
    const bool conj = y >= 4 * n;
    if (conj) y = 8 * n - y;
    const bool rot = y >= 2 * n;
    if (rot) y -= 2 * n;
    const bool swap = y >= n;
    if (swap) y = 2 * n - y;
    const double c = std::cos(double(y) * ang), s = std::sin(double(y) * ang);
    Cd v = swap ? Cd{s, c} : Cd{c, s};
    if (rot) v = {-v.i, v.r};
    if (conj) v.i = -v.i;
    return v;
  }
  size_t n_, mask_ = 0, shift_ = 0;
  std::vector<Cd> fine_, coarse_;
};

// Radix list in pocketfft's order; throws for sizes that would need its generic/Bluestein paths.
std::vector<size_t> factorize(size_t n, bool complex_plan) {
  if (n == 0) throw std::invalid_argument("pocketfft_f32: zero-length FFT");
  std::vector<size_t> f;
  size_t len = n;
  if (complex_plan)
    while (len % 8 == 0) { f.push_back(8); len /= 8; }
  while (len % 4 == 0) { f.push_back(4); len /= 4; }
  if (len % 2 == 0) {
    len /= 2;
    f.push_back(2);
    std::swap(f.front(), f.back());
  }
  for (size_t d = 3; d * d <= len; d += 2)
    while (len % d == 0) { f.push_back(d); len /= d; }
  if (len > 1) f.push_back(len);
  for (size_t p : f)
    if (p > 5 && p != 8)
      throw std::invalid_argument("pocketfft_f32: size " + std::to_string(n) +
                                  " has a prime factor > 5 (unsupported)");
  return f;
}

// ---------------------------------------------------------------- real (FFTPACK rfftp) passes
// Forward passes read cc(a,k,j) = cc[a+ido*(k+l1*j)] and write ch(a,j,k) = ch[a+ido*(j+ip*k)];
// backward passes the reverse. wa: twiddle x, pair (i-1)/2 as (re, im) at wa[i-1+x*(ido-1)], wa[i+..].
#define SER_IDX_SETUP(IP)                                                                        \
  auto W = [wa, ido](size_t x, size_t i) { return wa[i + x * (ido - 1)]; };                     \
  auto CCf = [cc, ido, l1](size_t a, size_t k, size_t j) { return cc[a + ido * (k + l1 * j)]; }; \
  auto CHf = [ch, ido](size_t a, size_t j, size_t k) -> float& { return ch[a + ido * (j + (IP) * k)]; }; \
  auto CCb = [cc, ido](size_t a, size_t j, size_t k) { return cc[a + ido * (j + (IP) * k)]; };  \
  auto CHb = [ch, ido, l1](size_t a, size_t k, size_t j) -> float& { return ch[a + ido * (k + l1 * j)]; }; \
  (void)W; (void)CCf; (void)CHf; (void)CCb; (void)CHb

constexpr float kTaur = -0.5f;
constexpr float kTaui = float(0.8660254037844386467637231707529362L);
constexpr float kTr11 = float(0.3090169943749474241022934171828191L);
constexpr float kTi11 = float(0.9510565162951535721164393333793821L);
constexpr float kTr12 = float(-0.8090169943749474241022934171828191L);
constexpr float kTi12 = float(0.5877852522924731291687059546390728L);
constexpr float kHsqt2 = float(0.707106781186547524400844362104849L);
constexpr float kSqrt2 = float(1.414213562373095048801688724209698L);

// FFTPACK's PM: a = c + d, b = c - d.
inline void pm(float& a, float& b, float c, float d) { a = c + d; b = c - d; }

// Forward: (dr, di) = conj(w_x) * (cc(i-1,k,j), cc(i,k,j)), FFTPACK's MULPM grouping.
#define SER_RADF_TW(x, j, dr, di)                                              \
  const float dr = W(x, i - 2) * CCf(i - 1, k, j) + W(x, i - 1) * CCf(i, k, j); \
  const float di = W(x, i - 2) * CCf(i, k, j) - W(x, i - 1) * CCf(i - 1, k, j)
#define SER_LOOP_I for (size_t k = 0; k < l1; ++k) for (size_t i = 2, ic = ido - 2; i < ido; i += 2, ic -= 2)

void radf2(size_t ido, size_t l1, const float* cc, float* ch, const float* wa) {
  SER_IDX_SETUP(2);
  for (size_t k = 0; k < l1; ++k) pm(CHf(0, 0, k), CHf(ido - 1, 1, k), CCf(0, k, 0), CCf(0, k, 1));
  if (ido % 2 == 0)
    for (size_t k = 0; k < l1; ++k) CHf(0, 1, k) = -CCf(ido - 1, k, 1), CHf(ido - 1, 0, k) = CCf(ido - 1, k, 0);
  if (ido <= 2) return;
  SER_LOOP_I {
    SER_RADF_TW(0, 1, tr2, ti2);
    pm(CHf(i - 1, 0, k), CHf(ic - 1, 1, k), CCf(i - 1, k, 0), tr2);
    pm(CHf(i, 0, k), CHf(ic, 1, k), ti2, CCf(i, k, 0));
  }
}

void radf3(size_t ido, size_t l1, const float* cc, float* ch, const float* wa) {
  SER_IDX_SETUP(3);
  for (size_t k = 0; k < l1; ++k) {
    const float cr2 = CCf(0, k, 1) + CCf(0, k, 2);
    CHf(0, 0, k) = CCf(0, k, 0) + cr2;
    CHf(0, 2, k) = kTaui * (CCf(0, k, 2) - CCf(0, k, 1));
    CHf(ido - 1, 1, k) = CCf(0, k, 0) + kTaur * cr2;
  }
  if (ido == 1) return;
  SER_LOOP_I {
    SER_RADF_TW(0, 1, dr2, di2);
    SER_RADF_TW(1, 2, dr3, di3);
    const float sr = dr2 + dr3, si = di2 + di3;  // d2 + d3, and taui * i(d3 - d2):
    const float tr3 = kTaui * (di2 - di3), ti3 = kTaui * (dr3 - dr2);
    CHf(i - 1, 0, k) = CCf(i - 1, k, 0) + sr;
    CHf(i, 0, k) = CCf(i, k, 0) + si;
    const float tr2 = CCf(i - 1, k, 0) + kTaur * sr, ti2 = CCf(i, k, 0) + kTaur * si;
    pm(CHf(i - 1, 2, k), CHf(ic - 1, 1, k), tr2, tr3);
    pm(CHf(i, 2, k), CHf(ic, 1, k), ti3, ti2);
  }
}

void radf4(size_t ido, size_t l1, const float* cc, float* ch, const float* wa) {
  SER_IDX_SETUP(4);
  for (size_t k = 0; k < l1; ++k) {
    float tr1, tr2;
    pm(tr1, CHf(0, 2, k), CCf(0, k, 3), CCf(0, k, 1));
    pm(tr2, CHf(ido - 1, 1, k), CCf(0, k, 0), CCf(0, k, 2));
    pm(CHf(0, 0, k), CHf(ido - 1, 3, k), tr2, tr1);
  }
  if (ido % 2 == 0)
    for (size_t k = 0; k < l1; ++k) {
      const float ti1 = -kHsqt2 * (CCf(ido - 1, k, 1) + CCf(ido - 1, k, 3));
      const float tr1 = kHsqt2 * (CCf(ido - 1, k, 1) - CCf(ido - 1, k, 3));
      pm(CHf(ido - 1, 0, k), CHf(ido - 1, 2, k), CCf(ido - 1, k, 0), tr1);
      pm(CHf(0, 3, k), CHf(0, 1, k), ti1, CCf(ido - 1, k, 2));
    }
  if (ido <= 2) return;
  SER_LOOP_I {
    SER_RADF_TW(0, 1, cr2, ci2);
    SER_RADF_TW(1, 2, cr3, ci3);
    SER_RADF_TW(2, 3, cr4, ci4);
    float tr1, tr2, tr3, tr4, ti1, ti2, ti3, ti4;
    pm(tr1, tr4, cr4, cr2), pm(ti1, ti4, ci2, ci4);
    pm(tr2, tr3, CCf(i - 1, k, 0), cr3), pm(ti2, ti3, CCf(i, k, 0), ci3);
    pm(CHf(i - 1, 0, k), CHf(ic - 1, 3, k), tr2, tr1), pm(CHf(i, 0, k), CHf(ic, 3, k), ti1, ti2);
    pm(CHf(i - 1, 2, k), CHf(ic - 1, 1, k), tr3, ti4), pm(CHf(i, 2, k), CHf(ic, 1, k), tr4, ti3);
  }
}

void radf5(size_t ido, size_t l1, const float* cc, float* ch, const float* wa) {
  SER_IDX_SETUP(5);
  for (size_t k = 0; k < l1; ++k) {
    float cr2, cr3, ci4, ci5;
    pm(cr2, ci5, CCf(0, k, 4), CCf(0, k, 1)), pm(cr3, ci4, CCf(0, k, 3), CCf(0, k, 2));
    const float c0 = CCf(0, k, 0);
    CHf(0, 0, k) = c0 + cr2 + cr3;
    CHf(ido - 1, 1, k) = c0 + kTr11 * cr2 + kTr12 * cr3;
    CHf(0, 2, k) = kTi11 * ci5 + kTi12 * ci4;
    CHf(ido - 1, 3, k) = c0 + kTr12 * cr2 + kTr11 * cr3;
    CHf(0, 4, k) = kTi12 * ci5 - kTi11 * ci4;
  }
  if (ido == 1) return;
  SER_LOOP_I {
    SER_RADF_TW(0, 1, dr2, di2);
    SER_RADF_TW(1, 2, dr3, di3);
    SER_RADF_TW(2, 3, dr4, di4);
    SER_RADF_TW(3, 4, dr5, di5);
    // (d2, d5) -> (d2 + d5, i(d5 - d2)) = (dr2+dr5, di2+di5 | di2-di5, dr5-dr2); same for (d3, d4)
    const float sr2 = dr2 + dr5, sr5 = di2 - di5, si2 = di2 + di5, si5 = dr5 - dr2;
    const float sr3 = dr3 + dr4, sr4 = di3 - di4, si3 = di3 + di4, si4 = dr4 - dr3;
    const float c0r = CCf(i - 1, k, 0), c0i = CCf(i, k, 0);
    CHf(i - 1, 0, k) = c0r + sr2 + sr3;
    CHf(i, 0, k) = c0i + si2 + si3;
    const float tr2 = c0r + kTr11 * sr2 + kTr12 * sr3, ti2 = c0i + kTr11 * si2 + kTr12 * si3;
    const float tr3 = c0r + kTr12 * sr2 + kTr11 * sr3, ti3 = c0i + kTr12 * si2 + kTr11 * si3;
    const float tr5 = kTi11 * sr5 + kTi12 * sr4, ti5 = kTi11 * si5 + kTi12 * si4;
    const float tr4 = kTi12 * sr5 - kTi11 * sr4, ti4 = kTi12 * si5 - kTi11 * si4;
    pm(CHf(i - 1, 2, k), CHf(ic - 1, 1, k), tr2, tr5), pm(CHf(i, 2, k), CHf(ic, 1, k), ti5, ti2);
    pm(CHf(i - 1, 4, k), CHf(ic - 1, 3, k), tr3, tr4), pm(CHf(i, 4, k), CHf(ic, 3, k), ti4, ti3);
  }
}
#undef SER_RADF_TW

// Backward: (ch(i-1,k,j), ch(i,k,j)) = w_{j-1} * (dr, di), FFTPACK's MULPM grouping.
#define SER_RADB_TW(j, dr, di)                                    \
  do {                                                            \
    const float wr_ = W((j) - 1, i - 2), wi_ = W((j) - 1, i - 1); \
    CHb(i, k, j) = wr_ * (di) + wi_ * (dr);                       \
    CHb(i - 1, k, j) = wr_ * (dr) - wi_ * (di);                   \
  } while (0)

void radb2(size_t ido, size_t l1, const float* cc, float* ch, const float* wa) {
  SER_IDX_SETUP(2);
  for (size_t k = 0; k < l1; ++k) pm(CHb(0, k, 0), CHb(0, k, 1), CCb(0, 0, k), CCb(ido - 1, 1, k));
  if (ido % 2 == 0)
    for (size_t k = 0; k < l1; ++k) CHb(ido - 1, k, 0) = 2 * CCb(ido - 1, 0, k), CHb(ido - 1, k, 1) = -2 * CCb(0, 1, k);
  if (ido <= 2) return;
  SER_LOOP_I {
    float tr2, ti2;
    pm(CHb(i - 1, k, 0), tr2, CCb(i - 1, 0, k), CCb(ic - 1, 1, k));
    pm(ti2, CHb(i, k, 0), CCb(i, 0, k), CCb(ic, 1, k));
    SER_RADB_TW(1, tr2, ti2);
  }
}

void radb3(size_t ido, size_t l1, const float* cc, float* ch, const float* wa) {
  SER_IDX_SETUP(3);
  for (size_t k = 0; k < l1; ++k) {
    const float tr2 = 2 * CCb(ido - 1, 1, k);
    const float cr2 = CCb(0, 0, k) + kTaur * tr2;
    CHb(0, k, 0) = CCb(0, 0, k) + tr2;
    const float ci3 = (2 * kTaui) * CCb(0, 2, k);
    pm(CHb(0, k, 2), CHb(0, k, 1), cr2, ci3);
  }
  if (ido == 1) return;
  SER_LOOP_I {
    const float tr2 = CCb(i - 1, 2, k) + CCb(ic - 1, 1, k), ti2 = CCb(i, 2, k) - CCb(ic, 1, k);
    const float cr2 = CCb(i - 1, 0, k) + kTaur * tr2, ci2 = CCb(i, 0, k) + kTaur * ti2;
    CHb(i - 1, k, 0) = CCb(i - 1, 0, k) + tr2;
    CHb(i, k, 0) = CCb(i, 0, k) + ti2;
    const float cr3 = kTaui * (CCb(i - 1, 2, k) - CCb(ic - 1, 1, k));
    const float ci3 = kTaui * (CCb(i, 2, k) + CCb(ic, 1, k));
    float dr2, dr3, di2, di3;
    pm(dr3, dr2, cr2, ci3), pm(di2, di3, ci2, cr3);
    SER_RADB_TW(1, dr2, di2);
    SER_RADB_TW(2, dr3, di3);
  }
}

void radb4(size_t ido, size_t l1, const float* cc, float* ch, const float* wa) {
  SER_IDX_SETUP(4);
  for (size_t k = 0; k < l1; ++k) {
    float tr1, tr2;
    pm(tr2, tr1, CCb(0, 0, k), CCb(ido - 1, 3, k));
    const float tr3 = 2 * CCb(ido - 1, 1, k), tr4 = 2 * CCb(0, 2, k);
    pm(CHb(0, k, 0), CHb(0, k, 2), tr2, tr3), pm(CHb(0, k, 3), CHb(0, k, 1), tr1, tr4);
  }
  if (ido % 2 == 0)
    for (size_t k = 0; k < l1; ++k) {
      float tr1, tr2, ti1, ti2;
      pm(ti1, ti2, CCb(0, 3, k), CCb(0, 1, k)), pm(tr2, tr1, CCb(ido - 1, 0, k), CCb(ido - 1, 2, k));
      CHb(ido - 1, k, 0) = tr2 + tr2;
      CHb(ido - 1, k, 1) = kSqrt2 * (tr1 - ti1);
      CHb(ido - 1, k, 2) = ti2 + ti2;
      CHb(ido - 1, k, 3) = -kSqrt2 * (tr1 + ti1);
    }
  if (ido <= 2) return;
  SER_LOOP_I {
    float tr1, tr2, tr3, tr4, ti1, ti2, ti3, ti4, cr2, cr3, cr4, ci2, ci3, ci4;
    pm(tr2, tr1, CCb(i - 1, 0, k), CCb(ic - 1, 3, k)), pm(ti1, ti2, CCb(i, 0, k), CCb(ic, 3, k));
    pm(tr4, ti3, CCb(i, 2, k), CCb(ic, 1, k)), pm(tr3, ti4, CCb(i - 1, 2, k), CCb(ic - 1, 1, k));
    pm(CHb(i - 1, k, 0), cr3, tr2, tr3), pm(CHb(i, k, 0), ci3, ti2, ti3);
    pm(cr4, cr2, tr1, tr4), pm(ci2, ci4, ti1, ti4);
    SER_RADB_TW(1, cr2, ci2);
    SER_RADB_TW(2, cr3, ci3);
    SER_RADB_TW(3, cr4, ci4);
  }
}

void radb5(size_t ido, size_t l1, const float* cc, float* ch, const float* wa) {
  SER_IDX_SETUP(5);
  for (size_t k = 0; k < l1; ++k) {
    const float ti5 = CCb(0, 2, k) + CCb(0, 2, k), ti4 = CCb(0, 4, k) + CCb(0, 4, k);
    const float tr2 = CCb(ido - 1, 1, k) + CCb(ido - 1, 1, k), tr3 = CCb(ido - 1, 3, k) + CCb(ido - 1, 3, k);
    const float c0 = CCb(0, 0, k);
    CHb(0, k, 0) = c0 + tr2 + tr3;
    const float cr2 = c0 + kTr11 * tr2 + kTr12 * tr3, cr3 = c0 + kTr12 * tr2 + kTr11 * tr3;
    const float ci5 = ti5 * kTi11 + ti4 * kTi12, ci4 = ti5 * kTi12 - ti4 * kTi11;
    pm(CHb(0, k, 4), CHb(0, k, 1), cr2, ci5), pm(CHb(0, k, 3), CHb(0, k, 2), cr3, ci4);
  }
  if (ido == 1) return;
  SER_LOOP_I {
    float tr2, tr3, tr4, tr5, ti2, ti3, ti4, ti5;
    pm(tr2, tr5, CCb(i - 1, 2, k), CCb(ic - 1, 1, k)), pm(ti5, ti2, CCb(i, 2, k), CCb(ic, 1, k));
    pm(tr3, tr4, CCb(i - 1, 4, k), CCb(ic - 1, 3, k)), pm(ti4, ti3, CCb(i, 4, k), CCb(ic, 3, k));
    const float c0r = CCb(i - 1, 0, k), c0i = CCb(i, 0, k);
    CHb(i - 1, k, 0) = c0r + tr2 + tr3;
    CHb(i, k, 0) = c0i + ti2 + ti3;
    const float cr2 = c0r + kTr11 * tr2 + kTr12 * tr3, ci2 = c0i + kTr11 * ti2 + kTr12 * ti3;
    const float cr3 = c0r + kTr12 * tr2 + kTr11 * tr3, ci3 = c0i + kTr12 * ti2 + kTr11 * ti3;
    const float cr5 = tr5 * kTi11 + tr4 * kTi12, cr4 = tr5 * kTi12 - tr4 * kTi11;
    const float ci5 = ti5 * kTi11 + ti4 * kTi12, ci4 = ti5 * kTi12 - ti4 * kTi11;
    float dr2, dr3, dr4, dr5, di2, di3, di4, di5;
    pm(dr4, dr3, cr3, ci4), pm(di3, di4, ci3, cr4), pm(dr5, dr2, cr2, ci5), pm(di2, di5, ci2, cr5);
    SER_RADB_TW(1, dr2, di2);
    SER_RADB_TW(2, dr3, di3);
    SER_RADB_TW(3, dr4, di4);
    SER_RADB_TW(4, dr5, di5);
  }
}
#undef SER_RADB_TW
#undef SER_LOOP_I
#undef SER_IDX_SETUP

// ------------------------------------------------------------- complex (FFTPACK cfftp) passes
// Forward multiplies by conj(w), backward by w (pocketfft's special_mul).
template <bool Fwd>
inline Cf twiddle(Cf v, Cf w) {
  return Fwd ? Cf{v.r * w.r + v.i * w.i, v.i * w.r - v.r * w.i}
             : Cf{v.r * w.r - v.i * w.i, v.r * w.i + v.i * w.r};
}
template <bool Fwd> inline Cf rot90(Cf a) { return Fwd ? Cf{a.i, -a.r} : Cf{-a.i, a.r}; }
template <bool Fwd> inline Cf rot45(Cf a) {
  return Fwd ? Cf{kHsqt2 * (a.r + a.i), kHsqt2 * (a.i - a.r)} : Cf{kHsqt2 * (a.r - a.i), kHsqt2 * (a.i + a.r)};
}
template <bool Fwd> inline Cf rot135(Cf a) {
  return Fwd ? Cf{kHsqt2 * (a.i - a.r), kHsqt2 * (-a.r - a.i)} : Cf{kHsqt2 * (-a.r - a.i), kHsqt2 * (a.r - a.i)};
}

// One radix-IP stage: x[j] = cc(i,j,k) -> butterfly -> y[j] (times twiddle j-1 unless i == 0)
// -> ch(i,k,j).
template <bool Fwd, size_t IP, class Butterfly>
void cpass(size_t ido, size_t l1, const Z* cc, Z* ch, const Z* wa, Butterfly bfly) {
  for (size_t k = 0; k < l1; ++k)
    for (size_t i = 0; i < ido; ++i) {
      Cf x[IP], y[IP];
      for (size_t j = 0; j < IP; ++j) x[j] = ld(cc[i + ido * (j + IP * k)]);
      bfly(x, y);
      st(ch[i + ido * k], y[0]);
      for (size_t j = 1; j < IP; ++j)
        st(ch[i + ido * (k + l1 * j)],
           i == 0 ? y[j] : twiddle<Fwd>(y[j], ld(wa[i - 1 + (j - 1) * (ido - 1)])));
    }
}

template <bool Fwd>
void cpass_any(size_t ip, size_t ido, size_t l1, const Z* cc, Z* ch, const Z* wa) {
  const float sgn = Fwd ? -1.f : 1.f;
  switch (ip) {
    case 2:
      cpass<Fwd, 2>(ido, l1, cc, ch, wa, [](const Cf* x, Cf* y) { y[0] = x[0] + x[1]; y[1] = x[0] - x[1]; });
      break;
    case 3: {
      const float twr = kTaur, twi = sgn * kTaui;
      cpass<Fwd, 3>(ido, l1, cc, ch, wa, [=](const Cf* x, Cf* y) {
        const Cf t0 = x[0], t1 = x[1] + x[2], t2 = x[1] - x[2];
        y[0] = t0 + t1;
        const Cf ca{t0.r + t1.r * twr, t0.i + t1.i * twr}, cb{-t2.i * twi, t2.r * twi};
        y[1] = ca + cb;
        y[2] = ca - cb;
      });
      break;
    }
    case 4:
      cpass<Fwd, 4>(ido, l1, cc, ch, wa, [](const Cf* x, Cf* y) {
        const Cf t2 = x[0] + x[2], t1 = x[0] - x[2], t3 = x[1] + x[3], t4 = rot90<Fwd>(x[1] - x[3]);
        y[0] = t2 + t3; y[2] = t2 - t3;
        y[1] = t1 + t4; y[3] = t1 - t4;
      });
      break;
    case 5: {
      const float w1r = kTr11, w1i = sgn * kTi11, w2r = kTr12, w2i = sgn * kTi12;
      cpass<Fwd, 5>(ido, l1, cc, ch, wa, [=](const Cf* x, Cf* y) {
        const Cf t0 = x[0], t1 = x[1] + x[4], t4 = x[1] - x[4], t2 = x[2] + x[3], t3 = x[2] - x[3];
        y[0] = Cf{t0.r + t1.r + t2.r, t0.i + t1.i + t2.i};
        auto step = [&](size_t u1, size_t u2, float ar, float br, float ai, float bi) {
          const Cf ca{t0.r + ar * t1.r + br * t2.r, t0.i + ar * t1.i + br * t2.i};
          const Cf cb{-(ai * t4.i + bi * t3.i), ai * t4.r + bi * t3.r};
          y[u1] = ca + cb;
          y[u2] = ca - cb;
        };
        step(1, 4, w1r, w2r, w1i, w2i);
        step(2, 3, w2r, w1r, w2i, -w1i);  // x + (-y) == x - y exactly
      });
      break;
    }
    case 8:
      cpass<Fwd, 8>(ido, l1, cc, ch, wa, [](const Cf* x, Cf* y) {
        Cf a1 = x[1] + x[5], a5 = x[1] - x[5], a3 = x[3] + x[7], a7 = x[3] - x[7];
        Cf t = a1; a1 = t + a3; a3 = rot90<Fwd>(t - a3);
        a7 = rot90<Fwd>(a7);
        t = a5; a5 = rot45<Fwd>(t + a7); a7 = rot135<Fwd>(t - a7);
        Cf a0 = x[0] + x[4], a4 = x[0] - x[4], a2 = x[2] + x[6], a6 = x[2] - x[6];
        t = a0; a0 = t + a2; a2 = t - a2;
        y[0] = a0 + a1; y[4] = a0 - a1;
        y[2] = a2 + a3; y[6] = a2 - a3;
        a6 = rot90<Fwd>(a6);
        t = a4; a4 = t + a6; a6 = t - a6;
        y[1] = a4 + a5; y[5] = a4 - a5;
        y[3] = a6 + a7; y[7] = a6 - a7;
      });
      break;
    default:
      throw std::logic_error("pocketfft_f32: bad radix");
  }
}

// Per-thread scratch for the overloads without one: allocated once, grown on demand.
template <class T>
T* thread_scratch(size_t n) {
  thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}
float* real_scratch(size_t n) { return thread_scratch<float>(n); }
Z* complex_scratch(size_t n) { return thread_scratch<Z>(n); }

}  // namespace

// ------------------------------------------------------------------------------ RealFftF32
RealFftF32::RealFftF32(std::size_t n) : n_(n) {
  const auto factors = factorize(n, false);
  if (n == 1) return;
  const UnitRoots roots(n);
  size_t l1 = 1;
  for (size_t ip : factors) {
    const size_t ido = n / (l1 * ip);
    stages_.push_back({ip, tw_.size()});
    const size_t base = tw_.size();
    tw_.resize(base + (ip - 1) * (ido - 1));
    for (size_t j = 1; j < ip; ++j)
      for (size_t i = 1; i <= (ido - 1) / 2; ++i) {
        const Cf w = roots[j * l1 * i];
        tw_[base + (j - 1) * (ido - 1) + 2 * i - 2] = w.r;
        tw_[base + (j - 1) * (ido - 1) + 2 * i - 1] = w.i;
      }
    l1 *= ip;
  }
}

void RealFftF32::run(float* c, float* ch, float scale, bool r2hc) const {
  float* p1 = c;  // n == 1: no stages, just the scale
  float* p2 = ch;
  auto stage = [&](size_t s, size_t ido, size_t l1) {
    const float* wa = tw_.data() + stages_[s].tw_off;
    switch (stages_[s].ip) {
      case 2: r2hc ? radf2(ido, l1, p1, p2, wa) : radb2(ido, l1, p1, p2, wa); break;
      case 3: r2hc ? radf3(ido, l1, p1, p2, wa) : radb3(ido, l1, p1, p2, wa); break;
      case 4: r2hc ? radf4(ido, l1, p1, p2, wa) : radb4(ido, l1, p1, p2, wa); break;
      default: r2hc ? radf5(ido, l1, p1, p2, wa) : radb5(ido, l1, p1, p2, wa); break;
    }
    std::swap(p1, p2);
  };
  if (r2hc) {  // forward runs the stages last to first
    size_t l1 = n_;
    for (size_t s = stages_.size(); s-- > 0;) {
      const size_t ido = n_ / l1;
      l1 /= stages_[s].ip;
      stage(s, ido, l1);
    }
  } else {
    size_t l1 = 1;
    for (size_t s = 0; s < stages_.size(); ++s) {
      stage(s, n_ / (stages_[s].ip * l1), l1);
      l1 *= stages_[s].ip;
    }
  }
  // pocketfft's copy_and_norm (it skips the multiply when fct == 1; 1 * x == x anyway).
  for (size_t i = 0; i < n_; ++i) c[i] = scale * p1[i];
}

void RealFftF32::backward(const Z* spectrum, float* out, float scale) const {
  backward(spectrum, out, scale, real_scratch(n_));
}
void RealFftF32::forward(const float* in, Z* out, float scale) const { forward(in, out, scale, real_scratch(n_)); }

void RealFftF32::backward(const std::complex<float>* spectrum, float* out, float scale,
                          float* scratch) const {
  // FFTPACK halfcomplex order r0, r1, i1, r2, i2, ..., [r_{n/2}]: imag of DC/Nyquist dropped.
  out[0] = spectrum[0].real();
  size_t i = 1, k = 1;
  for (; i + 1 < n_; i += 2, ++k) {
    out[i] = spectrum[k].real();
    out[i + 1] = spectrum[k].imag();
  }
  if (i < n_) out[i] = spectrum[k].real();
  run(out, scratch, scale, false);
}

void RealFftF32::forward(const float* in, std::complex<float>* out, float scale, float* scratch) const {
  // Work in the output buffer (2*(n/2+1) >= n floats), then unpack halfcomplex in place,
  // top down: float i (i >= 1) moves to i+1, and the imaginary parts of DC/Nyquist become 0.
  float* t = reinterpret_cast<float*>(out);
  std::copy(in, in + n_, t);
  run(t, scratch, scale, true);
  for (size_t i = n_ - 1; i >= 1; --i) t[i + 1] = t[i];
  t[1] = 0.f;
  if (n_ % 2 == 0) t[n_ + 1] = 0.f;
}

// ---------------------------------------------------------------------------- ComplexFftF32
ComplexFftF32::ComplexFftF32(std::size_t n) : n_(n) {
  const auto factors = factorize(n, true);
  if (n == 1) return;
  const UnitRoots roots(n);
  size_t l1 = 1;
  for (size_t ip : factors) {
    const size_t ido = n / (l1 * ip);
    stages_.push_back({ip, tw_.size()});
    for (size_t j = 1; j < ip; ++j)
      for (size_t i = 1; i < ido; ++i) {
        const Cf w = roots[j * l1 * i];
        tw_.emplace_back(w.r, w.i);
      }
    l1 *= ip;
  }
}

template <bool Fwd>
void ComplexFftF32::run(std::complex<float>* c, std::complex<float>* ch, float scale) const {
  auto scaled = [scale](Z z) { return Z(z.real() * scale, z.imag() * scale); };
  Z* p1 = c;
  Z* p2 = ch;
  size_t l1 = 1;
  for (const Stage& s : stages_) {
    cpass_any<Fwd>(s.ip, n_ / (s.ip * l1), l1, p1, p2, tw_.data() + s.tw_off);
    std::swap(p1, p2);
    l1 *= s.ip;
  }
  for (size_t i = 0; i < n_; ++i) c[i] = scaled(p1[i]);
}

void ComplexFftF32::forward(Z* data, float scale) const { run<true>(data, complex_scratch(n_), scale); }
void ComplexFftF32::forward(Z* data, float scale, Z* scratch) const { run<true>(data, scratch, scale); }
void ComplexFftF32::backward(Z* data, float scale) const { run<false>(data, complex_scratch(n_), scale); }
void ComplexFftF32::backward(Z* data, float scale, Z* scratch) const { run<false>(data, scratch, scale); }

}  // namespace ser::dsp
