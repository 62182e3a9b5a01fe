#pragma once
// Analyses on top of the metrics: row-normalised confusion, per-group breakdowns (speaker,
// gender, statement/text, intensity) and accuracy against a confidence threshold.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ser/eval/metrics.hpp"
#include "ser/eval/predictions.hpp"

namespace ser::eval {

// Each row divided by its sum; a row with no items stays all zeros (not NaN).
std::vector<std::vector<double>> row_normalized(const std::vector<std::vector<int>>& confusion);

// Metrics over the rows of a table whose truth is known (rows with truth -1 are skipped).
Metrics table_metrics(const PredictionTable& table);

struct GroupMetrics {
  std::string value;  // e.g. speaker "03"
  Metrics metrics;
};
// One entry per distinct value of `column` (sorted by value; rows with an empty value skipped).
// Empty when the table has no such column.
std::vector<GroupMetrics> breakdown(const PredictionTable& table, const std::string& column);
// The metadata columns worth a breakdown, in this order, when present with at least 2 distinct
// values: speaker, gender, statement, text, intensity.
std::vector<std::string> breakdown_columns(const PredictionTable& table);

struct CoveragePoint {
  double threshold;  // keep predictions whose top probability >= threshold
  double coverage;   // fraction of labelled rows kept
  double accuracy;   // accuracy on the kept rows; NaN when none kept
  int n;             // rows kept
};
// Thresholds 0.0, 0.1, ..., 0.9 plus 0.95 and 0.99, over rows with known truth.
std::vector<CoveragePoint> coverage_curve(const PredictionTable& table);

// {"groups": {"speaker": {"03": {accuracy, balanced_accuracy, macro_f1, n}, ...}, ...},
//  "coverage": [{threshold, coverage, accuracy, n}, ...]} (NaN accuracy written as null).
nlohmann::json analysis_json(const PredictionTable& table);

// CSV of a row-normalised confusion matrix, header "true/pred,<labels...>", 4 decimals.
std::string normalized_confusion_csv(const Metrics& m, const std::vector<std::string>& labels);

}  // namespace ser::eval
