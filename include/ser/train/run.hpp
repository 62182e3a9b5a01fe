#pragma once
// A whole experiment from one config: features (extracted or reused from the cache), folds of
// the configured protocol (leakage checks enforced), one model per fold, and the run directory:
//   <runs_dir>/<name>/config.json          the resolved config (re-runnable as it is)
//   <runs_dir>/<name>/fold-K/model.pt      best weights; model.json (feature set, labels, scaler);
//                                          scaler.json; history.csv; predictions.csv; metrics.json
//                                          (written last: its presence marks a finished fold);
//                                          checkpoint.pt while the fold is under way; with
//                                          augment.ops, augmented.csv (the copies it trained on)
//   <runs_dir>/<name>/metrics.json         per fold, mean/std over folds, pooled; confusion.csv,
//                                          predictions.csv, report.md and plots (eval::write_evaluation,
//                                          once every fold has finished)
//   <runs_dir>/<name>/final/               with `final_model`: one model trained on all items
//   <runs_dir>/<name>/run.lock             flock held by the run (and its fold processes) while
//                                          it runs; holds the holder's pid
//   <runs_dir>/<name>/repeat-R/            with train.repeats > 1: repeat R, a complete run as above
//                                          with its own seed; <name>/ then holds the aggregate over
//                                          repeats (eval/repeats.hpp)
// Re-running the same config resumes: finished folds are kept, an unfinished one continues
// from its checkpoint. A different config in the same run directory is refused, and so is a
// second run while one holds the lock. Where the directory lives (name, runs_dir) is not part of
// the comparison: a copied or moved run directory resumes from where it is.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "ser/config/config.hpp"

namespace ser::train {

struct RunOptions {
  int only_fold = 0;  // 1-based fold number to run alone (job arrays); 0 = all folds
  bool progress = true;
  bool fresh = false;        // discard what an earlier run left in the run directory
  bool final_model = false;  // also train one model on every item, for deployment
  bool aggregate = true;     // write metrics.json/confusion.csv once every fold is finished
  int jobs = 1;              // folds at once (needs run_folds_elsewhere)
  bool wait_for_lock = false;  // another run holds the run directory: wait for it (default: refuse)
  // A fold process of a run: the run lock's descriptor inherited from the parent, which holds
  // the lock for it (-1: take the lock as any run does).
  int inherited_lock_fd = -1;
  // Starts the given 1-based folds of the run in run_dir (a repeat's, with train.repeats), at most `jobs` at a time, and returns when all have ended
  // (the CLI runs one `ser train --fold K` process per fold, each inheriting lock_fd). Unset:
  // folds run here, in turn.
  std::function<void(const std::string& run_dir, const std::vector<int>& folds, int jobs, int lock_fd)> run_folds_elsewhere;
  // Polled after every epoch and between folds; false = checkpoint, stop and throw Interrupted.
  std::function<bool()> keep_going;
  // Called once the features are read and the run directory is claimed, before the first fold:
  // until then stopping at once loses nothing that a re-run would not redo.
  std::function<void()> before_folds;
  // Called with each run directory once it is claimed (the run's, then each repeat's), after
  // every check that may refuse the run: the CLI keeps <run>/train.log there.
  std::function<void(const std::string& run_dir)> on_run_directory;
};

struct RunSummary {
  std::string run_dir;
  nlohmann::json metrics;  // what metrics.json holds (over the finished folds)
  int folds_total = 0, folds_finished = 0, folds_trained = 0;  // trained: in this call (summed over repeats)
  int repeats_total = 0, repeats_finished = 0;                 // 0 without train.repeats > 1
  bool complete = false;   // every fold finished and metrics.json written
  std::string final_dir;   // set when a final model was trained
  double seconds = 0;
};

RunSummary run_experiment(const config::Config& cfg, const RunOptions& opt = {});

// How many folds the configured protocol makes of the corpus (indexed, or the store's items with
// features.from_store), without extracting anything: the size of a cluster job array.
int fold_count(const config::Config& cfg);

// The run directory a config writes to.
std::string run_directory(const config::Config& cfg);

}  // namespace ser::train
