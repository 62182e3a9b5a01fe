// Metrics against values computed by hand with scikit-learn's definitions.
#include <gtest/gtest.h>

#include "ser/error.hpp"
#include "ser/eval/metrics.hpp"

using namespace ser;

TEST(Metrics, MatchScikitLearnDefinitions) {
  const std::vector<std::string> labels{"a", "b", "c"};
  const auto m = eval::compute_metrics({0, 0, 1, 1, 2, 2}, {0, 1, 1, 1, 2, 0}, labels);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int>>{{1, 1, 0}, {0, 2, 0}, {1, 0, 1}}));
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6);
  EXPECT_DOUBLE_EQ(m.balanced_accuracy, (0.5 + 1.0 + 0.5) / 3);
  EXPECT_DOUBLE_EQ(m.per_class[1].precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.per_class[1].f1, 0.8);
  EXPECT_NEAR(m.macro_f1, (0.5 + 0.8 + 2.0 / 3) / 3, 1e-12);
  EXPECT_EQ(m.per_class[2].support, 2);
  const auto j = eval::to_json(m);
  EXPECT_EQ(j["per_class"]["b"]["support"], 2);
  EXPECT_EQ(eval::confusion_csv(m, labels), "true/pred,a,b,c\na,1,1,0\nb,0,2,0\nc,1,0,1\n");
}

TEST(Metrics, AbsentClassesLeaveTheAverages) {
  // Class "c" never occurs nor is predicted: sklearn (labels present) averages over a and b only.
  const auto m = eval::compute_metrics({0, 1, 1}, {0, 1, 0}, {"a", "b", "c"});
  EXPECT_DOUBLE_EQ(m.balanced_accuracy, (1.0 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(m.macro_f1, (2.0 / 3 + 2.0 / 3) / 2);
  EXPECT_EQ(m.per_class[2].support, 0);
}

TEST(Metrics, FoldSummaryAndBadInput) {
  const auto a = eval::compute_metrics({0, 1}, {0, 1}, {"x", "y"});
  const auto b = eval::compute_metrics({0, 1}, {1, 1}, {"x", "y"});
  const auto s = eval::summarize_folds({a, b});
  EXPECT_DOUBLE_EQ(s["accuracy"]["mean"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(s["accuracy"]["std"].get<double>(), 0.25);
  EXPECT_THROW(eval::compute_metrics({0}, {0, 1}, {"x", "y"}), Error);
  EXPECT_THROW(eval::compute_metrics({0}, {2}, {"x", "y"}), Error);
}
