// NumPy's complex64 absolute value, bit for bit (see complex_abs.hpp). The fma is NumPy's own,
// so contraction stays off for everything else.
#pragma GCC optimize("fp-contract=off")

#include "ser/dsp/complex_abs.hpp"
#include "ser/dsp/stft.hpp"

#include <algorithm>
#include <cmath>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace ser::dsp {

namespace {

// IEEE square roots in place; std::sqrt's errno branch keeps GCC from vectorising it.
void sqrt_inplace(float* x, std::size_t n) {
  std::size_t i = 0;
#if defined(__AVX512F__)
  // The zero-masked form: GCC 12 warns about the unmasked intrinsic's undefined source.
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_maskz_sqrt_ps(0xFFFF, _mm512_loadu_ps(x + i)));
#elif defined(__AVX__)
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#elif defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) x[i] = std::sqrt(x[i]);
}

void abs_prepare(const float* __restrict z, float* __restrict t, float* __restrict hi, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const float re = std::fabs(z[2 * i]), im = std::fabs(z[2 * i + 1]);
    const float h = re < im ? im : re, l = re < im ? re : im;
    const float r = l / (h == 0.0f ? 1.0f : h);
    t[i] = std::fma(r, r, 1.0f);
    hi[i] = h;
  }
}

void abs_finish(float* __restrict t, const float* __restrict hi, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) t[i] *= hi[i];
}

}  // namespace

void numpy_abs(const std::complex<float>* z, float* out, std::size_t n) {
  constexpr std::size_t kBlock = 512;
  float hi[kBlock];
  for (std::size_t i = 0; i < n; i += kBlock) {
    const std::size_t m = std::min(kBlock, n - i);
    abs_prepare(reinterpret_cast<const float*>(z + i), out + i, hi, m);
    sqrt_inplace(out + i, m);
    abs_finish(out + i, hi, m);
  }
}

Matrix magnitude(const ComplexMatrix& D) {
  Matrix S(D.rows(), D.cols());
  numpy_abs(D.data(), S.data(), static_cast<std::size_t>(D.size()));
  return S;
}

}  // namespace ser::dsp
