#pragma once
// A whole experiment from one config: features (extracted or reused from the cache), folds of
// the configured protocol (leakage checks enforced), one model per fold, and the run directory:
//   <runs_dir>/<name>/config.json          resolved config + toolkit version
//   <runs_dir>/<name>/fold-K/model.pt      best weights; model.json (feature set, labels, scaler);
//                                          scaler.json; history.csv; predictions.csv; metrics.json
//   <runs_dir>/<name>/metrics.json         per fold, mean/std over folds, pooled; confusion.csv
#include <nlohmann/json.hpp>

#include <string>

#include "ser/config/config.hpp"

namespace ser::train {

struct RunOptions {
  int only_fold = 0;  // 1-based fold number to run alone (job arrays); 0 = all folds
  bool progress = true;
};

struct RunSummary {
  std::string run_dir;
  nlohmann::json metrics;  // what metrics.json holds
  double seconds = 0;
};

RunSummary run_experiment(const config::Config& cfg, const RunOptions& opt = {});

}  // namespace ser::train
