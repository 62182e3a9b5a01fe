#pragma once
// Classification metrics with scikit-learn's semantics and names: accuracy (weighted accuracy,
// WA), balanced_accuracy (UAR, mean recall over classes present in the truth), macro-F1 and the
// per-class report, plus the confusion matrix (rows = true, columns = predicted).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ser::eval {

struct ClassReport {
  std::string label;
  double precision = 0, recall = 0, f1 = 0;
  int support = 0;
};

struct Metrics {
  double accuracy = 0;           // WA
  double balanced_accuracy = 0;  // UAR
  double macro_f1 = 0;
  std::vector<ClassReport> per_class;
  std::vector<std::vector<int>> confusion;  // [true][pred]
  int n = 0;
};

// truth/pred: class indices into `labels`. Classes absent from both truth and predictions are
// reported with support 0 and excluded from the macro averages (sklearn with labels=present).
Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& pred, const std::vector<std::string>& labels);

nlohmann::json to_json(const Metrics& m);
// "mean" and "std" (population, as numpy.std) of accuracy, balanced_accuracy and macro_f1.
nlohmann::json summarize_folds(const std::vector<Metrics>& folds);
// Confusion matrix as CSV: header "true\\pred,<labels...>", one row per true label.
std::string confusion_csv(const Metrics& m, const std::vector<std::string>& labels);

}  // namespace ser::eval
