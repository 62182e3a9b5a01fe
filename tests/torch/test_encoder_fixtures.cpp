// The committed tiny encoders (tests/fixtures/encoders, made by scripts/make_encoder_fixtures.py
// with torchaudio 0.13.1 as the oracle): three layouts that occur in the wild (group-norm post-LN
// wav2vec2 in F32 safetensors; layer-norm pre-LN HuBERT in BF16 safetensors with the "hubert."
// prefix; layer-norm pre-LN wav2vec2 as pytorch_model.bin with the "wav2vec2." prefix), every
// hidden state of 0.5 s, 3 s and 20 s clips to <= 1e-4 of its max |value|. Needs nothing outside
// the repository; WavLM's references are in ../shared (test_encoder.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "model/torch/encoder.hpp"
#include "ser/error.hpp"
#include "ser/model/encoder.hpp"
#include "support/encoder_clips.hpp"
#include "support/npz.hpp"
#include "support/shared.hpp"

using namespace ser;

namespace {

class EncoderFixture : public ::testing::TestWithParam<std::string> {};

// Max |got - want| over max |want| for rows 0, stride, 2 * stride, ... of got (frames x width).
double relative_error(const std::vector<float>& got, std::size_t frames, std::size_t width, const util::NpyArray& want,
                      std::size_t stride) {
  EXPECT_EQ(want.shape.size(), 2u);
  EXPECT_EQ(want.shape[0], (frames + stride - 1) / stride);
  EXPECT_EQ(want.shape[1], width);
  if (want.shape.size() != 2 || want.shape[0] != (frames + stride - 1) / stride || want.shape[1] != width) return 1e9;
  double err = 0, scale = 0;
  for (std::size_t r = 0; r < want.shape[0]; ++r) {
    for (std::size_t j = 0; j < width; ++j) {
      err = std::max(err, std::fabs(static_cast<double>(got[r * stride * width + j]) - want.at(r, j)));
      scale = std::max(scale, std::fabs(want.at(r, j)));
    }
  }
  return err / std::max(scale, 1e-30);
}

}  // namespace

// Every clip of ref.npz through the encoder in `dir`; prints and returns the worst error.
double check_folder(const std::string& dir) {
  const auto encoder = model::load_speech_encoder(dir);
  const auto ref = test::read_npz(dir + "/ref.npz");
  double worst = 0;
  for (const auto& clip : test::encoder_clips()) {
    const std::string c = clip.name;
    const std::size_t stride = static_cast<std::size_t>(ref.at(c + "/stride").values[0]);
    const model::EncodedClip out = encoder->encode(test::encoder_clip(clip.samples, clip.seed), /*chunk_seconds=*/0);
    EXPECT_EQ(out.hidden.size(), static_cast<std::size_t>(encoder->config().num_hidden_layers + 1));
    if (out.hidden.size() != static_cast<std::size_t>(encoder->config().num_hidden_layers + 1)) return 1e9;
    const double cnn = relative_error(out.cnn, out.frames, out.cnn_width, ref.at(c + "/cnn"), stride);
    EXPECT_LE(cnn, 1e-4) << c << "/cnn";
    worst = std::max(worst, cnn);
    for (std::size_t l = 0; l < out.hidden.size(); ++l) {
      const std::string key = c + "/h" + std::to_string(l);
      const double e = relative_error(out.hidden[l], out.frames, out.width, ref.at(key), stride);
      EXPECT_LE(e, 1e-4) << key;
      worst = std::max(worst, e);
    }
  }
  std::printf("%s: %lld parameters, worst relative error %.3g over cnn and h0..h%d of 3 clips\n", dir.c_str(),
              static_cast<long long>(encoder->parameter_count()), worst, encoder->config().num_hidden_layers);
  return worst;
}

TEST_P(EncoderFixture, EveryHiddenStateEqualsTorchaudio) {
  check_folder(std::string(SER_FIXTURES_DIR) + "/encoders/" + GetParam());
}

// Base- and large-sized models, made by bench/encoder_parity.sh (scripts/make_encoder_fixtures.py
// --size base|large) into SER_ENCODER_PARITY_DIR: minutes of CPU, so opt-in.
TEST(EncoderParityOptIn, BaseAndLargeSizedModels) {
  const char* env = std::getenv("SER_ENCODER_PARITY_DIR");
  if (!env || !*env) GTEST_SKIP() << "opt-in: run bench/encoder_parity.sh (sets SER_ENCODER_PARITY_DIR)";
  std::size_t folders = 0;
  for (const auto& e : std::filesystem::directory_iterator(env)) {
    if (!std::filesystem::exists(e.path() / "ref.npz")) continue;
    check_folder(e.path().string());
    ++folders;
  }
  EXPECT_GT(folders, 0u) << "no model folders with ref.npz in " << env;
}

INSTANTIATE_TEST_SUITE_P(Layouts, EncoderFixture,
                         ::testing::Values("w2v2-group-postln", "hubert-layer-preln", "w2v2-layer-preln"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

// A batch of clips of very different lengths (padding masked out of attention) gives every clip
// the frames of its own pass, to 1e-5 of each layer's max |value|: results never depend on
// which clips share a batch. The three fixture layouts, and WavLM's two from ../shared.
TEST(EncoderBatch, EveryClipAsIfAlone) {
  std::vector<std::string> dirs;
  for (const char* m : {"w2v2-group-postln", "hubert-layer-preln", "w2v2-layer-preln"}) {
    dirs.push_back(std::string(SER_FIXTURES_DIR) + "/encoders/" + m);
  }
  const std::string shared = test::encoder_references_dir() + "/";
  for (const char* m : {"wavlm-tiny", "wavlm-tiny-stable"}) {
    if (std::filesystem::exists(shared + m)) dirs.push_back(shared + m);
  }
  std::vector<std::vector<float>> clips;
  for (const auto& c : test::encoder_clips()) clips.push_back(test::encoder_clip(c.samples / 4, c.seed));  // 0.125-5 s
  clips.push_back(test::encoder_clip(400, 9));  // exactly one frame
  for (const auto& dir : dirs) {
    const model::SpeechEncoder e = model::SpeechEncoder::load(dir);
    std::vector<const std::vector<float>*> batch;
    for (const auto& c : clips) batch.push_back(&c);
    const auto together = e.forward_batch(batch);
    ASSERT_EQ(together.size(), clips.size());
    double worst = 0;
    for (std::size_t i = 0; i < clips.size(); ++i) {
      const auto alone = e.forward(clips[i]);
      ASSERT_EQ(together[i].hidden.size(), alone.hidden.size());
      for (std::size_t l = 0; l < alone.hidden.size(); ++l) {
        ASSERT_TRUE(together[i].hidden[l].sizes().equals(alone.hidden[l].sizes())) << dir << " clip " << i << " h" << l;
        const double scale = alone.hidden[l].abs().max().item<double>();
        const double err = (together[i].hidden[l] - alone.hidden[l]).abs().max().item<double>() / scale;
        EXPECT_LE(err, 1e-5) << dir << " clip " << i << " h" << l;
        worst = std::max(worst, err);
      }
    }
    std::printf("%s: batch of %zu vs alone, worst relative difference %.3g\n", dir.c_str(), clips.size(), worst);
  }
}

// bfloat16 compute on the CPU: every hidden state within 5 % of float32's largest value, and not
// equal to it (the computation really ran in bfloat16); outputs are float32 either way.
TEST(EncoderDtype, Bfloat16OnTheCpuIsCloseToFloat32) {
  const std::string dir = std::string(SER_FIXTURES_DIR) + "/encoders/w2v2-layer-preln";
  const auto f32 = model::load_speech_encoder(dir, "cpu", "float32");
  const auto bf16 = model::load_speech_encoder(dir, "cpu", "bfloat16");
  const auto clip = test::encoder_clip(16000, 5);
  const auto a = f32->encode(clip, 0), b = bf16->encode(clip, 0);
  ASSERT_EQ(a.frames, b.frames);
  for (std::size_t l = 0; l < a.hidden.size(); ++l) {
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < a.hidden[l].size(); ++i) {
      err = std::max(err, std::fabs(static_cast<double>(a.hidden[l][i]) - b.hidden[l][i]));
      scale = std::max(scale, std::fabs(static_cast<double>(a.hidden[l][i])));
    }
    EXPECT_LE(err / scale, 0.05) << "h" << l;
    EXPECT_GT(err / scale, 1e-6) << "h" << l << ": bfloat16 gave float32's numbers";
  }
}

TEST(EncoderDtype, ImpossibleSettingsAreConfigErrors) {
  const std::string dir = std::string(SER_FIXTURES_DIR) + "/encoders/w2v2-group-postln";
  auto key_of = [&](const std::string& device, const std::string& dtype) -> std::string {
    try {
      model::load_speech_encoder(dir, device, dtype);
    } catch (const Error& e) {
      return e.kind() == ErrorKind::Config ? e.subject() : "not a config error: " + std::string(e.what());
    }
    return "accepted";
  };
  EXPECT_EQ(key_of("tpu", "float32"), "features.encoder.device");
  EXPECT_EQ(key_of("cpu", "float64"), "features.encoder.dtype");
  EXPECT_EQ(key_of("cpu", "float16"), "features.encoder.dtype");
  if (!torch::cuda::is_available()) EXPECT_EQ(key_of("cuda", "float32"), "features.encoder.device");
  EXPECT_EQ(model::load_speech_encoder(dir, "auto", "float32")->device(), torch::cuda::is_available() ? "cuda" : "cpu");
}

// On a GPU (skipped without one): every hidden state of the fixtures equals the CPU's to 1e-4,
// in float32; float16 within 5 %.
TEST(EncoderCuda, EqualsTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no usable CUDA device";
  for (const char* m : {"w2v2-group-postln", "hubert-layer-preln", "w2v2-layer-preln"}) {
    const std::string dir = std::string(SER_FIXTURES_DIR) + "/encoders/" + m;
    const auto cpu = model::load_speech_encoder(dir, "cpu", "float32");
    for (const char* dtype : {"float32", "float16", "bfloat16"}) {
      const auto gpu = model::load_speech_encoder(dir, "cuda", dtype);
      ASSERT_EQ(gpu->device(), "cuda");
      const auto clip = test::encoder_clip(48000, 2);
      const auto a = cpu->encode(clip, 0), b = gpu->encode(clip, 0);
      for (std::size_t l = 0; l < a.hidden.size(); ++l) {
        double err = 0, scale = 0;
        for (std::size_t i = 0; i < a.hidden[l].size(); ++i) {
          err = std::max(err, std::fabs(static_cast<double>(a.hidden[l][i]) - b.hidden[l][i]));
          scale = std::max(scale, std::fabs(static_cast<double>(a.hidden[l][i])));
        }
        EXPECT_LE(err / scale, std::string(dtype) == "float32" ? 1e-4 : 0.05) << m << " " << dtype << " h" << l;
      }
    }
  }
}
