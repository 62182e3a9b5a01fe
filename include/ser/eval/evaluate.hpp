#pragma once
// One evaluation, written out: metrics.json, confusion.csv (counts), confusion_normalized.csv,
// predictions.csv, report.md and the SVG plots, each file written atomically. Used for a run's
// aggregate (by `ser train` and `ser evaluate --run`) and for a model evaluated on a corpus.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ser/eval/gates.hpp"
#include "ser/eval/metrics.hpp"
#include "ser/eval/plots.hpp"
#include "ser/eval/predictions.hpp"
#include "ser/eval/report.hpp"

namespace ser::eval {

struct EvaluationInput {
  std::string title;
  PredictionTable predictions;       // every prediction; a "fold" metadata column when there are folds
  std::vector<Metrics> per_fold;     // empty for a single evaluation
  nlohmann::json fold_metrics;       // array of the folds' metrics.json documents (null: none)
  nlohmann::json header;             // keys placed first in metrics.json (protocol, model, dataset...)
  std::vector<FoldCurve> curves;     // per-epoch histories; empty = no training-curves plot
  std::string curve_metric = "validation UAR";
  // Said at the top of report.md and on the terminal: partial coverage, items the model trained
  // on, items skipped by the label map, out-of-range inputs.
  std::vector<std::string> warnings;
  int folds_used = 0, folds_total = 0;  // a run's finished folds of all its folds; 0 = no folds
  // Bootstrap intervals resample "speaker"s or "item"s; "" = speakers when the protocol's test
  // folds are speakers, or, with no protocol, when every labelled row names its speaker.
  std::string resample_unit;
  std::uint64_t bootstrap_seed = 0;
};

struct GateOptions {
  std::vector<Threshold> fail_under;
  std::string baseline_path;  // empty = no baseline gate
  double max_drop = 0.02;
  // A run with unfinished or missing folds fails any gate asked for, unless this is set.
  bool allow_partial = false;
};

struct EvaluationOutput {
  nlohmann::json metrics;  // what metrics.json holds
  std::vector<GateResult> gates;
  bool passed = true;      // every gate passed
  ReportInput report;      // for a terminal table
};

// metrics.json holds the header keys, "labels", and for folds "folds", "summary" (mean/std),
// "pooled" and "coverage" ({folds_used, folds_total}), else the pooled metrics at the top level;
// "ci" (eval/uncertainty.hpp bootstrap_json of the pooled metrics), "validation" (mean over
// folds of the score that chose each fold's model, when there is one); then "analysis",
// "warnings" and "gates". With gates asked for, a run missing folds adds a
// failing "fold coverage" gate unless gates.allow_partial.
EvaluationOutput write_evaluation(const EvaluationInput& in, const GateOptions& gates, const std::string& out_dir);

// A run directory read back from its files: every finished fold's predictions.csv, metrics.json
// and history (selection/history.csv for refit folds, whose own history has no validation).
// Throws ser::Error (input) naming the run or file when there is nothing to evaluate or a fold's
// files disagree on the labels. folds_total counts folds whose folder was deleted too
// (model::run_fold_count); the missing ones are named in `warnings`.
EvaluationInput read_run(const std::string& run_dir);

}  // namespace ser::eval
