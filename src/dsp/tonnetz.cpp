// GCC contracts a*b+c into FMA in C++ even with -std=c++17; NumPy/SciPy round each operation,
// so contraction is switched off for this file (explicit std::fma stays where NumPy uses one).
#pragma GCC optimize("fp-contract=off")

#include "ser/dsp/tonnetz.hpp"

#include <cmath>
#include <limits>

#include "ser/dsp/cqt.hpp"
#include "ser/dsp/hpss.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/dsp/tuning.hpp"

namespace ser::dsp {

MatrixD tonnetz_from_chroma(const Matrix& chroma) {
  const Eigen::Index n_chroma = chroma.rows(), T = chroma.cols();
  // phi = R * cos(pi * V), V = scale (x) linspace(0, 12, n_chroma), even rows shifted by -0.5.
  static const double scale[6] = {7.0 / 6, 7.0 / 6, 3.0 / 2, 3.0 / 2, 2.0 / 3, 2.0 / 3};
  static const double radius[6] = {1, 1, 1, 1, 0.5, 0.5};
  const double step = 12.0 / static_cast<double>(n_chroma);
  MatrixD phi(6, n_chroma);
  for (int p = 0; p < 6; ++p) {
    for (Eigen::Index c = 0; c < n_chroma; ++c) {
      double v = scale[p] * (static_cast<double>(c) * step);
      if (p % 2 == 0) v -= 0.5;
      phi(p, c) = radius[p] * std::cos(M_PI * v);
    }
  }
  MatrixD ton(6, T);
  Eigen::VectorXd cn(n_chroma);
  const double tiny = std::numeric_limits<float>::min();
  for (Eigen::Index t = 0; t < T; ++t) {
    // util.normalize(norm=1): float64 L1 length, quotient stored back as float32.
    double len = 0.0;
    for (Eigen::Index c = 0; c < n_chroma; ++c) len += std::abs(static_cast<double>(chroma(c, t)));
    if (len < tiny) len = 1.0;
    for (Eigen::Index c = 0; c < n_chroma; ++c) cn(c) = static_cast<float>(chroma(c, t) / len);
    ton.col(t) = phi * cn;
  }
  return ton;
}

HarmonicBranch harmonic_branch_from(std::vector<float> y_harm, double sr, const double* tuning_override) {
  HarmonicBranch b;
  b.y_harm = std::move(y_harm);
  b.tuning_cqt = tuning_override
                     ? *tuning_override
                     : estimate_tuning(stft_magnitude(b.y_harm.data(), b.y_harm.size()), sr, 2048, 36);
  b.cqt_mag = cqt_magnitude(b.y_harm.data(), b.y_harm.size(), sr, b.tuning_cqt);
  b.chroma_cqt = chroma_cqt_from_magnitude(b.cqt_mag);
  b.tonnetz = tonnetz_from_chroma(b.chroma_cqt);
  return b;
}

HarmonicBranch harmonic_branch(const float* y, std::size_t n, double sr, const ComplexMatrix& D,
                               const double* tuning_override) {
  return harmonic_branch_from(harmonic(y, n, D), sr, tuning_override);
}

HarmonicBranch harmonic_branch(const float* y, std::size_t n, double sr, const Matrix& S,
                               const double* tuning_override) {
  return harmonic_branch_from(harmonic(y, n, S), sr, tuning_override);
}

}  // namespace ser::dsp
