// CI gates: --fail-under parsing, thresholds at the boundary and the baseline comparison.
#include <gtest/gtest.h>

#include "ser/error.hpp"
#include "ser/eval/gates.hpp"
#include "ser/util/csv.hpp"

using namespace ser;

namespace {

// The usage error parse_fail_under must throw for `text`; "" when it does not throw.
std::string fail_under_error(const std::string& text) {
  try {
    eval::parse_fail_under(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage) << e.what();
    EXPECT_EQ(e.subject(), "--fail-under");
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  return "";
}

// A run's metrics.json: per-fold summary plus pooled.
nlohmann::json run_metrics(double accuracy, double uar, double f1) {
  return {{"summary",
           {{"accuracy", {{"mean", accuracy}, {"std", 0.01}}},
            {"balanced_accuracy", {{"mean", uar}, {"std", 0.02}}},
            {"macro_f1", {{"mean", f1}, {"std", 0.03}}}}},
          {"pooled", {{"accuracy", 0.1}, {"balanced_accuracy", 0.1}, {"macro_f1", 0.1}}}};
}

}  // namespace

TEST(EvalGates, CanonicalNames) {
  EXPECT_EQ(eval::canonical_metric("accuracy", "--x"), "accuracy");
  EXPECT_EQ(eval::canonical_metric("WA", "--x"), "accuracy");
  EXPECT_EQ(eval::canonical_metric("uar", "--x"), "balanced_accuracy");
  EXPECT_EQ(eval::canonical_metric("Balanced_Accuracy", "--x"), "balanced_accuracy");
  EXPECT_EQ(eval::canonical_metric("f1", "--x"), "macro_f1");
  EXPECT_EQ(eval::canonical_metric("MACRO_F1", "--x"), "macro_f1");
  try {
    eval::canonical_metric("precision", "--metric");
    FAIL() << "unknown metric accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_EQ(e.subject(), "--metric");
  }
}

TEST(EvalGates, ParsesFailUnder) {
  const auto t = eval::parse_fail_under("uar=0.60, accuracy=0.7,f1=1");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].metric, "balanced_accuracy");
  EXPECT_DOUBLE_EQ(t[0].minimum, 0.6);
  EXPECT_EQ(t[1].metric, "accuracy");
  EXPECT_DOUBLE_EQ(t[1].minimum, 0.7);
  EXPECT_EQ(t[2].metric, "macro_f1");
  EXPECT_DOUBLE_EQ(t[2].minimum, 1.0);
  EXPECT_EQ(eval::parse_fail_under("wa=0").size(), 1u);
}

TEST(EvalGates, RejectsBadFailUnder) {
  EXPECT_NE(fail_under_error("uar=abc"), "");
  EXPECT_NE(fail_under_error("foo=0.5").find("foo"), std::string::npos);
  EXPECT_NE(fail_under_error("uar=1.5"), "");
  EXPECT_NE(fail_under_error("uar=-0.1"), "");
  EXPECT_NE(fail_under_error("uar=nan"), "");
  EXPECT_NE(fail_under_error("uar=0.5,uar=0.6").find("twice"), std::string::npos);
  EXPECT_NE(fail_under_error("uar=0.5,balanced_accuracy=0.6").find("twice"), std::string::npos);  // alias
  EXPECT_NE(fail_under_error(""), "");
  EXPECT_NE(fail_under_error("uar"), "");
  EXPECT_NE(fail_under_error("uar="), "");
  EXPECT_NE(fail_under_error("uar=0.5,"), "");
}

TEST(EvalGates, HeadlineValueReadsSummaryMeanElseTopLevel) {
  EXPECT_DOUBLE_EQ(eval::headline_value(run_metrics(0.7, 0.6, 0.5), "balanced_accuracy", "m.json"), 0.6);
  const nlohmann::json single = {{"accuracy", 0.8}, {"balanced_accuracy", 0.75}};
  EXPECT_DOUBLE_EQ(eval::headline_value(single, "accuracy", "m.json"), 0.8);
  try {
    eval::headline_value(single, "macro_f1", "eval/metrics.json");
    FAIL() << "missing value accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_EQ(e.subject(), "eval/metrics.json");
    EXPECT_NE(std::string(e.what()).find("macro_f1"), std::string::npos);
  }
  EXPECT_THROW(eval::headline_value(nlohmann::json::array(), "accuracy", "m.json"), Error);
}

TEST(EvalGates, ThresholdsPassAtTheBoundary) {
  const auto metrics = run_metrics(0.7, 0.6, 0.5);
  const auto g = eval::check_thresholds(metrics, eval::parse_fail_under("uar=0.6,accuracy=0.7001,f1=0.4"));
  ASSERT_EQ(g.size(), 3u);
  EXPECT_TRUE(g[0].passed);  // equal to the bound
  EXPECT_DOUBLE_EQ(g[0].value, 0.6);
  EXPECT_DOUBLE_EQ(g[0].limit, 0.6);
  EXPECT_EQ(g[0].gate, "balanced_accuracy >= 0.6");  // the bound as given
  EXPECT_FALSE(g[1].passed);  // just below
  EXPECT_EQ(g[1].gate, "accuracy >= 0.7001");  // never rounded to look like 0.700
  EXPECT_TRUE(g[2].passed);
  // A mean over folds that rounds to just under the bound still passes.
  const double mean = (0.5 + 0.9 + 0.7) / 3;  // 0.6999999999999998 in doubles
  ASSERT_LT(mean, 0.7);
  EXPECT_TRUE(eval::check_thresholds(run_metrics(mean, 0.6, 0.5), {{"accuracy", 0.7}})[0].passed);
  EXPECT_TRUE(eval::check_thresholds(metrics, {}).empty());
}

TEST(EvalGates, BaselineDrop) {
  const auto base = run_metrics(0.80, 0.70, 0.60);
  // Drops: accuracy 0.02 (at the limit), UAR 0.03 (over), macro-F1 -0.05 (improved).
  const auto g = eval::check_baseline(run_metrics(0.78, 0.67, 0.65), base, "base/metrics.json", 0.02);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].gate, "accuracy drop <= 0.02 vs base/metrics.json");
  EXPECT_NEAR(g[0].value, 0.02, 1e-12);
  EXPECT_DOUBLE_EQ(g[0].limit, 0.02);
  EXPECT_TRUE(g[0].passed);
  EXPECT_EQ(g[1].gate, "balanced_accuracy drop <= 0.02 vs base/metrics.json");
  EXPECT_NEAR(g[1].value, 0.03, 1e-12);
  EXPECT_FALSE(g[1].passed);
  EXPECT_NEAR(g[2].value, -0.05, 1e-12);
  EXPECT_TRUE(g[2].passed);

  // A baseline without a value is an input error naming the baseline file.
  try {
    eval::check_baseline(base, nlohmann::json{{"accuracy", 0.8}}, "base/metrics.json", 0.02);
    FAIL() << "incomplete baseline accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_EQ(e.subject(), "base/metrics.json");
  }
  EXPECT_THROW(eval::check_baseline(base, base, "b.json", -0.1), Error);
}

// Two thresholds that round alike never read alike, and the measured value is exact.
TEST(EvalGates, ThresholdsAreShownAsGivenNotRounded) {
  const auto metrics = run_metrics(0.7, 0.53194, 0.5);
  const auto low = eval::check_thresholds(metrics, eval::parse_fail_under("uar=0.5319"));
  const auto high = eval::check_thresholds(metrics, eval::parse_fail_under("uar=0.532"));
  EXPECT_TRUE(low[0].passed);
  EXPECT_FALSE(high[0].passed);
  EXPECT_EQ(low[0].gate, "balanced_accuracy >= 0.5319");
  EXPECT_EQ(high[0].gate, "balanced_accuracy >= 0.532");
  EXPECT_EQ(ser::util::exact_double(0.53194), "0.53194");
  EXPECT_EQ(ser::util::exact_double(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(std::stod(ser::util::exact_double(2.0 / 3.0)), 2.0 / 3.0);
}

TEST(EvalGates, BaselineMismatchNamesWhatDiffers) {
  nlohmann::json here = run_metrics(0.7, 0.6, 0.5);
  here["dataset"] = "ravdess";
  here["protocol"] = "speaker_kfold";
  here["labels"] = {"angry", "calm"};
  EXPECT_EQ(eval::baseline_mismatch(here, here), "");
  nlohmann::json other = here;
  other["dataset"] = "emodb";
  other["labels"] = {"anger", "boredom", "disgust"};
  const std::string why = eval::baseline_mismatch(here, other);
  EXPECT_NE(why.find("dataset emodb in the baseline, ravdess here"), std::string::npos) << why;
  EXPECT_NE(why.find("labels 3 (anger, boredom, disgust) in the baseline, 2 (angry, calm) here"), std::string::npos) << why;
  nlohmann::json model_eval = here;
  model_eval.erase("protocol");
  EXPECT_NE(eval::baseline_mismatch(here, model_eval).find("protocol none in the baseline"), std::string::npos);
  nlohmann::json partial = here;
  partial["coverage"] = {{"folds_used", 2}, {"folds_total", 10}};
  EXPECT_NE(eval::baseline_mismatch(here, partial).find("covers only 2 of 10 folds"), std::string::npos);
}
