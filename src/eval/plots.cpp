#include "ser/eval/plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "ser/error.hpp"

namespace ser::eval {
// XML text/attribute escaping; control characters XML 1.0 forbids become spaces, because a
// single one would make rsvg (and browsers) reject the whole document.
std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n') ? ' ' : ch;
    }
  }
  return out;
}


namespace {

constexpr const char* kFont = "DejaVu Sans, Arial, sans-serif";
constexpr const char* kInk = "#222222";    // titles, labels
constexpr const char* kMuted = "#555555";  // tick labels
constexpr const char* kGrid = "#e6e6e6";
constexpr const char* kFrame = "#b8b8b8";

// Appends a coordinate with at most 2 decimals and no trailing zeros: long polylines stay small
// and snprintf keeps the decimal point independent of the locale.
void put_num(std::string& out, double v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.2f", v);
  while (n > 0 && buf[n - 1] == '0') --n;
  if (n > 0 && buf[n - 1] == '.') --n;
  if (n == 2 && buf[0] == '-' && buf[1] == '0') buf[0] = '0', n = 1;  // "-0.001" -> "0"
  out.append(buf, static_cast<std::size_t>(n));
}
std::string num(double v) {
  std::string s;
  put_num(s, v);
  return s;
}
std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Estimated rendered width. DejaVu Sans averages about 0.6 em per character; we leave a little
// more so that layouts computed from it never clip. Counts UTF-8 code points, not bytes.
double text_width(const std::string& s, double size) {
  std::size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  return static_cast<double>(chars) * size * 0.62;
}
double max_width(const std::vector<std::string>& v, double size) {
  double w = 0;
  for (const auto& s : v) w = std::max(w, text_width(s, size));
  return w;
}

struct Rgb {
  double r, g, b;
};
Rgb mix(Rgb a, Rgb b, double t) { return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t}; }
std::string hex(Rgb c) {
  char buf[8];
  auto byte = [](double v) { return static_cast<int>(std::lround(std::clamp(v, 0.0, 255.0))); };
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", byte(c.r), byte(c.g), byte(c.b));
  return buf;
}
// ColorBrewer "Blues" (#f7fbff -> #08306b through its 9 stops): more even steps in lightness
// than a straight two-colour blend, so 30% and 60% cells are easy to tell apart.
constexpr Rgb kBlues[9] = {{247, 251, 255}, {222, 235, 247}, {198, 219, 239}, {158, 202, 225}, {107, 174, 214},
                           {66, 146, 198},  {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
Rgb blues(double t) {
  const double p = std::clamp(t, 0.0, 1.0) * 8;
  const int i = std::min(7, static_cast<int>(p));
  return mix(kBlues[i], kBlues[i + 1], p - i);
}
// White text where black would lose contrast (perceived brightness below about 55%).
bool is_dark(Rgb c) { return 0.299 * c.r + 0.587 * c.g + 0.114 * c.b < 140; }

// matplotlib's "tab10": distinct hues that stay apart for up to 10 folds.
constexpr const char* kTab10[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// An axis range extended outward to multiples of a 1-2-5 step, so every tick label is round.
struct Axis {
  double lo = 0, hi = 1, step = 0.2;
  std::vector<double> ticks() const {
    std::vector<double> t;
    for (int i = 0; lo + i * step <= hi + step * 1e-6; ++i) t.push_back(lo + i * step);
    return t;
  }
  std::string label(double v) const {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, std::abs(v) < step * 1e-6 ? 0.0 : v);
    return buf;
  }
};
Axis nice_axis(double lo, double hi, int target, double min_step = 0) {
  if (!(hi > lo)) hi = lo + (lo == 0 ? 1 : std::abs(lo) * 0.1);
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  Axis a;
  a.step = std::max(min_step, (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag);
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  return a;
}
// Maps axis values to pixels (p0 = position of axis.lo, p1 = of axis.hi; y axes have p0 > p1).
struct Scale {
  Axis axis;
  double p0, p1;
  double operator()(double v) const { return p0 + (v - axis.lo) / (axis.hi - axis.lo) * (p1 - p0); }
};

// Minimal SVG writer: every element goes straight into one string.
struct Svg {
  std::string s;
  Svg(double w, double h, const std::string& title) {
    s.reserve(32768);
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + num(w) + "\" height=\"" + num(h) +
         "\" viewBox=\"0 0 " + num(w) + " " + num(h) + "\" font-family=\"" + kFont + "\">\n";
    if (!title.empty()) s += "<title>" + xml_escape(title) + "</title>\n";
    rect(0, 0, w, h, "#ffffff");
  }
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& extra = "") {
    s += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
         "\" fill=\"" + fill + "\"" + extra + "/>\n";
  }
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& extra = "") {
    s += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
         "\" stroke=\"" + stroke + "\" stroke-width=\"" + num(width) + "\"" + extra + "/>\n";
  }
  void circle(double x, double y, double r, const std::string& extra) {
    s += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(r) + "\"" + extra + "/>\n";
  }
  // anchor: start | middle | end; extra: further attributes, e.g. font-weight or transform.
  void text(double x, double y, const std::string& content, double size, const char* anchor,
            const std::string& fill = kInk, const std::string& extra = "") {
    s += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + num(size) + "\" text-anchor=\"" + anchor +
         "\" fill=\"" + fill + "\"" + extra + ">" + xml_escape(content) + "</text>\n";
  }
  // Text rotated by `deg` around its anchor point (axis titles, long column labels).
  void rotated_text(double x, double y, double deg, const std::string& content, double size, const char* anchor,
                    const std::string& fill = kInk) {
    text(x, y, content, size, anchor, fill, " transform=\"rotate(" + num(deg) + " " + num(x) + " " + num(y) + ")\"");
  }
  void title(double cx, double y, const std::string& t) {
    if (!t.empty()) text(cx, y, t, 16, "middle", kInk, " font-weight=\"bold\"");
  }
  std::string finish() {
    s += "</svg>\n";
    return std::move(s);
  }
};

// Reference points of a curve: x from `epoch` (or 1, 2, ... when absent); NaN marks no value.
std::size_t curve_length(const FoldCurve& f) {
  if (!f.epoch.empty()) return f.epoch.size();
  return std::max({f.train_loss.size(), f.val_loss.size(), f.val_metric.size()});
}
double epoch_at(const FoldCurve& f, std::size_t i) {
  return f.epoch.empty() ? static_cast<double>(i + 1) : f.epoch[i];
}

// One <path> per series; a NaN ends the current run (the next point starts a new "M"), and a
// finite point with NaN on both sides becomes a dot so that it is not lost.
void draw_series(Svg& svg, const Scale& x, const Scale& y, const FoldCurve& f, const std::vector<double>& v,
                 const std::string& colour, bool dashed) {
  const std::size_t n = std::min(curve_length(f), v.size());
  std::string d;
  std::vector<std::pair<double, double>> dots;
  std::size_t run = 0;
  double last_x = 0, last_y = 0;
  for (std::size_t i = 0; i <= n; ++i) {
    const bool ok = i < n && std::isfinite(v[i]) && std::isfinite(epoch_at(f, i));
    if (!ok) {
      if (run == 1) dots.emplace_back(last_x, last_y);
      run = 0;
      continue;
    }
    last_x = x(epoch_at(f, i));
    last_y = y(v[i]);
    d += run++ == 0 ? 'M' : 'L';
    put_num(d, last_x);
    d += ',';
    put_num(d, last_y);
  }
  if (!d.empty()) {
    svg.s += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + colour +
             "\" stroke-width=\"1.6\" stroke-linejoin=\"round\" stroke-linecap=\"round\"" +
             (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
  }
  for (const auto& [px, py] : dots) svg.circle(px, py, 2, " fill=\"" + colour + "\"");
}

// Panel frame, horizontal grid lines and y tick labels; x grid lines (and labels if wanted).
void draw_panel(Svg& svg, const Scale& x, const Scale& y, bool x_labels) {
  const double left = x.p0, right = x.p1, top = y.p1, bottom = y.p0;
  svg.s += "<g>\n";
  for (double t : y.axis.ticks()) {
    svg.line(left, y(t), right, y(t), kGrid);
    svg.text(left - 6, y(t) + 4, y.axis.label(t), 11, "end", kMuted);
  }
  for (double t : x.axis.ticks()) {
    svg.line(x(t), top, x(t), bottom, kGrid);
    if (x_labels) svg.text(x(t), bottom + 16, x.axis.label(t), 11, "middle", kMuted);
  }
  svg.rect(left, top, right - left, bottom - top, "none", " stroke=\"" + std::string(kFrame) + "\"");
  svg.s += "</g>\n";
}

}  // namespace

std::string confusion_svg(const std::vector<std::vector<int>>& confusion, const std::vector<std::string>& labels,
                          const std::string& title) {
  const std::size_t n = labels.size();
  if (n == 0) fail_runtime("plot", "confusion matrix without classes");
  if (confusion.size() != n) fail_runtime("plot", "confusion matrix rows do not match the labels");
  for (const auto& row : confusion)
    if (row.size() != n) fail_runtime("plot", "confusion matrix is not square");

  // Cells shrink with the class count but keep room for two lines of text.
  const double cell = std::clamp(std::round(600.0 / n), 40.0, 76.0);
  const double count_fs = std::clamp(cell * 0.23, 9.5, 14.0), pct_fs = count_fs * 0.8, label_fs = 12;
  const double label_w = max_width(labels, label_fs);
  const bool rotate = label_w > cell - 6;  // column labels: horizontal only when they fit a cell
  const double col_label_h = rotate ? (label_w + label_fs) * 0.7071 + 8 : label_fs + 8;

  const double title_h = title.empty() ? 16 : 44;
  const double x0 = std::max(16 + 16 + 10 + label_w + 10, (rotate ? label_w * 0.7071 - cell / 2 : 0) + 16);
  const double y0 = title_h;
  const double grid = cell * static_cast<double>(n);
  const double bar_x = x0 + grid + 22, bar_w = 14;
  double width = bar_x + bar_w + 48;
  const double height = y0 + grid + col_label_h + 36;
  const double title_w = text_width(title, 16) * 1.1 + 32;  // bold text is wider
  double shift = 0;
  if (title_w > width) shift = (title_w - width) / 2, width = title_w;  // centre the plot under a long title

  Svg svg(width, height, title);
  svg.title(width / 2, 28, title);
  svg.s += "<g transform=\"translate(" + num(shift) + " 0)\">\n";
  svg.s += "<g>\n";
  for (std::size_t r = 0; r < n; ++r) {
    long long total = 0;
    for (int v : confusion[r]) total += v;
    for (std::size_t c = 0; c < n; ++c) {
      const int count = confusion[r][c];
      const double share = total > 0 ? static_cast<double>(count) / static_cast<double>(total) : 0.0;
      const Rgb fill = blues(share);
      const double cx = x0 + cell * static_cast<double>(c), cy = y0 + cell * static_cast<double>(r);
      svg.rect(cx, cy, cell, cell, hex(fill), " stroke=\"#ffffff\" stroke-width=\"1\"");
      // Zero cells get grey text so the eye goes to where the predictions are.
      const std::string ink = is_dark(fill) ? "#ffffff" : count == 0 ? "#9a9a9a" : kInk;
      // Two lines centred in the cell: the count (prominent) and the row percentage.
      const double top = cy + (cell - (count_fs + 3 + pct_fs)) / 2;
      svg.text(cx + cell / 2, top + count_fs * 0.8, std::to_string(count), count_fs, "middle", ink,
               r == c ? " font-weight=\"bold\"" : "");
      svg.text(cx + cell / 2, top + count_fs + 3 + pct_fs * 0.8, fmt("%.0f%%", share * 100), pct_fs, "middle", ink);
    }
  }
  svg.rect(x0, y0, grid, grid, "none", " stroke=\"" + std::string(kFrame) + "\"");
  svg.s += "</g>\n<g>\n";
  for (std::size_t i = 0; i < n; ++i) {
    const double mid = cell * (static_cast<double>(i) + 0.5);
    svg.text(x0 - 8, y0 + mid + label_fs * 0.35, labels[i], label_fs, "end");
    if (rotate)
      svg.rotated_text(x0 + mid + label_fs * 0.35, y0 + grid + 8, -45, labels[i], label_fs, "end");
    else
      svg.text(x0 + mid, y0 + grid + 6 + label_fs, labels[i], label_fs, "middle");
  }
  svg.rotated_text(x0 - label_w - 24, y0 + grid / 2, -90, "true class", 13, "middle");
  svg.text(x0 + grid / 2, y0 + grid + col_label_h + 20, "predicted class", 13, "middle");
  svg.s += "</g>\n";

  // Colour bar: a vertical gradient through the same stops as the cells (100% at the top).
  svg.s += "<defs><linearGradient id=\"ser-confusion-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (int i = 0; i < 9; ++i)
    svg.s += "<stop offset=\"" + num(i / 8.0) + "\" stop-color=\"" + hex(kBlues[i]) + "\"/>";
  svg.s += "</linearGradient></defs>\n<g>\n";
  const double bar_h = grid;
  svg.rect(bar_x, y0, bar_w, bar_h, "url(#ser-confusion-scale)", " stroke=\"" + std::string(kFrame) + "\"");
  for (int p = 0; p <= 100; p += 25) {
    const double ty = y0 + bar_h * (1 - p / 100.0);
    svg.line(bar_x + bar_w, ty, bar_x + bar_w + 4, ty, kMuted);
    svg.text(bar_x + bar_w + 7, ty + 4, fmt("%.0f%%", p), 10, "start", kMuted);
  }
  svg.s += "</g>\n</g>\n";
  return svg.finish();
}

std::string training_curves_svg(const std::vector<FoldCurve>& folds, const std::string& metric_name,
                                const std::string& title) {
  if (folds.empty()) fail_runtime("plot", "no folds to plot");
  // Data ranges over finite values only; NaN means "not measured".
  double e_lo = INFINITY, e_hi = -INFINITY, l_lo = 0, l_hi = -INFINITY, m_lo = 0, m_hi = 1;
  bool any_point = false, any_val_loss = false, any_best = false;
  auto scan = [&](const FoldCurve& f, const std::vector<double>& v, double& lo, double& hi) {
    bool any = false;
    for (std::size_t i = 0; i < std::min(curve_length(f), v.size()); ++i) {
      const double e = epoch_at(f, i);
      if (!std::isfinite(v[i]) || !std::isfinite(e)) continue;
      lo = std::min(lo, v[i]), hi = std::max(hi, v[i]);
      e_lo = std::min(e_lo, e), e_hi = std::max(e_hi, e);
      any = any_point = true;
    }
    return any;
  };
  for (const auto& f : folds) {
    scan(f, f.train_loss, l_lo, l_hi);
    any_val_loss |= scan(f, f.val_loss, l_lo, l_hi);
    scan(f, f.val_metric, m_lo, m_hi);
    any_best |= f.best_epoch > 0;
  }
  if (!any_point) fail_runtime("plot", "training curves are empty");
  if (!(l_hi > -INFINITY)) l_hi = 1;  // no loss at all: an empty 0..1 panel

  // Layout: two panels over a shared epoch axis, the legend to their right (never over curves).
  const double left = 76, plot_w = 600, top = title.empty() ? 16 : 48, loss_h = 230, gap = 22, metric_h = 190;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < folds.size(); ++i)
    names.push_back(folds[i].name.empty() ? "fold " + std::to_string(i + 1) : folds[i].name);
  const double legend_x = left + plot_w + 24;
  const double legend_w = std::max(max_width(names, 12), text_width("validation loss", 12)) + 40;
  const double width = std::max(legend_x + legend_w + 12, text_width(title, 16) * 1.1 + 32);
  const double metric_top = top + loss_h + gap, height = metric_top + metric_h + 52;

  const Axis ex = nice_axis(e_lo, e_hi, 8, 1);  // whole epochs at least
  const Scale x{ex, left, left + plot_w};
  const Scale yl{nice_axis(l_lo, l_hi, 5), top + loss_h, top};
  const Scale ym{nice_axis(m_lo, m_hi, 5), metric_top + metric_h, metric_top};

  Svg svg(width, height, title);
  svg.title(width / 2, 30, title);
  draw_panel(svg, x, yl, false);
  draw_panel(svg, x, ym, true);
  svg.rotated_text(22, top + loss_h / 2, -90, "loss", 13, "middle");
  svg.rotated_text(22, metric_top + metric_h / 2, -90, metric_name, 13, "middle");
  svg.text(left + plot_w / 2, height - 12, "epoch", 13, "middle");

  for (std::size_t k = 0; k < folds.size(); ++k) {
    const FoldCurve& f = folds[k];
    const std::string colour = kTab10[k % 10];
    svg.s += "<g>\n";
    draw_series(svg, x, yl, f, f.train_loss, colour, false);
    draw_series(svg, x, yl, f, f.val_loss, colour, true);
    draw_series(svg, x, ym, f, f.val_metric, colour, false);
    svg.s += "</g>\n";
  }
  // Best-epoch markers after all curves, so no later fold's line hides them.
  svg.s += "<g>\n";
  for (std::size_t k = 0; k < folds.size(); ++k) {
    const FoldCurve& f = folds[k];
    if (f.best_epoch <= 0) continue;
    for (std::size_t i = 0; i < std::min(curve_length(f), f.val_metric.size()); ++i) {
      if (epoch_at(f, i) != f.best_epoch || !std::isfinite(f.val_metric[i])) continue;
      svg.circle(x(epoch_at(f, i)), ym(f.val_metric[i]), 4.5,
                 " fill=\"#ffffff\" stroke=\"" + std::string(kTab10[k % 10]) + "\" stroke-width=\"2\"");
      break;
    }
  }
  svg.s += "</g>\n";

  // Legend: one colour per fold, then the line styles in neutral grey.
  svg.s += "<g>\n";
  double ly = top + 8;
  for (std::size_t k = 0; k < folds.size(); ++k, ly += 20) {
    svg.line(legend_x, ly, legend_x + 26, ly, kTab10[k % 10], 2.5);
    svg.text(legend_x + 34, ly + 4, names[k], 12, "start");
  }
  ly += 10;
  svg.line(legend_x, ly, legend_x + 26, ly, kMuted, 1.6);
  svg.text(legend_x + 34, ly + 4, "train loss", 12, "start");
  if (any_val_loss) {
    ly += 20;
    svg.line(legend_x, ly, legend_x + 26, ly, kMuted, 1.6, " stroke-dasharray=\"6 4\"");
    svg.text(legend_x + 34, ly + 4, "validation loss", 12, "start");
  }
  if (any_best) {
    ly += 20;
    svg.circle(legend_x + 13, ly, 4.5, " fill=\"#ffffff\" stroke=\"" + std::string(kMuted) + "\" stroke-width=\"2\"");
    svg.text(legend_x + 34, ly + 4, "best epoch", 12, "start");
  }
  svg.s += "</g>\n";
  return svg.finish();
}

std::string recall_bars_svg(const std::vector<std::string>& labels, const std::vector<double>& recall,
                            const std::vector<int>& support, const std::string& title) {
  if (labels.size() != recall.size() || labels.size() != support.size())
    fail_runtime("plot", "recall bars: labels, recall and support differ in length");
  if (labels.empty()) fail_runtime("plot", "recall bars without classes");

  const double label_fs = 12, value_fs = 11, pitch = 28, bar_h = 18, plot_w = 440;
  std::vector<std::string> values;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string n = " (n=" + std::to_string(support[i]) + ")";
    values.push_back(std::isfinite(recall[i]) ? fmt("%.2f", recall[i]) + n : "n/a" + n);
  }
  const double left = 16 + max_width(labels, label_fs) + 12, top = title.empty() ? 16 : 48;
  const double plot_h = pitch * static_cast<double>(labels.size()) + 6;
  const double width = std::max(left + plot_w + max_width(values, value_fs) + 20, text_width(title, 16) * 1.1 + 32);
  const double height = top + plot_h + 52;
  const Scale x{Axis{0, 1, 0.2}, left, left + plot_w};

  Svg svg(width, height, title);
  svg.title(width / 2, 30, title);
  svg.s += "<g>\n";
  for (double t : x.axis.ticks()) {
    svg.line(x(t), top, x(t), top + plot_h, kGrid);
    svg.text(x(t), top + plot_h + 16, x.axis.label(t), 11, "middle", kMuted);
  }
  svg.line(left, top, left, top + plot_h, kFrame);
  svg.line(left, top + plot_h, left + plot_w, top + plot_h, kFrame);
  svg.text(left + plot_w / 2, height - 12, "recall", 13, "middle");
  svg.s += "</g>\n<g>\n";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double y = top + 6 + pitch * static_cast<double>(i), mid = y + bar_h / 2;
    const double r = std::isfinite(recall[i]) ? std::clamp(recall[i], 0.0, 1.0) : 0.0;
    svg.text(left - 8, mid + label_fs * 0.35, labels[i], label_fs, "end");
    if (r > 0) svg.rect(left, y, x(r) - left, bar_h, "#4292c6");
    svg.text(x(r) + 6, mid + value_fs * 0.35, values[i], value_fs, "start", kInk);
  }
  svg.s += "</g>\n";
  return svg.finish();
}

}  // namespace ser::eval
