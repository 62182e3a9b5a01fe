// Analyses over a hand-made prediction table whose metrics are worked out by hand below.
#include <gtest/gtest.h>

#include <cmath>

#include "ser/eval/analysis.hpp"

using namespace ser;

namespace {

// Labels a, b, c, d ("d" never in truth nor predicted). Labelled rows:
//   truth [a, a, b, b, c], pred [a, b, b, b, a]
// plus one row with unknown truth (speaker 03), which every analysis skips.
// Confusion (rows true): a [1 1 0 0], b [0 2 0 0], c [1 0 0 0], d [0 0 0 0].
// accuracy 3/5; recall a 1/2, b 1, c 0 (never predicted) -> UAR 1/2;
// precision a 1/2, b 2/3, c 0 -> F1 a 1/2, b 4/5, c 0 -> macro-F1 1.3/3 (d is left out).
eval::PredictionTable table() {
  eval::PredictionTable t;
  t.labels = {"a", "b", "c", "d"};
  t.metadata_columns = {"fold", "intensity", "gender", "speaker"};
  t.rows = {
      {"r0", 0, 0, {"1", "normal", "f", "01"}, {0.95, 0.05, 0.0, 0.0}},  // top 0.95, right
      {"r1", 0, 1, {"1", "strong", "f", "01"}, {0.3, 0.6, 0.1, 0.0}},    // top 0.6, wrong
      {"r2", 1, 1, {"2", "normal", "f", "02"}, {0.1, 0.8, 0.1, 0.0}},    // top 0.8, right
      {"r3", 1, 1, {"2", "strong", "f", "02"}, {0.2, 0.5, 0.3, 0.0}},    // top 0.5, right
      {"r4", 2, 0, {"2", "normal", "f", "01"}, {0.4, 0.3, 0.3, 0.0}},    // top 0.4, wrong
      {"r5", -1, 0, {"3", "strong", "f", "03"}, {0.99, 0.01, 0.0, 0.0}},  // unknown truth
  };
  return t;
}

}  // namespace

TEST(EvalAnalysis, RowNormalizedLeavesEmptyRowsAtZero) {
  const auto n = eval::row_normalized({{1, 1, 0}, {0, 0, 0}, {1, 2, 1}});
  EXPECT_EQ(n, (std::vector<std::vector<double>>{{0.5, 0.5, 0.0}, {0.0, 0.0, 0.0}, {0.25, 0.5, 0.25}}));
}

TEST(EvalAnalysis, TableMetricsSkipUnknownTruth) {
  const auto t = table();
  const auto m = eval::table_metrics(t);
  EXPECT_EQ(m.n, 5);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int>>{{1, 1, 0, 0}, {0, 2, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 0}}));
  EXPECT_DOUBLE_EQ(m.accuracy, 0.6);
  EXPECT_DOUBLE_EQ(m.balanced_accuracy, 0.5);
  EXPECT_NEAR(m.macro_f1, 1.3 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(m.per_class[2].precision, 0.0);  // c is never predicted
  EXPECT_DOUBLE_EQ(m.per_class[2].recall, 0.0);
  EXPECT_EQ(m.per_class[3].support, 0);

  // The matrix holds every labelled row once, and each row sums to that class's support.
  std::vector<int> support(t.labels.size(), 0);
  int labelled = 0;
  for (const auto& r : t.rows) {
    if (r.truth < 0) continue;
    ++support[static_cast<std::size_t>(r.truth)];
    ++labelled;
  }
  int total = 0;
  for (std::size_t c = 0; c < m.confusion.size(); ++c) {
    int row_sum = 0;
    for (int v : m.confusion[c]) row_sum += v;
    EXPECT_EQ(row_sum, support[c]) << t.labels[c];
    EXPECT_EQ(m.per_class[c].support, support[c]) << t.labels[c];
    total += row_sum;
  }
  EXPECT_EQ(total, labelled);
}

TEST(EvalAnalysis, BreakdownBySpeakerAndIntensity) {
  const auto t = table();
  // Speaker 01: r0 right, r1 wrong, r4 wrong -> accuracy 1/3, recall a 1/2 and c 0 -> UAR 1/4.
  // Speaker 02: r2 and r3 right. Speaker 03 has only an unlabelled row: no entry.
  const auto s = eval::breakdown(t, "speaker");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].value, "01");
  EXPECT_EQ(s[0].metrics.n, 3);
  EXPECT_DOUBLE_EQ(s[0].metrics.accuracy, 1.0 / 3);
  EXPECT_DOUBLE_EQ(s[0].metrics.balanced_accuracy, 0.25);
  EXPECT_EQ(s[1].value, "02");
  EXPECT_EQ(s[1].metrics.n, 2);
  EXPECT_DOUBLE_EQ(s[1].metrics.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(s[1].metrics.balanced_accuracy, 1.0);

  // Intensity normal: r0, r2 right, r4 wrong; strong: r1 wrong, r3 right.
  const auto i = eval::breakdown(t, "intensity");
  ASSERT_EQ(i.size(), 2u);
  EXPECT_EQ(i[0].value, "normal");
  EXPECT_DOUBLE_EQ(i[0].metrics.accuracy, 2.0 / 3);
  EXPECT_EQ(i[1].value, "strong");
  EXPECT_DOUBLE_EQ(i[1].metrics.accuracy, 0.5);

  EXPECT_TRUE(eval::breakdown(t, "statement").empty());
  // Fixed order, whatever the file's column order; gender has one value and fold is not listed.
  EXPECT_EQ(eval::breakdown_columns(t), (std::vector<std::string>{"speaker", "intensity"}));
}

TEST(EvalAnalysis, BreakdownSkipsEmptyValues) {
  eval::PredictionTable t;
  t.labels = {"a", "b"};
  t.metadata_columns = {"speaker"};
  t.rows = {{"r0", 0, 0, {"z"}, {1, 0}}, {"r1", 1, 0, {""}, {1, 0}}, {"r2", 1, 1, {"y"}, {0, 1}}};
  const auto s = eval::breakdown(t, "speaker");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].value, "y");
  EXPECT_EQ(s[1].value, "z");
  EXPECT_EQ(s[0].metrics.n + s[1].metrics.n, 2);
  t.rows[2].metadata = {""};
  EXPECT_TRUE(eval::breakdown_columns(t).empty());  // one distinct value left
}

TEST(EvalAnalysis, CoverageCurveByTopProbability) {
  // Top probabilities of the labelled rows: 0.95 (right), 0.6 (wrong), 0.8 (right), 0.5 (right),
  // 0.4 (wrong); the unlabelled 0.99 row never counts.
  const auto c = eval::coverage_curve(table());
  const std::vector<double> thresholds{0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99};
  const std::vector<int> n{5, 5, 5, 5, 5, 4, 3, 2, 2, 1, 1, 0};
  const std::vector<double> accuracy{0.6, 0.6, 0.6, 0.6, 0.6, 0.75, 2.0 / 3, 1.0, 1.0, 1.0, 1.0, NAN};
  ASSERT_EQ(c.size(), thresholds.size());
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_DOUBLE_EQ(c[i].threshold, thresholds[i]) << i;
    EXPECT_EQ(c[i].n, n[i]) << thresholds[i];
    EXPECT_DOUBLE_EQ(c[i].coverage, n[i] / 5.0) << thresholds[i];
    if (std::isnan(accuracy[i])) {
      EXPECT_TRUE(std::isnan(c[i].accuracy)) << thresholds[i];
    } else {
      EXPECT_DOUBLE_EQ(c[i].accuracy, accuracy[i]) << thresholds[i];
    }
  }
}

TEST(EvalAnalysis, JsonAndNormalizedConfusionCsv) {
  const auto t = table();
  const auto j = eval::analysis_json(t);
  EXPECT_DOUBLE_EQ(j["groups"]["speaker"]["01"]["accuracy"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(j["groups"]["speaker"]["01"]["balanced_accuracy"].get<double>(), 0.25);
  EXPECT_TRUE(j["groups"]["speaker"]["01"].contains("macro_f1"));
  EXPECT_EQ(j["groups"]["speaker"]["02"]["n"], 2);
  EXPECT_TRUE(j["groups"].contains("intensity"));
  EXPECT_FALSE(j["groups"].contains("gender"));
  ASSERT_EQ(j["coverage"].size(), 12u);
  EXPECT_DOUBLE_EQ(j["coverage"][5]["threshold"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["coverage"][5]["accuracy"].get<double>(), 0.75);
  EXPECT_EQ(j["coverage"][5]["n"], 4);
  EXPECT_TRUE(j["coverage"][11]["accuracy"].is_null());
  EXPECT_EQ(j.dump().find("NaN"), std::string::npos);

  EXPECT_EQ(eval::normalized_confusion_csv(eval::table_metrics(t), t.labels),
            "true/pred,a,b,c,d\n"
            "a,0.5000,0.5000,0.0000,0.0000\n"
            "b,0.0000,1.0000,0.0000,0.0000\n"
            "c,1.0000,0.0000,0.0000,0.0000\n"
            "d,0.0000,0.0000,0.0000,0.0000\n");
}
