// Inputs that cover less of the spectrum than a model's training audio: `ser predict` and
// `ser evaluate --model` name each one and count them; features.fmax moves the trained band.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <random>

#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace ser::test {

namespace {

class BandwidthCli : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    setenv("SER_TORCH_LIBRARY", "/nonexistent/libser_torch.so", 1);
    // Tones over a floor of broadband noise, so the recordings fill their whole band.
    std::string manifest = "path,label,speaker\n", narrow = manifest;
    const double freq[] = {220, 880};
    const char* label[] = {"low", "high"};
    for (int c = 0; c < 2; ++c) {
      for (int i = 0; i < 9; ++i) {
        const std::string name = std::string(label[c]) + std::to_string(i);
        write_noisy_tone("clips/" + name + ".wav", freq[c] * (1.0 + 0.01 * i), 16000, 10 * c + i);
        write_noisy_tone("clips/" + name + "-8k.wav", freq[c] * (1.0 + 0.01 * i), 8000, 10 * c + i);
        manifest += p("clips/" + name + ".wav") + "," + label[c] + ",spk" + std::to_string(i % 3) + "\n";
        narrow += p("clips/" + name + "-8k.wav") + "," + label[c] + ",spk" + std::to_string(i % 3) + "\n";
      }
    }
    util::write_text_atomic(p("m.csv"), manifest);
    util::write_text_atomic(p("m8.csv"), narrow);
  }
  void TearDown() override {
    unsetenv("SER_TORCH_LIBRARY");
    CliTest::TearDown();
  }
  void write_noisy_tone(const std::string& rel, double freq, int sr, unsigned seed) {
    audio::Signal s;
    s.sample_rate = sr;
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0f, 0.02f);
    for (int i = 0; i < sr / 2; ++i) {
      s.samples.push_back(0.3f * static_cast<float>(std::sin(2 * M_PI * freq * i / sr)) + noise(rng));
    }
    audio::write_wav(p(rel), s);
  }
  void train(const std::string& name, double fmax) {
    const std::string cfg = p(name + ".json");
    util::write_text_atomic(cfg, R"({"name": ")" + name + R"(", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                     R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" +
                                     p("features-" + name) + R"(", "fmax": )" + std::to_string(fmax) +
                                     R"(}, "protocol": {"name": "random_kfold", "k": 3},)" +
                                     R"( "model": {"architecture": "logreg"}})");
    const auto r = run_cli("train --config " + shell_quote(cfg) + " --no-progress --jobs 1");
    ASSERT_EQ(r.code, 0) << r.out;
  }
  nlohmann::json json_of(const std::string& path) const { return nlohmann::json::parse(util::read_text(path)); }
};

}  // namespace

TEST_F(BandwidthCli, PredictNamesInputsBelowTheTrainedBand) {
  train("full", 0);
  const auto card = json_of(p("runs/full/fold-1/model.json"));
  EXPECT_EQ(card["band_limit_hz"], 0);
  EXPECT_EQ(card["audio"]["native_rates"]["16000"].get<int>(), 12);  // the training part of a 3-fold split
  const double trained = card["audio"]["bandwidth_hz"].get<double>();
  EXPECT_GT(trained, 7000);
  EXPECT_LE(trained, 8000);

  const auto r = run_cli_streams("predict --model " + shell_quote(p("runs/full/fold-1")) + " --format json " +
                                 shell_quote(p("clips/low0.wav")) + " " + shell_quote(p("clips/low0-8k.wav")));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["format"], "ser-predictions");
  EXPECT_EQ(out["format_version"], 1);
  EXPECT_EQ(out["below_trained_bandwidth"], 1);
  ASSERT_EQ(out["items"].size(), 2u);
  const auto& wide = out["items"][0];
  const auto& narrow = out["items"][1];
  EXPECT_EQ(wide["native_rate"], 16000);
  EXPECT_FALSE(wide["below_trained_bandwidth"].get<bool>());
  EXPECT_EQ(narrow["native_rate"], 8000);
  EXPECT_LT(narrow["bandwidth_hz"].get<double>(), 4100);
  EXPECT_TRUE(narrow["below_trained_bandwidth"].get<bool>());
  ASSERT_FALSE(narrow["warnings"].empty());
  EXPECT_NE(narrow["warnings"].back().get<std::string>().find("below the"), std::string::npos);
  // Per file and in the summary, on stderr.
  EXPECT_NE(r.err.find("low0-8k.wav: bandwidth"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 of 2 file(s) have less bandwidth"), std::string::npos) << r.err;

  // CSV carries the same facts; the table shows the flag.
  const auto csv = run_cli_streams("predict --model " + shell_quote(p("runs/full/fold-1")) + " --format csv " +
                                   shell_quote(p("clips/low0-8k.wav")));
  EXPECT_NE(csv.out.find("native_rate,bandwidth_hz,below_trained_bandwidth"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find(",8000,"), std::string::npos) << csv.out;
  const auto table = run_cli_streams("predict --model " + shell_quote(p("runs/full/fold-1")) + " " +
                                     shell_quote(p("clips/low0-8k.wav")));
  EXPECT_NE(table.out.find("narrow band"), std::string::npos) << table.out;
}

TEST_F(BandwidthCli, EvaluateCountsNarrowItemsAndFmaxMovesTheBand) {
  train("full", 0);
  const auto full = run_cli_streams("evaluate --model " + shell_quote(p("runs/full/fold-1")) +
                                    " --dataset manifest --manifest " + shell_quote(p("m8.csv")) + " --out " +
                                    shell_quote(p("eval-full")) + " --allow-training-overlap");
  ASSERT_EQ(full.code, 0) << full.err;
  const auto m = json_of(p("eval-full/metrics.json"));
  EXPECT_EQ(m["below_trained_bandwidth_items"], 18);
  bool warned = false;
  for (const auto& w : m["warnings"]) warned = warned || w.get<std::string>().find("18 of 18 items have less bandwidth") != std::string::npos;
  EXPECT_TRUE(warned) << m["warnings"].dump();
  EXPECT_NE(util::read_text(p("eval-full/predictions.csv")).find("below the"), std::string::npos);

  // Trained on the band an 8 kHz recording holds (fmax 3000 Hz < 4000): no warning.
  train("narrow", 3000);
  const auto card = json_of(p("runs/narrow/fold-1/model.json"));
  EXPECT_EQ(card["band_limit_hz"], 3000);
  EXPECT_EQ(card["audio"]["bandwidth_hz"], 3000);
  EXPECT_NE(card["feature_fingerprint"].get<std::string>().find("band_limit"), std::string::npos);
  const auto limited = run_cli_streams("evaluate --model " + shell_quote(p("runs/narrow/fold-1")) +
                                       " --dataset manifest --manifest " + shell_quote(p("m8.csv")) + " --out " +
                                       shell_quote(p("eval-narrow")) + " --allow-training-overlap");
  ASSERT_EQ(limited.code, 0) << limited.err;
  EXPECT_EQ(json_of(p("eval-narrow/metrics.json"))["below_trained_bandwidth_items"], 0);
  const auto r = run_cli_streams("predict --model " + shell_quote(p("runs/narrow/fold-1")) + " --format json " +
                                 shell_quote(p("clips/low0-8k.wav")));
  EXPECT_FALSE(nlohmann::json::parse(r.out)["items"][0]["below_trained_bandwidth"].get<bool>());
}

TEST_F(BandwidthCli, BadFmaxIsAOneLineConfigError) {
  const std::string cfg = p("bad.json");
  util::write_text_atomic(cfg, R"({"dataset": "manifest", "manifest": ")" + p("m.csv") + R"(", "features": {"out": ")" +
                                   p("f") + R"(", "fmax": 20000}})");
  const auto r = run_cli_streams("train --config " + shell_quote(cfg));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("features.fmax"), std::string::npos) << r.err;
  const auto e = run_cli_streams("extract --dataset manifest --manifest " + shell_quote(p("m.csv")) + " --out " +
                                 shell_quote(p("f")) + " --fmax 100");
  EXPECT_EQ(e.code, 2);
  EXPECT_NE(e.err.find("features.fmax"), std::string::npos) << e.err;
}

}  // namespace ser::test
