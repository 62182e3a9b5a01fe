// predictions.csv: parsing, writing, the round trip and every malformed-file error.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "ser/error.hpp"
#include "ser/eval/predictions.hpp"
#include "ser/util/files.hpp"
#include "support/temp_dir.hpp"

using namespace ser;

namespace {

// Parses `text` and returns the input error it must throw ("" when it does not throw one).
std::string parse_error(const std::string& text, const std::string& origin = "preds.csv") {
  try {
    eval::parse_predictions_csv(text, origin);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input) << e.what();
    return e.what();
  }
  return "";
}

}  // namespace

TEST(EvalPredictions, ParsesMetadataAndUnknownTruth) {
  const auto t = eval::parse_predictions_csv(
      "id,true,pred,fold,speaker,p_angry,p_calm\n"
      "a.wav,calm,calm,1,03,0.25,0.75\n"
      "b.wav,,angry,2,,0.9,0.1\n",
      "preds.csv");
  EXPECT_EQ(t.labels, (std::vector<std::string>{"angry", "calm"}));
  EXPECT_EQ(t.metadata_columns, (std::vector<std::string>{"fold", "speaker"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].id, "a.wav");
  EXPECT_EQ(t.rows[0].truth, 1);
  EXPECT_EQ(t.rows[0].pred, 1);
  EXPECT_EQ(t.rows[0].metadata, (std::vector<std::string>{"1", "03"}));
  EXPECT_EQ(t.rows[0].probabilities, (std::vector<double>{0.25, 0.75}));
  EXPECT_EQ(t.rows[1].truth, -1);  // empty `true`: unknown
  EXPECT_EQ(t.rows[1].pred, 0);
  EXPECT_EQ(t.column("speaker"), (std::vector<std::string>{"03", ""}));
  EXPECT_EQ(t.column("fold"), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(t.column("gender").empty());
}

TEST(EvalPredictions, OldFormatHasNoMetadata) {
  const auto t = eval::parse_predictions_csv("id,true,pred,p_a,p_b,p_c\nx,b,c,0.1,0.2,0.7\r\n", "old.csv");
  EXPECT_TRUE(t.metadata_columns.empty());
  EXPECT_EQ(t.labels, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_TRUE(t.rows[0].metadata.empty());
  EXPECT_EQ(t.rows[0].truth, 1);
  EXPECT_EQ(t.rows[0].pred, 2);
  EXPECT_TRUE(t.column("fold").empty());
}

TEST(EvalPredictions, RoundTripsThroughText) {
  eval::PredictionTable t;
  t.labels = {"neutral", "happy, excited", "sad"};
  t.metadata_columns = {"fold", "speaker", "text"};
  t.rows.push_back({"dir/a \"1\".wav", 0, 1, {"1", "03", "Kids are talking, by the door"}, {1.0 / 3, 2.0 / 3, 1e-7}});
  t.rows.push_back({"b.wav", -1, 2, {"2", "", ""}, {0.123456789, 0.000123456789, 0.876419754}});
  t.rows.push_back({"c.wav", 1, 1, {"2", "04", "x"}, {0.0, 1.0, 0.0}});
  const std::string text = eval::predictions_csv(t);
  EXPECT_EQ(text.substr(0, text.find('\n')), "id,true,pred,fold,speaker,text,p_neutral,\"p_happy, excited\",p_sad");

  const auto back = eval::parse_predictions_csv(text, "mem");
  EXPECT_EQ(back.labels, t.labels);
  EXPECT_EQ(back.metadata_columns, t.metadata_columns);
  ASSERT_EQ(back.rows.size(), t.rows.size());
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    EXPECT_EQ(back.rows[i].id, t.rows[i].id);
    EXPECT_EQ(back.rows[i].truth, t.rows[i].truth);
    EXPECT_EQ(back.rows[i].pred, t.rows[i].pred);
    EXPECT_EQ(back.rows[i].metadata, t.rows[i].metadata);
    ASSERT_EQ(back.rows[i].probabilities.size(), t.rows[i].probabilities.size());
    for (std::size_t k = 0; k < t.rows[i].probabilities.size(); ++k) {
      const double want = t.rows[i].probabilities[k];
      // "%.6g" keeps 6 significant digits: at most half a unit in the 6th, 5e-6 relative.
      EXPECT_NEAR(back.rows[i].probabilities[k], want, 5e-6 * std::fabs(want)) << i << "," << k;
    }
  }
  EXPECT_EQ(eval::predictions_csv(back), text);  // a second trip changes nothing
}

TEST(EvalPredictions, ArgmaxTakesTheFirstOfTiedMaxima) {
  EXPECT_EQ(eval::argmax({0.2, 0.4, 0.4}), 1);
  EXPECT_EQ(eval::argmax({0.5, 0.5}), 0);
  EXPECT_EQ(eval::argmax({0.1, 0.2, 0.7}), 2);
  EXPECT_EQ(eval::argmax({0.3}), 0);
  EXPECT_THROW(eval::argmax({}), Error);
}

TEST(EvalPredictions, ReadsAFileAndNamesAMissingOne) {
  test::TempDir dir;
  const std::string path = dir / "predictions.csv";
  std::ofstream(path) << "id,true,pred,p_a,p_b\nx,a,b,0.4,0.6\n";
  const auto t = eval::read_predictions_csv(path);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0].pred, 1);

  std::ofstream(path) << "id,true,pred,p_a,p_b\nx,a,b,0.4\n";
  try {
    eval::read_predictions_csv(path);
    FAIL() << "short row accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2"), std::string::npos) << e.what();
  }
  try {
    eval::read_predictions_csv(dir / "missing.csv");
    FAIL() << "missing file accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), dir / "missing.csv");
  }
}

TEST(EvalPredictions, RejectsMalformedFiles) {
  const std::string header = "id,true,pred,p_a,p_b\n";
  auto has = [](const std::string& message, const std::string& part) {
    return message.find(part) != std::string::npos;
  };
  // Missing or short header.
  EXPECT_TRUE(has(parse_error(""), "preds.csv"));
  EXPECT_TRUE(has(parse_error("x,a,b,0.5,0.5\n"), "preds.csv"));
  EXPECT_TRUE(has(parse_error("id,true,pred\n"), "preds.csv"));
  EXPECT_TRUE(has(parse_error("id,true,pred,fold\n"), "p_"));
  // A label given twice.
  EXPECT_TRUE(has(parse_error("id,true,pred,p_a,p_b,p_a\n"), "'a'"));
  // Wrong number of fields: path and line.
  EXPECT_TRUE(has(parse_error(header + "x,a,a,0.5,0.5\ny,a,a,0.5\n"), "preds.csv:3"));
  EXPECT_TRUE(has(parse_error(header + "x,a,a,0.5,0.5,0.1\n"), "preds.csv:2"));
  // Labels that are not p_ labels.
  EXPECT_TRUE(has(parse_error(header + "x,c,a,0.5,0.5\n"), "'c'"));
  EXPECT_TRUE(has(parse_error(header + "x,a,c,0.5,0.5\n"), "'c'"));
  EXPECT_TRUE(has(parse_error(header + "x,a,,0.5,0.5\n"), "preds.csv:2"));
  // Probabilities that are not finite numbers.
  for (const char* bad : {"abc", "nan", "NaN", "inf", "-inf", "1e999", "", "0.5x"}) {
    EXPECT_TRUE(has(parse_error(header + "x,a,a,0.5," + bad + "\n"), "preds.csv:2")) << bad;
  }
  EXPECT_EQ(parse_error(header + "x,a,a,0.5,1e-320\n"), "");  // tiny but finite
}

// Fold folders are found by number, so fold-10 sorts after fold-9 and strays are ignored.
TEST(RunFiles, NumberedSubdirsSortNumerically) {
  ser::test::TempDir d;
  for (const char* name : {"fold-10", "fold-2", "fold-1", "fold-x", "folder-3", "fold-"}) {
    std::filesystem::create_directories(d / name);
  }
  ser::util::write_text_atomic(d / "fold-4", "a file, not a folder");
  const auto found = ser::util::numbered_subdirs(d.str(), "fold-");
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].first, 1);
  EXPECT_EQ(found[1].first, 2);
  EXPECT_EQ(found[2].first, 10);
  EXPECT_EQ(found[2].second, d / "fold-10");
}
