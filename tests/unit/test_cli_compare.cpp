// Repeats, bootstrap intervals and `ser compare` end to end on a small noisy tone corpus (so two
// settings disagree on some items): each repeat a run with its own seed, the aggregate over
// repeats, resuming, intervals in every summary, and paired comparisons only on the same items.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <random>

#include "ser/audio/audio.hpp"
#include "ser/train/trainer.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::util::read_text;
using ser::util::write_text_atomic;

class CompareCli : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_noisy_corpus("m.csv", 12);
  }
  // Three close tones buried in noise, 12 clips each over speakers spk0..spk3: hard enough that
  // logistic regression with different C gets different items wrong.
  void write_noisy_corpus(const std::string& rel, int per_class) {
    std::mt19937 gen(7);
    std::uniform_real_distribution<double> u(-1, 1);
    std::string manifest = "path,label,speaker\n";
    const double freq[] = {220, 233, 247};
    const char* label[] = {"low", "mid", "high"};
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < per_class; ++i) {
        const std::string clip = "clips/" + std::string(label[c]) + std::to_string(i) + ".wav";
        ser::audio::Signal s;
        s.sample_rate = 16000;
        const double f = freq[c] * (1 + 0.03 * u(gen));
        for (int n = 0; n < 8000; ++n) {
          s.samples.push_back(static_cast<float>(0.2 * std::sin(2 * M_PI * f * n / 16000) + 0.25 * u(gen)));
        }
        ser::audio::write_wav(p(clip), s);
        manifest += p(clip) + "," + label[c] + ",spk" + std::to_string(i % 4) + "\n";
      }
    }
    write_text_atomic(p(rel), manifest);
  }
  std::string config(const std::string& name, const std::string& protocol, double c, const std::string& manifest = "m.csv") {
    const std::string path = p(name + ".json");
    write_text_atomic(path, R"({"name": ")" + name + R"(", "dataset": "manifest", "manifest": ")" + p(manifest) +
                                R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("features-" + name) +
                                R"("}, "protocol": )" + protocol + R"(, "model": {"architecture": "logreg", "logreg_c": )" +
                                std::to_string(c) + "}}");
    return path;
  }
  static constexpr const char* kSpeakers = R"({"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]})";
  static constexpr const char* kRandom = R"({"name": "random_kfold", "k": 3})";
  nlohmann::json json_of(const std::string& rel) const { return nlohmann::json::parse(read_text(p(rel))); }
  void train(const std::string& cfg, const std::string& extra = "") {
    const auto r = run_cli("train --config " + cfg + " --no-progress --jobs 1 " + extra);
    ASSERT_EQ(r.code, 0) << r.out;
  }
};

TEST_F(CompareCli, RepeatsAreRunsWithTheirOwnSeedsAndTheAggregateSumsThemUp) {
  const auto r = run_cli("train --config " + config("rep", kRandom, 1.0) + " --repeats 3 --no-progress --jobs 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("3 of 3 repeat(s) finished"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mean +- std over 3 repeat(s)"), std::string::npos) << r.out;
  const auto m = json_of("runs/rep/metrics.json");
  ASSERT_EQ(m["repeats"].size(), 3u);
  double sum = 0;
  for (int k = 0; k < 3; ++k) {
    const auto& rep = m["repeats"][static_cast<std::size_t>(k)];
    EXPECT_EQ(rep["seed"].get<std::uint64_t>(), ser::train::derive_repeat_seed(42, k + 1));
    const auto own = json_of("runs/rep/repeat-" + std::to_string(k + 1) + "/metrics.json");
    EXPECT_EQ(rep["summary"], own["summary"]);
    sum += own["summary"]["balanced_accuracy"]["mean"].get<double>();
  }
  EXPECT_NEAR(m["summary"]["balanced_accuracy"]["mean"].get<double>(), sum / 3, 1e-12);
  EXPECT_EQ(m["over_repeats"]["fold_mean"]["balanced_accuracy"]["values"].size(), 3u);
  EXPECT_EQ(m["ci"]["unit"], "item") << "random folds resample items";
  EXPECT_EQ(m["ci"]["repeats"], 3);
  EXPECT_GE(m["ci"]["resamples"].get<int>(), 1000);
  const double lo = m["ci"]["balanced_accuracy"][0], hi = m["ci"]["balanced_accuracy"][1];
  EXPECT_LE(lo, m["pooled"]["balanced_accuracy"].get<double>());
  EXPECT_GE(hi, m["pooled"]["balanced_accuracy"].get<double>());
  const std::string report = read_text(p("runs/rep/report.md"));
  EXPECT_NE(report.find("## Repeats"), std::string::npos);
  EXPECT_NE(report.find("95 % CI"), std::string::npos);

  // Random protocols reshuffle: some item is in another fold in repeat 2.
  const auto t = ser::util::parse_csv(read_text(p("runs/rep/predictions.csv")), "predictions");
  ASSERT_EQ(t.size(), 1 + 3 * 36u);
  ASSERT_EQ(t[0].fields[3], "repeat");
  ASSERT_EQ(t[0].fields[4], "fold");
  std::map<std::string, std::string> fold_in_1;
  int moved = 0;
  for (std::size_t i = 1; i < t.size(); ++i) {
    const auto& f = t[i].fields;
    if (f[3] == "1") fold_in_1[f[0]] = f[4];
    if (f[3] == "2") moved += fold_in_1.at(f[0]) != f[4];
  }
  EXPECT_GT(moved, 0);

  // Repeat 1 is the run without repeats.
  train(config("single", kRandom, 1.0));
  EXPECT_EQ(read_text(p("runs/single/predictions.csv")), read_text(p("runs/rep/repeat-1/predictions.csv")));

  // Gates read the mean over repeats; the aggregate is rebuilt from the repeats' files.
  const auto pass = run_cli("evaluate --run " + p("runs/rep") + " --fail-under uar=0.05");
  EXPECT_EQ(pass.code, 0) << pass.out;
  EXPECT_NE(pass.out.find("3 repeats"), std::string::npos) << pass.out;
  const auto gate = run_cli("evaluate --run " + p("runs/rep") + " --fail-under uar=0.9999");
  EXPECT_EQ(gate.code, 3) << gate.out;
  EXPECT_EQ(json_of("runs/rep/metrics.json")["summary"], m["summary"]);

  // An interrupted run resumes: finished repeats and folds are kept, the aggregate is the same.
  fs::remove(p("runs/rep/repeat-3/fold-2/metrics.json"));
  fs::remove(p("runs/rep/repeat-3/metrics.json"));
  fs::remove(p("runs/rep/metrics.json"));
  const auto unfinished = run_cli("evaluate --run " + p("runs/rep") + " --fail-under uar=0.05");
  EXPECT_EQ(unfinished.code, 1) << unfinished.out;
  EXPECT_NE(unfinished.out.find("2 of 3 repeats are finished"), std::string::npos) << unfinished.out;
  const auto again = run_cli("train --config " + p("rep.json") + " --repeats 3 --no-progress --jobs 1");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("1 trained now"), std::string::npos) << again.out;
  const auto m2 = json_of("runs/rep/metrics.json");
  EXPECT_EQ(m2["summary"], m["summary"]);
  EXPECT_EQ(m2["ci"], m["ci"]);
  // Fewer repeats are another run; more extend this one, keeping the repeats it has.
  const auto fewer = run_cli("train --config " + p("rep.json") + " --repeats 2 --no-progress --jobs 1");
  EXPECT_EQ(fewer.code, 2) << fewer.out;
  EXPECT_NE(fewer.out.find("train.repeats"), std::string::npos) << fewer.out;
  const auto more = run_cli("train --config " + p("rep.json") + " --repeats 4 --no-progress --jobs 1");
  ASSERT_EQ(more.code, 0) << more.out;
  EXPECT_NE(more.out.find("extending the run from 3 to 4 repeats"), std::string::npos) << more.out;
  EXPECT_NE(more.out.find("4 of 4 repeat(s) finished, 12 of 12 fold(s) (3 trained now)"), std::string::npos) << more.out;
  const auto m4 = json_of("runs/rep/metrics.json");
  ASSERT_EQ(m4["repeats"].size(), 4u);
  EXPECT_EQ(m4["repeats"][2]["summary"], m["repeats"][2]["summary"]);
  EXPECT_EQ(json_of("runs/rep/config.json")["train"]["repeats"], 4);
  EXPECT_EQ(run_cli("train --config " + p("rep.json") + " --repeats 0").code, 2);
}

TEST_F(CompareCli, SpeakerRunsCarrySpeakerIntervalsAndComparePairsThem) {
  train(config("a", kSpeakers, 0.01));
  train(config("b", kSpeakers, 10.0));
  train(config("c", kSpeakers, 1.0));
  const auto ma = json_of("runs/a/metrics.json");
  EXPECT_EQ(ma["ci"]["unit"], "speaker");
  EXPECT_EQ(ma["ci"]["n_units"], 4);
  EXPECT_NE(read_text(p("runs/a/report.md")).find("95 % CI (pooled)"), std::string::npos);

  const auto j = run_cli("compare " + p("runs/a") + " " + p("runs/b") + " " + p("runs/c") + " --format json");
  ASSERT_EQ(j.code, 0) << j.out;
  const auto r = nlohmann::json::parse(j.out);
  ASSERT_EQ(r["runs"].size(), 3u);
  ASSERT_EQ(r["pairs"].size(), 3u);
  EXPECT_EQ(r["settings"]["unit"], "speaker");
  const auto mb = json_of("runs/b/metrics.json");
  const auto& ab = r["pairs"][0];
  EXPECT_EQ(ab["a"], p("runs/a"));
  EXPECT_NEAR(ab["difference"]["balanced_accuracy"].get<double>(),
              ma["pooled"]["balanced_accuracy"].get<double>() - mb["pooled"]["balanced_accuracy"].get<double>(), 1e-12);
  for (const auto& pair : r["pairs"]) {
    for (const char* test : {"mcnemar", "permutation_uar"}) {
      const double pv = pair[test]["p"], holm = pair[test]["p_holm"];
      EXPECT_GE(pv, 0);
      EXPECT_LE(pv, 1);
      EXPECT_GE(holm, pv - 1e-15);
      EXPECT_LE(holm, 1);
    }
    EXPECT_TRUE(pair["permutation_uar"]["exact"]) << "4 speakers: 16 assignments, enumerated";
    const auto& ci = pair["difference_ci"]["balanced_accuracy"];
    EXPECT_LE(ci[0].get<double>(), pair["difference"]["balanced_accuracy"].get<double>() + 1e-12);
  }
  const auto md = run_cli("compare " + p("runs/a") + " " + p("runs/b"));
  ASSERT_EQ(md.code, 0) << md.out;
  EXPECT_NE(md.out.find("McNemar"), std::string::npos);
  EXPECT_NE(md.out.find("| " + p("runs/a") + " | " + p("runs/b") + " |"), std::string::npos) << md.out;
  const auto csv = run_cli("compare " + p("runs/a") + " " + p("runs/b") + " --format csv --out " + p("cmp.csv"));
  ASSERT_EQ(csv.code, 0) << csv.out;
  const auto rows = ser::util::parse_csv(read_text(p("cmp.csv")), "cmp.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields[0], "a");

  // A run against itself: no difference, nothing discordant, p = 1 everywhere.
  const auto self = nlohmann::json::parse(run_cli("compare " + p("runs/a") + " " + p("runs/a") + " --format json").out);
  const auto& s = self["pairs"][0];
  EXPECT_EQ(s["difference"]["balanced_accuracy"].get<double>(), 0.0);
  EXPECT_EQ(s["mcnemar"]["only_a_correct"], 0);
  EXPECT_EQ(s["mcnemar"]["p"].get<double>(), 1.0);
  EXPECT_EQ(s["permutation_uar"]["p"].get<double>(), 1.0);
}

TEST_F(CompareCli, RunsOverOtherItemsOrSettingsAreRefused) {
  train(config("a", kSpeakers, 0.01));
  // The same corpus less two clips.
  std::string text = read_text(p("m.csv"));
  for (int k = 0; k < 2; ++k) text.erase(text.rfind('\n', text.size() - 2) + 1);
  write_text_atomic(p("less.csv"), text);
  train(config("less", kSpeakers, 0.01, "less.csv"));
  const auto r = run_cli("compare " + p("runs/a") + " " + p("runs/less"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("not evaluated on the same items"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  // Another protocol over the same items resamples other units.
  train(config("random", kRandom, 0.01));
  const auto units = run_cli("compare " + p("runs/a") + " " + p("runs/random"));
  EXPECT_EQ(units.code, 2) << units.out;
  EXPECT_NE(units.out.find("resampling units"), std::string::npos) << units.out;
  // Repeats must match for paired tests.
  train(config("twice", kSpeakers, 0.01), "--repeats 2");
  const auto reps = run_cli("compare " + p("runs/a") + " " + p("runs/twice"));
  EXPECT_EQ(reps.code, 2) << reps.out;
  EXPECT_NE(reps.out.find("repeats"), std::string::npos) << reps.out;
  // Bad flags and unfinished or missing runs.
  EXPECT_EQ(run_cli("compare " + p("runs/a")).code, 2);
  EXPECT_EQ(run_cli("compare " + p("runs/a") + " " + p("runs/a") + " --format xml").code, 2);
  const auto missing = run_cli("compare " + p("runs/a") + " " + p("runs/nope"));
  EXPECT_EQ(missing.code, 1) << missing.out;
  EXPECT_NE(missing.out.find(p("runs/nope")), std::string::npos) << missing.out;
  fs::remove(p("runs/twice/metrics.json"));
  const auto partial = run_cli("compare " + p("runs/a") + " " + p("runs/twice"));
  EXPECT_NE(partial.code, 0);
  EXPECT_NE(partial.out.find("not a finished run"), std::string::npos) << partial.out;
}

}  // namespace
