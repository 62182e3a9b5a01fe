#include "ser/dsp/numpy_atan2.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

// Scalar port of the float32 atan2 algorithm of Intel SVML's "la" (low accuracy) vector kernel,
// which NumPy uses for np.arctan2 on AVX-512 machines. Every step is reproduced with the same
// float rounding: each fused multiply-add as std::fma, each separate mul/add/div as its own
// rounded float operation, so the results match bit for bit on the main path.
//
// Algorithm:
//   |y| <  |x|: s = |y| / |x|,   r = atan(s)
//   |y| >= |x|: s = -|x| / |y|,  r = pi/2 + atan(s)
//   atan(s) ~= s * (B(s^4) + s^2 * A(s^4)), two interleaved degree-4 polynomials in s^4.
//   Then r gets x's sign, pi is added when x < 0, and the result gets y's sign.
// Arguments with a magnitude outside [2^-125, 2^123) (zero, denormal, huge, inf, nan) leave the
// main path; zeros are resolved by the sign rules of atan2, the rest by a double-precision atan2.

namespace ser::dsp {
namespace {

std::uint32_t bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

constexpr std::uint32_t kSign = 0x80000000u;
constexpr float kPi = 0x1.921fb6p+1f;    // float(pi)
constexpr float kPio2 = 0x1.921fb6p+0f;  // float(pi/2)

// atan(s) ~= s * (B(s^4) + s^2 * A(s^4)) with
// B(t) = 1 + kB0 t + kB1 t^2 + kB2 t^3 + kB3 t^4 and A(t) = kA0 + kA1 t + kA2 t^2 + kA3 t^3.
constexpr float kA0 = -0x1.555492p-2f, kA1 = -0x1.22c3f0p-3f, kA2 = -0x1.30ec52p-4f,
                kA3 = -0x1.fe4c62p-7f;
constexpr float kB0 = 0x1.996f3ep-3f, kB1 = 0x1.b2c8e8p-4f, kB2 = 0x1.578708p-5f,
                kB3 = 0x1.645980p-9f;

// True when |v| (as bits, sign cleared) lies in [2^-125, 2^123), where the main path is accurate.
bool in_main_range(std::uint32_t abs_bits) {
  return abs_bits >= 0x01000000u && abs_bits < 0x7d000000u;
}

// a / b computed as the kernel does: a reciprocal estimate refined by one Newton step, then a
// quotient corrected with an FMA residual. A correctly rounded reciprocal stands in for the
// hardware 14-bit estimate; after the refinement the quotient comes out the same unless |a| is
// below about 2^-112, where the residual is subnormal (off by at most an ulp of a tiny angle).
float kernel_div(float a, float b) {
  float r = 1.0f / b;
  const float e = std::fma(-r, b, 1.0f);
  r = std::fma(e, r, r);
  const float q0 = a * r;
  const float rem = std::fma(-q0, b, a);
  return std::fma(rem, r, q0);
}

}  // namespace

float numpy_atan2f(float y, float x) {
  const std::uint32_t ax_bits = bits(x) & ~kSign, ay_bits = bits(y) & ~kSign;
  const std::uint32_t sx = bits(x) & kSign, sy = bits(y) & kSign;
  const float ax = from_bits(ax_bits), ay = from_bits(ay_bits);

  // Octant reduction: the smaller magnitude over the larger, with pi/2 offset when swapped.
  const bool y_smaller = ay < ax;  // false for nan
  const float a = y_smaller ? ay : -ax;
  const float b = y_smaller ? ax : ay;
  float pio2 = y_smaller ? 0.0f : kPio2;

  if (!in_main_range(ax_bits) || !in_main_range(ay_bits)) {
    const bool nan = std::isnan(x) || std::isnan(y);
    if (nan || (ax_bits != 0 && ay_bits != 0)) {
      return static_cast<float>(std::atan2(static_cast<double>(y), static_cast<double>(x)));
    }
    // At least one zero: result is 0 or pi/2 (0 when both are zero), with x's sign, pi added
    // when x's sign bit is set, and y's sign.
    if (b == 0.0f) pio2 = 0.0f;
    float r = from_bits(bits(pio2) | sx);
    if (sx) r = r + kPi;
    return from_bits(bits(r) | sy);
  }

  const float s = kernel_div(a, b);
  const float s2 = s * s;
  const float s4 = s2 * s2;

  float pb = std::fma(kB3, s4, kB2);
  pb = std::fma(s4, pb, kB1);
  float pa = std::fma(kA3, s4, kA2);
  pa = std::fma(s4, pa, kA1);
  pb = std::fma(s4, pb, kB0);
  pa = std::fma(s4, pa, kA0);
  pb = std::fma(s4, pb, 1.0f);
  const float poly = std::fma(s2, pa, pb);
  float r = std::fma(s, poly, pio2);

  r = from_bits(bits(r) | sx);
  if (x <= 0.0f) r = r + kPi;
  return from_bits(bits(r) | sy);
}

}  // namespace ser::dsp
