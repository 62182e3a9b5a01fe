// The feature set "encoder" through the CLI: `ser extract` of a speech encoder's pooled hidden
// states (equal to the references' per-clip means), the cache, the model card and `ser predict`,
// and the mistakes a user makes, on the tiny random-weight folders of ../shared.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "ser/util/files.hpp"
#include "ser/util/npy.hpp"
#include "support/cli.hpp"
#include "support/npz.hpp"
#include "support/shared.hpp"

namespace fs = std::filesystem;

namespace ser::test {

namespace {

class EncoderCli : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    enc_ = encoder_references_dir();
    if (!fs::exists(enc_ + "/wavlm-tiny")) GTEST_SKIP() << "no encoder references in " << enc_ << " (set SER_SHARED_DIR)";
  }
  std::string enc_;
};

}  // namespace

TEST_F(EncoderCli, ExtractPoolsTheReferenceHiddenStates) {
  std::string manifest = "path,label,speaker\n";
  for (const char* c : {"c00", "c01", "c02"}) manifest += enc_ + "/clips/" + c + ".wav,x,s\n";
  util::write_text_atomic(p("clips.csv"), manifest);
  for (const std::string model : {"wav2vec2-tiny", "wavlm-tiny-stable"}) {
    const std::string out = p("f-" + model);
    const std::string cmd = "extract --dataset manifest --manifest " + shell_quote(p("clips.csv")) + " --out " +
                            shell_quote(out) + " --features encoder --set features.encoder.checkpoint=" +
                            shell_quote(enc_ + "/" + model) + " --no-progress";
    const auto r = run_cli_streams(cmd);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto meta = nlohmann::json::parse(util::read_text(out + "/meta.json"));
    EXPECT_EQ(meta["blocks"][0]["name"], "layer00.mean");
    const auto features = util::read_npy(out + "/features.npy");
    const auto ref = read_npz(enc_ + "/" + model + "/ref.npz");
    // Every hidden state h0..hL, mean over frames, one row per clip.
    const std::size_t width = meta["blocks"][0]["size"].get<std::size_t>();
    const std::size_t layers = meta["blocks"].size();
    for (std::size_t l = 0; l < layers; ++l) {
      const auto& want = ref.at("h" + std::to_string(l));
      ASSERT_EQ(want.shape[0], 3u);
      for (std::size_t clip = 0; clip < 3; ++clip) {
        double err = 0, scale = 0;
        for (std::size_t j = 0; j < width; ++j) {
          err = std::max(err, std::fabs(features.at(clip, l * width + j) - want.at(clip, j)));
          scale = std::max(scale, std::fabs(want.at(clip, j)));
        }
        EXPECT_LE(err / scale, 1e-4) << model << " clip " << clip << " layer " << l;
      }
    }
    // Again: every file from the cache, the same bytes.
    const std::string before = util::read_text(out + "/features.npy");
    const auto again = run_cli_streams(cmd);
    ASSERT_EQ(again.code, 0) << again.err;
    EXPECT_NE(again.err.find("3 from cache"), std::string::npos) << again.err;
    EXPECT_EQ(util::read_text(out + "/features.npy"), before);
  }
}

TEST_F(EncoderCli, TrainPredictAndMistakes) {
  // Two "classes" of clips: the three reference clips and quieter copies of them, twice over.
  std::string manifest = "path,label,speaker\n";
  for (int copy = 0; copy < 4; ++copy) {
    for (const char* c : {"c00", "c01", "c02"}) {
      audio::Signal s = audio::read_mono(enc_ + "/clips/" + c + ".wav");
      for (auto& v : s.samples) v *= copy % 2 ? 0.25f : 1.0f;
      s.samples.push_back(0.001f * static_cast<float>(copy));  // distinct bytes: not duplicates
      const std::string clip = "clips/" + std::string(c) + "-" + std::to_string(copy) + ".wav";
      audio::write_wav(p(clip), s);
      manifest += p(clip) + "," + (copy % 2 ? "quiet" : "loud") + ",spk" + std::to_string(copy) + "\n";
    }
  }
  util::write_text_atomic(p("m.csv"), manifest);
  auto config = [&](const std::string& encoder) {
    util::write_text_atomic(p("c.json"), R"({"name": "enc", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                             R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"set": "encoder", "out": ")" +
                                             p("f") + R"(", "encoder": )" + encoder +
                                             R"(}, "protocol": {"name": "random_kfold", "k": 2}, "model": {"architecture": "logreg"}})");
    return shell_quote(p("c.json"));
  };
  const std::string checkpoint = "\"" + enc_ + "/hubert-tiny-stable\"";
  const auto r = run_cli_streams("train --config " + config(R"({"checkpoint": )" + checkpoint + R"(, "layers": [0, 2], "pooling": "mean+std"})") +
                                 " --no-progress --jobs 1");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto card = nlohmann::json::parse(util::read_text(p("runs/enc/fold-1/model.json")));
  EXPECT_EQ(card["feature_set"], "encoder");
  EXPECT_EQ(card["dim"], 4 * 32);
  EXPECT_EQ(card["encoder"]["layers"], nlohmann::json({0, 2}));
  EXPECT_TRUE(fs::path(card["encoder"]["checkpoint"].get<std::string>()).is_absolute());
  // Predicted from another folder: the card's absolute checkpoint is enough.
  const auto pred = run_cli_streams("predict --model " + shell_quote(p("runs/enc")) + " --format json " +
                                        shell_quote(p("clips/c00-0.wav")),
                                    "cd / &&");
  ASSERT_EQ(pred.code, 0) << pred.err;
  EXPECT_EQ(nlohmann::json::parse(pred.out)["items"].size(), 1u);

  struct Case {
    std::string encoder, key;
  };
  for (const auto& c : std::vector<Case>{{R"({"checkpoint": )" + checkpoint + R"(, "layers": [3]})", "features.encoder.layers"},
                                         {R"({"checkpoint": )" + checkpoint + R"(, "pooling": "max"})", "features.encoder.pooling"},
                                         {R"({"checkpoint": )" + checkpoint + R"(, "layers": "some"})", "features.encoder.layers"},
                                         {R"({"checkpoint": "/nowhere"})", "features.encoder.checkpoint"},
                                         {R"({})", "features.encoder.checkpoint"}}) {
    const auto bad = run_cli_streams("train --config " + config(c.encoder) + " --fresh --no-progress");
    EXPECT_EQ(bad.code, 2) << c.encoder << "\n" << bad.err;
    EXPECT_NE(bad.err.find(c.key), std::string::npos) << bad.err;
  }
  // A clip shorter than the encoder's receptive field fails alone; the others are extracted.
  audio::Signal tiny;
  tiny.sample_rate = 16000;
  tiny.samples.assign(300, 0.1f);
  audio::write_wav(p("clips/tiny.wav"), tiny);
  util::write_text_atomic(p("m2.csv"), "path,label\n" + p("clips/tiny.wav") + ",a\n" + p("clips/c00-0.wav") + ",b\n");
  const auto partial = run_cli_streams("extract --dataset manifest --manifest " + shell_quote(p("m2.csv")) + " --out " +
                                       shell_quote(p("f2")) + " --features encoder --set features.encoder.checkpoint=" +
                                       shell_quote(enc_ + "/wav2vec2-tiny") + " --no-progress");
  EXPECT_EQ(partial.code, 1) << partial.err;
  EXPECT_NE(partial.err.find("tiny.wav"), std::string::npos) << partial.err;
  EXPECT_NE(partial.err.find("shorter than the 400"), std::string::npos) << partial.err;
  EXPECT_EQ(util::read_npy(p("f2/features.npy")).shape[0], 1u);
}

}  // namespace ser::test
