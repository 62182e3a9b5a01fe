#pragma once
// np.abs of complex64 as NumPy computes it: max * sqrt(fma(r, r, 1)) with r = min / max in float32.
// It differs from a correctly rounded hypot in about 1/3 of the values, and HPSS masks, tuning and
// the CQT inherit those ulps. `magnitude()` in stft.hpp applies it to a whole STFT.
#include <cmath>
#include <complex>
#include <cstddef>

#include "ser/dsp/types.hpp"

namespace ser::dsp {

// n values of z into out.
void numpy_abs(const std::complex<float>* z, float* out, std::size_t n);

inline float numpy_abs_parts(float re, float im) {
  re = std::fabs(re);
  im = std::fabs(im);
  const float hi = re < im ? im : re, lo = re < im ? re : im;
  const float r = lo / (hi == 0.0f ? 1.0f : hi);  // 0 / 0 is 0 here, as NumPy masks it
  return std::sqrt(std::fma(r, r, 1.0f)) * hi;
}
inline float numpy_abs(std::complex<float> z) { return numpy_abs_parts(z.real(), z.imag()); }

}  // namespace ser::dsp
