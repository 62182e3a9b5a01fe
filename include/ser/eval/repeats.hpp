#pragma once
// The aggregate of a run with train.repeats > 1: <run>/repeat-R/ are complete runs of the same
// protocol with their own seeds; <run>/metrics.json, predictions.csv and report.md sum them up.
#include <nlohmann/json.hpp>

#include "ser/eval/evaluate.hpp"
#include "ser/eval/gates.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ser::eval {

struct RepeatRun {
  int repeat = 0;             // 1-based
  std::uint64_t seed = 0;     // the train.seed it ran with
  std::string dir;            // a finished run directory (metrics.json and predictions.csv)
};

// metrics.json: "format_version", "kind": "repeats", the header keys, "labels", the top-level
// metrics over every repeat's predictions ("accuracy", "balanced_accuracy", "macro_f1", "n",
// "per_class", "confusion_matrix" with counts summed over repeats), "repeats" (each repeat's fold
// summary, pooled metrics, CI and validation score), "over_repeats" (mean, population std and
// values over repeats of the fold means and of the pooled metrics), "summary" (= over_repeats
// fold means: what gates read), "pooled" (mean over repeats of the pooled metrics), "ci"
// (bootstrap over the test units, the same units in every repeat), "validation", "coverage",
// "warnings", "gates". Each repeat's own aggregate is first rebuilt from its folds' files (in
// repeat-R/, or <out>/repeat-R/ when `out` is another folder). Writes metrics.json,
// predictions.csv (a leading "repeat" column), confusion.csv, confusion_normalized.csv,
// confusion.svg and report.md to `out` (default: the run). Throws ser::Error (input) naming the
// file when a repeat is unfinished or its files are missing or disagree.
struct RepeatsEvaluation {
  nlohmann::json metrics;
  std::vector<GateResult> gates;
  bool passed = true;
};
RepeatsEvaluation write_repeats_evaluation(const std::string& run_dir, const std::vector<RepeatRun>& repeats,
                                           const nlohmann::json& header, std::uint64_t bootstrap_seed,
                                           const GateOptions& gates = {}, const std::string& out = "");

// A run directory of repeats (repeat-R/ folders, no fold-K/ of its own), read back: every
// finished repeat (every fold of its plan has metrics.json), its seed from repeat-R/config.json, the header keys
// of the first and how many repeats the run has. Empty `finished` when it is not such a run.
struct RepeatsOnDisk {
  std::vector<RepeatRun> finished;
  int total = 0;
  nlohmann::json header;
  std::vector<std::string> labels;  // of the first finished repeat
  std::uint64_t seed = 0;  // the run's train.seed (bootstrap seed)
};
RepeatsOnDisk read_repeats(const std::string& run_dir);

// report.md of such a run, from its metrics.json.
std::string repeats_report_markdown(const nlohmann::json& metrics, const std::string& title,
                                    const std::vector<GateResult>& gates = {});

}  // namespace ser::eval
