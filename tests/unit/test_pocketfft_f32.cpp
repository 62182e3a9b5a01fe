// Bit-exactness of ser::dsp::RealFftF32 / ComplexFftF32 against scipy.fft (pocketfft C++, float32)
// goldens made by scripts/make_pocketfft_fixtures.py; every element must match to the last bit.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ser/dsp/fft.hpp"
#include "ser/dsp/pocketfft_f32.hpp"
#include "ser/util/npy.hpp"

using ser::dsp::ComplexFftF32;
using ser::dsp::RealFftF32;
using cf = std::complex<float>;

namespace {

std::string fixture(const std::string& name) {
  return std::string(SER_FIXTURES_DIR) + "/pocketfft/" + name + ".npy";
}

std::vector<float> load_f32(const std::string& name) {
  const auto a = ser::util::read_npy(fixture(name));
  EXPECT_EQ(a.dtype, "<f4") << name;
  return std::vector<float>(a.values.begin(), a.values.end());  // exact: widened from float32
}

std::uint32_t bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Number of elements whose bit patterns differ (memcmp-level); prints the first few.
std::size_t count_mismatch(const float* got, const float* want, std::size_t m, const std::string& what) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < m; ++i)
    if (bits(got[i]) != bits(want[i]) && ++bad <= 3)  // strict: even the sign of zero
      ADD_FAILURE() << what << " [" << i << "]: got " << got[i] << " want " << want[i];
  return bad;
}

struct SizeRow {
  std::size_t n, vectors;
};

std::vector<SizeRow> sizes() {
  const auto a = ser::util::read_npy(fixture("sizes"));
  std::vector<SizeRow> rows;
  for (std::size_t r = 0; r < a.shape[0]; ++r)
    rows.push_back({static_cast<std::size_t>(a.at(r, 0)), static_cast<std::size_t>(a.at(r, 1))});
  return rows;
}

float inv(std::size_t n) { return static_cast<float>(1.0L / static_cast<long double>(n)); }

}  // namespace

TEST(PocketFftF32, IrfftMatchesScipyBitForBit) {
  const auto in = load_f32("irfft_in"), want = load_f32("irfft_out");
  std::size_t off_in = 0, off_out = 0;
  for (const auto& row : sizes()) {
    const RealFftF32 fft(row.n);
    const std::size_t m = row.n / 2 + 1;
    std::size_t bad = 0;
    for (std::size_t v = 0; v < row.vectors; ++v) {
      std::vector<float> out(row.n);
      fft.backward(reinterpret_cast<const cf*>(in.data() + off_in), out.data(), inv(row.n));
      bad += count_mismatch(out.data(), want.data() + off_out, row.n, "irfft n=" + std::to_string(row.n));
      off_in += 2 * m;
      off_out += row.n;
    }
    std::printf("[ irfft n=%5zu ] %zu/%zu samples bit-identical\n", row.n,
                row.n * row.vectors - bad, row.n * row.vectors);
    EXPECT_EQ(bad, 0u) << "n=" << row.n;
  }
  EXPECT_EQ(off_in, in.size());
  EXPECT_EQ(off_out, want.size());
}

TEST(PocketFftF32, RfftMatchesScipyBitForBit) {
  const auto in = load_f32("rfft_in"), want = load_f32("rfft_out");
  std::size_t off_in = 0, off_out = 0;
  for (const auto& row : sizes()) {
    const RealFftF32 fft(row.n);
    const std::size_t m = row.n / 2 + 1;
    std::size_t bad = 0;
    for (std::size_t v = 0; v < row.vectors; ++v) {
      std::vector<cf> out(m);
      fft.forward(in.data() + off_in, out.data(), 1.f);
      bad += count_mismatch(reinterpret_cast<const float*>(out.data()), want.data() + off_out, 2 * m,
                            "rfft n=" + std::to_string(row.n));
      off_in += row.n;
      off_out += 2 * m;
    }
    std::printf("[ rfft  n=%5zu ] %zu/%zu values bit-identical\n", row.n,
                2 * m * row.vectors - bad, 2 * m * row.vectors);
    EXPECT_EQ(bad, 0u) << "n=" << row.n;
  }
  EXPECT_EQ(off_in, in.size());
  EXPECT_EQ(off_out, want.size());
}

TEST(PocketFftF32, ComplexFftMatchesScipyBitForBit) {
  const auto in = load_f32("fft_in"), want = load_f32("fft_out");
  std::size_t off = 0;
  for (const auto& row : sizes()) {
    const ComplexFftF32 fft(row.n);
    std::size_t bad = 0;
    for (std::size_t v = 0; v < row.vectors; ++v) {
      std::vector<cf> data(row.n);
      std::memcpy(data.data(), in.data() + off, row.n * sizeof(cf));
      fft.forward(data.data(), 1.f);
      bad += count_mismatch(reinterpret_cast<const float*>(data.data()), want.data() + off, 2 * row.n,
                            "fft n=" + std::to_string(row.n));
      off += 2 * row.n;
    }
    std::printf("[ fft   n=%5zu ] %zu/%zu values bit-identical\n", row.n,
                2 * row.n * row.vectors - bad, 2 * row.n * row.vectors);
    EXPECT_EQ(bad, 0u) << "n=" << row.n;
  }
  EXPECT_EQ(off, in.size());
}

// Realistic data: hann-windowed STFT frames of a chirp fading in from -100 dB (so the first frames
// are near-silent, where last-bit differences matter most), forward and inverse.
TEST(PocketFftF32, ChirpStftRoundTripMatchesScipy) {
  const auto frames = ser::util::read_npy(fixture("chirp_frames"));
  const auto spec = load_f32("chirp_rfft"), want = load_f32("chirp_irfft");
  const std::size_t n = frames.shape[1], m = n / 2 + 1;
  const RealFftF32 fft(n);
  std::vector<float> scratch(fft.scratch_size());
  for (std::size_t f = 0; f < frames.shape[0]; ++f) {
    std::vector<float> x(frames.values.begin() + f * n, frames.values.begin() + (f + 1) * n);
    std::vector<cf> X(m);
    fft.forward(x.data(), X.data(), 1.f, scratch.data());
    EXPECT_EQ(count_mismatch(reinterpret_cast<const float*>(X.data()), spec.data() + f * 2 * m, 2 * m,
                             "chirp rfft frame " + std::to_string(f)), 0u);
    std::vector<float> y(n);
    fft.backward(reinterpret_cast<const cf*>(spec.data() + f * 2 * m), y.data(), 1.f / n, scratch.data());
    EXPECT_EQ(count_mismatch(y.data(), want.data() + f * n, n, "chirp irfft frame " + std::to_string(f)), 0u);
  }
}

TEST(PocketFftF32, ConcurrentUseGivesIdenticalResults) {
  const RealFftF32 fft(2048);
  std::vector<cf> spec(1025);
  for (std::size_t k = 0; k < spec.size(); ++k) spec[k] = cf(std::sin(0.37f * k), std::cos(1.3f * k));
  std::vector<float> ref(2048);
  fft.backward(spec.data(), ref.data(), 1.f / 2048);
  std::vector<int> ok(4, 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<float> out(2048);
      for (int rep = 0; rep < 200; ++rep) {
        fft.backward(spec.data(), out.data(), 1.f / 2048);
        if (std::memcmp(out.data(), ref.data(), out.size() * sizeof(float)) != 0) ok[t] = 0;
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(ok[t]) << "thread " << t;
}

// backward_batch runs RealFftF32::kLanes transforms per SIMD pass; every lane must give
// backward()'s bits. Each vector is run in every lane position, and counts that leave padding
// lanes are included.
namespace {

// batch[f] = backward_batch output of spectra[(f + shift) % m], count frames, for each shift.
void expect_batch_matches(const RealFftF32& fft, const std::vector<std::vector<cf>>& spectra,
                          const std::vector<std::vector<float>>& want, std::size_t count, float scale,
                          const std::string& what) {
  const std::size_t n = fft.size(), m = spectra.size();
  std::size_t bad = 0;
  for (std::size_t shift = 0; shift < RealFftF32::kLanes; ++shift) {
    std::vector<const cf*> in(count);
    std::vector<std::vector<float>> out(count, std::vector<float>(n, std::nanf("")));
    std::vector<float*> outp(count);
    for (std::size_t f = 0; f < count; ++f) in[f] = spectra[(f + shift) % m].data(), outp[f] = out[f].data();
    fft.backward_batch(in.data(), outp.data(), count, scale);
    for (std::size_t f = 0; f < count; ++f)
      bad += count_mismatch(out[f].data(), want[(f + shift) % m].data(), n,
                            what + " frame " + std::to_string(f) + " shift " + std::to_string(shift));
  }
  EXPECT_EQ(bad, 0u) << what << " count=" << count;
}

}  // namespace

TEST(PocketFftF32, BackwardBatchMatchesScipyGoldensInEveryLane) {
  const auto in = load_f32("irfft_in"), want = load_f32("irfft_out");
  std::size_t off_in = 0, off_out = 0;
  for (const auto& row : sizes()) {
    const RealFftF32 fft(row.n);
    const std::size_t m = row.n / 2 + 1;
    std::vector<std::vector<cf>> spectra;
    std::vector<std::vector<float>> outs;
    for (std::size_t v = 0; v < row.vectors; ++v) {
      const cf* s = reinterpret_cast<const cf*>(in.data() + off_in);
      spectra.emplace_back(s, s + m);
      outs.emplace_back(want.begin() + off_out, want.begin() + off_out + row.n);
      off_in += 2 * m;
      off_out += row.n;
    }
    // Every golden vector lands in every lane: kLanes shifts of a kLanes-frame batch.
    expect_batch_matches(fft, spectra, outs, RealFftF32::kLanes, inv(row.n), "scipy irfft n=" + std::to_string(row.n));
  }
  EXPECT_EQ(off_in, in.size());
}

TEST(PocketFftF32, BackwardBatchMatchesScalarBitForBit) {
  std::mt19937 rng(20240611);
  std::normal_distribution<float> gauss;
  std::uniform_real_distribution<float> decade(-8.f, 3.f);
  const std::size_t L = RealFftF32::kLanes;
  for (std::size_t n : {2048u, 1024u, 512u, 60u, 2u, 1u}) {
    const RealFftF32 fft(n);
    const std::size_t m = n / 2 + 1;
    std::vector<std::vector<cf>> spectra(L + 3, std::vector<cf>(m));  // not a multiple of L
    std::vector<std::vector<float>> want(spectra.size(), std::vector<float>(n));
    for (std::size_t s = 0; s < spectra.size(); ++s) {
      const float mag = std::pow(10.f, decade(rng));  // quiet frames matter most downstream
      for (auto& z : spectra[s]) z = cf(mag * gauss(rng), mag * gauss(rng));  // DC/Nyquist imag != 0
      fft.backward(spectra[s].data(), want[s].data(), inv(n));
    }
    for (std::size_t count : {L, 2 * L + 5, std::size_t(1), L - 1})
      expect_batch_matches(fft, spectra, want, count, inv(n), "random n=" + std::to_string(n));
    // In place: each output over its own spectrum's storage.
    std::vector<std::vector<cf>> buf(spectra.begin(), spectra.begin() + 3);
    std::vector<const cf*> in;
    std::vector<float*> out;
    for (auto& b : buf) in.push_back(b.data()), out.push_back(reinterpret_cast<float*>(b.data()));
    fft.backward_batch(in.data(), out.data(), buf.size(), inv(n));
    for (std::size_t f = 0; f < buf.size(); ++f)
      EXPECT_EQ(count_mismatch(out[f], want[f].data(), n, "in place n=" + std::to_string(n)), 0u);
  }
}

TEST(PocketFftF32, RejectsUnsupportedSizes) {
  EXPECT_THROW(RealFftF32(0), std::invalid_argument);
  EXPECT_THROW(RealFftF32(7), std::invalid_argument);
  EXPECT_THROW(RealFftF32(2 * 3 * 5 * 11), std::invalid_argument);
  EXPECT_THROW(ComplexFftF32(14), std::invalid_argument);
  EXPECT_NO_THROW(RealFftF32(2 * 3 * 5 * 64));
}

TEST(PocketFftF32, TimingBackward2048) {
  const RealFftF32 fft(2048);
  std::vector<cf> spec(1025);
  for (std::size_t k = 0; k < spec.size(); ++k) spec[k] = cf(std::sin(0.1f * k), std::cos(0.7f * k));
  std::vector<float> out(2048), scratch(fft.scratch_size());
  const int reps = 20000;
  float sink = 0.f;
  for (int pass = 0; pass < 2; ++pass) {  // pass 0 warms up
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      fft.backward(spec.data(), out.data(), 1.f / 2048, scratch.data());
      sink += out[r & 2047];
    }
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / reps;
    if (pass == 1) std::printf("[ timing ] RealFftF32(2048).backward: %.0f ns per transform\n", ns);
  }
  {  // 4 * kLanes distinct spectra per call, as istft's frames arrive
    const std::size_t count = 4 * RealFftF32::kLanes;
    std::vector<std::vector<cf>> specs(count, spec);
    std::vector<std::vector<float>> outs(count, std::vector<float>(2048));
    std::vector<const cf*> in;
    std::vector<float*> outp;
    for (std::size_t f = 0; f < count; ++f) in.push_back(specs[f].data()), outp.push_back(outs[f].data());
    const int calls = reps / static_cast<int>(count);
    for (int pass = 0; pass < 2; ++pass) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < calls; ++r) {
        fft.backward_batch(in.data(), outp.data(), count, 1.f / 2048);
        sink += outs[r % count][r & 2047];
      }
      const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
                        (static_cast<double>(calls) * count);
      if (pass == 1)
        std::printf("[ timing ] RealFftF32(2048).backward_batch (%zu lanes): %.0f ns per transform\n",
                    RealFftF32::kLanes, ns);
    }
  }
  // For context: the FFTW double-precision inverse the float path replaces.
  ser::dsp::RealFft ref(2048);
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    for (std::size_t k = 0; k < spec.size(); ++k) ref.spectrum()[k] = spec[k];
    ref.inverse();
    sink += static_cast<float>(ref.real()[r & 2047]);
  }
  const double ns_ref =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / reps;
  std::printf("[ timing ] FFTW RealFft(2048).inverse (double, incl. copy-in): %.0f ns\n", ns_ref);
  EXPECT_TRUE(std::isfinite(sink));
}
