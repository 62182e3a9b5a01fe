#pragma once
// `ser compare`: finished runs (or evaluation folders) side by side with bootstrap intervals,
// and every pair tested on the same items: the paired bootstrap interval of each difference,
// the exact McNemar test on per-item correctness, a paired permutation test on UAR, and Holm's
// correction of each test's p-values across the pairs.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ser/eval/uncertainty.hpp"

namespace ser::eval {

struct ComparedRun {
  std::string name;  // as given on the command line
  std::vector<std::string> labels;
  ScoredTable table;
  nlohmann::json metrics;  // its metrics.json (protocol, setup, fold summary)
};

// <dir>/predictions.csv and <dir>/metrics.json of a finished run (every fold, every repeat) or
// of `ser evaluate --out`. Throws ser::Error (input) naming the folder or file.
ComparedRun load_compared_run(const std::string& dir);

struct CompareOptions {
  int resamples = kBootstrapResamples;
  int permutations = 10000;
  // The resampling seed; unset: each run's intervals use the seed its own metrics.json's `ci`
  // was made with (so `compare` repeats the interval the run reports), and the paired tests the
  // first run's (0 when it records none).
  std::optional<std::uint64_t> seed;
};

// {"runs": [...], "pairs": [...], "settings": {...}}. Throws ser::Error (usage) when two runs
// differ in their items, true labels, label set, resampling unit or number of repeats.
nlohmann::json compare_runs(const std::vector<ComparedRun>& runs, const CompareOptions& opt);

std::string compare_markdown(const nlohmann::json& result);
std::string compare_csv(const nlohmann::json& result);  // one row per pair

}  // namespace ser::eval
