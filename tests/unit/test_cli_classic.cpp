// Classic models (svm, logreg) end to end on the synthetic tone corpus: runs and predictions
// without LibTorch, train.search recorded per fold, speaker normalisation said wherever its
// numbers appear and required at prediction time, and the config mistakes they invite.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::util::read_text;
using ser::util::write_text_atomic;

constexpr const char* kNoTorch = "/nonexistent/libser_torch.so";

class ClassicCli : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_tone_corpus("m.csv");
    // Nothing here may need LibTorch: point the loader at a library that does not exist.
    setenv("SER_TORCH_LIBRARY", kNoTorch, 1);
  }
  void TearDown() override {
    unsetenv("SER_TORCH_LIBRARY");
    CliTest::TearDown();
  }
  std::string config(const std::string& name, const std::string& model, const std::string& extra = "") {
    const std::string path = p(name + ".json");
    write_text_atomic(path, R"({"name": ")" + name + R"(", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("features") +
                                R"("}, "protocol": {"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]},
                                "model": )" + model + extra + "}");
    return path;
  }
  nlohmann::json json_of(const std::string& rel) const { return nlohmann::json::parse(read_text(p(rel))); }
};

TEST_F(ClassicCli, TrainsAndPredictsWithoutLibTorch) {
  const auto r = run_cli("train --config " + config("lr", R"({"architecture": "logreg", "logreg_c": 1.0})") + " --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("globally standardised"), std::string::npos) << r.out;
  for (int k = 1; k <= 4; ++k) {
    const std::string fold = "runs/lr/fold-" + std::to_string(k);
    EXPECT_TRUE(fs::exists(p(fold + "/classifier.json"))) << fold;
    EXPECT_FALSE(fs::exists(p(fold + "/model.pt"))) << fold;
    const auto card = json_of(fold + "/model.json");
    EXPECT_EQ(card["architecture"], "logreg");
    EXPECT_EQ(card["weights"], "classifier.json");
    EXPECT_EQ(json_of(fold + "/metrics.json")["n_validation"], 0) << "classic models train on validation too";
  }
  const auto m = json_of("runs/lr/metrics.json");
  EXPECT_GE(m["summary"]["balanced_accuracy"]["mean"].get<double>(), 0.9) << "tones are separable";
  const auto pred = run_cli("predict --model " + p("runs/lr") + " --format json " + p("clips/low0.wav") + " " +
                            p("clips/high3.wav"));
  ASSERT_EQ(pred.code, 0) << pred.out;
  const auto j = nlohmann::json::parse(pred.out)["items"];
  EXPECT_EQ(j[0]["label"], "low");
  EXPECT_EQ(j[1]["label"], "high");
  const auto ev = run_cli("evaluate --model " + p("runs/lr/fold-1") + " --dataset manifest --manifest " + p("m.csv") +
                          " --out " + p("ev") + " --no-progress");
  EXPECT_EQ(ev.code, 0) << ev.out;
  // The commands that never need torch work without it; a torch model says what is missing.
  EXPECT_EQ(run_cli("--help").code, 0);
  EXPECT_EQ(run_cli("info").code, 0);
  const auto aug = run_cli("augment --input " + p("clips/low0.wav") + " --out " + p("aug") + " --ops speed=0.9");
  EXPECT_EQ(aug.code, 0) << aug.out;
  const auto mlp = run_cli("train --config " + config("mlp", R"({"architecture": "mlp"})", R"(, "train": {"epochs": 2})") +
                           " --no-progress --jobs 1");
  EXPECT_EQ(mlp.code, 1) << mlp.out;
  EXPECT_NE(mlp.out.find(kNoTorch), std::string::npos) << mlp.out;
  EXPECT_NE(mlp.out.find("cannot load the LibTorch backend"), std::string::npos) << mlp.out;
}

TEST_F(ClassicCli, SearchChoosesPerFoldAndSaysSo) {
  const auto r = run_cli("train --config " +
                         config("svm", R"({"architecture": "svm"})",
                                R"(, "train": {"search": {"model.svm_c": [0.01, 10], "model.svm_kernel": ["rbf", "linear"]}, "search_folds": 3})") +
                         " --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  for (int k = 1; k <= 4; ++k) {
    const auto fm = json_of("runs/svm/fold-" + std::to_string(k) + "/metrics.json");
    ASSERT_TRUE(fm.contains("search")) << k;
    EXPECT_EQ(fm["search"]["grid"].size(), 4u);
    EXPECT_EQ(fm["search"]["inner_folds"], 3);
    EXPECT_TRUE(fm["search"]["grouped_by_speaker"].get<bool>());
    EXPECT_TRUE(fm["search"]["chosen"].contains("model.svm_c"));
    EXPECT_EQ(fm["n_validation"], 0) << "every point is classic: the validation part trains";
  }
  const std::string report = read_text(p("runs/svm/report.md"));
  EXPECT_NE(report.find("## Model selection"), std::string::npos) << report;
  EXPECT_NE(report.find("model.svm_c"), std::string::npos) << report;
  // --final trains on the point most folds chose.
  const auto fin = run_cli("train --config " + p("svm.json") + " --final --no-progress");
  ASSERT_EQ(fin.code, 0) << fin.out;
  EXPECT_TRUE(fs::exists(p("runs/svm/final/classifier.json")));
  // final/metrics.json says which point, by which rule, from which votes; the log reads cleanly.
  const auto final_metrics = json_of("runs/svm/final/metrics.json");
  ASSERT_TRUE(final_metrics.contains("search")) << final_metrics.dump(2);
  std::map<std::string, int> votes;
  for (int k = 1; k <= 4; ++k) ++votes[json_of("runs/svm/fold-" + std::to_string(k) + "/metrics.json")["search"]["chosen"].dump()];
  int most = 0, tied = 0;
  for (const auto& [point, n] : votes) most = std::max(most, n);
  for (const auto& [point, n] : votes) tied += n == most;
  EXPECT_EQ(votes[final_metrics["search"]["chosen"].dump()], most) << final_metrics.dump(2);
  EXPECT_EQ(final_metrics["search"]["votes"].size(), votes.size());
  const std::string rule = final_metrics["search"]["rule"];
  EXPECT_EQ(rule.find("a tie") != std::string::npos, tied > 1) << rule;
  EXPECT_NE(fin.out.find("final model: 24 items, " + rule), std::string::npos) << fin.out;
  EXPECT_EQ(fin.out.find(", ,"), std::string::npos) << fin.out;
}

TEST_F(ClassicCli, SpeakerNormalisedRunsSayItAndPredictionNeedsASpeaker) {
  const auto r = run_cli("train --config " +
                         config("sn", R"({"architecture": "svm", "svm_c": 10})", R"(, "features": {"out": ")" +
                                p("features") + R"(", "normalize": "speaker"})") +
                         " --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string note = "speaker-normalised (uses test speakers' unlabeled features)";
  EXPECT_NE(r.out.find(note), std::string::npos) << r.out;
  EXPECT_EQ(json_of("runs/sn/metrics.json")["normalization_note"], note);
  EXPECT_NE(read_text(p("runs/sn/report.md")).find(note), std::string::npos);
  const auto card = json_of("runs/sn/fold-1/model.json");
  EXPECT_EQ(card["normalize"], "speaker");
  EXPECT_EQ(card["training_speaker_stats"].size(), 3u);  // the three training speakers

  const auto none = run_cli("predict --model " + p("runs/sn/fold-1") + " " + p("clips/low0.wav") + " " + p("clips/mid0.wav"));
  EXPECT_EQ(none.code, 2) << none.out;
  EXPECT_NE(none.out.find("--speaker"), std::string::npos) << none.out;
  const auto with = run_cli("predict --model " + p("runs/sn") + " --speaker spk9 " + p("clips/low0.wav") + " " +
                            p("clips/mid0.wav") + " " + p("clips/high0.wav"));
  EXPECT_EQ(with.code, 0) << with.out;
  EXPECT_NE(with.out.find("fewer than 10"), std::string::npos) << with.out;
  const auto alone = run_cli("predict --model " + p("runs/sn") + " --speaker spk9 " + p("clips/low0.wav"));
  EXPECT_NE(alone.code, 0) << alone.out;
  EXPECT_NE(alone.out.find("at least 2"), std::string::npos) << alone.out;
  // A manifest's speaker column groups the files; so does a corpus in evaluate --model.
  const auto man = run_cli("predict --model " + p("runs/sn") + " --format csv " + p("m.csv"));
  EXPECT_EQ(man.code, 0) << man.out;
  const auto ev = run_cli("evaluate --model " + p("runs/sn") + " --dataset manifest --manifest " + p("m.csv") + " --out " +
                          p("ev") + " --no-progress");
  ASSERT_EQ(ev.code, 0) << ev.out;
  EXPECT_EQ(json_of("ev/metrics.json")["normalization_note"], note);
  EXPECT_NE(ev.out.find(note), std::string::npos) << ev.out;
}

TEST_F(ClassicCli, ConfigMistakesAreOneLineErrors) {
  const auto wrong = run_cli("train --config " + config("w", R"({"architecture": "logreg", "svm_c": 10})"));
  EXPECT_EQ(wrong.code, 2) << wrong.out;
  EXPECT_NE(wrong.out.find("model.svm_c"), std::string::npos) << wrong.out;
  const auto grid = run_cli("train --config " + config("g", R"({"architecture": "logreg"})", R"(, "train": {"search": {"model.logreg_C": [1]}})"));
  EXPECT_EQ(grid.code, 2) << grid.out;
  EXPECT_NE(grid.out.find("did you mean 'model.logreg_c'"), std::string::npos) << grid.out;
  const auto empty = run_cli("train --config " + config("e", R"({"architecture": "logreg"})", R"(, "train": {"search": {"model.logreg_c": []}})"));
  EXPECT_EQ(empty.code, 2) << empty.out;
  EXPECT_NE(empty.out.find("empty grid"), std::string::npos) << empty.out;
  // One item of a speaker under speaker normalisation.
  std::string manifest = read_text(p("m.csv"));
  write_tone("clips/lonely.wav", 225, 16000);
  manifest += p("clips/lonely.wav") + ",low,lonely\n";
  write_text_atomic(p("m1.csv"), manifest);
  const std::string cfg = p("one.json");
  write_text_atomic(cfg, R"({"name": "one", "dataset": "manifest", "manifest": ")" + p("m1.csv") + R"(", "runs_dir": ")" +
                             p("runs") + R"(", "features": {"out": ")" + p("f1") + R"(", "normalize": "speaker"},
                             "protocol": {"name": "random_kfold", "k": 3}, "model": {"architecture": "logreg"}})");
  const auto one = run_cli("train --config " + cfg + " --no-progress --jobs 1");
  EXPECT_NE(one.code, 0) << one.out;
  EXPECT_NE(one.out.find("speaker 'lonely'"), std::string::npos) << one.out;
}

}  // namespace
