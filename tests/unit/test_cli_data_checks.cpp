// Checks on the data a run is made of and what its models meet: speaker folds from a corpus's
// speaker column, identical audio across a fold's boundary, out-of-distribution thresholds learnt
// per model, and what a run says about itself (a missing corpus, progress, its log, keys a model
// cannot use).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>

#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"
#include "support/tone_runs.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::test::run_cli_streams;
using ser::util::read_text;
using ser::util::write_text_atomic;
using DataCheckCli = ser::test::ToneRunCli;

}  // namespace

namespace {

// Speaker folds from a manifest's speaker column, and random folds on a corpus
// with speakers say that their numbers are speaker-dependent.
TEST_F(DataCheckCli, ManifestSpeakerFoldsFromTheDataAndSharedSpeakersAreNamed) {
  write_text_atomic(p("spk.json"), R"({"name": "spk", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                       R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("features-spk") +
                                       R"("}, "protocol": {"name": "speaker_kfold", "k": 2},
                                       "model": {"architecture": "logreg"}})");
  const auto folds = run_cli_streams("train --config " + p("spk.json") + " --list-folds");
  ASSERT_EQ(folds.code, 0) << folds.err;
  EXPECT_EQ(folds.out, "2\n");
  train(p("spk.json"));
  std::map<std::string, std::set<std::string>> folds_of;  // speaker -> the folds that test it
  const auto rows = ser::util::parse_csv(read_text(p("runs/spk/predictions.csv")), "predictions");
  const auto& h = rows[0].fields;
  const auto fold = static_cast<std::size_t>(std::find(h.begin(), h.end(), "fold") - h.begin());
  const auto speaker = static_cast<std::size_t>(std::find(h.begin(), h.end(), "speaker") - h.begin());
  ASSERT_LT(speaker, h.size());
  for (std::size_t i = 1; i < rows.size(); ++i) folds_of[rows[i].fields[speaker]].insert(rows[i].fields[fold]);
  ASSERT_EQ(folds_of.size(), 4u);
  for (const auto& [spk, f] : folds_of) EXPECT_EQ(f.size(), 1u) << spk << " is tested in one fold only";
  EXPECT_TRUE(json_of(p("runs/spk/metrics.json"))["warnings"].empty());
  const auto too_many = run_cli("train --config " + p("spk.json") + " --set protocol.k=5 --set name=spk5");
  EXPECT_EQ(too_many.code, 2) << too_many.out;
  EXPECT_NE(too_many.out.find("exceeds the 4 speakers"), std::string::npos) << too_many.out;

  const auto random = run_cli_streams("train --config " + config("rnd") + " --no-progress --jobs 1");
  ASSERT_EQ(random.code, 0) << random.err;
  EXPECT_NE(random.err.find("speaker-dependent"), std::string::npos) << random.err;
  const auto m = json_of(p("runs/rnd/metrics.json"));
  ASSERT_FALSE(m["warnings"].empty());
  EXPECT_NE(m["warnings"][0].get<std::string>().find("the same 4 speakers are in training and test"), std::string::npos)
      << m["warnings"];
  EXPECT_NE(read_text(p("runs/rnd/report.md")).find("speaker-dependent"), std::string::npos);
}

}  // namespace

namespace {

// The same audio listed twice (two folders) on both sides of a fold is refused
// before anything is written, trained with a warning when allowed, and only reported when every
// copy stays on one side (speaker folds keep a speaker's copies together).
TEST_F(DataCheckCli, IdenticalAudioAcrossTheTrainTestBoundaryIsRefused) {
  std::string manifest = "path,label,speaker\n";
  for (const char* copy : {"a", "b"}) {
    fs::create_directories(p(std::string("dup/") + copy));
    for (const char* c : {"low", "mid", "high"}) {
      for (int i = 0; i < 8; ++i) {
        const std::string name = std::string(c) + std::to_string(i) + ".wav";
        fs::copy_file(p("clips/" + name), p(std::string("dup/") + copy + "/" + name));
        manifest += p(std::string("dup/") + copy + "/" + name) + "," + c + ",spk" + std::to_string(i % 4) + "\n";
      }
    }
  }
  write_text_atomic(p("dup.csv"), manifest);
  auto dup_config = [&](const std::string& name, const std::string& protocol) {
    write_text_atomic(p(name + ".json"), R"({"name": ")" + name + R"(", "dataset": "manifest", "manifest": ")" + p("dup.csv") +
                                             R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" +
                                             p("features-" + name) + R"("}, "protocol": )" + protocol +
                                             R"(, "model": {"architecture": "logreg"}})");
    return p(name + ".json");
  };
  const std::string random = dup_config("dup", R"({"name": "random_kfold", "k": 3})");
  const auto refused = run_cli_streams("train --config " + random + " --no-progress --jobs 1");
  EXPECT_EQ(refused.code, 1) << refused.err;
  EXPECT_NE(refused.err.find("pair(s) of identical audio across the train/test boundary"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("dup/a/"), std::string::npos) << "names example pairs: " << refused.err;
  EXPECT_NE(refused.err.find("24 duplicate item(s)"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--allow-duplicates"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(p("runs/dup"))) << "nothing is written";

  const auto allowed = run_cli_streams("train --config " + random + " --no-progress --jobs 1 --allow-duplicates");
  ASSERT_EQ(allowed.code, 0) << allowed.err;
  const auto m = json_of(p("runs/dup/metrics.json"));
  EXPECT_GT(m["duplicates"]["across_train_test_pairs"].get<int>(), 0) << m["duplicates"];
  EXPECT_EQ(m["duplicates"]["duplicate_items"], 24);
  EXPECT_NE(read_text(p("runs/dup/report.md")).find("crossed a fold's train/test boundary"), std::string::npos);

  const std::string by_speaker =
      dup_config("dup-spk", R"({"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]})");
  const auto kept = run_cli_streams("train --config " + by_speaker + " --no-progress --jobs 1");
  ASSERT_EQ(kept.code, 0) << kept.err;
  const auto ms = json_of(p("runs/dup-spk/metrics.json"));
  EXPECT_EQ(ms["duplicates"]["across_train_test_pairs"], 0);
  EXPECT_NE(ms["warnings"].dump().find("each group inside one split"), std::string::npos) << ms["warnings"];
}

}  // namespace

namespace {

// A run that cannot start leaves no empty run folder behind.
TEST_F(DataCheckCli, AMissingCorpusLeavesNoRunFolder) {
  write_text_atomic(p("gone.json"), R"({"name": "gone", "dataset": "manifest", "manifest": ")" + p("gone.csv") +
                                        R"(", "runs_dir": ")" + p("gone-runs") + R"(", "features": {"out": ")" +
                                        p("gone-features") + R"("}, "protocol": {"name": "random_kfold", "k": 3},
                                        "model": {"architecture": "logreg"}})");
  for (const std::string& extra : {std::string(""), std::string(" --repeats 2"), std::string(" --fold 1")}) {
    const auto r = run_cli("train --config " + p("gone.json") + extra);
    EXPECT_EQ(r.code, 2) << extra << "\n" << r.out;
    EXPECT_NE(r.out.find(p("gone.csv") + ": manifest not found"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(p("gone-runs"))) << extra;
    EXPECT_FALSE(fs::exists(p("gone-features"))) << extra;
  }
}

}  // namespace

namespace {

// Off a terminal, extraction progress is a logged line every
// SER_PROGRESS_SECONDS (default 10), and a run keeps its log in <run>/train.log.
TEST_F(DataCheckCli, ProgressOffATerminalAndARunLog) {
  const auto r = run_cli_streams("train --config " + config("logged") + " --jobs 2", "SER_PROGRESS_SECONDS=0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("[info] extracting: "), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("extracting"), std::string::npos) << "progress is not data: " << r.out;
  const std::string log = read_text(p("runs/logged/train.log"));
  EXPECT_NE(log.find("[info] extracting: "), std::string::npos) << log;
  for (int k = 1; k <= 3; ++k) {
    EXPECT_NE(log.find("fold " + std::to_string(k) + ": accuracy"), std::string::npos) << "fold processes log there too:\n"
                                                                                       << log;
  }
  const auto quiet = run_cli_streams("train --config " + config("quiet") + " --no-progress --jobs 1", "SER_PROGRESS_SECONDS=0");
  ASSERT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("extracting: "), std::string::npos) << quiet.err;
}

}  // namespace

namespace {

// Torch-only keys given for a classic model are said to do nothing, and do not
// make the same classic run a different one.
TEST_F(DataCheckCli, TorchOnlyKeysNeitherChangeNorSilentlyEnterAClassicRun) {
  const std::string cfg = config("lr");
  train(cfg);
  const auto again = run_cli_streams("train --config " + cfg + " --set train.epochs=5 --set model.dropout_head=0.3 --no-progress");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("train.epochs has no effect on logreg"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("model.dropout_head has no effect on logreg"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("finished earlier, kept"), std::string::npos) << "the same run, resumed:\n" << again.err;
  // A key a classic model does use still makes another run.
  const auto other = run_cli("train --config " + cfg + " --set model.logreg_c=0.5 --no-progress");
  EXPECT_EQ(other.code, 2) << other.out;
  EXPECT_NE(other.out.find("model.logreg_c"), std::string::npos) << other.out;
}

}  // namespace

namespace {

// Each model learns its out-of-distribution threshold (the 99th percentile of
// max |z| of held-out training speech), reports it and a score per row, and flags by it.
TEST_F(DataCheckCli, EachModelLearnsItsOutOfDistributionThreshold) {
  train(config("lr", 1.0, true));
  const auto card = json_of(p("runs/lr/fold-1/model.json"));
  ASSERT_TRUE(card.contains("ood")) << card.dump(2);
  EXPECT_EQ(card["ood"]["statistic"], "max_abs_z");
  EXPECT_EQ(card["ood"]["quantile"], 0.99);
  const double threshold = card["ood"]["threshold"].get<double>();
  EXPECT_GT(threshold, 0.5);
  EXPECT_LT(threshold, 50.0) << "learnt, not the old fixed value";
  EXPECT_NE(card["ood"]["method"].get<std::string>().find("grouped by speaker"), std::string::npos);
  const auto fold = json_of(p("runs/lr/fold-1/metrics.json"));
  ASSERT_TRUE(fold["ood"].contains("test_false_alarm_rate")) << fold.dump(2);
  const auto run = json_of(p("runs/lr/metrics.json"));
  ASSERT_TRUE(run.contains("ood")) << run.dump(2);
  EXPECT_LE(run["ood"]["test_false_alarm_rate"].get<double>(), 0.25) << "held-out tones are mostly inside";

  fs::create_directories(p("odd"));
  write_noise("odd/noise.wav");
  fs::copy_file(p("clips/low1.wav"), p("odd/low1.wav"));  // speaker spk1: fold 1 trained on it
  const auto learnt = run_cli_streams("predict --model " + p("runs/lr/fold-1") + " --format json " + p("odd"));
  ASSERT_EQ(learnt.code, 0) << learnt.err;
  const auto rows = nlohmann::json::parse(learnt.out)["items"];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0]["ood_threshold"].get<double>(), threshold);
  EXPECT_NEAR(rows[0]["ood_score"].get<double>(), rows[0]["max_abs_z"].get<double>() / threshold, 1e-12);
  EXPECT_FALSE(rows[0]["ood"].get<bool>()) << "a training clip: " << rows.dump(2);
  EXPECT_TRUE(rows[1]["ood"].get<bool>()) << "noise: " << rows.dump(2);
  EXPECT_NE(rows[1]["ood_reason"].get<std::string>().find("the model's learnt"), std::string::npos) << rows.dump(2);

  // --ood-z sets a fixed threshold instead; a model from before learnt thresholds gets 50.
  const auto fixed = run_cli_streams("predict --model " + p("runs/lr/fold-1") + " --format json --ood-z 1e9 " + p("odd"));
  ASSERT_EQ(fixed.code, 0) << fixed.err;
  EXPECT_FALSE(nlohmann::json::parse(fixed.out)["items"][1]["ood"].get<bool>());
  EXPECT_EQ(nlohmann::json::parse(fixed.out)["items"][1]["ood_threshold"], 1e9);
  auto legacy = card;
  legacy.erase("ood");
  write_text_atomic(p("runs/lr/fold-1/model.json"), legacy.dump());
  const auto old = run_cli_streams("predict --model " + p("runs/lr/fold-1") + " --format json " + p("odd"));
  ASSERT_EQ(old.code, 0) << old.err;
  EXPECT_EQ(nlohmann::json::parse(old.out)["items"][0]["ood_threshold"], 50.0);
  auto damaged = card;
  damaged["ood"]["threshold"] = -1;
  write_text_atomic(p("runs/lr/fold-1/model.json"), damaged.dump());
  const auto bad = run_cli("predict --model " + p("runs/lr/fold-1") + " " + p("odd"));
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("model.json: 'ood' needs a finite threshold > 0"), std::string::npos) << bad.out;
}

}  // namespace
