#include "ser/eval/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "ser/util/csv.hpp"

namespace ser::eval {

namespace {

// Metrics over the rows picked by `keep` (only rows with known truth are ever considered).
template <typename Keep>
Metrics metrics_where(const PredictionTable& table, Keep keep) {
  std::vector<int> truth, pred;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& r = table.rows[i];
    if (r.truth < 0 || !keep(i)) continue;
    truth.push_back(r.truth);
    pred.push_back(r.pred);
  }
  return compute_metrics(truth, pred, table.labels);
}

// Distinct non-empty values of a metadata column over the labelled rows, sorted.
std::set<std::string> distinct_values(const PredictionTable& table, const std::vector<std::string>& values) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (table.rows[i].truth >= 0 && !values[i].empty()) out.insert(values[i]);
  }
  return out;
}

double top_probability(const PredictionRow& r) {
  if (r.probabilities.empty()) return 0.0;
  return *std::max_element(r.probabilities.begin(), r.probabilities.end());
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

std::vector<std::vector<double>> row_normalized(const std::vector<std::vector<int>>& confusion) {
  std::vector<std::vector<double>> out;
  out.reserve(confusion.size());
  for (const auto& row : confusion) {
    long long sum = 0;
    for (int v : row) sum += v;
    std::vector<double> r(row.size(), 0.0);
    if (sum > 0) {
      for (std::size_t j = 0; j < row.size(); ++j) r[j] = static_cast<double>(row[j]) / static_cast<double>(sum);
    }
    out.push_back(std::move(r));
  }
  return out;
}

Metrics table_metrics(const PredictionTable& table) {
  return metrics_where(table, [](std::size_t) { return true; });
}

// Rows with unknown truth are skipped as in table_metrics, so a value only unlabelled rows carry
// gets no entry.
std::vector<GroupMetrics> breakdown(const PredictionTable& table, const std::string& column) {
  const auto values = table.column(column);
  std::vector<GroupMetrics> out;
  if (values.empty()) return out;
  for (const auto& value : distinct_values(table, values)) {
    out.push_back({value, metrics_where(table, [&](std::size_t i) { return values[i] == value; })});
  }
  return out;
}

std::vector<std::string> breakdown_columns(const PredictionTable& table) {
  std::vector<std::string> out;
  for (const char* name : {"speaker", "gender", "statement", "text", "intensity"}) {
    const auto values = table.column(name);
    if (!values.empty() && distinct_values(table, values).size() >= 2) out.emplace_back(name);
  }
  return out;
}

std::vector<CoveragePoint> coverage_curve(const PredictionTable& table) {
  std::vector<double> thresholds;
  for (int i = 0; i <= 9; ++i) thresholds.push_back(i / 10.0);  // i / 10.0 is the nearest double to 0.i
  thresholds.push_back(0.95);
  thresholds.push_back(0.99);

  int labelled = 0;
  for (const auto& r : table.rows) labelled += r.truth >= 0;
  std::vector<CoveragePoint> out;
  for (double t : thresholds) {
    int kept = 0, correct = 0;
    for (const auto& r : table.rows) {
      if (r.truth < 0 || top_probability(r) < t) continue;
      ++kept;
      correct += r.truth == r.pred;
    }
    CoveragePoint p;
    p.threshold = t;
    p.n = kept;
    p.coverage = labelled ? static_cast<double>(kept) / labelled : 0.0;
    p.accuracy = kept ? static_cast<double>(correct) / kept : std::numeric_limits<double>::quiet_NaN();
    out.push_back(p);
  }
  return out;
}

nlohmann::json analysis_json(const PredictionTable& table) {
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& column : breakdown_columns(table)) {
    nlohmann::json per_value = nlohmann::json::object();
    for (const auto& g : breakdown(table, column)) {
      per_value[g.value] = {{"accuracy", g.metrics.accuracy},
                            {"balanced_accuracy", g.metrics.balanced_accuracy},
                            {"macro_f1", g.metrics.macro_f1},
                            {"n", g.metrics.n}};
    }
    groups[column] = std::move(per_value);
  }
  nlohmann::json coverage = nlohmann::json::array();
  for (const auto& p : coverage_curve(table)) {
    coverage.push_back({{"threshold", p.threshold},
                        {"coverage", p.coverage},
                        {"accuracy", number_or_null(p.accuracy)},
                        {"n", p.n}});
  }
  return {{"groups", std::move(groups)}, {"coverage", std::move(coverage)}};
}

std::string normalized_confusion_csv(const Metrics& m, const std::vector<std::string>& labels) {
  std::vector<std::string> header{"true/pred"};
  header.insert(header.end(), labels.begin(), labels.end());
  std::string out = util::csv_line(header);
  const auto norm = row_normalized(m.confusion);
  for (std::size_t t = 0; t < labels.size() && t < norm.size(); ++t) {
    std::vector<std::string> row{labels[t]};
    for (double v : norm[t]) row.push_back(util::format_double("%.4f", v));
    out += util::csv_line(row);
  }
  return out;
}

}  // namespace ser::eval
