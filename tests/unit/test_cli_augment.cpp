// `ser augment` and training-time augmentation end to end on a synthetic tone corpus: copies and
// their manifest (a round trip through the manifest reader), determinism, bad input, and, for
// every protocol, that no fold trained on a copy of its test items or test speakers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>

#include "ser/audio/audio.hpp"
#include "ser/data/corpus.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::util::read_text;

// Rows of a CSV as column -> value maps.
std::vector<std::map<std::string, std::string>> read_rows(const std::string& path) {
  const auto rows = ser::util::parse_csv(read_text(path), path);
  std::vector<std::map<std::string, std::string>> out;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    std::map<std::string, std::string> m;
    for (std::size_t c = 0; c < rows[0].fields.size() && c < rows[r].fields.size(); ++c) m[rows[0].fields[c]] = rows[r].fields[c];
    out.push_back(std::move(m));
  }
  return out;
}

class AugmentCli : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_tone_corpus("m.csv");
  }
};

TEST_F(AugmentCli, WritesCopiesAndAManifestThatReadsBack) {
  const auto r = run_cli("augment --input " + p("m.csv") + " --out " + p("aug") +
                         " --ops 'speed=0.5' --ops 'noise:snr_db=10..30,fraction=0.5+shift=100' --copies 2 --with-originals");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto rows = read_rows(p("aug/manifest.csv"));
  ASSERT_EQ(rows.size(), 24u * (1 + 2 * 2));
  const auto original = ser::audio::load(p("clips/low0.wav"));
  std::size_t copies = 0;
  for (const auto& row : rows) {
    if (row.at("copy") == "0") {
      EXPECT_EQ(row.at("source"), row.at("id"));
      continue;
    }
    ++copies;
    ASSERT_TRUE(fs::exists(p("aug/" + row.at("path")))) << row.at("path");
    EXPECT_EQ(row.at("id"), row.at("source") + "#" + (row.at("recipe") == "speed=0.5" ? "speed." : "noise+shift.") + row.at("copy"));
    if (row.at("source") == "clips/low0" && row.at("recipe") == "speed=0.5") {
      const auto copy = ser::audio::read_mono(p("aug/" + row.at("path")));
      EXPECT_EQ(copy.sample_rate, 22050);
      EXPECT_EQ(copy.samples.size(), 2 * original.samples.size());
      EXPECT_EQ(row.at("applied"), "speed:factor=0.5");
    }
    if (row.at("recipe") != "speed=0.5") EXPECT_NE(row.at("applied").find("+shift:samples="), std::string::npos);
  }
  EXPECT_EQ(copies, 24u * 4);
  // The manifest is a corpus: labels, speakers and the provenance columns come back.
  const auto index = ser::data::index_manifest(p("aug/manifest.csv"));
  ASSERT_EQ(index.items.size(), rows.size());
  EXPECT_NE(std::find(index.metadata_columns.begin(), index.metadata_columns.end(), "source"), index.metadata_columns.end());
  for (const auto& it : index.items) {
    EXPECT_FALSE(it.label.empty());
    EXPECT_EQ(it.speaker.rfind("spk", 0), 0u);
  }
  // Same seed, same bytes; another seed, other copies.
  ASSERT_EQ(run_cli("augment --input " + p("m.csv") + " --out " + p("again") +
                    " --ops 'speed=0.5' --ops 'noise:snr_db=10..30,fraction=0.5+shift=100' --copies 2 --with-originals").code, 0);
  EXPECT_TRUE(read_text(p("again/clips/low3.noise-shift.2.wav")) == read_text(p("aug/clips/low3.noise-shift.2.wav")));
  EXPECT_TRUE(read_text(p("again/manifest.csv")) == read_text(p("aug/manifest.csv")));
  ASSERT_EQ(run_cli("augment --input " + p("m.csv") + " --out " + p("seed7") +
                    " --seed 7 --ops 'noise:snr_db=10..30,fraction=0.5+shift=100'").code, 0);
  EXPECT_FALSE(ser::audio::read_mono(p("seed7/clips/low3.noise-shift.1.wav")).samples ==
               ser::audio::read_mono(p("aug/clips/low3.noise-shift.1.wav")).samples);
}

TEST_F(AugmentCli, BadInputGivesOneLineErrors) {
  struct Case {
    std::string args, expect;
    int code;
  };
  const std::string in = " --input " + p("m.csv") + " --out " + p("bad");
  const Case cases[] = {
      {in + " --ops reverb=3", "unknown augmentation op 'reverb'", 2},
      {in + " --ops speed=0", "factor must be in [0.25, 4] (got 0)", 2},
      {in + " --ops 'tempo=-0.5'", "rate must be in [0.25, 4]", 2},
      {in + " --ops noise=inf", "snr_db must be in [-20, 100] (got inf)", 2},
      {in + " --ops noise=nan", "snr_db must be in [-20, 100] (got nan)", 2},
      {in + " --ops speed=0.9 --copies 0", "--copies: must be >= 1", 2},
      {" --input " + p("nothing.csv") + " --out " + p("bad") + " --ops trim", "nothing.csv: no such file or folder", 1},
  };
  for (const auto& c : cases) {
    const auto r = run_cli("augment" + c.args);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(p("bad/manifest.csv"))) << "nothing written for " << c.args;
  }
}

TEST_F(AugmentCli, ShiftLongerThanAClipFailsThatFileOnly) {
  write_tone("clips/short.wav", 300, 16000);  // 0.5 s
  ser::audio::Signal one_second{std::vector<float>(16000, 0.1f), 16000};
  ser::audio::write_wav(p("clips/long.wav"), one_second);
  ser::util::write_text_atomic(p("two.csv"), "path,label\n" + p("clips/short.wav") + ",x\n" + p("clips/long.wav") + ",y\n");
  const auto r = run_cli("augment --input " + p("two.csv") + " --out " + p("out") + " --ops shift=600");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("short.wav: shift of up to 600 ms (13230 samples) is not shorter than the clip (11025 samples)"),
            std::string::npos) << r.out;
  const auto rows = read_rows(p("out/manifest.csv"));
  ASSERT_EQ(rows.size(), 1u) << "the clip that fits is still copied";
  EXPECT_EQ(rows[0].at("source"), "clips/long");
  // A manifest naming files outside its folder (ids are then absolute paths) still writes inside --out.
  fs::create_directories(p("lists"));
  ser::util::write_text_atomic(p("lists/outside.csv"), "path,label\n" + p("clips/long.wav") + ",y\n");
  ASSERT_EQ(run_cli("augment --input " + p("lists/outside.csv") + " --out " + p("inside") + " --ops trim").code, 0);
  const auto inside = read_rows(p("inside/manifest.csv"));
  ASSERT_EQ(inside.size(), 1u);
  EXPECT_NE(inside[0].at("path").front(), '/') << inside[0].at("path");
  EXPECT_TRUE(fs::exists(p("inside/" + inside[0].at("path"))));
  EXPECT_FALSE(fs::exists(p("clips/long.trim.1.wav")));
}

// ---- training-time augmentation ----

class AugmentedTraining : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_tone_corpus("m.csv");
  }
  std::string config(const std::string& name, const std::string& protocol, const std::string& augment,
                     const std::string& train_extra = "") {
    const std::string path = p(name + ".json");
    ser::util::write_text_atomic(
        path, R"({"name": ")" + name + R"(", "dataset": "manifest", "manifest": ")" + p("m.csv") + R"(", "runs_dir": ")" +
                  p("runs") + R"(", "features": {"out": ")" + p("features") + R"("}, "protocol": )" + protocol +
                  R"(, "model": {"architecture": "mlp"}, "augment": )" + augment +
                  R"(, "train": {"epochs": 3, "min_epochs": 1, "threads": 1, "optimizer": {"name": "adam", "lr": 0.01})" +
                  train_extra + "}}");
    return path;
  }
};

// For each protocol: every fold's augmented.csv (the copies it trained on) against its
// predictions.csv (its test items): no copy of a test item, and under speaker protocols no copy of
// a test speaker's item; the copy count is exactly copies x recipes x training items.
TEST_F(AugmentedTraining, NoFoldTrainsOnCopiesOfItsTestItemsInAnyProtocol) {
  const std::string augment = R"({"ops": ["speed=0.9|1.1", "noise:snr_db=10..30"], "copies": 1})";
  struct Case {
    std::string name, protocol;
    bool by_speaker;
    std::string train_extra = "";
  };
  const Case cases[] = {
      {"random", R"({"name": "random_kfold", "k": 3})", false},
      {"speaker", R"({"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]})", true},
      {"holdout", R"({"name": "holdout", "holdout_test_speakers": ["spk3"]})", true},
      // refit: the selection run copies training items only; the refit also the validation items.
      {"refit", R"({"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]})", true,
       R"(, "refit": true)"},
  };
  const auto index = ser::data::index_manifest(p("m.csv"));
  std::map<std::string, std::string> speaker_of;
  for (const auto& it : index.items) speaker_of[it.id] = it.speaker;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto r = run_cli("train --config " + config(c.name, c.protocol, augment, c.train_extra) + " --no-progress --jobs 2");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("augment: "), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("share their 'source'"), std::string::npos) << r.out;
    int folds = 0;
    for (int k = 1; fs::exists(p("runs/" + c.name + "/fold-" + std::to_string(k))); ++k, ++folds) {
      const std::string dir = p("runs/" + c.name + "/fold-" + std::to_string(k));
      std::set<std::string> test_ids, test_speakers;
      for (const auto& row : read_rows(dir + "/predictions.csv")) {
        test_ids.insert(row.at("id"));
        test_speakers.insert(speaker_of.at(row.at("id")));
      }
      const auto copies = read_rows(dir + "/augmented.csv");
      const auto metrics = nlohmann::json::parse(read_text(dir + "/metrics.json"));
      EXPECT_EQ(copies.size(), 2 * metrics["n_train"].get<std::size_t>());
      EXPECT_EQ(metrics["n_train_copies"].get<std::size_t>(), copies.size());
      auto selection = fs::exists(dir + "/selection") ? read_rows(dir + "/selection/augmented.csv")
                                                      : std::vector<std::map<std::string, std::string>>{};
      if (!c.train_extra.empty()) {
        EXPECT_EQ(selection.size(), 2 * (metrics["n_train"].get<std::size_t>() - metrics["n_validation"].get<std::size_t>()));
      }
      selection.insert(selection.end(), copies.begin(), copies.end());
      for (const auto& row : selection) {
        EXPECT_FALSE(test_ids.count(row.at("source"))) << "fold " << k << " trained on a copy of test item " << row.at("source");
        if (c.by_speaker) EXPECT_FALSE(test_speakers.count(speaker_of.at(row.at("source")))) << row.at("source");
      }
    }
    EXPECT_GT(folds, 0);
  }
}

// Copies made before the split (a `ser augment --with-originals` manifest used as the corpus)
// cannot be kept out of the test folds by the protocol; `ser train` says so, with the count.
TEST_F(AugmentedTraining, CopiesMadeBeforeTheSplitAreFlagged) {
  ASSERT_EQ(run_cli("augment --input " + p("m.csv") + " --out " + p("offline") + " --ops speed=0.9 --with-originals").code, 0);
  ser::util::write_text_atomic(
      p("offline.json"), R"({"name": "offline", "dataset": "manifest", "manifest": ")" + p("offline/manifest.csv") +
                             R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("offline-features") +
                             R"("}, "protocol": {"name": "random_kfold", "k": 3}, "model": {"architecture": "mlp"},
                             "train": {"epochs": 2, "min_epochs": 1, "threads": 1}})");
  const auto r = run_cli("train --config " + p("offline.json") + " --no-progress --jobs 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("test items share their 'source' with training items"), std::string::npos) << r.out;
}

TEST_F(AugmentedTraining, BadAugmentConfigIsRefusedBeforeTraining) {
  const std::string protocol = R"({"name": "random_kfold", "k": 3})";
  const auto typo = run_cli("train --config " + config("t1", protocol, R"({"opps": ["speed=0.9"]})"));
  EXPECT_EQ(typo.code, 2) << typo.out;
  EXPECT_NE(typo.out.find("augment.opps: unknown config key"), std::string::npos) << typo.out;
  EXPECT_NE(typo.out.find("did you mean 'augment.ops'"), std::string::npos) << typo.out;
  const auto bad_op = run_cli("train --config " + config("t2", protocol, R"({"ops": ["speed=0.9", "echo=3"]})"));
  EXPECT_EQ(bad_op.code, 2) << bad_op.out;
  EXPECT_NE(bad_op.out.find("augment.ops[1]: unknown augmentation op 'echo'"), std::string::npos) << bad_op.out;
  const auto copies = run_cli("train --config " + config("t3", protocol, R"({"ops": ["speed=0.9"], "copies": 0})"));
  EXPECT_EQ(copies.code, 2) << copies.out;
  EXPECT_NE(copies.out.find("augment.copies: must be >= 1"), std::string::npos) << copies.out;
  const auto shift = run_cli("train --config " + config("t4", protocol, R"({"ops": ["shift=900"]})") + " --no-progress");
  EXPECT_EQ(shift.code, 1) << shift.out;
  EXPECT_NE(shift.out.find("is not shorter than the clip"), std::string::npos) << shift.out;
  EXPECT_FALSE(fs::exists(p("runs/t4/fold-1/model.pt")));
}

}  // namespace
