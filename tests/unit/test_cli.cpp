// End-to-end checks of the `ser` binary: exit codes, one-line errors naming the file or key,
// partial extraction with a failure summary, and cache hits on re-runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include "ser/audio/audio.hpp"
#include "ser/features/extract.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;

namespace {

struct Result {
  int code;
  std::string out;  // stdout and stderr together
};

Result run(const std::string& args) {
  const std::string cmd = std::string(SER_CLI_PATH) + " " + args + " 2>&1";
  Result r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ser-cli-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "clips");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& rel) const { return (dir_ / rel).string(); }

  void write_tone(const std::string& rel, double freq, int sr) {
    ser::audio::Signal s;
    s.sample_rate = sr;
    for (int i = 0; i < sr / 2; ++i) s.samples.push_back(0.3f * static_cast<float>(std::sin(2 * M_PI * freq * i / sr)));
    ser::audio::write_wav(p(rel), s);
  }
  fs::path dir_;
};

TEST_F(CliTest, InfoReportsBuild) {
  const Result r = run("info");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("torch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FFT backend"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("issa193"), std::string::npos) << r.out;
  EXPECT_EQ(run("info --json").code, 0);
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("frobnicate").code, 2);
  const Result r = run("extract");
  EXPECT_EQ(r.code, 2) << r.out;
}

TEST_F(CliTest, ConfigTypoNamesTheKey) {
  ser::util::write_text_atomic(p("c.json"), R"({"dataset":"manifest","manifest":"m.csv","features":{"out":"o","jbos":1}})");
  const Result r = run("extract --config " + p("c.json"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("features.jbos"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean 'features.jobs'"), std::string::npos) << r.out;
  const Result missing = run("extract --config " + p("nope.json"));
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.out.find("nope.json"), std::string::npos) << missing.out;
  const Result set = run("extract --dataset emodb --root " + p("clips") + " --out " + p("o") + " --features mfcc999");
  EXPECT_EQ(set.code, 2) << set.out;
  EXPECT_NE(set.out.find("mfcc999"), std::string::npos) << set.out;
}

TEST_F(CliTest, ExtractsGoodFilesAndListsBadOnes) {
  write_tone("clips/a.wav", 220, 16000);
  write_tone("clips/b.wav", 330, 44100);
  std::ofstream(p("clips/empty.wav")).close();
  std::ofstream(p("clips/text.wav")) << "not audio\n";
  ser::util::write_text_atomic(p("m.csv"),
                               "path,label,speaker\nclips/a.wav,happy,s1\nclips/b.wav,sad,s2\n"
                               "clips/missing.wav,sad,s2\nclips/empty.wav,sad,s1\nclips/text.wav,happy,s1\n");
  const std::string out = p("features");
  const Result r = run("extract --dataset manifest --manifest " + p("m.csv") + " --out " + out + " --jobs 2");
  EXPECT_EQ(r.code, 1) << r.out;
  for (const char* bad : {"missing.wav", "empty.wav", "text.wav"}) EXPECT_NE(r.out.find(bad), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 file(s) failed"), std::string::npos) << r.out;

  const auto table = ser::features::read_feature_store(out);
  ASSERT_EQ(table.items.size(), 2u);
  EXPECT_EQ(table.dim, 193u);
  EXPECT_EQ(table.items[0].label, "happy");
  EXPECT_EQ(table.meta["errors"].size(), 3u);
  for (float v : table.values) ASSERT_TRUE(std::isfinite(v));

  // Unchanged inputs: everything comes from the cache, and the store is identical.
  const Result again = run("extract --dataset manifest --manifest " + p("m.csv") + " --out " + out + " --allow-failures");
  EXPECT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("0 computed, 2 from cache"), std::string::npos) << again.out;
  EXPECT_EQ(ser::features::read_feature_store(out).values, table.values);
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "leftover temp file " << e.path();
  }
}

TEST_F(CliTest, TrainWritesARunDirectory) {
  // Three tone "emotions" from four speakers: separable, and small enough to train in seconds.
  std::string manifest = "path,label,speaker\n";
  const double freq[] = {220, 440, 880};
  const char* label[] = {"low", "mid", "high"};
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 8; ++i) {
      const std::string rel = "clips/" + std::string(label[c]) + std::to_string(i) + ".wav";
      write_tone(rel, freq[c] * (1.0 + 0.01 * i), 16000);
      manifest += rel + "," + label[c] + ",spk" + std::to_string(i % 4) + "\n";
    }
  }
  ser::util::write_text_atomic(p("m.csv"), manifest);
  const std::string config = R"({"name": "tones", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                             R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("features") +
                             R"("}, "protocol": {"name": "random_kfold", "k": 2},
                             "model": {"architecture": "mlp"},
                             "train": {"epochs": 5, "threads": 1, "optimizer": {"name": "adam", "lr": 0.01}}})";
  ser::util::write_text_atomic(p("train.json"), config);
  const Result r = run("train --config " + p("train.json") + " --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("accuracy (WA)"), std::string::npos) << r.out;
  for (const char* f : {"runs/tones/config.json", "runs/tones/metrics.json", "runs/tones/confusion.csv",
                        "runs/tones/fold-1/model.pt", "runs/tones/fold-1/model.json", "runs/tones/fold-1/scaler.json",
                        "runs/tones/fold-1/history.csv", "runs/tones/fold-2/predictions.csv"}) {
    EXPECT_TRUE(fs::exists(p(f))) << f;
  }
  const auto metrics = nlohmann::json::parse(ser::util::read_text(p("runs/tones/metrics.json")));
  EXPECT_EQ(metrics["folds"].size(), 2u);
  EXPECT_EQ(metrics["pooled"]["n"], 24);  // every item tested exactly once

  const Result bad_fold = run("train --config " + p("train.json") + " --fold 7 --no-progress");
  EXPECT_EQ(bad_fold.code, 2) << bad_fold.out;
  EXPECT_NE(bad_fold.out.find("--fold"), std::string::npos) << bad_fold.out;
  const Result typo = run("train --config " + p("train.json") + " --set train.epohcs=3");
  EXPECT_EQ(typo.code, 2) << typo.out;
  EXPECT_NE(typo.out.find("did you mean 'train.epochs'"), std::string::npos) << typo.out;
}

}  // namespace
