#include "ser/eval/metrics.hpp"

#include <cmath>

#include "ser/error.hpp"
#include "ser/util/csv.hpp"

namespace ser::eval {

Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& pred, const std::vector<std::string>& labels) {
  if (truth.size() != pred.size()) fail_runtime("metrics", "truth and predictions differ in length");
  const auto k = static_cast<int>(labels.size());
  Metrics m;
  m.n = static_cast<int>(truth.size());
  m.confusion.assign(labels.size(), std::vector<int>(labels.size(), 0));
  int correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || truth[i] >= k || pred[i] < 0 || pred[i] >= k) fail_runtime("metrics", "class index out of range");
    ++m.confusion[static_cast<std::size_t>(truth[i])][static_cast<std::size_t>(pred[i])];
    correct += truth[i] == pred[i];
  }
  m.accuracy = m.n ? static_cast<double>(correct) / m.n : 0.0;
  double recall_sum = 0, f1_sum = 0;
  int present_true = 0, present_any = 0;
  for (int c = 0; c < k; ++c) {
    ClassReport r;
    r.label = labels[static_cast<std::size_t>(c)];
    int predicted = 0;
    for (int t = 0; t < k; ++t) predicted += m.confusion[static_cast<std::size_t>(t)][static_cast<std::size_t>(c)];
    for (int p = 0; p < k; ++p) r.support += m.confusion[static_cast<std::size_t>(c)][static_cast<std::size_t>(p)];
    const int tp = m.confusion[static_cast<std::size_t>(c)][static_cast<std::size_t>(c)];
    // sklearn's zero_division=0: undefined ratios count as 0.
    r.precision = predicted ? static_cast<double>(tp) / predicted : 0.0;
    r.recall = r.support ? static_cast<double>(tp) / r.support : 0.0;
    r.f1 = (r.precision + r.recall) > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
    if (r.support > 0) {
      recall_sum += r.recall;
      ++present_true;
    }
    if (r.support > 0 || predicted > 0) {
      f1_sum += r.f1;
      ++present_any;
    }
    m.per_class.push_back(r);
  }
  m.balanced_accuracy = present_true ? recall_sum / present_true : 0.0;
  m.macro_f1 = present_any ? f1_sum / present_any : 0.0;
  return m;
}

nlohmann::json to_json(const Metrics& m) {
  nlohmann::json per_class = nlohmann::json::object();
  for (const auto& r : m.per_class) {
    per_class[r.label] = {{"precision", r.precision}, {"recall", r.recall}, {"f1-score", r.f1}, {"support", r.support}};
  }
  return {{"accuracy", m.accuracy},
          {"balanced_accuracy", m.balanced_accuracy},
          {"macro_f1", m.macro_f1},
          {"n", m.n},
          {"per_class", per_class},
          {"confusion_matrix", m.confusion}};
}

nlohmann::json summarize_folds(const std::vector<Metrics>& folds) {
  nlohmann::json out;
  for (const char* name : {"accuracy", "balanced_accuracy", "macro_f1"}) {
    std::vector<double> v;
    for (const auto& f : folds) {
      v.push_back(std::string(name) == "accuracy" ? f.accuracy
                  : std::string(name) == "balanced_accuracy" ? f.balanced_accuracy
                                                              : f.macro_f1);
    }
    double mean = 0;
    for (double x : v) mean += x;
    mean = v.empty() ? 0.0 : mean / static_cast<double>(v.size());
    double var = 0;
    for (double x : v) var += (x - mean) * (x - mean);
    var = v.empty() ? 0.0 : var / static_cast<double>(v.size());
    out[name] = {{"mean", mean}, {"std", std::sqrt(var)}};
  }
  return out;
}

std::string confusion_csv(const Metrics& m, const std::vector<std::string>& labels) {
  std::vector<std::string> header{"true/pred"};
  header.insert(header.end(), labels.begin(), labels.end());
  std::string out = util::csv_line(header);
  for (std::size_t t = 0; t < labels.size(); ++t) {
    std::vector<std::string> row{labels[t]};
    for (int v : m.confusion[t]) row.push_back(std::to_string(v));
    out += util::csv_line(row);
  }
  return out;
}

}  // namespace ser::eval
