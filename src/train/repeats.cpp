#include "repeats.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "run_files.hpp"
#include "run_lock.hpp"
#include "ser/error.hpp"
#include "ser/eval/repeats.hpp"
#include "ser/eval/uncertainty.hpp"
#include "ser/util/files.hpp"

namespace ser::train::detail {

namespace fs = std::filesystem;

config::Config repeat_config(const config::Config& cfg, int repeat) {
  config::Config sub = cfg;
  sub.train.seed = derive_repeat_seed(cfg.train.seed, repeat);
  sub.protocol.seed = sub.train.seed;  // random protocols reshuffle with it
  sub.train.repeats = 1;
  sub.runs_dir = run_directory(cfg);
  sub.name = "repeat-" + std::to_string(repeat);
  return sub;
}

namespace {

// More repeats than a run already has extend it (repeats 1..N stay the same runs); the
// aggregate over the old number is removed until the new one is written. Fewer are refused as
// any other difference is (claim_run_directory).
void extend_repeats(const std::string& top, const config::Config& cfg) {
  const std::string path = top + "/config.json";
  if (!fs::exists(path)) return;
  nlohmann::json stored;
  try {
    stored = util::read_json(path);
  } catch (const Error&) {
    return;  // claim_run_directory says what is wrong with it
  }
  if (!stored.is_object() || !stored.contains("train") || !stored["train"].is_object()) return;
  const int had = stored["train"].value("repeats", 1);
  if (had >= cfg.train.repeats) return;
  nlohmann::json trial = stored;
  trial["train"]["repeats"] = cfg.train.repeats;
  nlohmann::json with_defaults = config::to_json(config::Config{});
  with_defaults.merge_patch(trial);
  if (!config_difference(with_defaults, config::to_json(cfg)).empty()) return;
  spdlog::info("{}: extending the run from {} to {} repeats", top, had, cfg.train.repeats);
  for (const char* f : {"metrics.json", "report.md", "predictions.csv"}) fs::remove(top + "/" + f);
  util::write_text_atomic(path, trial.dump(2) + "\n");
}

}  // namespace

RunSummary run_repeats(const config::Config& cfg, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  config::validate_training(cfg, "config");
  require_corpus(cfg);
  const std::string top = run_directory(cfg);
  // `--fold K` (a job array's task) shares the run with the other folds' tasks, as in run_experiment.
  const RunLock lock(top, opt.wait_for_lock, opt.inherited_lock_fd, opt.keep_going, opt.only_fold > 0);
  if (!opt.fresh) extend_repeats(top, cfg);
  claim_run_directory(top, config::to_json(cfg), opt.fresh);
  if (opt.on_run_directory) opt.on_run_directory(top);

  RunSummary summary;
  summary.run_dir = top;
  summary.repeats_total = cfg.train.repeats;
  for (int r = 1; r <= cfg.train.repeats; ++r) {
    if (opt.keep_going && !opt.keep_going()) {
      throw Error(ErrorKind::Interrupted, "train", "stopped; run the same command again to resume");
    }
    const config::Config sub = repeat_config(cfg, r);
    spdlog::info("repeat {}/{} (seed {})", r, cfg.train.repeats, sub.train.seed);
    RunOptions sub_opt = opt;
    sub_opt.fresh = false;  // the top-level --fresh already removed every repeat
    sub_opt.inherited_lock_fd = -1;
    sub_opt.final_model = opt.final_model && r == 1;  // one deployable model, from the first repeat
    const RunSummary s = run_experiment(sub, sub_opt);
    summary.folds_total += s.folds_total;
    summary.folds_finished += s.folds_finished;
    summary.folds_trained += s.folds_trained;
    if (!s.final_dir.empty()) summary.final_dir = s.final_dir;
  }
  // What has finished is read back from the files, as `ser evaluate --run` reads it.
  const eval::RepeatsOnDisk on_disk = eval::read_repeats(top);
  summary.repeats_finished = static_cast<int>(on_disk.finished.size());
  summary.complete = summary.repeats_finished == cfg.train.repeats;
  if (summary.complete && opt.aggregate) {
    summary.metrics = eval::write_repeats_evaluation(top, on_disk.finished, on_disk.header, cfg.train.seed).metrics;
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace ser::train::detail
