// Bit-exactness of the float64 pocketfft port (ser::dsp::RealFftF64) and of stft() against
// scipy.fft / librosa-0.11-under-NumPy-2 goldens (scripts/make_stft_fixtures.py), and of
// |stft| against every reference clip's stft_mag.npy. Every element must match to the last bit.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "ser/dsp/pocketfft_f64.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/util/npy.hpp"
#include "support/shared.hpp"

using ser::dsp::RealFftF64;

namespace {

constexpr std::size_t L = RealFftF64::kLanes;

ser::util::NpyArray fixture(const std::string& name) {
  return ser::util::read_npy(std::string(SER_FIXTURES_DIR) + "/stft/" + name + ".npy");
}

std::uint64_t bits(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
std::uint32_t bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

struct Golden {
  std::size_t n;
  std::vector<double> in, out;  // out: (n/2+1) (re, im) pairs
};

std::vector<Golden> goldens() {
  const auto sizes = fixture("rfft64_sizes"), in = fixture("rfft64_in"), out = fixture("rfft64_out");
  EXPECT_EQ(in.dtype, "<f8");
  EXPECT_EQ(out.dtype, "<f8");
  std::vector<Golden> g;
  std::size_t pi = 0, po = 0;
  for (double s : sizes.values) {
    const auto n = static_cast<std::size_t>(s);
    const std::size_t m = 2 * (n / 2 + 1);
    g.push_back({n, std::vector<double>(in.values.begin() + pi, in.values.begin() + pi + n),
                 std::vector<double>(out.values.begin() + po, out.values.begin() + po + m)});
    pi += n;
    po += m;
  }
  EXPECT_EQ(pi, in.values.size());
  EXPECT_EQ(po, out.values.size());
  return g;
}

}  // namespace

TEST(RealFftF64, SupportedSizes) {
  ser::dsp::LaneBuffer a(8 * L + 1);
  EXPECT_THROW(RealFftF64(8).forward_lanes(a.data() + 1, a.data()), std::invalid_argument);
  for (std::size_t n : {1, 2, 3, 4, 5, 6, 8, 15, 1000, 1024, 2048, 4096}) EXPECT_TRUE(RealFftF64::supported(n)) << n;
  for (std::size_t n : {0, 7, 14, 22, 1022}) EXPECT_FALSE(RealFftF64::supported(n)) << n;
  EXPECT_THROW(RealFftF64(7), std::invalid_argument);
}

TEST(RealFftF64, ScalarMatchesScipyBitForBit) {
  const auto all = goldens();
  ASSERT_FALSE(all.empty());
  for (const Golden& g : all) {
    const RealFftF64 fft(g.n);
    std::vector<std::complex<double>> out(g.n / 2 + 1);
    fft.forward(g.in.data(), out.data());
    const double* got = reinterpret_cast<const double*>(out.data());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < g.out.size(); ++i)
      if (bits(got[i]) != bits(g.out[i]) && ++bad <= 3)
        ADD_FAILURE() << "n=" << g.n << " [" << i << "]: got " << got[i] << " want " << g.out[i];
    EXPECT_EQ(bad, 0u) << "n=" << g.n;
  }
}

// Each golden vector in every lane position, the other lanes random: each lane must give the
// scalar (= scipy) result regardless of its neighbours.
TEST(RealFftF64, LanesMatchScipyBitForBit) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> nd;
  for (const Golden& g : goldens()) {
    const RealFftF64 fft(g.n);
    ser::dsp::LaneBuffer data(g.n * L), scratch(g.n * L);
    // Expected half-complex order r0, r1, i1, ..., [r_{n/2}].
    std::vector<double> want(g.n);
    want[0] = g.out[0];
    for (std::size_t a = 1; a < g.n; ++a) want[a] = g.out[a + 1];
    for (std::size_t lane = 0; lane < L; ++lane) {
      for (std::size_t a = 0; a < g.n; ++a)
        for (std::size_t l = 0; l < L; ++l) data[a * L + l] = l == lane ? g.in[a] : nd(rng);
      const double* half = fft.forward_lanes(data.data(), scratch.data());
      ASSERT_TRUE(half == data.data() || half == scratch.data());
      std::size_t bad = 0;
      for (std::size_t a = 0; a < g.n; ++a)
        if (bits(half[a * L + lane]) != bits(want[a]) && ++bad <= 3)
          ADD_FAILURE() << "n=" << g.n << " lane " << lane << " [" << a << "]: got " << half[a * L + lane]
                        << " want " << want[a];
      EXPECT_EQ(bad, 0u) << "n=" << g.n << " lane " << lane;
    }
  }
}

// The tables hold scipy's (NumPy-cos) values; they may differ from a libm formula by an ulp only.
TEST(StftExact, HannTablesAreHann) {
  for (int n : {1024, 2048, 4096, 512, 1000}) {
    const auto w = ser::dsp::make_window(ser::dsp::Window::Hann, n);
    ASSERT_EQ(w.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(w[0], 0.0);
    EXPECT_EQ(w[static_cast<std::size_t>(n / 2)], 1.0);
    for (int k = 0; k < n; ++k)
      ASSERT_NEAR(w[static_cast<std::size_t>(k)], 0.5 - 0.5 * std::cos(2.0 * M_PI * k / n), 1e-15) << n << " " << k;
  }
  for (double v : ser::dsp::make_window(ser::dsp::Window::Ones, 1024)) ASSERT_EQ(v, 1.0);
}

namespace {

void expect_stft_equals(const std::string& name, int n_fft, int hop, ser::dsp::Window window) {
  const auto ya = fixture("y");
  ASSERT_EQ(ya.dtype, "<f4");
  const std::vector<float> y(ya.values.begin(), ya.values.end());
  const auto ref = fixture(name);
  ASSERT_EQ(ref.dtype, "<f4");
  ASSERT_EQ(ref.shape.size(), 3u);
  const ser::dsp::ComplexMatrix D = ser::dsp::stft(y.data(), y.size(), n_fft, hop, window);
  ASSERT_EQ(static_cast<std::size_t>(D.rows()), ref.shape[0]);
  ASSERT_EQ(static_cast<std::size_t>(D.cols()), ref.shape[1]);
  std::size_t bad = 0;
  for (std::size_t b = 0; b < ref.shape[0]; ++b)
    for (std::size_t t = 0; t < ref.shape[1]; ++t) {
      const std::complex<float> z = D(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(t));
      const std::size_t i = 2 * (b * ref.shape[1] + t);
      const auto re = static_cast<float>(ref.values[i]), im = static_cast<float>(ref.values[i + 1]);
      if ((bits(z.real()) != bits(re) || bits(z.imag()) != bits(im)) && ++bad <= 3)
        ADD_FAILURE() << name << " bin " << b << " frame " << t << ": got " << z << " want (" << re << "," << im << ")";
    }
  EXPECT_EQ(bad, 0u) << name;
}

}  // namespace

TEST(StftExact, HannMatchesLibrosaBitForBit) {
  expect_stft_equals("stft_hann_2048_512", 2048, 512, ser::dsp::Window::Hann);
}

TEST(StftExact, OnesMatchesLibrosaBitForBit) {
  expect_stft_equals("stft_ones_1024_256", 1024, 256, ser::dsp::Window::Ones);
}

// |stft(y)| of every reference clip equals librosa's stft_mag.npy exactly.
TEST(StftExact, MagnitudeMatchesReferenceClipsExactly) {
  SER_REQUIRE_SHARED();
  for (const char* clip : ser::test::kClips) {
    const auto ya = ser::util::read_npy(ser::test::clip_dir(clip) + "/y.npy");
    ASSERT_EQ(ya.dtype, "<f4") << clip;
    const std::vector<float> y(ya.values.begin(), ya.values.end());
    const auto ref = ser::util::read_npy(ser::test::clip_dir(clip) + "/stft_mag.npy");
    const ser::dsp::Matrix S = ser::dsp::magnitude(ser::dsp::stft(y.data(), y.size()));
    ASSERT_EQ(ref.shape.size(), 2u) << clip;
    ASSERT_EQ(static_cast<std::size_t>(S.rows()), ref.shape[0]) << clip;
    ASSERT_EQ(static_cast<std::size_t>(S.cols()), ref.shape[1]) << clip;
    std::size_t bad = 0;
    for (std::size_t b = 0; b < ref.shape[0]; ++b)
      for (std::size_t t = 0; t < ref.shape[1]; ++t) {
        const float got = S(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(t));
        const auto want = static_cast<float>(ref.at(b, t));
        if (bits(got) != bits(want) && ++bad <= 3)
          ADD_FAILURE() << clip << " bin " << b << " frame " << t << ": got " << got << " want " << want;
      }
    EXPECT_EQ(bad, 0u) << clip << ": " << bad << " of " << ref.values.size() << " bins differ";
  }
}

// stft() for sizes off the 8x8-transpose path (odd, not a multiple of 8) and the fallback Hann
// formula: each column is the scalar forward() of the windowed, zero-padded frame.
TEST(StftExact, AnySupportedSizeEqualsScalarForward) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  std::vector<float> y(3001);
  for (float& v : y) v = nd(rng);
  for (int n_fft : {15, 30, 100, 1000, 2048})
    for (auto window : {ser::dsp::Window::Hann, ser::dsp::Window::Ones}) {
      const int hop = n_fft / 4 + 1;
      const auto D = ser::dsp::stft(y.data(), y.size(), n_fft, hop, window);
      const auto w = ser::dsp::make_window(window, n_fft);
      const RealFftF64 fft(static_cast<std::size_t>(n_fft));
      ASSERT_EQ(D.rows(), n_fft / 2 + 1);
      ASSERT_EQ(static_cast<std::size_t>(D.cols()), ser::dsp::stft_frame_count(y.size(), hop));
      std::vector<double> frame(static_cast<std::size_t>(n_fft));
      std::vector<std::complex<double>> X(static_cast<std::size_t>(n_fft / 2 + 1));
      std::size_t bad = 0;
      for (Eigen::Index t = 0; t < D.cols(); ++t) {
        for (int k = 0; k < n_fft; ++k) {
          const std::ptrdiff_t i = t * hop - n_fft / 2 + k;
          const float v = i >= 0 && i < static_cast<std::ptrdiff_t>(y.size()) ? y[static_cast<std::size_t>(i)] : 0.0f;
          frame[static_cast<std::size_t>(k)] = w[static_cast<std::size_t>(k)] * static_cast<double>(v);
        }
        fft.forward(frame.data(), X.data());
        for (Eigen::Index b = 0; b < D.rows(); ++b) {
          const auto want = X[static_cast<std::size_t>(b)];
          const std::complex<float> got = D(b, t);
          if ((bits(got.real()) != bits(static_cast<float>(want.real())) ||
               bits(got.imag()) != bits(static_cast<float>(want.imag()))) && ++bad <= 3)
            ADD_FAILURE() << "n_fft " << n_fft << " frame " << t << " bin " << b << ": " << got << " vs " << want;
        }
      }
      EXPECT_EQ(bad, 0u) << "n_fft " << n_fft;
    }
}

// load_lanes (with a window and with none, i.e. ones as the CQT uses it) and store_lanes (all
// lanes and a partial batch), on the 8x8-block path (n % 8 == 0) and the scalar one.
TEST(RealFftF64, LoadAndStoreLanes) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  for (std::size_t n : {16, 24, 30, 1024}) {
    const RealFftF64 fft(n);
    std::vector<std::vector<float>> frames(L, std::vector<float>(n));
    std::vector<double> w(n);
    for (auto& f : frames)
      for (float& v : f) v = nd(rng);
    for (double& v : w) v = static_cast<double>(nd(rng));
    const float* fp[L];
    for (std::size_t l = 0; l < L; ++l) fp[l] = frames[l].data();
    ser::dsp::LaneBuffer data(n * L), scratch(n * L);
    fft.load_lanes(fp, nullptr, data.data());
    for (std::size_t a = 0; a < n; ++a)
      for (std::size_t l = 0; l < L; ++l) ASSERT_EQ(bits(data[a * L + l]), bits(static_cast<double>(frames[l][a])));
    fft.load_lanes(fp, w.data(), data.data());
    for (std::size_t a = 0; a < n; ++a)
      for (std::size_t l = 0; l < L; ++l)
        ASSERT_EQ(bits(data[a * L + l]), bits(w[a] * static_cast<double>(frames[l][a])));
    const double* half = fft.forward_lanes(data.data(), scratch.data());
    for (std::size_t lanes : {L, L - 1, std::size_t{1}}) {
      std::vector<std::vector<std::complex<float>>> out(L, std::vector<std::complex<float>>(n / 2 + 1, {7.f, 7.f}));
      std::complex<float>* op[L];
      for (std::size_t l = 0; l < L; ++l) op[l] = out[l].data();
      fft.store_lanes(half, op, lanes);
      std::vector<double> x(n);
      std::vector<std::complex<double>> X(n / 2 + 1);
      for (std::size_t l = 0; l < L; ++l) {
        if (l >= lanes) {  // untouched
          for (const auto& z : out[l]) ASSERT_EQ(z, std::complex<float>(7.f, 7.f));
          continue;
        }
        for (std::size_t a = 0; a < n; ++a) x[a] = w[a] * static_cast<double>(frames[l][a]);
        fft.forward(x.data(), X.data());
        for (std::size_t b = 0; b <= n / 2; ++b) {
          ASSERT_EQ(bits(out[l][b].real()), bits(static_cast<float>(X[b].real()))) << n << " " << l << " " << b;
          ASSERT_EQ(bits(out[l][b].imag()), bits(static_cast<float>(X[b].imag()))) << n << " " << l << " " << b;
        }
      }
    }
  }
}
