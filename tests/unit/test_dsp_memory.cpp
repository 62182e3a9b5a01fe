// The memory-lean paths of the STFT and the harmonic branch give the very bits of the
// whole-matrix paths they replace: magnitude without the complex STFT, STFT columns made in
// blocks, HPSS medians and masks per block of frames.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ser/dsp/hpss.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/dsp/tonnetz.hpp"

using namespace ser;

namespace {

std::vector<float> test_signal(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  std::vector<float> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / 22050.0;
    y[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 220 * t) * (0.5 + 0.5 * std::sin(2 * M_PI * 3 * t))) + noise(rng);
  }
  return y;
}

// Lengths: shorter than one frame, a few frames, and across the 256-frame blocks of harmonic().
const std::size_t kLengths[] = {700, 2048, 5000, 256 * 512 - 1, 256 * 512 + 3000, 600 * 512 + 17};

TEST(DspMemory, StftMagnitudeIsMagnitudeOfStft) {
  for (std::size_t n : kLengths) {
    const auto y = test_signal(n, static_cast<unsigned>(n));
    const dsp::Matrix a = dsp::magnitude(dsp::stft(y.data(), y.size()));
    const dsp::Matrix b = dsp::stft_magnitude(y.data(), y.size());
    ASSERT_EQ(a.rows(), b.rows());
    ASSERT_EQ(a.cols(), b.cols());
    EXPECT_TRUE((a.array() == b.array()).all()) << n;
  }
}

TEST(DspMemory, StftColumnsInAnyBlockAreTheStftsColumns) {
  const auto y = test_signal(300 * 512, 3);
  const dsp::ComplexMatrix D = dsp::stft(y.data(), y.size());
  const std::size_t B = static_cast<std::size_t>(D.rows());
  for (std::size_t t0 : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{255}, std::size_t{290}}) {
    const std::size_t count = std::min<std::size_t>(11, static_cast<std::size_t>(D.cols()) - t0);
    std::vector<std::complex<float>> out(count * B);
    dsp::stft_columns(y.data(), y.size(), 2048, 512, t0, count, out.data());
    for (std::size_t i = 0; i < count * B; ++i) ASSERT_EQ(out[i], D.data()[t0 * B + i]) << t0 << " " << i;
  }
}

TEST(DspMemory, HarmonicFromMagnitudeMatchesHarmonicFromTheComplexStft) {
  for (std::size_t n : kLengths) {
    const auto y = test_signal(n, static_cast<unsigned>(n) + 1);
    const dsp::ComplexMatrix D = dsp::stft(y.data(), y.size());
    const dsp::Matrix S = dsp::stft_magnitude(y.data(), y.size());
    EXPECT_EQ(dsp::harmonic(y.data(), y.size(), S), dsp::harmonic(y.data(), y.size(), D)) << n;
  }
}

TEST(DspMemory, HarmonicBranchFromMagnitudeMatches) {
  const auto y = test_signal(22050 * 3, 11);
  const dsp::ComplexMatrix D = dsp::stft(y.data(), y.size());
  const dsp::Matrix S = dsp::stft_magnitude(y.data(), y.size());
  const dsp::HarmonicBranch a = dsp::harmonic_branch(y.data(), y.size(), 22050, D);
  const dsp::HarmonicBranch b = dsp::harmonic_branch(y.data(), y.size(), 22050, S);
  EXPECT_EQ(a.y_harm, b.y_harm);
  EXPECT_EQ(a.tuning_cqt, b.tuning_cqt);
  EXPECT_TRUE((a.tonnetz.array() == b.tonnetz.array()).all());
}

}  // namespace
