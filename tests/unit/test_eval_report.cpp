// report.md and the terminal table over hand-made metrics.
#include <gtest/gtest.h>

#include <sstream>

#include "ser/eval/report.hpp"

using namespace ser;

namespace {

// 16 items over a, "b|c", d, e; "f" never occurs. Recall: a 4/4, b|c 1/4, d 2/4, e 3/4
// -> accuracy 10/16 = 0.625, UAR 0.625; the worst classes are b|c, d, e in that order.
eval::ReportInput input() {
  const std::vector<std::string> labels{"a", "b|c", "d", "e", "f"};
  const std::vector<int> truth{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
  const std::vector<int> pred{0, 0, 0, 0, 1, 0, 0, 2, 2, 2, 3, 0, 3, 3, 3, 1};
  eval::ReportInput in;
  in.title = "runs/demo";
  in.labels = labels;
  in.pooled = eval::compute_metrics(truth, pred, labels);
  in.summary = {{"accuracy", {{"mean", 0.7607}, {"std", 0.05}}},
                {"balanced_accuracy", {{"mean", 0.7123}, {"std", 0.04}}},
                {"macro_f1", {{"mean", 0.70}, {"std", 0.03}}}};
  const nlohmann::json speaker01 = {{"accuracy", 0.5}, {"balanced_accuracy", 0.4}, {"macro_f1", 0.3}, {"n", 8}};
  in.analysis = {{"groups", {{"speaker", {{"01", speaker01}}}}},
                 {"coverage",
                  {{{"threshold", 0.5}, {"coverage", 0.75}, {"accuracy", 0.8}, {"n", 12}},
                   {{"threshold", 0.99}, {"coverage", 0.0}, {"accuracy", nullptr}, {"n", 0}}}}};
  in.gates = {{"balanced_accuracy >= 0.500", 0.625, 0.5, true}, {"accuracy >= 0.900", 0.625, 0.9, false}};
  in.plots = {"confusion.svg", "recall.svg"};
  return in;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The text from `heading` up to the next "## " heading.
std::string section(const std::string& text, const std::string& heading) {
  const auto start = text.find(heading);
  if (start == std::string::npos) return "";
  const auto end = text.find("\n## ", start + heading.size());
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

TEST(EvalReport, MarkdownHeadlineGatesAndTables) {
  const auto in = input();
  ASSERT_DOUBLE_EQ(in.pooled.accuracy, 0.625);
  const std::string md = eval::report_markdown(in);
  EXPECT_EQ(md.rfind("# runs/demo\n", 0), 0u) << md;
  EXPECT_TRUE(has(md, "| metric | mean ± std over folds | pooled |"));
  EXPECT_TRUE(has(md, "| accuracy (WA) | 0.7607 ± 0.0500 | 0.6250 |")) << md;
  EXPECT_TRUE(has(md, "0.7123 ± 0.0400 | 0.6250 |"));

  EXPECT_TRUE(has(md, "- ❌ accuracy >= 0.900")) << md;
  EXPECT_TRUE(has(md, "- ✅ balanced_accuracy >= 0.500"));
  EXPECT_TRUE(has(md, "1 of 2 gates failed"));

  // Counts with the row percentage, the diagonal in bold, "|" escaped in labels.
  EXPECT_TRUE(has(md, "| a | **4 (100%)** | 0 (0%) |"));
  EXPECT_TRUE(has(md, "| b\\|c | 2 (50%) | **1 (25%)** | 1 (25%) | 0 (0%) | 0 (0%) |")) << md;
  EXPECT_FALSE(has(md, " b|c "));
  // d: predicted 3 times, 2 right -> precision 0.667, recall 0.5, F1 0.571.
  EXPECT_TRUE(has(md, "| d | 0.667 | 0.500 | 0.571 | 4 |"));
  EXPECT_TRUE(has(md, "| f | 0.000 | 0.000 | 0.000 | 0 |"));

  const std::string worst = section(md, "## Worst classes");
  ASSERT_NE(worst, "");
  const auto p1 = worst.find("1. **b\\|c**"), p2 = worst.find("2. **d**"), p3 = worst.find("3. **e**");
  ASSERT_NE(p1, std::string::npos) << worst;
  ASSERT_NE(p2, std::string::npos) << worst;
  ASSERT_NE(p3, std::string::npos) << worst;
  EXPECT_LT(p1, p2);
  EXPECT_LT(p2, p3);
  EXPECT_FALSE(has(worst, "**a**"));
  EXPECT_FALSE(has(worst, "**f**"));  // support 0
  EXPECT_TRUE(has(worst, "most often taken for a (2)"));

  EXPECT_TRUE(has(md, "| speaker | n | accuracy | UAR |"));
  EXPECT_TRUE(has(md, "| 01 | 8 | 0.500 | 0.400 |"));
  EXPECT_TRUE(has(md, "| 0.50 | 75.0% | 0.800 | 12 |"));
  EXPECT_TRUE(has(md, "| 0.99 | 0.0% | – | 0 |"));
  EXPECT_TRUE(has(md, "- [confusion.svg](confusion.svg)\n- [recall.svg](recall.svg)"));
}

TEST(EvalReport, MarkdownWithoutFoldsGatesOrAnalysis) {
  auto in = input();
  in.summary = nullptr;
  in.analysis = nullptr;
  in.gates.clear();
  in.plots.clear();
  const std::string md = eval::report_markdown(in);
  EXPECT_TRUE(has(md, "| metric | pooled |"));
  EXPECT_TRUE(has(md, "| UAR (balanced accuracy) | 0.6250 |"));
  EXPECT_FALSE(has(md, "±"));
  EXPECT_FALSE(has(md, "Gates"));
  EXPECT_FALSE(has(md, "Plots"));
  EXPECT_FALSE(has(md, "coverage"));
  EXPECT_TRUE(has(md, "## Confusion matrix"));
}

TEST(EvalReport, TerminalTableIsAligned) {
  const auto in = input();
  const std::string text = eval::terminal_table(in);
  EXPECT_TRUE(has(text, "accuracy (WA)")) << text;
  EXPECT_TRUE(has(text, "fold mean ± std  pooled")) << "both number columns are named: " << text;
  EXPECT_TRUE(has(text, "0.7607 ± 0.0500  0.6250")) << text;
  EXPECT_TRUE(has(text, "precision  recall  f1-score  support"));

  // Confusion matrix: every line as wide as the header (right-aligned counts).
  const auto at = text.find("confusion matrix");
  ASSERT_NE(at, std::string::npos);
  std::istringstream lines(text.substr(at));
  std::string line;
  std::getline(lines, line);  // the title
  std::vector<std::string> rows;
  while (std::getline(lines, line) && !line.empty()) rows.push_back(line);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_TRUE(has(rows[0], "a  b|c  d  e  f")) << rows[0];
  for (const auto& r : rows) EXPECT_EQ(r.size(), rows[0].size()) << r;
  EXPECT_EQ(rows[2], "  b|c  2    1  1  0  0") << rows[2];

  auto single = in;
  single.summary = nullptr;
  EXPECT_FALSE(has(eval::terminal_table(single), "±"));
}

// Coverage and warnings come first, in report.md and on the terminal alike.
TEST(EvalReport, CoverageAndWarningsLeadTheReport) {
  auto in = input();
  in.coverage = "2 of 3 folds";
  in.warnings = {"only 2 of 3 folds are finished (fold-3 is missing)", "3 of 4 items skipped: squeak 3"};
  const std::string md = eval::report_markdown(in);
  EXPECT_TRUE(has(md, "Coverage: 2 of 3 folds.")) << md;
  EXPECT_TRUE(has(md, "> **Warning:** only 2 of 3 folds are finished (fold-3 is missing)")) << md;
  EXPECT_TRUE(has(md, "> **Warning:** 3 of 4 items skipped: squeak 3")) << md;
  EXPECT_LT(md.find("Warning"), md.find("| metric")) << md;
  const std::string text = eval::terminal_table(in);
  EXPECT_TRUE(has(text, "coverage: 2 of 3 folds")) << text;
  EXPECT_TRUE(has(text, "warning: 3 of 4 items skipped: squeak 3")) << text;
}
