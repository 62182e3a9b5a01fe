// Stage-by-stage parity with librosa 0.11 for load, STFT, mel, MFCC, tuning, chroma_stft and
// spectral contrast, on every reference clip (FEATURES.md target: block-relative error <= 1e-4).
#include <gtest/gtest.h>

#include "ser/audio/audio.hpp"
#include "ser/dsp/spectral.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/dsp/tuning.hpp"
#include "support/shared.hpp"

using namespace ser;
using ser::test::clip_dir;
using ser::util::read_npy;

namespace {

constexpr double kTol = 1e-4;

class SpectralParity : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    SER_REQUIRE_SHARED();
    dir_ = clip_dir(GetParam());
    const auto y = read_npy(dir_ + "/y.npy");
    y_.assign(y.values.begin(), y.values.end());
    D_ = dsp::stft(y_.data(), y_.size());
    S_ = dsp::magnitude(D_);
  }
  std::string dir_;
  std::vector<float> y_;
  dsp::ComplexMatrix D_;
  dsp::Matrix S_;
};

TEST_P(SpectralParity, LoadMatchesLibrosa) {
  const audio::Signal sig = audio::load(test::clip_source(GetParam()), 22050);
  const auto ref = read_npy(dir_ + "/y.npy");
  ASSERT_EQ(sig.samples.size(), ref.size());
  // Decoding, channel mean and soxr HQ resampling reproduce librosa.load bit for bit.
  std::size_t differing = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) differing += sig.samples[i] != static_cast<float>(ref.values[i]);
  EXPECT_EQ(differing, 0u);
  // A second load reuses the cached resampler and must give the same samples.
  EXPECT_EQ(audio::load(test::clip_source(GetParam()), 22050).samples, sig.samples);
}

TEST_P(SpectralParity, StftMagnitude) {
  EXPECT_LE(test::matrix_relative_error(read_npy(dir_ + "/stft_mag.npy"), S_), kTol);
}

TEST_P(SpectralParity, MelAndMfcc) {
  const dsp::Matrix mel = dsp::melspectrogram(S_, 22050);
  EXPECT_LE(test::matrix_relative_error(read_npy(dir_ + "/mel.npy"), mel), kTol);
  const dsp::Matrix mel_db = dsp::power_to_db(mel);
  EXPECT_LE(test::matrix_relative_error(read_npy(dir_ + "/mel_db.npy"), mel_db), kTol);
  EXPECT_LE(test::matrix_relative_error(read_npy(dir_ + "/mfcc.npy"), dsp::mfcc_from_mel_db(mel_db)), kTol);
}

TEST_P(SpectralParity, TuningIsExact) {
  const double ref = read_npy(dir_ + "/tuning_stft.npy").values.at(0);
  EXPECT_NEAR(dsp::estimate_tuning(S_, 22050), ref, 1e-9);
}

TEST_P(SpectralParity, ChromaStft) {
  const double tuning = read_npy(dir_ + "/tuning_stft.npy").values.at(0);
  EXPECT_LE(test::matrix_relative_error(read_npy(dir_ + "/chroma_stft.npy"), dsp::chroma_stft(S_, 22050, tuning)), kTol);
}

TEST_P(SpectralParity, SpectralContrast) {
  EXPECT_LE(test::matrix_relative_error(read_npy(dir_ + "/contrast.npy"), dsp::spectral_contrast(S_, 22050)), kTol);
}

INSTANTIATE_TEST_SUITE_P(Clips, SpectralParity, ::testing::ValuesIn(ser::test::kClips),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
