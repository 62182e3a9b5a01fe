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
  // false: the run records no fold total (plan.json), so folds_total counts its fold folders.
  bool folds_total_known = true;
  std::string missing_folds;  // e.g. "fold-2 has no metrics.json, fold-3 is missing"; empty: none
  // A run with unfinished or missing folds, or whose fold total is not recorded.
  bool partial() const { return folds_total > 0 && (folds_used < folds_total || !folds_total_known); }
  std::vector<SkippedFile> skipped_files;  // corpus files a model evaluation could not use
};

struct GateOptions {
  std::vector<Threshold> fail_under;
  std::string baseline_path;  // empty = no baseline gate
  double max_drop = 0.02;
  // A run with unfinished or missing folds fails any gate asked for, unless this is set.
  bool allow_partial = false;
  // A model scored on items it trained on, or whose training items are unknown (header
  // "training_overlap"), fails any gate asked for, unless this is set.
  bool allow_training_overlap = false;
  // A gate was asked for at all (so that the checks above apply).
  bool any() const { return !fail_under.empty() || !baseline_path.empty(); }
};

// metrics.json's schema version (README "metrics.json"): the same top-level keys for a run, a
// run of repeats and a model evaluated on a corpus.
inline constexpr int kMetricsFormatVersion = 1;

struct EvaluationOutput {
  nlohmann::json metrics;  // what metrics.json holds
  std::vector<GateResult> gates;
  bool passed = true;      // every gate passed
  ReportInput report;      // for a terminal table
};

// metrics.json holds "format_version", "kind" ("run" or "model"), the header keys, "labels",
// the pooled metrics at the top level ("accuracy", "balanced_accuracy", "macro_f1", "n",
// "per_class", "confusion_matrix"), for folds also "folds", "summary" (mean/std over folds),
// "pooled" (the same as the top level) and "coverage" ({folds_used, folds_total, complete});
// "ci" (eval/uncertainty.hpp bootstrap_json of the pooled metrics), "validation" (mean over
// folds of the score that chose each fold's model, when there is one); then "analysis",
// "warnings", "skipped_files" with "skipped_files_count", and "gates". With gates asked for, a
// run missing folds adds a failing "fold coverage" gate unless gates.allow_partial, and a model
// evaluation whose items overlap its training items (or whose training items are unknown) a
// failing "training overlap" gate unless gates.allow_training_overlap.
EvaluationOutput write_evaluation(const EvaluationInput& in, const GateOptions& gates, const std::string& out_dir);

// The warning a run split by items (random_kfold, holdout by fraction) gets when its corpus names
// 2 or more speakers: they are in training and test alike, so its numbers are speaker-dependent.
// Empty otherwise.
std::string shared_speakers_warning(const std::string& protocol, bool holdout_by_speakers, const PredictionTable& predictions);

// A run directory read back from its files: every finished fold's predictions.csv, metrics.json
// and history (selection/history.csv for refit folds, whose own history has no validation).
// Throws ser::Error (input) naming the run or file when there is nothing to evaluate or a fold's
// files disagree on the labels. folds_total counts folds whose folder was deleted too
// (model::run_fold_count); the missing ones are named in `warnings`.
EvaluationInput read_run(const std::string& run_dir);

}  // namespace ser::eval
