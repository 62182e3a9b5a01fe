#pragma once
// A CLI test fixture over runs of the tone corpus (logistic regression: no LibTorch, seconds per
// run), with the helpers the output-contract and data-check tests share.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>

#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace ser::test {

class ToneRunCli : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    setenv("SER_TORCH_LIBRARY", "/nonexistent/libser_torch.so", 1);
    write_tone_corpus("m.csv", true);
  }
  void TearDown() override {
    unsetenv("SER_TORCH_LIBRARY");
    CliTest::TearDown();
  }
  // A logistic regression run of the tone corpus under 3 random folds (4 speaker folds with
  // `by_speaker`), in runs/<name>.
  std::string config(const std::string& name, double c = 1.0, bool by_speaker = false) {
    const std::string path = p(name + ".json");
    const std::string protocol = by_speaker
                                     ? R"({"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]})"
                                     : R"({"name": "random_kfold", "k": 3})";
    util::write_text_atomic(path, R"({"name": ")" + name + R"(", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                      R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" +
                                      p("features-" + name) + R"("}, "protocol": )" + protocol +
                                      R"(, "model": {"architecture": "logreg", "logreg_c": )" + std::to_string(c) + "}}");
    return path;
  }
  void train(const std::string& config_path, const std::string& extra = "") {
    const auto r = run_cli("train --config " + config_path + " --no-progress --jobs 1 " + extra);
    ASSERT_EQ(r.code, 0) << r.out;
  }
  nlohmann::json json_of(const std::string& path) const { return nlohmann::json::parse(util::read_text(path)); }
  // The tones are easy (UAR 1): make the first `n` predictions of a fold wrong, as a worse model
  // would have made them.
  void spoil(const std::string& predictions_csv, std::size_t n) {
    const auto rows = ser::util::parse_csv(util::read_text(predictions_csv), predictions_csv);
    std::string edited = ser::util::csv_line(rows[0].fields);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      auto f = rows[i].fields;
      if (i <= n) f[2] = f[1] == "low" ? "high" : "low";
      edited += ser::util::csv_line(f);
    }
    util::write_text_atomic(predictions_csv, edited);
  }
  // A clip of white noise: far outside the tone training data (an OOD warning).
  void write_noise(const std::string& rel) {
    ser::audio::Signal s;
    s.sample_rate = 16000;
    std::mt19937 rng(7);
    std::normal_distribution<float> n(0.0f, 0.3f);
    for (int i = 0; i < 8000; ++i) s.samples.push_back(std::max(-1.0f, std::min(1.0f, n(rng))));
    ser::audio::write_wav(p(rel), s);
  }
};

}  // namespace ser::test
