// protocol.name "cross_corpus" (train on one corpus, test on another, on the classes both share)
// and the `classes` key (a within-corpus run on a subset of classes, renamed by label_map), over
// two tone corpora whose labels and speakers are named differently.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace ser::test {

namespace {

class CrossCorpusCli : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    setenv("SER_TORCH_LIBRARY", "/nonexistent/libser_torch.so", 1);
    fs::create_directories(p("a"));
    fs::create_directories(p("b"));
    // Corpus A: low / mid / high tones, speakers spk0..spk3. Corpus B: the same tones a little
    // higher, labelled in its own words (grave / aigu) plus a class A lacks (bruit), speakers
    // spk0..spk2 as well: a name two corpora share without being one person.
    std::string a = "path,label,speaker\n", b = a;
    const double freq[] = {220, 440, 880};
    const char* label_a[] = {"low", "mid", "high"};
    const char* label_b[] = {"grave", "bruit", "aigu"};
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < 8; ++i) {
        write_tone("a/" + std::string(label_a[c]) + std::to_string(i) + ".wav", freq[c] * (1.0 + 0.01 * i), 16000);
        a += p("a/" + std::string(label_a[c]) + std::to_string(i) + ".wav") + "," + label_a[c] + ",spk" +
             std::to_string(i % 4) + "\n";
        if (i < 6) {
          write_tone("b/" + std::string(label_b[c]) + std::to_string(i) + ".wav", freq[c] * (1.005 + 0.01 * i), 16000);
          b += p("b/" + std::string(label_b[c]) + std::to_string(i) + ".wav") + "," + label_b[c] + ",spk" +
               std::to_string(i % 3) + "\n";
        }
      }
    }
    util::write_text_atomic(p("a.csv"), a);
    util::write_text_atomic(p("b.csv"), b);
  }
  void TearDown() override {
    unsetenv("SER_TORCH_LIBRARY");
    CliTest::TearDown();
  }
  // A config training on A; `protocol` and `extra` are spliced in as JSON.
  std::string config(const std::string& name, const std::string& protocol, const std::string& extra = "",
                     const std::string& normalize = "global") {
    const std::string path = p(name + ".json");
    util::write_text_atomic(path, R"({"name": ")" + name + R"(", "dataset": "manifest", "manifest": ")" + p("a.csv") +
                                      R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("fa") +
                                      R"(", "normalize": ")" + normalize + R"("}, "protocol": )" + protocol +
                                      R"(, "model": {"architecture": "logreg"},)" +
                                      R"( "train": {"search": {"model.logreg_c": [0.1, 1.0]}, "search_folds": 2})" +
                                      extra + "}");
    return path;
  }
  std::string cross(const std::string& map = R"({"grave": "low", "aigu": "high"})") const {
    return R"({"name": "cross_corpus", "test_dataset": "manifest", "test_manifest": ")" + p("b.csv") +
           R"(", "test_features_out": ")" + p("fb") + R"(", "test_label_map": )" + map + "}";
  }
  nlohmann::json json_of(const std::string& rel) const { return nlohmann::json::parse(util::read_text(p(rel))); }
};

}  // namespace

TEST_F(CrossCorpusCli, TrainsOnOneCorpusAndTestsOnTheOtherOnSharedClasses) {
  const auto r = run_cli_streams("train --config " + shell_quote(config("ab", cross())) + " --no-progress --jobs 1");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto m = json_of("runs/ab/metrics.json");
  EXPECT_EQ(m["protocol"], "cross_corpus");
  EXPECT_EQ(m["folds_total"], 1);
  const auto& cc = m["cross_corpus"];
  EXPECT_EQ(cc["classes"], nlohmann::json({"high", "low"}));  // A's (sorted) order; mid and bruit are not shared
  EXPECT_EQ(cc["train_items"], 16);
  EXPECT_EQ(cc["test_items"], 12);
  EXPECT_EQ(cc["train_items_left_out"]["mid"], 8);
  EXPECT_EQ(cc["test_items_left_out"]["bruit"], 6);
  EXPECT_EQ(m["ci"]["unit"], "speaker");  // B's three speakers, none of them trained
  EXPECT_GE(m["pooled"]["balanced_accuracy"].get<double>(), 0.99) << "tones cross over";

  // The test part is B, with B's ids and speakers; the model learnt from A alone.
  const auto rows = util::parse_csv(util::read_text(p("runs/ab/fold-1/predictions.csv")), "predictions.csv");
  ASSERT_EQ(rows.size(), 13u);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].fields[0].rfind("b/", 0), 0u) << rows[i].fields[0];
  }
  const std::string learnt = util::read_text(p("runs/ab/fold-1/training_items.csv"));
  EXPECT_EQ(learnt.find("b/"), std::string::npos);
  EXPECT_NE(learnt.find("a/low0"), std::string::npos);
  EXPECT_EQ(learnt.find("a/mid0"), std::string::npos);
  const auto card = json_of("runs/ab/fold-1/model.json");
  EXPECT_EQ(card["labels"], nlohmann::json({"high", "low"}));
  // The C was chosen by inner CV over A's speakers.
  EXPECT_EQ(json_of("runs/ab/fold-1/metrics.json")["search"]["inner_folds"], 2);
  EXPECT_NE(util::read_text(p("runs/ab/report.md")).find("trained on manifest, tested on manifest (12 items of the shared classes high low)"),
            std::string::npos)
      << util::read_text(p("runs/ab/report.md"));
  // Re-aggregated, the run still says what it is.
  const auto again = run_cli_streams("evaluate --run " + shell_quote(p("runs/ab")) + " --format json");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["cross_corpus"], cc);

  // Speaker-adaptive: B's speakers by their own statistics, A's under names of their own.
  const auto s = run_cli_streams("train --config " + shell_quote(config("ab-spk", cross(), "", "speaker")) +
                                 " --no-progress --jobs 1");
  ASSERT_EQ(s.code, 0) << s.err;
  const auto stats = json_of("runs/ab-spk/fold-1/model.json")["training_speaker_stats"];
  EXPECT_TRUE(stats.contains("manifest:spk0")) << stats.dump().substr(0, 200);
  EXPECT_FALSE(stats.contains("spk0"));
  EXPECT_EQ(json_of("runs/ab-spk/metrics.json")["normalize"], "speaker");

  // A within-corpus run on B with the same classes pairs with the cross-corpus one in compare.
  const std::string within = p("b-within.json");
  util::write_text_atomic(within, R"({"name": "b-within", "dataset": "manifest", "manifest": ")" + p("b.csv") +
                                      R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("fb") +
                                      R"("}, "protocol": {"name": "speaker_kfold", "k": 3},)" +
                                      R"( "label_map": {"grave": "low", "aigu": "high"}, "classes": ["high", "low"],)" +
                                      R"( "model": {"architecture": "logreg"}})");
  const auto w = run_cli_streams("train --config " + shell_quote(within) + " --no-progress --jobs 1");
  ASSERT_EQ(w.code, 0) << w.err;
  const auto wm = json_of("runs/b-within/metrics.json");
  EXPECT_EQ(wm["classes"]["left_out"]["bruit"], 6);
  const auto cmp = run_cli_streams("compare " + shell_quote(p("runs/ab")) + " " + shell_quote(p("runs/b-within")) +
                                   " --format json");
  ASSERT_EQ(cmp.code, 0) << cmp.err;
  EXPECT_EQ(nlohmann::json::parse(cmp.out)["settings"]["n_items"], 12);
}

TEST_F(CrossCorpusCli, MistakesAreOneLineConfigErrorsBeforeAnythingIsWritten) {
  struct Case {
    std::string protocol, extra, key;
  };
  const std::vector<Case> cases = {
      {cross(R"({"grave": "lo"})"), "", "protocol.test_label_map"},  // maps to no label of A
      {cross(R"({})"), "", "protocol.test_label_map"},                // no class shared
      {R"({"name": "cross_corpus", "test_dataset": "manifest", "test_manifest": ")" + p("b.csv") + R"("})", "",
       "protocol.test_features_out"},
      {R"({"name": "cross_corpus", "test_dataset": "timit", "test_features_out": "x"})", "", "protocol.test_dataset"},
      {R"({"name": "speaker_kfold", "test_dataset": "manifest"})", "", "protocol.test_dataset"},
      {cross(), R"(, "classes": ["low", "mid"])", "classes"},  // B has no mid
      {R"({"name": "speaker_kfold"})", R"(, "classes": ["low", "loud"])", "classes"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli_streams("train --config " + shell_quote(config("bad", c.protocol, c.extra)) + " --no-progress");
    EXPECT_EQ(r.code, 2) << c.protocol << c.extra << "\n" << r.err;
    EXPECT_NE(r.err.find(c.key), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(p("runs/bad/fold-1"))) << c.protocol;
  }
  // A test corpus that is not there: a usage error before the run directory is made.
  const auto missing = run_cli_streams(
      "train --config " +
      shell_quote(config("gone", R"({"name": "cross_corpus", "test_dataset": "emodb", "test_root": ")" + p("nowhere") +
                                     R"(", "test_features_out": ")" + p("fg") + R"("})")));
  EXPECT_EQ(missing.code, 2) << missing.err;
  EXPECT_NE(missing.err.find("nowhere"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(p("runs/gone")));
}

}  // namespace ser::test
