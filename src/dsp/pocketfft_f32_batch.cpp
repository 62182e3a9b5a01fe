// RealFftF32::backward_batch: the float32 backward (irfft) passes of pocketfft_f32.cpp run on
// RealFftF32::kLanes frames at once, one frame per SIMD lane. The passes are templates over a
// GCC vector of floats and repeat the scalar radb2..radb5 statement for statement (same
// grouping, same products, same constants), and vector +, -, * are lane-wise IEEE operations,
// so every lane reproduces backward()'s bits. As in pocketfft_f32.cpp, contraction and the
// auto-vectoriser are off (GCC 12 fuses even vector-extension a*b+c unless fp-contract=off);
// `objdump -d pocketfft_f32_batch.cpp.o | grep -c 'vf[n]*m[as]'` must print 0.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-tree-vectorize")
#endif

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "ser/dsp/pocketfft_f32.hpp"
#include "ser/dsp/pocketfft_f64.hpp"  // Aligned64Allocator

#if defined(__AVX512F__)
// GCC 12 flags the _mm512_undefined_ps() inside these intrinsics (a false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace ser::dsp {
namespace {

using std::size_t;
constexpr size_t kL = RealFftF32::kLanes;
typedef float Lanes __attribute__((vector_size(sizeof(float) * kL)));

// The same float constants as pocketfft_f32.cpp (pocketfft's T0 literals rounded to float).
constexpr float kTaur = -0.5f;
constexpr float kTaui = float(0.8660254037844386467637231707529362L);
constexpr float kTr11 = float(0.3090169943749474241022934171828191L);
constexpr float kTi11 = float(0.9510565162951535721164393333793821L);
constexpr float kTr12 = float(-0.8090169943749474241022934171828191L);
constexpr float kTi12 = float(0.5877852522924731291687059546390728L);
constexpr float kSqrt2 = float(1.414213562373095048801688724209698L);

// One backward pass: input cc(a,j,k) = cc[a + ido*(j + ip*k)], output ch(a,k,j) =
// ch[a + ido*(k + l1*j)]; twiddle x at index i is wa[i + x*(ido-1)] (shared by all lanes).
template <class V, size_t IP>
struct Pass {
  size_t ido, l1;
  const V* cc;
  V* ch;
  const float* wa;
  V in(size_t a, size_t j, size_t k) const { return cc[a + ido * (j + IP * k)]; }
  V& out(size_t a, size_t k, size_t j) const { return ch[a + ido * (k + l1 * j)]; }
  // (out(i-1,k,j), out(i,k,j)) = w_{j-1} * (dr, di), FFTPACK's MULPM grouping.
  void twiddle(size_t i, size_t k, size_t j, V dr, V di) const {
    const float wr = wa[i - 2 + (j - 1) * (ido - 1)], wi = wa[i - 1 + (j - 1) * (ido - 1)];
    out(i, k, j) = wr * di + wi * dr;
    out(i - 1, k, j) = wr * dr - wi * di;
  }
};

// FFTPACK's PM: a = c + d, b = c - d.
template <class V>
inline void pm(V& a, V& b, V c, V d) {
  a = c + d;
  b = c - d;
}

#define SER_LOOP_I                  \
  for (size_t k = 0; k < l1; ++k) \
    for (size_t i = 2, ic = ido - 2; i < ido; i += 2, ic -= 2)

template <class V>
void radb2(const Pass<V, 2>& p) {
  const size_t ido = p.ido, l1 = p.l1;
  for (size_t k = 0; k < l1; ++k) pm(p.out(0, k, 0), p.out(0, k, 1), p.in(0, 0, k), p.in(ido - 1, 1, k));
  if (ido % 2 == 0)
    for (size_t k = 0; k < l1; ++k) {
      p.out(ido - 1, k, 0) = 2.0f * p.in(ido - 1, 0, k);
      p.out(ido - 1, k, 1) = -2.0f * p.in(0, 1, k);
    }
  if (ido <= 2) return;
  SER_LOOP_I {
    V tr2, ti2;
    pm(p.out(i - 1, k, 0), tr2, p.in(i - 1, 0, k), p.in(ic - 1, 1, k));
    pm(ti2, p.out(i, k, 0), p.in(i, 0, k), p.in(ic, 1, k));
    p.twiddle(i, k, 1, tr2, ti2);
  }
}

template <class V>
void radb3(const Pass<V, 3>& p) {
  const size_t ido = p.ido, l1 = p.l1;
  for (size_t k = 0; k < l1; ++k) {
    const V tr2 = 2.0f * p.in(ido - 1, 1, k);
    const V cr2 = p.in(0, 0, k) + kTaur * tr2;
    p.out(0, k, 0) = p.in(0, 0, k) + tr2;
    const V ci3 = (2 * kTaui) * p.in(0, 2, k);
    pm(p.out(0, k, 2), p.out(0, k, 1), cr2, ci3);
  }
  if (ido == 1) return;
  SER_LOOP_I {
    const V tr2 = p.in(i - 1, 2, k) + p.in(ic - 1, 1, k), ti2 = p.in(i, 2, k) - p.in(ic, 1, k);
    const V cr2 = p.in(i - 1, 0, k) + kTaur * tr2, ci2 = p.in(i, 0, k) + kTaur * ti2;
    p.out(i - 1, k, 0) = p.in(i - 1, 0, k) + tr2;
    p.out(i, k, 0) = p.in(i, 0, k) + ti2;
    const V cr3 = kTaui * (p.in(i - 1, 2, k) - p.in(ic - 1, 1, k));
    const V ci3 = kTaui * (p.in(i, 2, k) + p.in(ic, 1, k));
    V dr2, dr3, di2, di3;
    pm(dr3, dr2, cr2, ci3), pm(di2, di3, ci2, cr3);
    p.twiddle(i, k, 1, dr2, di2);
    p.twiddle(i, k, 2, dr3, di3);
  }
}

template <class V>
void radb4(const Pass<V, 4>& p) {
  const size_t ido = p.ido, l1 = p.l1;
  for (size_t k = 0; k < l1; ++k) {
    V tr1, tr2;
    pm(tr2, tr1, p.in(0, 0, k), p.in(ido - 1, 3, k));
    const V tr3 = 2.0f * p.in(ido - 1, 1, k), tr4 = 2.0f * p.in(0, 2, k);
    pm(p.out(0, k, 0), p.out(0, k, 2), tr2, tr3), pm(p.out(0, k, 3), p.out(0, k, 1), tr1, tr4);
  }
  if (ido % 2 == 0)
    for (size_t k = 0; k < l1; ++k) {
      V tr1, tr2, ti1, ti2;
      pm(ti1, ti2, p.in(0, 3, k), p.in(0, 1, k)), pm(tr2, tr1, p.in(ido - 1, 0, k), p.in(ido - 1, 2, k));
      p.out(ido - 1, k, 0) = tr2 + tr2;
      p.out(ido - 1, k, 1) = kSqrt2 * (tr1 - ti1);
      p.out(ido - 1, k, 2) = ti2 + ti2;
      p.out(ido - 1, k, 3) = -kSqrt2 * (tr1 + ti1);
    }
  if (ido <= 2) return;
  SER_LOOP_I {
    V tr1, tr2, tr3, tr4, ti1, ti2, ti3, ti4, cr2, cr3, cr4, ci2, ci3, ci4;
    pm(tr2, tr1, p.in(i - 1, 0, k), p.in(ic - 1, 3, k)), pm(ti1, ti2, p.in(i, 0, k), p.in(ic, 3, k));
    pm(tr4, ti3, p.in(i, 2, k), p.in(ic, 1, k)), pm(tr3, ti4, p.in(i - 1, 2, k), p.in(ic - 1, 1, k));
    pm(p.out(i - 1, k, 0), cr3, tr2, tr3), pm(p.out(i, k, 0), ci3, ti2, ti3);
    pm(cr4, cr2, tr1, tr4), pm(ci2, ci4, ti1, ti4);
    p.twiddle(i, k, 1, cr2, ci2);
    p.twiddle(i, k, 2, cr3, ci3);
    p.twiddle(i, k, 3, cr4, ci4);
  }
}

template <class V>
void radb5(const Pass<V, 5>& p) {
  const size_t ido = p.ido, l1 = p.l1;
  for (size_t k = 0; k < l1; ++k) {
    const V ti5 = p.in(0, 2, k) + p.in(0, 2, k), ti4 = p.in(0, 4, k) + p.in(0, 4, k);
    const V tr2 = p.in(ido - 1, 1, k) + p.in(ido - 1, 1, k), tr3 = p.in(ido - 1, 3, k) + p.in(ido - 1, 3, k);
    const V c0 = p.in(0, 0, k);
    p.out(0, k, 0) = c0 + tr2 + tr3;
    const V cr2 = c0 + kTr11 * tr2 + kTr12 * tr3, cr3 = c0 + kTr12 * tr2 + kTr11 * tr3;
    const V ci5 = ti5 * kTi11 + ti4 * kTi12, ci4 = ti5 * kTi12 - ti4 * kTi11;
    pm(p.out(0, k, 4), p.out(0, k, 1), cr2, ci5), pm(p.out(0, k, 3), p.out(0, k, 2), cr3, ci4);
  }
  if (ido == 1) return;
  SER_LOOP_I {
    V tr2, tr3, tr4, tr5, ti2, ti3, ti4, ti5;
    pm(tr2, tr5, p.in(i - 1, 2, k), p.in(ic - 1, 1, k)), pm(ti5, ti2, p.in(i, 2, k), p.in(ic, 1, k));
    pm(tr3, tr4, p.in(i - 1, 4, k), p.in(ic - 1, 3, k)), pm(ti4, ti3, p.in(i, 4, k), p.in(ic, 3, k));
    const V c0r = p.in(i - 1, 0, k), c0i = p.in(i, 0, k);
    p.out(i - 1, k, 0) = c0r + tr2 + tr3;
    p.out(i, k, 0) = c0i + ti2 + ti3;
    const V cr2 = c0r + kTr11 * tr2 + kTr12 * tr3, ci2 = c0i + kTr11 * ti2 + kTr12 * ti3;
    const V cr3 = c0r + kTr12 * tr2 + kTr11 * tr3, ci3 = c0i + kTr12 * ti2 + kTr11 * ti3;
    const V cr5 = tr5 * kTi11 + tr4 * kTi12, cr4 = tr5 * kTi12 - tr4 * kTi11;
    const V ci5 = ti5 * kTi11 + ti4 * kTi12, ci4 = ti5 * kTi12 - ti4 * kTi11;
    V dr2, dr3, dr4, dr5, di2, di3, di4, di5;
    pm(dr4, dr3, cr3, ci4), pm(di3, di4, ci3, cr4), pm(dr5, dr2, cr2, ci5), pm(di2, di5, ci2, cr5);
    p.twiddle(i, k, 1, dr2, di2);
    p.twiddle(i, k, 2, dr3, di3);
    p.twiddle(i, k, 3, dr4, di4);
    p.twiddle(i, k, 4, dr5, di5);
  }
}
#undef SER_LOOP_I

#if defined(__AVX512F__)
// In-register transpose of a 16x16 float block: r[i][j] -> r[j][i].
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // r[4g + c], 128-bit lane q: element 4q + c of rows 4g..4g+3.
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int c = 0; c < 4; ++c) {  // 4x4 transpose of the 128-bit lanes of r[c], r[4+c], ..
    const __m512 u0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), u1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xEE);
    const __m512 u2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
    const __m512 u3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xEE);
    r[c] = _mm512_shuffle_f32x4(u0, u2, 0x88);
    r[4 + c] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
    r[8 + c] = _mm512_shuffle_f32x4(u1, u3, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
  }
}
constexpr bool kTransposeLanes = kL == 16;
#else
constexpr bool kTransposeLanes = false;
#endif

// Halfcomplex input of kL frames, interleaved: data[a*kL + l] = element a of frame l, where
// element 0 is Re(X0) and element a >= 1 is float a+1 of the complex spectrum (r1, i1, r2, ..),
// exactly what backward() copies; the imaginary parts of DC (and Nyquist) are never read.
void load_lanes(const float* const* f, size_t n, float* data) {
#if defined(__AVX512F__)
  if (kTransposeLanes && n % 16 == 0) {
    for (size_t a = 0; a < n; a += 16) {  // reads floats a+1 .. a+16 <= n of each spectrum
      __m512 r[16];
      for (size_t l = 0; l < 16; ++l) r[l] = _mm512_loadu_ps(f[l] + a + 1);
      transpose16(r);
      for (size_t j = 0; j < 16; ++j) _mm512_store_ps(data + (a + j) * 16, r[j]);
    }
    for (size_t l = 0; l < kL; ++l) data[l] = f[l][0];
    return;
  }
#endif
  for (size_t l = 0; l < kL; ++l) {
    data[l] = f[l][0];
    for (size_t a = 1; a < n; ++a) data[a * kL + l] = f[l][a + 1];
  }
}

// out[l][a] = scale * res[a*kL + l], backward()'s final copy_and_norm.
void store_lanes(const float* res, size_t n, float scale, float* const* out) {
#if defined(__AVX512F__)
  if (kTransposeLanes && n % 16 == 0) {
    const __m512 s = _mm512_set1_ps(scale);
    for (size_t a = 0; a < n; a += 16) {
      __m512 r[16];
      for (size_t j = 0; j < 16; ++j) r[j] = _mm512_mul_ps(s, _mm512_load_ps(res + (a + j) * 16));
      transpose16(r);
      for (size_t l = 0; l < 16; ++l) _mm512_storeu_ps(out[l] + a, r[l]);
    }
    return;
  }
#endif
  for (size_t l = 0; l < kL; ++l)
    for (size_t a = 0; a < n; ++a) out[l][a] = scale * res[a * kL + l];
}

float* lane_scratch(size_t n) {
  thread_local std::vector<float, Aligned64Allocator<float>> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace

template <class V>
V* RealFftF32::run_lanes(V* c, V* ch) const {
  V* p1 = c;
  V* p2 = ch;
  size_t l1 = 1;
  for (const Stage& s : stages_) {
    const size_t ido = n_ / (s.ip * l1);
    const float* wa = tw_.data() + s.tw_off;
    switch (s.ip) {
      case 2: radb2(Pass<V, 2>{ido, l1, p1, p2, wa}); break;
      case 3: radb3(Pass<V, 3>{ido, l1, p1, p2, wa}); break;
      case 4: radb4(Pass<V, 4>{ido, l1, p1, p2, wa}); break;
      default: radb5(Pass<V, 5>{ido, l1, p1, p2, wa}); break;
    }
    std::swap(p1, p2);
    l1 *= s.ip;
  }
  return p1;
}

void RealFftF32::backward_batch(const std::complex<float>* const* spectra, float* const* outs, std::size_t count,
                                float scale) const {
  const size_t n = n_;
  // data and scratch (kL frames each, 64-byte aligned), then one sink for padding lanes.
  float* data = lane_scratch(2 * n * kL + n);
  float* scratch = data + n * kL;
  float* sink = scratch + n * kL;
  for (size_t f0 = 0; f0 < count; f0 += kL) {
    const size_t lanes = std::min(kL, count - f0);
    const float* in[kL];
    float* out[kL];
    for (size_t l = 0; l < kL; ++l) {
      in[l] = reinterpret_cast<const float*>(spectra[f0 + (l < lanes ? l : 0)]);
      out[l] = l < lanes ? outs[f0 + l] : sink;
    }
    load_lanes(in, n, data);
    const Lanes* res = run_lanes(reinterpret_cast<Lanes*>(data), reinterpret_cast<Lanes*>(scratch));
    store_lanes(reinterpret_cast<const float*>(res), n, scale, out);
  }
}

}  // namespace ser::dsp
