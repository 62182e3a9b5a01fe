// `ser train` end to end on a synthetic tone corpus: the run directory, concurrent folds that
// match sequential ones, resuming (finished folds kept), refusing a different config in the same
// run directory, the final model, training from a feature store alone, and bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::util::read_text;
using ser::util::write_text_atomic;

class TrainCli : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_tone_corpus("m.csv");
  }
  // A config file for the tone corpus; `extra` is spliced into the top-level object.
  std::string config(const std::string& name, const std::string& protocol = R"({"name": "random_kfold", "k": 3})",
                     const std::string& extra = "") {
    const std::string path = p(name + ".json");
    write_text_atomic(path, R"({"name": ")" + name + R"(", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("features") +
                                R"("}, "protocol": )" + protocol + R"(, "model": {"architecture": "mlp"},
                                "train": {"epochs": 6, "threads": 1, "optimizer": {"name": "adam", "lr": 0.01}})" +
                                extra + "}");
    return path;
  }
  nlohmann::json json_of(const std::string& rel) const { return nlohmann::json::parse(read_text(p(rel))); }
};

TEST_F(TrainCli, WritesARunDirectory) {
  const auto r = run_cli("train --config " + config("tones") + " --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("accuracy (WA)"), std::string::npos) << r.out;
  for (const char* f : {"runs/tones/config.json", "runs/tones/metrics.json", "runs/tones/confusion.csv",
                        "runs/tones/fold-1/model.pt", "runs/tones/fold-1/model.json", "runs/tones/fold-1/scaler.json",
                        "runs/tones/fold-1/history.csv", "runs/tones/fold-3/predictions.csv"}) {
    EXPECT_TRUE(fs::exists(p(f))) << f;
  }
  EXPECT_FALSE(fs::exists(p("runs/tones/fold-1/checkpoint.pt"))) << "finished folds drop their checkpoint";
  const auto metrics = json_of("runs/tones/metrics.json");
  EXPECT_EQ(metrics["folds"].size(), 3u);
  EXPECT_EQ(metrics["pooled"]["n"], 24);  // every item tested exactly once
  EXPECT_TRUE(metrics["folds"][0].contains("best_validation"));
  // The saved config is complete and re-runnable as it is.
  const auto again = run_cli("train --config " + p("runs/tones/config.json") + " --no-progress");
  EXPECT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("fold 3: finished earlier, kept"), std::string::npos) << again.out;

  const auto bad_fold = run_cli("train --config " + p("tones.json") + " --fold 7 --no-progress");
  EXPECT_EQ(bad_fold.code, 2) << bad_fold.out;
  EXPECT_NE(bad_fold.out.find("--fold"), std::string::npos) << bad_fold.out;
  const auto typo = run_cli("train --config " + p("tones.json") + " --set train.epohcs=3");
  EXPECT_EQ(typo.code, 2) << typo.out;
  EXPECT_NE(typo.out.find("did you mean 'train.epochs'"), std::string::npos) << typo.out;
}

// train.refit: the validation run (in fold-K/selection, never shown the test part) picks the
// epoch count; the fold model then trains on training + validation for exactly that many epochs.
// A resumed run keeps a finished selection.
TEST_F(TrainCli, RefitTrainsOnTheWholeTrainingPartForTheChosenEpochs) {
  const std::string cfg = config("refit");
  const auto r = run_cli("train --config " + cfg + " --set train.refit=true --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  for (int k = 1; k <= 3; ++k) {
    const std::string fold = "runs/refit/fold-" + std::to_string(k);
    const auto m = json_of(fold + "/metrics.json");
    const auto sel = json_of(fold + "/selection/selection.json");
    EXPECT_TRUE(m["refit"].get<bool>());
    EXPECT_EQ(m["best_epoch"], sel["best_epoch"]);
    EXPECT_EQ(m["best_validation"], sel["best_validation"]);
    EXPECT_EQ(m["epochs_run"], sel["best_epoch"]);
    EXPECT_EQ(m["n_train"].get<int>() + 8, 24) << "training + validation = everything but the 8 test items";
    EXPECT_GT(m["n_validation"].get<int>(), 0);
    const std::string selection_history = read_text(p(fold + "/selection/history.csv"));
    EXPECT_EQ(std::count(selection_history.begin(), selection_history.end(), '\n') - 1, 6) << "the full validation run";
    const std::string history = read_text(p(fold + "/history.csv"));
    EXPECT_EQ(std::count(history.begin(), history.end(), '\n') - 1, sel["best_epoch"].get<int>());
    EXPECT_TRUE(fs::exists(p(fold + "/selection/model.json")));
    EXPECT_FALSE(fs::exists(p(fold + "/selection/predictions.csv"))) << "the selection run never predicts the test part";
  }
  // Fold 2 lost after its selection finished: the re-run keeps the selection and refits again.
  const std::string fold2 = read_text(p("runs/refit/fold-2/predictions.csv"));
  const auto selected = fs::last_write_time(p("runs/refit/fold-2/selection/model.pt"));
  for (const char* f : {"metrics.json", "predictions.csv", "model.pt", "model.json"}) fs::remove(p(std::string("runs/refit/fold-2/") + f));
  fs::remove(p("runs/refit/metrics.json"));
  const auto again = run_cli("train --config " + cfg + " --set train.refit=true --no-progress");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_EQ(fs::last_write_time(p("runs/refit/fold-2/selection/model.pt")), selected);
  EXPECT_EQ(read_text(p("runs/refit/fold-2/predictions.csv")), fold2);
}

// Fold processes (--jobs) give exactly what one process gives fold after fold.
TEST_F(TrainCli, ConcurrentFoldsMatchSequentialOnes) {
  const auto seq = run_cli("train --config " + config("seq") + " --no-progress");
  ASSERT_EQ(seq.code, 0) << seq.out;
  const auto par = run_cli("train --config " + config("par") + " --jobs 3 --no-progress");
  ASSERT_EQ(par.code, 0) << par.out;
  for (int k = 1; k <= 3; ++k) {
    const std::string f = "/fold-" + std::to_string(k) + "/predictions.csv";
    EXPECT_EQ(read_text(p("runs/seq" + f)), read_text(p("runs/par" + f))) << f;
  }
  EXPECT_EQ(json_of("runs/seq/metrics.json")["summary"], json_of("runs/par/metrics.json")["summary"]);
}

// One fold alone (a job array), then the whole run: the finished fold is kept as it was, and
// the aggregate appears only once every fold has finished.
TEST_F(TrainCli, ResumeKeepsFinishedFolds) {
  const std::string cfg = config("tones");
  const auto one = run_cli("train --config " + cfg + " --fold 2 --no-progress");
  ASSERT_EQ(one.code, 0) << one.out;
  EXPECT_TRUE(fs::exists(p("runs/tones/fold-2/metrics.json")));
  EXPECT_FALSE(fs::exists(p("runs/tones/metrics.json")));
  EXPECT_NE(one.out.find("1 of 3 fold(s) finished"), std::string::npos) << one.out;
  const std::string fold2 = read_text(p("runs/tones/fold-2/predictions.csv"));
  const auto mtime = fs::last_write_time(p("runs/tones/fold-2/model.pt"));

  const auto rest = run_cli("train --config " + cfg + " --no-progress");
  ASSERT_EQ(rest.code, 0) << rest.out;
  EXPECT_NE(rest.out.find("fold 2: finished earlier, kept"), std::string::npos) << rest.out;
  EXPECT_NE(rest.out.find("3 of 3 fold(s) finished (2 trained now)"), std::string::npos) << rest.out;
  EXPECT_EQ(fs::last_write_time(p("runs/tones/fold-2/model.pt")), mtime);
  EXPECT_EQ(read_text(p("runs/tones/fold-2/predictions.csv")), fold2);
  EXPECT_EQ(json_of("runs/tones/metrics.json")["pooled"]["n"], 24);
}

TEST_F(TrainCli, DifferentConfigInTheSameRunIsRefused) {
  const std::string cfg = config("tones");
  ASSERT_EQ(run_cli("train --config " + cfg + " --fold 1 --no-progress").code, 0);
  const auto changed = run_cli("train --config " + cfg + " --set train.epochs=9 --no-progress");
  EXPECT_EQ(changed.code, 2) << changed.out;
  EXPECT_NE(changed.out.find("train.epochs"), std::string::npos) << changed.out;
  EXPECT_NE(changed.out.find("--fresh"), std::string::npos) << changed.out;
  // Settings that do not change results may differ.
  EXPECT_EQ(run_cli("train --config " + cfg + " --fold 1 --threads 2 --no-progress").code, 0);
  const auto fresh = run_cli("train --config " + cfg + " --set train.epochs=9 --fresh --no-progress");
  ASSERT_EQ(fresh.code, 0) << fresh.out;
  EXPECT_EQ(json_of("runs/tones/fold-1/metrics.json")["epochs_run"], 9);
}

// --final: one more model on every item, for the median of the folds' best epochs.
TEST_F(TrainCli, FinalModelOnAllItems) {
  const auto r = run_cli("train --config " + config("tones") + " --final --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f : {"model.pt", "model.json", "scaler.json", "history.csv"}) {
    EXPECT_TRUE(fs::exists(p(std::string("runs/tones/final/") + f))) << f;
  }
  std::vector<int> best;
  const auto metrics = json_of("runs/tones/metrics.json");
  for (const auto& f : metrics["folds"]) best.push_back(f["best_epoch"].get<int>());
  std::sort(best.begin(), best.end());
  const std::string history = read_text(p("runs/tones/final/history.csv"));
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n') - 1, best[best.size() / 2]) << history;
  const auto card = json_of("runs/tones/final/model.json");
  EXPECT_EQ(card["labels"], nlohmann::json({"high", "low", "mid"}));
  EXPECT_EQ(card["feature_set"], "issa193");
}

// A feature store is enough: the audio may be gone (a GPU node without the corpus).
TEST_F(TrainCli, TrainsFromAFeatureStoreAlone) {
  ASSERT_EQ(run_cli("extract --config " + config("tones") + " --no-progress").code, 0);
  fs::remove_all(p("clips"));
  const auto r = run_cli("train --config " + p("tones.json") + " --set features.from_store=true --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  // A store made with other feature settings is refused, naming the key.
  auto meta = json_of("features/meta.json");
  meta["settings_fingerprint"] = "issa193;sr=16000";
  write_text_atomic(p("features/meta.json"), meta.dump());
  const auto mismatch =
      run_cli("train --config " + p("tones.json") + " --set features.from_store=true --fresh --no-progress");
  EXPECT_EQ(mismatch.code, 2) << mismatch.out;
  EXPECT_NE(mismatch.out.find("features.set"), std::string::npos) << mismatch.out;
}

TEST_F(TrainCli, BadProtocolsAndCorporaGiveOneLineErrors) {
  struct Case {
    std::string protocol, extra, expect;
  };
  const std::vector<Case> cases = {
      // A speaker table naming a speaker the corpus does not have.
      {R"({"name": "speaker_kfold", "speaker_table": [["spk0", "spk9"], ["spk1"]]})", "", "spk9"},
      {R"({"name": "random_kfold", "k": 30})", "", "protocol.k"},
      {R"({"name": "leave_one_out"})", "", "protocol.name"},
  };
  int n = 0;
  for (const auto& c : cases) {
    const std::string name = "bad" + std::to_string(++n);
    const auto r = run_cli("train --config " + config(name, c.protocol, c.extra) + " --no-progress");
    EXPECT_EQ(r.code, 2) << c.protocol << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.protocol << "\n" << r.out;
    EXPECT_FALSE(fs::exists(p("runs/" + name))) << "no run directory for " << c.protocol;
  }
  // A class only one speaker has: every fold testing that speaker lacks it in training.
  std::string manifest = read_text(p("m.csv"));
  write_tone("clips/rare.wav", 3000, 16000);
  manifest += p("clips/rare.wav") + ",rare,spk0\n";
  write_text_atomic(p("m.csv"), manifest);
  const auto absent = run_cli("train --config " +
                              config("absent", R"({"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]})") +
                              " --no-progress");
  EXPECT_EQ(absent.code, 2) << absent.out;
  EXPECT_NE(absent.out.find("class 'rare' absent from training"), std::string::npos) << absent.out;

  // An empty corpus: a manifest with a header and no rows.
  write_text_atomic(p("m.csv"), "path,label,speaker\n");
  const auto empty = run_cli("train --config " + config("empty") + " --no-progress");
  EXPECT_NE(empty.code, 0) << empty.out;
  EXPECT_EQ(empty.out.find("ser: error: " + p("m.csv")), 0u) << empty.out;
  EXPECT_EQ(std::count(empty.out.begin(), empty.out.end(), '\n'), 1) << empty.out;
  EXPECT_FALSE(fs::exists(p("runs/empty"))) << "no run directory for a corpus with nothing to train on";
}

// Every key, range and combination is checked before anything is read or written: a bad value
// fails at once with one line and exit 2, leaving no run directory and no extracted features, so
// the corrected config then runs (no "differs from the run already in ...").
TEST_F(TrainCli, InvalidConfigIsRefusedBeforeAnythingIsWritten) {
  const std::string cfg = config("checked");
  for (const std::string set : {"model.architecture=resnet", "train.epochs=-5", "train.epochs=0", "train.batch_size=0",
                                "train.optimizer.lr=-1", "train.monitor=val_f1", "model.dropout_head=2.0",
                                "train.patience=-1", "train.schedule.name=warmup", "protocol.name=leave_one_out",
                                "protocol.validation_fraction=1.5",
                                R"('train.search={"model.architecture": ["mlp", "resnet"]}')",
                                R"('train.search={"train.optimizer.lr": [0.01, -1]}')"}) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = run_cli("train --config " + cfg + " --set " + set + " --jobs 3 --no-progress");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.code, 2) << set << "\n" << r.out;
    EXPECT_EQ(r.out.rfind("ser: error: --set ", 0), 0u) << set << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << set << "\n" << r.out;
    EXPECT_LT(seconds, 3.0) << set;
    EXPECT_FALSE(fs::exists(p("runs/checked"))) << set;
    EXPECT_FALSE(fs::exists(p("features"))) << "features extracted for " << set;
  }
  // The same mistakes in the file itself name the file.
  std::string text = read_text(cfg);
  const std::string epochs = "\"epochs\": 6";
  write_text_atomic(p("bad.json"), text.replace(text.find(epochs), epochs.size(), "\"epochs\": -5"));
  const auto in_file = run_cli("train --config " + p("bad.json") + " --no-progress");
  EXPECT_EQ(in_file.code, 2) << in_file.out;
  EXPECT_NE(in_file.out.find("train.epochs: must be >= 1, got -5 in " + p("bad.json")), std::string::npos) << in_file.out;
  const auto ok = run_cli("train --config " + cfg + " --no-progress");
  EXPECT_EQ(ok.code, 0) << ok.out;
}

// An override's mistake names the override, not the config file.
TEST_F(TrainCli, OverrideErrorsNameTheOverride) {
  const std::string cfg = config("tones");
  const auto abc = run_cli("train --config " + cfg + " --set train.epochs=abc --no-progress");
  EXPECT_EQ(abc.code, 2) << abc.out;
  EXPECT_EQ(abc.out, "ser: error: --set train.epochs=abc: must be an integer\n");
  const auto nested = run_cli("train --config " + cfg + R"( --set 'train.optimizer={"lr": -1}' --no-progress)");
  EXPECT_EQ(nested.code, 2) << nested.out;
  EXPECT_NE(nested.out.find(R"(--set train.optimizer={"lr": -1}: train.optimizer.lr: must be > 0)"), std::string::npos)
      << nested.out;
  EXPECT_EQ(nested.out.find(cfg), std::string::npos) << nested.out;
  const auto device = run_cli("train --config " + cfg + " --device tpu --no-progress");
  EXPECT_EQ(device.code, 2) << device.out;
  EXPECT_EQ(device.out.rfind("ser: error: --device tpu: unknown device 'tpu'", 0), 0u) << device.out;
}

// A run directory copied (cp -r) or moved (mv) elsewhere resumes where it now is, from its own
// config.json, and leaves the original alone.
TEST_F(TrainCli, CopiedOrMovedRunDirectoryResumes) {
  const std::string cfg = config("tones");
  ASSERT_EQ(run_cli("train --config " + cfg + " --fold 1 --no-progress").code, 0);
  const std::string fold1 = read_text(p("runs/tones/fold-1/predictions.csv"));
  fs::copy(p("runs/tones"), p("runs/copy"), fs::copy_options::recursive);
  const auto copy = run_cli("train --config " + p("runs/copy/config.json") + " --no-progress");
  ASSERT_EQ(copy.code, 0) << copy.out;
  EXPECT_NE(copy.out.find("fold 1: finished earlier, kept"), std::string::npos) << copy.out;
  EXPECT_NE(copy.out.find("run " + p("runs/copy") + ": 3 of 3 fold(s) finished (2 trained now)"), std::string::npos)
      << copy.out;
  EXPECT_FALSE(fs::exists(p("runs/tones/fold-2"))) << "the original run was trained instead of the copy";
  EXPECT_EQ(read_text(p("runs/copy/fold-1/predictions.csv")), fold1);

  fs::rename(p("runs/tones"), p("elsewhere"));
  const auto moved = run_cli("train --config " + p("elsewhere/config.json") + " --no-progress");
  ASSERT_EQ(moved.code, 0) << moved.out;
  EXPECT_NE(moved.out.find("fold 1: finished earlier, kept"), std::string::npos) << moved.out;
  EXPECT_TRUE(fs::exists(p("elsewhere/metrics.json")));
  EXPECT_FALSE(fs::exists(p("runs/tones"))) << "a moved run started over in its old place";
  // The original config file with the new name resumes the copy too.
  fs::remove_all(p("runs/copy/fold-3"));
  const auto renamed = run_cli("train --config " + cfg + " --set name=copy --no-progress");
  ASSERT_EQ(renamed.code, 0) << renamed.out;
  EXPECT_NE(renamed.out.find("3 of 3 fold(s) finished (1 trained now)"), std::string::npos) << renamed.out;
}

}  // namespace

// train.search works for torch models too: each point trains on inner folds of the training part
// (with their own validation for early stopping) and the chosen learning rate is recorded.
TEST_F(TrainCli, SearchPicksATorchModelsHyperParametersPerFold) {
  const auto r = run_cli("train --config " + config("tsearch") +
                         " --set 'train.search={\"train.optimizer.lr\": [0.00001, 0.01], \"model.mlp_hidden\": [16]}'"
                         " --set train.search_folds=2 --no-progress --jobs 1");
  ASSERT_EQ(r.code, 0) << r.out;
  for (int k = 1; k <= 3; ++k) {
    const auto fm = json_of("runs/tsearch/fold-" + std::to_string(k) + "/metrics.json");
    ASSERT_TRUE(fm.contains("search")) << k;
    EXPECT_EQ(fm["search"]["grid"].size(), 2u);
    EXPECT_EQ(fm["search"]["inner_folds"], 2);
    EXPECT_EQ(fm["search"]["chosen"]["model.mlp_hidden"], 16);
  }
  EXPECT_NE(read_text(p("runs/tsearch/report.md")).find("train.optimizer.lr"), std::string::npos);
}
