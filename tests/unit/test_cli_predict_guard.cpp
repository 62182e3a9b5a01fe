// Outputs that refuse to be wrong: `ser evaluate` and `ser predict` on a logreg run of the tone
// corpus (no LibTorch, seconds) with folds missing, damaged model files, inputs far from the
// training data, models scored on their own training items, and the usage mistakes around them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::util::read_text;
using ser::util::write_text_atomic;

class GuardCli : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    setenv("SER_TORCH_LIBRARY", "/nonexistent/libser_torch.so", 1);
    write_tone_corpus("m.csv", true);
    write_text_atomic(p("lr.json"), R"({"name": "lr", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                        R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("features") +
                                        R"("}, "protocol": {"name": "random_kfold", "k": 3},
                                        "model": {"architecture": "logreg"}})");
    train = run_cli("train --config " + p("lr.json") + " --no-progress --jobs 1");
    ASSERT_EQ(train.code, 0) << train.out;
  }
  void TearDown() override {
    unsetenv("SER_TORCH_LIBRARY");
    CliTest::TearDown();
  }
  nlohmann::json json_of(const std::string& rel) const { return nlohmann::json::parse(read_text(p(rel))); }
  void write_samples(const std::string& rel, const std::vector<float>& samples, int sr = 16000) {
    ser::audio::Signal s;
    s.sample_rate = sr;
    s.samples = samples;
    fs::create_directories(fs::path(p(rel)).parent_path());
    ser::audio::write_wav(p(rel), s);
  }
  ser::test::CliResult train;
};

// Point 8: a run missing a fold is refused, or with --allow-partial says how much of it was used.
TEST_F(GuardCli, PartialRunFailsGatesAndShowsCoverage) {
  fs::remove(p("runs/lr/fold-2/metrics.json"));
  const auto gated = run_cli("evaluate --run " + p("runs/lr") + " --fail-under uar=0.0");
  EXPECT_EQ(gated.code, 1) << gated.out;
  EXPECT_NE(gated.out.find("2 of 3 folds"), std::string::npos) << gated.out;
  EXPECT_NE(gated.out.find("fold-2 has no metrics.json"), std::string::npos) << gated.out;
  const auto listed = run_cli("evaluate --run " + p("runs/lr") + " --allow-partial");
  ASSERT_EQ(listed.code, 0) << listed.out;
  const std::string report = read_text(p("runs/lr/report.md"));
  EXPECT_NE(report.find("Coverage: 2 of 3 folds"), std::string::npos) << report;
  EXPECT_NE(report.find("**Warning:** only 2 of 3 folds"), std::string::npos) << report;
  EXPECT_EQ(json_of("runs/lr/metrics.json")["coverage"]["folds_used"], 2);
  const auto allowed = run_cli("evaluate --run " + p("runs/lr") + " --fail-under uar=0.0 --allow-partial");
  EXPECT_EQ(allowed.code, 0) << allowed.out;
  EXPECT_NE(allowed.out.find("2 of 3 folds"), std::string::npos) << allowed.out;

  // A fold folder deleted: evaluate still counts it, predict refuses to ensemble the rest.
  fs::remove_all(p("runs/lr/fold-3"));
  const auto gone = run_cli("evaluate --run " + p("runs/lr") + " --fail-under uar=0.0");
  EXPECT_EQ(gone.code, 1) << gone.out;
  EXPECT_NE(gone.out.find("1 of 3 folds"), std::string::npos) << gone.out;
  EXPECT_NE(gone.out.find("fold-3 is missing"), std::string::npos) << gone.out;
  const auto pred = run_cli("predict --model " + p("runs/lr") + " " + p("clips/low0.wav"));
  EXPECT_EQ(pred.code, 1) << pred.out;
  EXPECT_NE(pred.out.find("only 2 of 3 folds"), std::string::npos) << pred.out;
  EXPECT_NE(pred.out.find("--allow-partial"), std::string::npos) << pred.out;
  const auto partial = run_cli("predict --allow-partial --model " + p("runs/lr") + " " + p("clips/low0.wav"));
  EXPECT_EQ(partial.code, 0) << partial.out;
  EXPECT_NE(partial.out.find("ensemble of 2 of 3 folds"), std::string::npos) << partial.out;
}

// Point 9: a scaler or weights that make probabilities non-finite are an error naming the file.
TEST_F(GuardCli, NonFiniteModelsAreErrorsNamingTheFile) {
  fs::copy(p("runs/lr/fold-1"), p("tiny-scale"), fs::copy_options::recursive);
  auto card = json_of("tiny-scale/model.json");
  card["scaler"]["scale"][0] = 1e-300;
  write_text_atomic(p("tiny-scale/model.json"), card.dump());
  const auto scale = run_cli("predict --model " + p("tiny-scale") + " " + p("clips/low0.wav"));
  EXPECT_EQ(scale.code, 1) << scale.out;
  EXPECT_NE(scale.out.find(p("tiny-scale/model.json")), std::string::npos) << scale.out;

  // Huge weights: finite in the file, inf logits, NaN probabilities. One such fold in a run.
  auto clf = json_of("runs/lr/fold-2/classifier.json");
  for (auto& row : clf["logreg"]["coef"]) {
    for (auto& v : row) v = 1e300;
  }
  write_text_atomic(p("runs/lr/fold-2/classifier.json"), clf.dump());
  const auto pred = run_cli("predict --model " + p("runs/lr") + " --format csv " + p("clips/low0.wav"));
  EXPECT_EQ(pred.code, 1) << pred.out;
  EXPECT_NE(pred.out.find(p("runs/lr/fold-2/classifier.json")), std::string::npos) << pred.out;
  EXPECT_EQ(pred.out.find("nan"), std::string::npos) << pred.out;
  const auto ev = run_cli("evaluate --model " + p("runs/lr") + " --dataset manifest --manifest " + p("m.csv") +
                          " --out " + p("ev") + " --no-progress");
  EXPECT_EQ(ev.code, 1) << ev.out;
  EXPECT_NE(ev.out.find("fold-2/classifier.json"), std::string::npos) << ev.out;
  EXPECT_FALSE(fs::exists(p("ev/metrics.json"))) << "no accuracy made of NaN";
}

// Point 10: inputs unlike the training data, silence and a 1-sample file are flagged.
TEST_F(GuardCli, OutOfRangeSilentAndEmptyInputsAreFlagged) {
  std::vector<float> noise;
  unsigned state = 12345;
  for (int i = 0; i < 8000; ++i) {
    state = state * 1103515245u + 12345u;
    noise.push_back(0.9f * (static_cast<float>((state >> 8) & 0xFFFF) / 32768.0f - 1.0f));
  }
  write_samples("odd/noise.wav", noise);
  write_samples("odd/silence.wav", std::vector<float>(8000, 0.0f));
  write_samples("odd/one.wav", {0.5f});
  const auto streams = ser::test::run_cli_streams("predict --model " + p("runs/lr") + " --format csv " +
                                                  p("clips/low0.wav") + " " + p("odd/noise.wav") + " " +
                                                  p("odd/silence.wav") + " " + p("odd/one.wav"));
  ASSERT_EQ(streams.code, 0) << streams.err;
  const std::string csv = streams.out;  // stdout is the CSV alone; the warnings are on stderr
  const ser::test::CliResult r{streams.code, streams.out + streams.err};
  const auto rows = ser::util::parse_csv(csv, "out");
  ASSERT_EQ(rows.size(), 5u) << r.out;
  const auto& h = rows[0].fields;
  const auto ood = static_cast<std::size_t>(std::find(h.begin(), h.end(), "ood_reason") - h.begin());
  const auto flag = static_cast<std::size_t>(std::find(h.begin(), h.end(), "ood") - h.begin());
  ASSERT_LT(flag, h.size()) << csv;
  EXPECT_EQ(rows[1].fields[flag], "false") << "as JSON's boolean";
  EXPECT_EQ(rows[2].fields[flag], "true");
  const auto z = static_cast<std::size_t>(std::find(h.begin(), h.end(), "max_abs_z") - h.begin());
  ASSERT_LT(ood, h.size()) << csv;
  ASSERT_LT(z, h.size()) << csv;
  EXPECT_EQ(rows[1].fields[ood], "") << "a training clip is not flagged: " << r.out;
  EXPECT_LT(std::stod(rows[1].fields[z]), 50.0);
  EXPECT_NE(rows[2].fields[ood].find("|z|"), std::string::npos) << r.out;
  EXPECT_GT(std::stod(rows[2].fields[z]), 50.0);
  EXPECT_NE(rows[3].fields[ood].find("silent"), std::string::npos) << r.out;
  EXPECT_NE(rows[4].fields[ood].find("nearly empty (1 samples)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(p("odd/noise.wav") + ": |z|"), std::string::npos) << "a warning names the file: " << r.out;
  EXPECT_NE(r.out.find("the label means little"), std::string::npos) << r.out;
  const auto json = run_cli("predict --model " + p("runs/lr") + " --format json --out " + p("o.json") + " " +
                            p("odd/silence.wav"));
  ASSERT_EQ(json.code, 0) << json.out;
  EXPECT_TRUE(json_of("o.json")["items"][0]["ood"].get<bool>()) << read_text(p("o.json"));
}

// Point 11: a model scored on its own training items says so, by id and by content.
TEST_F(GuardCli, OverlapWithTrainingItemsIsCounted) {
  const auto own = run_cli("evaluate --model " + p("runs/lr") + " --dataset manifest --manifest " + p("m.csv") +
                           " --out " + p("ev") + " --no-progress");
  ASSERT_EQ(own.code, 0) << own.out;
  EXPECT_NE(own.out.find("24 of 24 evaluated items were training items of the model (24 by id, 24 by content)"),
            std::string::npos)
      << own.out;
  EXPECT_NE(read_text(p("ev/report.md")).find("**Warning:** 24 of 24 evaluated items were training items"),
            std::string::npos);
  EXPECT_EQ(json_of("ev/metrics.json")["training_overlap"]["by_id"], 24);

  // One fold's model: only the items outside its test part were trained on.
  const auto test_rows = ser::util::parse_csv(read_text(p("runs/lr/fold-1/predictions.csv")), "p").size() - 1;
  const auto fold = run_cli("evaluate --model " + p("runs/lr/fold-1") + " --dataset manifest --manifest " + p("m.csv") +
                            " --out " + p("ev1") + " --no-progress");
  ASSERT_EQ(fold.code, 0) << fold.out;
  EXPECT_EQ(json_of("ev1/metrics.json")["training_overlap"]["by_id"], 24 - static_cast<int>(test_rows));

  // Renamed copies of the training files: other ids, same bytes.
  std::string manifest = "path,label\n";
  for (const char* name : {"low0", "mid1", "high2"}) {
    fs::create_directories(p("copies"));
    fs::copy_file(p(std::string("clips/") + name + ".wav"), p(std::string("copies/c_") + name + ".wav"));
    manifest += p(std::string("copies/c_") + name + ".wav") + "," + std::string(name).substr(0, std::string(name).size() - 1) + "\n";
  }
  write_text_atomic(p("copies.csv"), manifest);
  const auto copies = run_cli("evaluate --model " + p("runs/lr") + " --dataset manifest --manifest " + p("copies.csv") +
                              " --out " + p("ev2") + " --no-progress");
  ASSERT_EQ(copies.code, 0) << copies.out;
  EXPECT_NE(copies.out.find("3 of 3 evaluated items were training items of the model (0 by id, 3 by content)"),
            std::string::npos)
      << copies.out;
  // Fresh audio: nothing to warn about.
  fs::create_directories(p("fresh"));
  write_tone("fresh/low.wav", 223, 16000);
  write_text_atomic(p("fresh.csv"), "path,label\n" + p("fresh/low.wav") + ",low\n");
  const auto fresh = run_cli("evaluate --model " + p("runs/lr") + " --dataset manifest --manifest " + p("fresh.csv") +
                             " --out " + p("ev3") + " --no-progress");
  ASSERT_EQ(fresh.code, 0) << fresh.out;
  EXPECT_EQ(fresh.out.find("training items"), std::string::npos) << fresh.out;
  EXPECT_EQ(json_of("ev3/metrics.json")["training_overlap"]["either"], 0);
}

// Point 14: a manifest's rows come out in its order.
TEST_F(GuardCli, PredictKeepsTheManifestOrder) {
  const std::vector<std::string> order = {"mid3", "high0", "low7", "high5", "low1"};
  std::string manifest = "path,label\n";
  for (const auto& n : order) manifest += p("clips/" + n + ".wav") + ",x\n";
  write_text_atomic(p("order.csv"), manifest);
  const auto r = run_cli("--quiet predict --model " + p("runs/lr") + " --format csv --out " + p("order-out.csv") + " " +
                         p("order.csv"));
  ASSERT_EQ(r.code, 0) << r.out;
  const auto rows = ser::util::parse_csv(read_text(p("order-out.csv")), "out");
  ASSERT_EQ(rows.size(), order.size() + 1) << r.out;
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(rows[i + 1].fields[0], p("clips/" + order[i] + ".wav"));
}

// Point 15: every headline number says whether it is a fold mean or pooled.
TEST_F(GuardCli, HeadlineNumbersAreLabelled) {
  EXPECT_NE(train.out.find("fold mean +- std over 3 fold(s)"), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("pooled over every test prediction: WA "), std::string::npos) << train.out;
  const auto ev = run_cli("evaluate --run " + p("runs/lr"));
  ASSERT_EQ(ev.code, 0) << ev.out;
  EXPECT_NE(ev.out.find("lr: pooled accuracy "), std::string::npos) << ev.out;
  EXPECT_NE(ev.out.find("fold mean +- std over 3 of 3 folds: accuracy "), std::string::npos) << ev.out;
}

// Point 16: items the label map skips are in report.md; a --map source the corpus lacks is refused.
TEST_F(GuardCli, SkippedItemsAreReportedAndUnknownMapSourcesRefused) {
  std::string manifest = "path,label\n";
  fs::create_directories(p("other"));
  for (int i = 0; i < 3; ++i) {
    write_tone("other/b" + std::to_string(i) + ".wav", 226.0 + i, 16000);
    manifest += p("other/b" + std::to_string(i) + ".wav") + ",bass\n";
  }
  write_tone("other/s.wav", 5000, 16000);
  manifest += p("other/s.wav") + ",squeak\n";
  write_text_atomic(p("other.csv"), manifest);
  const auto ok = run_cli("evaluate --model " + p("runs/lr") + " --dataset manifest --manifest " + p("other.csv") +
                          " --map bass=low --out " + p("ev") + " --no-progress");
  ASSERT_EQ(ok.code, 0) << ok.out;
  const std::string report = read_text(p("ev/report.md"));
  EXPECT_NE(report.find("1 of 4 items skipped"), std::string::npos) << report;
  EXPECT_NE(report.find("squeak 1"), std::string::npos) << report;
  const auto typo = run_cli("evaluate --model " + p("runs/lr") + " --dataset manifest --manifest " + p("other.csv") +
                            " --map bass=low,foo=mid --out " + p("ev2") + " --no-progress");
  EXPECT_EQ(typo.code, 2) << typo.out;
  EXPECT_NE(typo.out.find("--map: 'foo' is not a label of the corpus"), std::string::npos) << typo.out;
}

// Point 17 (parts): the mistakes around evaluate and predict, each one clear line.
TEST_F(GuardCli, UsageMistakesAreNamed) {
  fs::copy(p("runs/lr/fold-1"), p("other-set"), fs::copy_options::recursive);
  auto card = json_of("other-set/model.json");
  card["feature_set"] = "wav2vec";
  write_text_atomic(p("other-set/model.json"), card.dump());
  const auto set = run_cli("predict --model " + p("other-set") + " " + p("clips/low0.wav"));
  EXPECT_EQ(set.code, 1) << set.out;
  EXPECT_NE(set.out.find(p("other-set/model.json") + ": the model was trained on feature set 'wav2vec'"), std::string::npos)
      << set.out;
  EXPECT_EQ(set.out.find("features.set"), std::string::npos) << set.out;

  const std::string run = p("runs/lr");
  const auto drop = run_cli("evaluate --run " + run + " --baseline " + run + "/metrics.json --max-drop -1");
  EXPECT_EQ(drop.code, 2) << drop.out;
  EXPECT_NE(drop.out.find("--max-drop"), std::string::npos) << drop.out;
  write_text_atomic(p("base.txt"), "uar 0.5\n");
  const auto base = run_cli("evaluate --run " + run + " --baseline " + p("base.txt"));
  EXPECT_EQ(base.code, 2) << base.out;
  EXPECT_NE(base.out.find(p("base.txt") + ": not valid JSON"), std::string::npos) << base.out;

  const auto jobs = run_cli("predict --jobs -1 --model " + run + " " + p("clips/low0.wav"));
  EXPECT_EQ(jobs.code, 2) << jobs.out;
  EXPECT_NE(jobs.out.find("--jobs"), std::string::npos) << jobs.out;
  // The output file is checked before any audio is read: the missing input is never reached.
  const auto out = run_cli("predict --model " + run + " --out " + p("no/such/dir/out.csv") + " " + p("clips/missing.wav"));
  EXPECT_EQ(out.code, 1) << out.out;
  EXPECT_NE(out.out.find(p("no/such/dir/out.csv")), std::string::npos) << out.out;
  EXPECT_EQ(out.out.find("missing.wav"), std::string::npos) << out.out;
  const auto to_file = run_cli("predict --model " + run + " --format csv --out " + p("out.csv") + " " + p("clips/low0.wav"));
  EXPECT_EQ(to_file.code, 0) << to_file.out;
  EXPECT_NE(read_text(p("out.csv")).find("low0.wav"), std::string::npos);

  // Table columns line up for non-ASCII paths (padding by code points, not bytes).
  fs::copy_file(p("clips/low0.wav"), p("clips/ü_é.wav"));
  fs::copy_file(p("clips/low1.wav"), p("clips/abc.wav"));
  const auto table = run_cli("--quiet predict --model " + run + " " + p("clips/ü_é.wav") + " " + p("clips/abc.wav"));
  ASSERT_EQ(table.code, 0) << table.out;
  std::vector<std::size_t> label_col;
  for (std::istringstream lines(table.out); !lines.eof();) {
    std::string line;
    std::getline(lines, line);
    if (line.empty()) continue;
    const std::size_t wav = line.find(".wav ");
    const std::size_t at = line.find_first_not_of(' ', wav == std::string::npos ? line.find(' ') : wav + 4);
    std::size_t cps = 0;
    for (std::size_t i = 0; i < at; ++i) cps += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
    label_col.push_back(cps);
  }
  ASSERT_EQ(label_col.size(), 3u) << table.out;
  EXPECT_EQ(label_col[1], label_col[2]) << table.out;
  EXPECT_EQ(label_col[0], label_col[1]) << table.out;
}

}  // namespace
