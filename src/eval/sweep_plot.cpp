#include "ser/eval/sweep_plot.hpp"

#include <algorithm>
#include <cmath>

#include "ser/eval/plots.hpp"
#include "ser/util/csv.hpp"

namespace ser::eval {

namespace {

std::string num(double v) { return util::format_double("%.1f", v); }

}  // namespace

std::string ranking_svg(const std::vector<RankedPoint>& points, const std::string& title) {
  const double row_h = 22, top = 56, left = 330, plot_w = 420, right = 30;
  const double height = top + row_h * std::max<std::size_t>(points.size(), 1) + 50;
  const double width = left + plot_w + right;
  // The axis spans the values shown, padded, on a 0.05 grid.
  double lo = 1, hi = 0;
  for (const auto& p : points) {
    lo = std::min({lo, p.test_low, p.validation >= 0 ? p.validation : lo});
    hi = std::max({hi, p.test_high, p.validation >= 0 ? p.validation : hi});
  }
  if (points.empty() || hi < lo) lo = 0, hi = 1;
  lo = std::max(0.0, std::floor(lo / 0.05) * 0.05 - 0.05);
  hi = std::min(1.0, std::ceil(hi / 0.05) * 0.05 + 0.05);
  if (hi - lo < 0.1) hi = std::min(1.0, lo + 0.1);
  auto x = [&](double v) { return left + (v - lo) / (hi - lo) * plot_w; };

  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
                  "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(width / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + xml_escape(title) + "</text>\n";
  s += "<text x=\"" + num(left) + "\" y=\"42\" fill=\"#1f77b4\">● validation UAR (ranks)</text>\n";
  s += "<text x=\"" + num(left + 190) + "\" y=\"42\" fill=\"#d62728\">○ test UAR, pooled, 95 % CI</text>\n";
  const double bottom = top + row_h * std::max<std::size_t>(points.size(), 1);
  for (double t = lo; t <= hi + 1e-9; t += 0.05) {
    s += "<line x1=\"" + num(x(t)) + "\" y1=\"" + num(top) + "\" x2=\"" + num(x(t)) + "\" y2=\"" + num(bottom) +
         "\" stroke=\"#ddd\"/>\n";
    s += "<text x=\"" + num(x(t)) + "\" y=\"" + num(bottom + 16) + "\" text-anchor=\"middle\">" +
         util::format_double("%.2f", t) + "</text>\n";
  }
  s += "<text x=\"" + num(left + plot_w / 2) + "\" y=\"" + num(bottom + 36) + "\" text-anchor=\"middle\">UAR</text>\n";
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    const double y = top + row_h * (static_cast<double>(i) + 0.5);
    s += "<text x=\"" + num(left - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
         xml_escape(std::to_string(i + 1) + ". " + p.label) + "</text>\n";
    s += "<line x1=\"" + num(x(p.test_low)) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x(p.test_high)) + "\" y2=\"" + num(y) +
         "\" stroke=\"#d62728\" stroke-width=\"1.5\"/>\n";
    s += "<circle cx=\"" + num(x(p.test)) + "\" cy=\"" + num(y) + "\" r=\"4.5\" fill=\"white\" stroke=\"#d62728\" stroke-width=\"1.5\"/>\n";
    if (p.validation >= 0) {
      s += "<circle cx=\"" + num(x(p.validation)) + "\" cy=\"" + num(y) + "\" r=\"4\" fill=\"#1f77b4\"/>\n";
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace ser::eval
