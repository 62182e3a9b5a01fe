// wav2vec2, HuBERT and WavLM encoders against the reference hidden states of tiny random-weight
// Hugging Face folders (../shared/reference/encoders: torchaudio 0.13.1 for wav2vec2/HuBERT,
// the original WavLM code for WavLM): every layer of every clip to <= 1e-4 of its max |value|.
#include <gtest/gtest.h>

#include <filesystem>

#include "model/torch/encoder.hpp"
#include "ser/audio/audio.hpp"
#include "ser/error.hpp"
#include "support/npz.hpp"
#include "support/shared.hpp"

namespace fs = std::filesystem;
using namespace ser;

namespace {

std::string encoders_dir() { return test::encoder_references_dir(); }

double relative_error(const torch::Tensor& got, const util::NpyArray& want) {
  EXPECT_EQ(want.shape.size(), 2u);
  EXPECT_EQ(got.size(0), static_cast<std::int64_t>(want.shape[0]));
  EXPECT_EQ(got.size(1), static_cast<std::int64_t>(want.shape[1]));
  if (got.numel() != static_cast<std::int64_t>(want.size())) return 1e9;
  const torch::Tensor g = got.contiguous();
  double max_err = 0, max_ref = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    max_err = std::max(max_err, std::fabs(static_cast<double>(g.data_ptr<float>()[i]) - want.values[i]));
    max_ref = std::max(max_ref, std::fabs(want.values[i]));
  }
  return max_err / std::max(max_ref, 1e-30);
}

class EncoderParity : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(EncoderParity, EveryLayerOfEveryClip) {
  const std::string dir = encoders_dir() + "/" + GetParam();
  if (!fs::exists(dir)) GTEST_SKIP() << "no encoder references at " << dir << " (set SER_SHARED_DIR)";
  const model::SpeechEncoder encoder = model::SpeechEncoder::load(dir);
  const auto frames = test::read_npz(dir + "/frames.npz");
  double worst = 0;
  std::string worst_key;
  auto check = [&](const torch::Tensor& got, const std::string& key) {
    const double e = relative_error(got, frames.at(key));
    EXPECT_LE(e, 1e-4) << key;
    if (e >= worst) {
      worst = e;
      worst_key = key;
    }
  };
  for (const char* clip : {"c00", "c01", "c02"}) {
    const audio::Signal s = audio::read_mono(encoders_dir() + "/clips/" + clip + ".wav");
    ASSERT_EQ(s.sample_rate, 16000);
    const auto out = encoder.forward(s.samples);
    const std::string c = clip;
    check(out.cnn, c + "/cnn");
    ASSERT_EQ(static_cast<int>(out.hidden.size()), encoder.config().num_hidden_layers + 1);
    for (std::size_t k = 0; k < out.hidden.size(); ++k) {
      check(out.hidden[k], c + "/h" + std::to_string(k));
    }
    check(out.raw_last, c + "/raw_last");
  }
  std::printf("%s: worst relative error %.3g (%s) over %zu arrays\n", GetParam().c_str(), worst, worst_key.c_str(),
              frames.size());
}

INSTANTIATE_TEST_SUITE_P(Tiny, EncoderParity,
                         ::testing::Values("wav2vec2-tiny", "hubert-tiny-stable", "wavlm-tiny", "wavlm-tiny-stable"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

TEST(Encoder, ShortClipsAndBadFoldersAreNamedErrors) {
  const std::string dir = encoders_dir() + "/wav2vec2-tiny";
  if (!fs::exists(dir)) GTEST_SKIP() << "no encoder references at " << dir;
  const model::SpeechEncoder encoder = model::SpeechEncoder::load(dir);
  EXPECT_EQ(encoder.config().receptive_field(), 400);
  EXPECT_EQ(encoder.config().hop(), 320);
  EXPECT_THROW(encoder.forward(std::vector<float>(399, 0.1f)), Error);
  EXPECT_NO_THROW(encoder.forward(std::vector<float>(400, 0.1f)));
  EXPECT_THROW(model::SpeechEncoder::load(encoders_dir() + "/clips"), Error);  // no config.json
}

// Long clips in chunks: the same frames as one pass; with a layer-norm feature extractor the CNN
// frames are equal, and every layer stays finite and of the right shape.
TEST(Encoder, ChunkedClipsKeepEveryFrame) {
  const std::string dir = encoders_dir() + "/hubert-tiny-stable";
  if (!fs::exists(dir)) GTEST_SKIP() << "no encoder references at " << dir;
  const auto encoder = model::load_torch_speech_encoder(dir, "cpu", "float32");
  const audio::Signal s = audio::read_mono(encoders_dir() + "/clips/c01.wav");  // 5.2 s
  const model::EncodedClip whole = encoder->encode(s.samples, 0);
  const model::EncodedClip one = encoder->encode(s.samples, 30);  // shorter than a chunk: one pass
  EXPECT_EQ(one.cnn, whole.cnn);
  EXPECT_EQ(one.hidden.back(), whole.hidden.back());
  for (const double chunk : {1.0, 1.7}) {
    const model::EncodedClip parts = encoder->encode(s.samples, chunk);
    ASSERT_EQ(parts.frames, whole.frames) << chunk;
    ASSERT_EQ(parts.cnn.size(), whole.cnn.size());
    double err = 0, ref = 0;
    for (std::size_t i = 0; i < whole.cnn.size(); ++i) {
      err = std::max(err, static_cast<double>(std::fabs(parts.cnn[i] - whole.cnn[i])));
      ref = std::max(ref, static_cast<double>(std::fabs(whole.cnn[i])));
    }
    EXPECT_LE(err / ref, 1e-5) << chunk;
    ASSERT_EQ(parts.hidden.size(), whole.hidden.size());
    for (const auto& layer : parts.hidden) {
      ASSERT_EQ(layer.size(), whole.frames * whole.width);
      for (float v : layer) ASSERT_TRUE(std::isfinite(v));
    }
  }
}
