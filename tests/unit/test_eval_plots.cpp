// SVG plots: structure, text content, NaN handling, input checks, and (when rsvg-convert is
// installed) that librsvg actually renders each document to a non-trivial PNG.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "ser/error.hpp"
#include "ser/eval/plots.hpp"
#include "ser/eval/sweep_plot.hpp"
#include "support/temp_dir.hpp"

using namespace ser;
using eval::FoldCurve;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::size_t count(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) ++n;
  return n;
}

// The opening tag of the <text> element whose content starts with `content` (e.g. ">36<").
std::string text_element(const std::string& svg, const std::string& content) {
  const auto end = svg.find(content);
  if (end == std::string::npos) return {};
  const auto begin = svg.rfind("<text", end);
  return begin == std::string::npos ? std::string() : svg.substr(begin, end - begin);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Enough structure for a browser or librsvg: one root element, closed, with balanced groups.
void expect_svg_document(const std::string& svg) {
  ASSERT_FALSE(svg.empty());
  EXPECT_TRUE(svg.rfind("<svg", 0) == 0 || svg.rfind("<?xml", 0) == 0);
  ASSERT_GE(svg.size(), 7u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(count(svg, "<svg"), 1u);
  EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("viewBox=\""), std::string::npos);
  EXPECT_NE(svg.find("width=\""), std::string::npos);
  EXPECT_NE(svg.find("height=\""), std::string::npos);
  EXPECT_EQ(count(svg, "<g>") + count(svg, "<g "), count(svg, "</g>"));
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);  // nothing external
}

void expect_no_nonfinite_text(const std::string& svg) {
  const std::string l = lower(svg);
  EXPECT_EQ(l.find("nan"), std::string::npos);
  EXPECT_EQ(l.find("inf"), std::string::npos);
}

const std::vector<std::string> kTricky{"a & b", "<x>", "say \"hi\"", "it's"};
const std::vector<std::string> kTrickyEscaped{"a &amp; b", "&lt;x&gt;", "say &quot;hi&quot;", "it&#39;s"};

std::vector<FoldCurve> sample_folds() {
  std::vector<FoldCurve> folds(2);
  for (int k = 0; k < 2; ++k) {
    FoldCurve& f = folds[static_cast<std::size_t>(k)];
    f.name = "fold " + std::to_string(k + 1);
    const int epochs = k == 0 ? 40 : 25;  // different lengths are fine
    for (int e = 1; e <= epochs; ++e) {
      f.epoch.push_back(e);
      f.train_loss.push_back(2.0 * std::exp(-e / 10.0) + 0.1);
      f.val_loss.push_back(e % 7 == 0 ? kNaN : 2.2 * std::exp(-e / 12.0) + 0.3);  // gaps
      f.val_metric.push_back(e % 5 == 0 ? kNaN : 0.7 - 0.5 * std::exp(-e / 8.0));
    }
    f.best_epoch = k == 0 ? 33 : 0;
  }
  return folds;
}

bool have_rsvg() { return std::system("command -v rsvg-convert >/dev/null 2>&1") == 0; }

// Renders with librsvg; returns the PNG bytes (empty when the command failed).
std::string render_png(const ser::test::TempDir& dir, const std::string& name, const std::string& svg) {
  const std::string in = dir / (name + ".svg"), out = dir / (name + ".png");
  std::ofstream(in, std::ios::binary) << svg;
  const std::string cmd = "rsvg-convert -o '" + out + "' '" + in + "' 2>'" + (dir / (name + ".err")) + "'";
  if (std::system(cmd.c_str()) != 0) return {};
  std::ifstream png(out, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(png), {});
}

void expect_png(const std::string& png) {
  ASSERT_GT(png.size(), 2048u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

}  // namespace

TEST(PlotsConfusion, ShowsCountsRowPercentagesLabelsAndTitle) {
  const std::vector<std::vector<int>> cm{{23, 2, 1}, {3, 10, 7}, {0, 4, 36}};
  const std::string svg = eval::confusion_svg(cm, {"neutral", "happy", "sad"}, "Fold 1 & 2 <test>");
  expect_svg_document(svg);
  EXPECT_NE(svg.find("Fold 1 &amp; 2 &lt;test&gt;"), std::string::npos);
  for (const char* label : {"neutral", "happy", "sad", "true class", "predicted class"})
    EXPECT_NE(svg.find(std::string(">") + label + "</text>"), std::string::npos) << label;
  // Row 0: 23/26 = 88%, 2/26 = 8%, 1/26 = 4%; row 1: 3/20 = 15%, 10/20 = 50%, 7/20 = 35%; row 2: 4/40 = 10%.
  for (const char* text : {">23<", ">88%<", ">8%<", ">4%<", ">15%<", ">50%<", ">35%<", ">36<", ">90%<", ">10%<"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  EXPECT_NE(svg.find(">0%<"), std::string::npos);    // colour bar legend
  EXPECT_NE(svg.find(">100%<"), std::string::npos);
  EXPECT_NE(svg.find("DejaVu Sans, Arial, sans-serif"), std::string::npos);
  // Darkest cell (36/40) gets white text, the empty cell stays white-ish with dark text.
  EXPECT_NE(text_element(svg, ">36<").find("fill=\"#ffffff\""), std::string::npos);
  EXPECT_EQ(text_element(svg, ">1<").find("fill=\"#ffffff\""), std::string::npos);
}

TEST(PlotsConfusion, ZeroRowStaysFiniteAndLabelsAreEscaped) {
  const std::vector<std::vector<int>> cm{{5, 0, 1, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 0, 9}};
  const std::string svg = eval::confusion_svg(cm, kTricky, "escapes");
  expect_svg_document(svg);
  expect_no_nonfinite_text(svg);
  for (std::size_t i = 0; i < kTricky.size(); ++i) {
    EXPECT_NE(svg.find(kTrickyEscaped[i]), std::string::npos) << kTrickyEscaped[i];
    EXPECT_EQ(svg.find(kTricky[i]), std::string::npos) << "unescaped " << kTricky[i];
  }
}

TEST(PlotsConfusion, HandlesOneAndManyClasses) {
  expect_svg_document(eval::confusion_svg({{4}}, {"only"}, "one class"));
  std::vector<std::string> labels;
  std::vector<std::vector<int>> cm(20, std::vector<int>(20, 1));
  for (int i = 0; i < 20; ++i) labels.push_back("a rather long class name " + std::to_string(i));
  const std::string svg = eval::confusion_svg(cm, labels, "");
  expect_svg_document(svg);
  for (const auto& l : labels) EXPECT_NE(svg.find(">" + l + "</text>"), std::string::npos) << l;
  EXPECT_NE(svg.find("rotate("), std::string::npos);  // long column labels are turned
}

TEST(PlotsConfusion, RejectsShapeMismatch) {
  EXPECT_THROW(eval::confusion_svg({{1, 2}, {3, 4}}, {"a", "b", "c"}, "t"), Error);
  EXPECT_THROW(eval::confusion_svg({{1, 2}, {3}}, {"a", "b"}, "t"), Error);
  EXPECT_THROW(eval::confusion_svg({}, {}, "t"), Error);
}

TEST(PlotsCurves, DrawsFoldsLegendAndGapsWithoutNonFiniteText) {
  auto folds = sample_folds();
  folds[1].name = "fold <2>";
  const std::string svg = eval::training_curves_svg(folds, "validation UAR", "Curves & more");
  expect_svg_document(svg);
  expect_no_nonfinite_text(svg);
  EXPECT_NE(svg.find("Curves &amp; more"), std::string::npos);
  for (const char* text : {">fold 1<", ">fold &lt;2&gt;<", ">validation UAR<", ">epoch<", ">loss<", ">train loss<",
                           ">validation loss<", ">best epoch<"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);  // validation dashed
  EXPECT_NE(svg.find("<circle"), std::string::npos);           // best epoch marker
  // NaN gaps split a path into runs: some path restarts with a second "M".
  std::size_t max_runs = 0;
  for (auto p = svg.find("<path d=\""); p != std::string::npos; p = svg.find("<path d=\"", p + 1)) {
    const std::string d = svg.substr(p + 9, svg.find('"', p + 9) - (p + 9));
    max_runs = std::max(max_runs, count(d, "M"));
  }
  EXPECT_GE(max_runs, 2u);
  // Metric axis 0..1; no number is written with more than 2 decimals.
  EXPECT_NE(svg.find(">1.0<"), std::string::npos);
  for (std::size_t i = 0; i + 3 < svg.size(); ++i) {
    const auto digit = [&](std::size_t k) { return std::isdigit(static_cast<unsigned char>(svg[k])) != 0; };
    if (svg[i] == '.' && digit(i + 1) && digit(i + 2) && digit(i + 3))
      ADD_FAILURE() << "3+ decimals: " << svg.substr(i < 8 ? 0 : i - 8, 16);
  }
}

TEST(PlotsCurves, FoldWithoutValidationDrawsOnlyTrainLoss) {
  FoldCurve f;
  f.name = "no validation";
  for (int e = 1; e <= 10; ++e) {
    f.epoch.push_back(e);
    f.train_loss.push_back(1.0 / e);
    f.val_loss.push_back(kNaN);
    f.val_metric.push_back(kNaN);
  }
  f.best_epoch = 0;
  const std::string svg = eval::training_curves_svg({f}, "validation UAR", "train only");
  expect_svg_document(svg);
  expect_no_nonfinite_text(svg);
  EXPECT_EQ(count(svg, "<path"), 1u);
  EXPECT_EQ(svg.find("stroke-dasharray"), std::string::npos);
}

TEST(PlotsCurves, RejectsNothingToDraw) {
  EXPECT_THROW(eval::training_curves_svg({}, "UAR", "t"), Error);
  FoldCurve empty;
  empty.name = "empty";
  EXPECT_THROW(eval::training_curves_svg({empty, empty}, "UAR", "t"), Error);
  FoldCurve all_nan;
  all_nan.epoch = {1, 2};
  all_nan.train_loss = {kNaN, kNaN};
  EXPECT_THROW(eval::training_curves_svg({all_nan}, "UAR", "t"), Error);
}

TEST(PlotsRecall, ShowsValuesSupportAndEscapedLabels) {
  const std::string svg = eval::recall_bars_svg(kTricky, {0.84, 0.5, 1.0, 0.0}, {26, 10, 3, 7}, "Recall <per class>");
  expect_svg_document(svg);
  expect_no_nonfinite_text(svg);
  EXPECT_NE(svg.find("Recall &lt;per class&gt;"), std::string::npos);
  for (const auto& l : kTrickyEscaped) EXPECT_NE(svg.find(">" + l + "</text>"), std::string::npos) << l;
  for (const char* text : {">0.84 (n=26)<", ">0.50 (n=10)<", ">1.00 (n=3)<", ">0.00 (n=7)<", ">0.2<", ">recall<"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
}

TEST(PlotsRecall, RejectsSizeMismatch) {
  EXPECT_THROW(eval::recall_bars_svg({"a", "b"}, {0.5}, {1, 2}, "t"), Error);
  EXPECT_THROW(eval::recall_bars_svg({"a"}, {0.5}, {1, 2}, "t"), Error);
}

TEST(PlotsRanking, OneRowPerTaskInRankOrderWithEscapedLabels) {
  const std::vector<eval::RankedPoint> points = {{"a & b", 0.7, 0.66, 0.6, 0.72}, {"<x>", -1, 0.5, 0.41, 0.58}};
  const std::string svg = eval::ranking_svg(points, "sweep \"s\"");
  expect_svg_document(svg);
  expect_no_nonfinite_text(svg);
  EXPECT_NE(svg.find("1. a &amp; b"), std::string::npos);
  EXPECT_NE(svg.find("2. &lt;x&gt;"), std::string::npos);
  EXPECT_LT(svg.find("1. a &amp; b"), svg.find("2. &lt;x&gt;"));
  EXPECT_EQ(count(svg, "fill=\"#1f77b4\"/>"), 1u) << "a task without a validation score has no validation dot";
  expect_svg_document(eval::ranking_svg({}, "empty"));
}

TEST(PlotsRender, RsvgConvertRendersAllThree) {
  if (!have_rsvg()) GTEST_SKIP() << "rsvg-convert not installed (Debian package librsvg2-bin)";
  ser::test::TempDir dir;
  const std::vector<std::vector<int>> cm{{23, 2, 1}, {0, 0, 0}, {4, 5, 30}};
  expect_png(render_png(dir, "confusion", eval::confusion_svg(cm, {"a & b", "<x>", "it's"}, "confusion")));
  expect_png(render_png(dir, "curves", eval::training_curves_svg(sample_folds(), "validation UAR", "curves")));
  const std::string bars = eval::recall_bars_svg(kTricky, {0.84, 0.5, 1.0, kNaN}, {26, 10, 3, 0}, "recall");
  expect_png(render_png(dir, "recall", bars));
  expect_png(render_png(dir, "ranking", eval::ranking_svg({{"task", 0.7, 0.66, 0.6, 0.72}}, "ranking")));
}
