// features.blocks: training on some blocks of a set's vector (e.g. one encoder layer of a store
// that has them all). The store keeps every block, the model card records the columns, and
// `ser predict` selects the same columns: its probabilities equal the run's own test predictions.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <sstream>

#include "ser/util/files.hpp"
#include "ser/util/npy.hpp"
#include "support/cli.hpp"

namespace ser::test {

namespace {

class BlocksCli : public CliTest {
 protected:
  std::string config(const std::string& blocks, const std::string& name = "b") {
    util::write_text_atomic(p("c.json"), R"({"name": ")" + name + R"(", "dataset": "manifest", "manifest": ")" +
                                             p("m.csv") + R"(", "runs_dir": ")" + p("runs") +
                                             R"(", "features": {"set": "issa193", "out": ")" + p("f") +
                                             R"(", "blocks": )" + blocks +
                                             R"(}, "protocol": {"name": "speaker_kfold", "k": 2}, "model": {"architecture": "logreg"}})");
    return shell_quote(p("c.json"));
  }
};

}  // namespace

TEST_F(BlocksCli, TrainsOnTheChosenBlocksAndPredictsWithThem) {
  write_tone_corpus("m.csv");
  const auto r = run_cli_streams("train --config " + config(R"(["mfcc", "ton*"])") + " --no-progress");
  ASSERT_EQ(r.code, 0) << r.err;
  // The store has every block; the model 40 + 6 columns of the 193.
  EXPECT_EQ(util::read_npy(p("f/features.npy")).shape[1], 193u);
  const auto card = nlohmann::json::parse(util::read_text(p("runs/b/fold-1/model.json")));
  EXPECT_EQ(card["dim"], 46);
  EXPECT_EQ(card["feature_columns"]["input_dim"], 193);
  EXPECT_EQ(card["feature_columns"]["ranges"], nlohmann::json::parse("[[0, 40], [187, 6]]"));
  // The run's test prediction for an item of fold 1 equals `ser predict` with fold 1's model.
  std::istringstream preds(util::read_text(p("runs/b/predictions.csv")));
  std::string header, row;
  std::getline(preds, header);
  ASSERT_EQ(header, "id,true,pred,fold,speaker,p_high,p_low,p_mid");
  bool checked = false;
  while (std::getline(preds, row)) {
    std::vector<std::string> f;
    std::stringstream cells(row);
    for (std::string c; std::getline(cells, c, ',');) f.push_back(c);
    if (f.size() != 8 || f[3] != "1") continue;
    const auto out = run_cli_streams("predict --model " + shell_quote(p("runs/b/fold-1")) + " --format json " +
                                     shell_quote(p(f[0] + ".wav")));
    ASSERT_EQ(out.code, 0) << out.err;
    const auto item = nlohmann::json::parse(out.out)["items"][0];
    EXPECT_NEAR(item["probabilities"]["high"].get<double>(), std::atof(f[5].c_str()), 1e-5) << f[0];
    EXPECT_NEAR(item["probabilities"]["low"].get<double>(), std::atof(f[6].c_str()), 1e-5) << f[0];
    EXPECT_NEAR(item["probabilities"]["mid"].get<double>(), std::atof(f[7].c_str()), 1e-5) << f[0];
    checked = true;
    break;
  }
  EXPECT_TRUE(checked) << "no fold-1 row in predictions.csv";
  // All blocks (the default) is the whole vector: no feature_columns.
  ASSERT_EQ(run_cli_streams("train --config " + config("[]", "all") + " --no-progress").code, 0);
  EXPECT_FALSE(nlohmann::json::parse(util::read_text(p("runs/all/fold-1/model.json"))).contains("feature_columns"));
}

TEST_F(BlocksCli, ABlockThatIsNotThereIsNamedBeforeExtraction) {
  write_tone_corpus("m.csv");
  for (const std::string bad : {R"(["mfccs"])", R"(["layer*"])", R"("mfcc")", R"([3])"}) {
    const auto r = run_cli_streams("train --config " + config(bad) + " --no-progress --fresh");
    EXPECT_EQ(r.code, 2) << bad << "\n" << r.err;
    EXPECT_NE(r.err.find("features.blocks"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(p("f/features.npy"))) << bad;
  }
  // ser extract keeps every block, but a name that is not there is still a mistake.
  const auto r = run_cli_streams("extract --config " + config(R"(["mfcc", "chromas"])") + " --no-progress");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("'chromas' names no block"), std::string::npos) << r.err;
}

}  // namespace ser::test
