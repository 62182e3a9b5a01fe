#pragma once
// Human-facing summaries of an evaluation: report.md (reads well as a CI job summary) and a
// terminal table.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ser/eval/gates.hpp"
#include "ser/eval/metrics.hpp"

namespace ser::eval {

// A corpus file an evaluation could not use (unreadable, not audio, over the length limit...).
struct SkippedFile {
  std::string path, reason;
};

struct ReportInput {
  std::string title;                  // e.g. "runs/ravdess" or "model runs/x/final on emodb"
  Metrics pooled;                     // over every prediction
  std::vector<std::string> labels;
  nlohmann::json summary;             // per-fold mean/std (summarize_folds), null without folds
  nlohmann::json analysis;            // analysis_json(), may be null
  std::vector<GateResult> gates;      // empty when no gate was asked for
  std::vector<std::string> plots;     // SVG file names beside report.md, linked at the end
  // How the numbers were made (features, normalisation, model); a speaker-normalised run says
  // that it used test speakers' unlabeled features.
  std::string setup;
  nlohmann::json selection;           // per fold: {"fold": K, "chosen": {...}, "inner_uar": x}; null: no search
  std::vector<std::string> warnings;  // shown first: what makes the numbers mean less than they seem
  std::string coverage;               // e.g. "2 of 3 folds"; empty without folds
  nlohmann::json ci;                  // bootstrap_json() of the pooled metrics; null: none
  std::vector<SkippedFile> skipped_files;
};

// One sentence on how the intervals in `ci` (eval/uncertainty.hpp bootstrap_json) were made.
std::string ci_note(const nlohmann::json& ci);

// The setup line of a run or model: "features functionals, speaker-normalised (uses test
// speakers' unlabeled features), model svm". Empty when nothing is known.
std::string setup_line(const nlohmann::json& header);
inline constexpr const char* kSpeakerNormalisedNote = "speaker-normalised (uses test speakers' unlabeled features)";

// Markdown: headline table (accuracy, UAR, macro-F1: mean ± std over folds when there are folds,
// and pooled), gates with pass/fail, the confusion matrix as a table (counts, with the row
// percentage), per-class precision/recall/F1/support, the 3 worst classes by recall, breakdowns
// and the coverage curve when present, links to the plots.
std::string report_markdown(const ReportInput& in);
// The "## Gates" section (each gate as given, with its measured value at full precision) and
// the "## Skipped files" section; each empty when there is nothing to say.
std::string gates_markdown(const std::vector<GateResult>& gates);
std::string skipped_files_markdown(const std::vector<SkippedFile>& skipped);
// Plain-text table for a terminal: headline numbers, per-class report, confusion matrix.
std::string terminal_table(const ReportInput& in);

}  // namespace ser::eval
