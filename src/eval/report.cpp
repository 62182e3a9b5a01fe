#include "ser/eval/report.hpp"

#include <algorithm>

#include "ser/eval/uncertainty.hpp"
#include "ser/util/csv.hpp"

namespace ser::eval {

namespace {

struct Headline {
  const char* key;
  const char* name;
  double Metrics::*pooled;
};
const Headline kHeadlines[] = {{"accuracy", "accuracy (WA)", &Metrics::accuracy},
                               {"balanced_accuracy", "UAR (balanced accuracy)", &Metrics::balanced_accuracy},
                               {"macro_f1", "macro-F1", &Metrics::macro_f1}};
// Breakdown columns shown first, in this order; any other column follows alphabetically.
const char* const kGroupOrder[] = {"speaker", "gender", "statement", "text", "intensity"};
const char* const kMissing = "–";

std::string fmt(const char* format, double v) { return util::format_double(format, v); }

// A JSON number formatted, or a dash for null/absent/non-numbers (NaN is written as null).
std::string fmt_json(const nlohmann::json& j, const char* key, const char* format) {
  if (!j.is_object()) return kMissing;
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? fmt(format, it->get<double>()) : kMissing;
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

// Text for a Markdown table cell: "|" would end the cell.
std::string md(const std::string& s) {
  std::string out;
  for (char c : one_line(s)) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string md_row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const auto& c : cells) out += " " + c + " |";
  return out + "\n";
}

// Header row plus the alignment row: first column left, the rest right-aligned (numbers).
std::string md_header(const std::vector<std::string>& cells) {
  std::string out = md_row(cells) + "|---|";
  for (std::size_t i = 1; i < cells.size(); ++i) out += "---:|";
  return out + "\n";
}

std::string label_at(const ReportInput& in, std::size_t i) {
  if (i < in.labels.size()) return in.labels[i];
  if (i < in.pooled.per_class.size()) return in.pooled.per_class[i].label;
  return std::to_string(i);
}

}  // namespace

std::string ci_note(const nlohmann::json& ci) {
  if (!ci.is_object()) return "";
  const std::string unit = ci.value("unit", "item");
  return "CI: " + std::to_string(ci.value("resamples", 0)) + " bootstrap resamples of the " +
         std::to_string(ci.value("n_units", 0)) + " " + (unit == "speaker" ? "test speakers" : "test items") +
         " (percentile, seed " + std::to_string(ci.value("seed", 0ull)) + ").";
}

namespace {

bool has_summary(const ReportInput& in) { return in.summary.is_object() && !in.summary.empty(); }

std::string mean_std(const nlohmann::json& summary, const char* key) {
  const auto it = summary.find(key);
  if (it == summary.end()) return kMissing;
  const std::string mean = fmt_json(*it, "mean", "%.4f");
  if (mean == kMissing) return kMissing;
  return mean + " ± " + fmt_json(*it, "std", "%.4f");
}

// Column names of analysis["groups"] in display order.
std::vector<std::string> group_columns(const nlohmann::json& groups) {
  std::vector<std::string> out;
  if (!groups.is_object()) return out;
  for (const char* name : kGroupOrder) {
    if (groups.contains(name)) out.emplace_back(name);
  }
  for (const auto& item : groups.items()) {
    if (std::find(out.begin(), out.end(), item.key()) == out.end()) out.push_back(item.key());
  }
  return out;
}

// Width in terminal columns, counting UTF-8 code points (labels and "±" are not ASCII).
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Aligned plain-text table: first column left-aligned, the others right-aligned.
std::string text_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], display_width(r[c]));
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line = " ";
    for (std::size_t c = 0; c < r.size(); ++c) {
      const std::string pad(width[c] - display_width(r[c]), ' ');
      line += " " + (c == 0 ? r[c] + pad : " " + pad + r[c]);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::string cell_count(int count, long long row_sum) {
  if (row_sum <= 0) return std::to_string(count);
  return std::to_string(count) + " (" + fmt("%.0f", 100.0 * count / static_cast<double>(row_sum)) + "%)";
}

}  // namespace

std::string setup_line(const nlohmann::json& header) {
  if (!header.is_object()) return "";
  std::vector<std::string> parts;
  if (header.contains("feature_set")) parts.push_back("features " + header["feature_set"].get<std::string>());
  const std::string normalize = header.value("normalize", "");
  if (normalize == "speaker") parts.push_back(kSpeakerNormalisedNote);
  else if (normalize == "global") parts.push_back("globally standardised");
  if (header.contains("architecture")) parts.push_back("model " + header["architecture"].get<std::string>());
  if (header.contains("protocol")) parts.push_back("protocol " + header["protocol"].get<std::string>());
  // Cross-corpus: which corpus trained, which tested, on which shared classes.
  if (header.contains("cross_corpus") && header["cross_corpus"].is_object()) {
    const auto& cc = header["cross_corpus"];
    std::string classes;
    for (const auto& c : cc.value("classes", nlohmann::json::array())) classes += (classes.empty() ? "" : " ") + c.get<std::string>();
    parts.push_back("trained on " + cc.value("train_dataset", std::string("?")) + ", tested on " +
                    cc.value("test_dataset", std::string("?")) + " (" + std::to_string(cc.value("test_items", 0)) +
                    " items of the shared classes " + classes + ")");
  }
  if (header.contains("classes") && header["classes"].is_object() && header["classes"].contains("kept")) {
    std::string classes;
    for (const auto& c : header["classes"]["kept"]) classes += (classes.empty() ? "" : " ") + c.get<std::string>();
    parts.push_back("classes " + classes);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string gates_markdown(const std::vector<GateResult>& gates) {
  if (gates.empty()) return "";
  const auto failed = std::count_if(gates.begin(), gates.end(), [](const GateResult& g) { return !g.passed; });
  std::string out = "## Gates\n\n";
  out += failed ? "**" + std::to_string(failed) + " of " + std::to_string(gates.size()) + " gates failed.**\n\n"
                : "All " + std::to_string(gates.size()) + " gates passed.\n\n";
  for (const auto& g : gates) {
    out += std::string("- ") + (g.passed ? "✅ " : "❌ ") + one_line(g.gate) + ": measured " + util::exact_double(g.value) + "\n";
  }
  return out + "\n";
}

std::string skipped_files_markdown(const std::vector<SkippedFile>& skipped) {
  if (skipped.empty()) return "";
  std::string out = "## Skipped files\n\n" + std::to_string(skipped.size()) +
                    " file(s) could not be used and are not in the numbers above:\n\n";
  out += md_header({"file", "reason"});
  for (const auto& f : skipped) out += md_row({md(f.path), md(f.reason)});
  return out + "\n";
}

std::string report_markdown(const ReportInput& in) {
  const Metrics& m = in.pooled;
  std::string out = "# " + one_line(in.title) + "\n\n";
  for (const auto& w : in.warnings) out += "> **Warning:** " + one_line(w) + "\n\n";
  if (!in.setup.empty()) out += "Setup: " + one_line(in.setup) + ".\n\n";
  if (!in.coverage.empty()) out += "Coverage: " + in.coverage + ".\n\n";

  // Headline.
  const bool folds = has_summary(in);
  const bool ci = in.ci.is_object();
  std::vector<std::string> head = {"metric"};
  if (folds) head.push_back("mean ± std over folds");
  head.push_back("pooled");
  if (ci) head.push_back("95 % CI (pooled)");
  out += md_header(head);
  for (const auto& h : kHeadlines) {
    std::vector<std::string> row = {h.name};
    if (folds) row.push_back(mean_std(in.summary, h.key));
    row.push_back(fmt("%.4f", m.*h.pooled));
    if (ci) row.push_back(interval_text(in.ci, h.key));
    out += md_row(row);
  }
  out += "\n" + std::to_string(m.n) + " labelled predictions.";
  if (ci) out += " " + ci_note(in.ci);
  out += "\n\n";

  out += gates_markdown(in.gates);
  out += skipped_files_markdown(in.skipped_files);

  // Hyper-parameters chosen by inner cross-validation on each fold's training part.
  if (in.selection.is_array() && !in.selection.empty()) {
    out += "## Model selection\n\nChosen per fold by inner cross-validation on its training part only (inner UAR).\n\n";
    out += md_header({"fold", "chosen", "inner UAR"});
    for (const auto& s : in.selection) {
      std::string chosen;
      for (auto it = s["chosen"].begin(); it != s["chosen"].end(); ++it) {
        chosen += (chosen.empty() ? "" : ", ") + it.key() + " = " + it.value().dump();
      }
      out += md_row({std::to_string(s.value("fold", 0)), md(chosen), fmt("%.4f", s.value("inner_uar", 0.0))});
    }
    out += "\n";
  }

  // Confusion matrix.
  if (!m.confusion.empty()) {
    out += "## Confusion matrix\n\nRows are the true class, columns the prediction; each cell holds the count and "
           "its share of the row.\n\n";
    std::vector<std::string> header{"true \\ pred"};
    for (std::size_t j = 0; j < m.confusion.size(); ++j) header.push_back(md(label_at(in, j)));
    out += md_header(header);
    for (std::size_t t = 0; t < m.confusion.size(); ++t) {
      long long sum = 0;
      for (int v : m.confusion[t]) sum += v;
      std::vector<std::string> row{md(label_at(in, t))};
      for (std::size_t p = 0; p < m.confusion[t].size(); ++p) {
        const std::string cell = cell_count(m.confusion[t][p], sum);
        row.push_back(p == t ? "**" + cell + "**" : cell);
      }
      out += md_row(row);
    }
    out += "\n";
  }

  // Per-class report and the worst classes.
  if (!m.per_class.empty()) {
    out += "## Per class\n\n" + md_header({"class", "precision", "recall", "f1-score", "support"});
    for (const auto& r : m.per_class) {
      out += md_row({md(r.label), fmt("%.3f", r.precision), fmt("%.3f", r.recall), fmt("%.3f", r.f1),
                     std::to_string(r.support)});
    }
    out += "\n";

    std::vector<std::size_t> present;
    for (std::size_t i = 0; i < m.per_class.size(); ++i) {
      if (m.per_class[i].support > 0) present.push_back(i);
    }
    std::stable_sort(present.begin(), present.end(),
                     [&](std::size_t a, std::size_t b) { return m.per_class[a].recall < m.per_class[b].recall; });
    if (present.size() > 3) present.resize(3);
    if (!present.empty()) {
      out += "## Worst classes\n\nLowest recall first.\n\n";
      for (std::size_t k = 0; k < present.size(); ++k) {
        const auto& r = m.per_class[present[k]];
        out += std::to_string(k + 1) + ". **" + md(r.label) + "**: recall " + fmt("%.3f", r.recall) + " (support " +
               std::to_string(r.support) + ")";
        // The class it is most often mistaken for.
        if (present[k] < m.confusion.size()) {
          const auto& row = m.confusion[present[k]];
          std::size_t worst = present[k];
          for (std::size_t p = 0; p < row.size(); ++p) {
            if (p != present[k] && row[p] > 0 && (worst == present[k] || row[p] > row[worst])) worst = p;
          }
          if (worst != present[k]) {
            out += ", most often taken for " + md(label_at(in, worst)) + " (" + std::to_string(row[worst]) + ")";
          }
        }
        out += "\n";
      }
      out += "\n";
    }
  }

  // Breakdowns and coverage from analysis_json().
  if (in.analysis.is_object()) {
    const auto groups = in.analysis.contains("groups") ? in.analysis["groups"] : nlohmann::json();
    const auto columns = group_columns(groups);
    if (!columns.empty()) out += "## Breakdowns\n\n";
    for (const auto& column : columns) {
      const auto& values = groups[column];
      if (!values.is_object()) continue;
      out += "### By " + md(column) + "\n\n" + md_header({md(column), "n", "accuracy", "UAR"});
      for (const auto& v : values.items()) {
        out += md_row({md(v.key()), fmt_json(v.value(), "n", "%.0f"), fmt_json(v.value(), "accuracy", "%.3f"),
                       fmt_json(v.value(), "balanced_accuracy", "%.3f")});
      }
      out += "\n";
    }
    const auto coverage = in.analysis.contains("coverage") ? in.analysis["coverage"] : nlohmann::json();
    if (coverage.is_array() && !coverage.empty()) {
      out += "## Accuracy against confidence\n\nOnly predictions whose top probability reaches the threshold are "
             "kept.\n\n" +
             md_header({"threshold", "coverage", "accuracy", "n"});
      for (const auto& p : coverage) {
        const std::string cov = fmt_json(p, "coverage", "%.3f");
        out += md_row({fmt_json(p, "threshold", "%.2f"),
                       cov == kMissing ? cov : fmt("%.1f%%", 100.0 * p["coverage"].get<double>()),
                       fmt_json(p, "accuracy", "%.3f"), fmt_json(p, "n", "%.0f")});
      }
      out += "\n";
    }
  }

  // Plots.
  if (!in.plots.empty()) {
    out += "## Plots\n\n";
    for (const auto& name : in.plots) {
      std::string target;
      for (char c : name) target += c == ' ' ? std::string("%20") : std::string(1, c);
      out += "- [" + md(name) + "](" + target + ")\n";
    }
    out += "\n";
  }
  return out;
}

std::string terminal_table(const ReportInput& in) {
  const Metrics& m = in.pooled;
  std::string out = one_line(in.title) + "\n";
  if (!in.setup.empty()) out += one_line(in.setup) + "\n";
  if (!in.coverage.empty()) out += "coverage: " + in.coverage + "\n";
  for (const auto& w : in.warnings) out += "warning: " + one_line(w) + "\n";
  out += "\n";

  const bool folds = has_summary(in);
  std::vector<std::vector<std::string>> headline;
  const bool ci = in.ci.is_object();
  std::vector<std::string> head = {""};
  if (folds) head.push_back("fold mean ± std");
  head.push_back("pooled");
  if (ci) head.push_back("95 % CI");
  headline.push_back(head);
  for (const auto& h : kHeadlines) {
    std::vector<std::string> row = {h.name};
    if (folds) row.push_back(mean_std(in.summary, h.key));
    row.push_back(fmt("%.4f", m.*h.pooled));
    if (ci) row.push_back(interval_text(in.ci, h.key));
    headline.push_back(row);
  }
  out += text_table(headline) + "  " + std::to_string(m.n) + " labelled predictions";
  if (ci) out += "; " + ci_note(in.ci);
  out += "\n\n";

  if (!m.per_class.empty()) {
    std::vector<std::vector<std::string>> rows{{"", "precision", "recall", "f1-score", "support"}};
    for (const auto& r : m.per_class) {
      rows.push_back({one_line(r.label), fmt("%.3f", r.precision), fmt("%.3f", r.recall), fmt("%.3f", r.f1),
                      std::to_string(r.support)});
    }
    out += text_table(rows) + "\n";
  }

  if (!m.confusion.empty()) {
    out += "confusion matrix (rows: true, columns: predicted)\n";
    std::vector<std::vector<std::string>> rows{{""}};
    for (std::size_t j = 0; j < m.confusion.size(); ++j) rows[0].push_back(one_line(label_at(in, j)));
    for (std::size_t t = 0; t < m.confusion.size(); ++t) {
      std::vector<std::string> row{one_line(label_at(in, t))};
      for (int v : m.confusion[t]) row.push_back(std::to_string(v));
      rows.push_back(row);
    }
    out += text_table(rows);
  }
  return out;
}

}  // namespace ser::eval
