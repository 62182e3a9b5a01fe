// `ser train`: features, folds, one model per fold and the run directory, from one config.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>

#include "cli/commands.hpp"
#include "cli/fold_processes.hpp"
#include "ser/config/config.hpp"
#include "ser/error.hpp"
#include "ser/eval/report.hpp"
#include "ser/train/run.hpp"

namespace ser::cli {

namespace {

struct TrainArgs {
  std::string config_path, device;
  std::vector<std::string> overrides;
  int fold = 0, threads = -1, jobs = 0;
  bool no_progress = false, fresh = false, final_model = false, fold_worker = false;
};

std::atomic<bool> g_stop_requested{false};
extern "C" void on_interrupt(int) { g_stop_requested = true; }

void print_summary(const train::RunSummary& s, const config::Config& cfg) {
  std::printf("run %s: %d of %d fold(s) finished (%d trained now) in %.1f s\n", s.run_dir.c_str(), s.folds_finished,
              s.folds_total, s.folds_trained, s.seconds);
  std::printf("  %s on %s, %s, %s\n", cfg.train.model.architecture.c_str(), cfg.features.set.c_str(),
              cfg.features.normalize == "speaker" ? eval::kSpeakerNormalisedNote : "globally standardised",
              cfg.protocol.name.c_str());
  if (s.metrics.is_null()) return;
  const auto& sum = s.metrics["summary"];
  auto line = [&](const char* name, const char* key) {
    std::printf("  %-14s %.4f +- %.4f\n", name, sum[key]["mean"].get<double>(), sum[key]["std"].get<double>());
  };
  line("accuracy (WA)", "accuracy");
  line("UAR", "balanced_accuracy");
  line("macro-F1", "macro_f1");
  std::printf("  pooled         WA %.4f, UAR %.4f\n", s.metrics["pooled"]["accuracy"].get<double>(),
              s.metrics["pooled"]["balanced_accuracy"].get<double>());
  if (!s.complete) std::printf("  (metrics.json is written once every fold has finished)\n");
  if (!s.final_dir.empty()) std::printf("final model: %s\n", s.final_dir.c_str());
}

int run_train(const TrainArgs& a) {
  nlohmann::json doc = config_document(a.config_path).doc;  // file-level errors name the file and key first
  if (!a.device.empty()) doc["train"]["device"] = a.device;
  if (a.threads >= 0) doc["train"]["threads"] = a.threads;
  for (const auto& o : a.overrides) config::apply_override(doc, o);
  const config::Config cfg = config::parse_config(doc, a.config_path);
  config::validate(cfg, a.config_path);
  if (a.jobs < 0) fail_config("--jobs", "must be >= 0 (0 = one fold per core)");

  // Ctrl-C: the fold in progress writes a checkpoint after its epoch and the run stops (exit 130).
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);

  train::RunOptions opt;
  opt.only_fold = a.fold;
  opt.progress = !a.no_progress;
  opt.fresh = a.fresh;
  opt.final_model = a.final_model;
  opt.aggregate = !a.fold_worker;
  // Folds in parallel, one thread each, use a CPU better than one fold on every thread.
  opt.jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opt.keep_going = [] { return !g_stop_requested.load(); };
  opt.run_folds_elsewhere = [&](const std::vector<int>& folds, int jobs) {
    // Each fold process gets an equal share of the threads, reads the features this process
    // just wrote, and works on the run directory this process has claimed.
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const int total = cfg.train.threads > 0 ? cfg.train.threads : static_cast<int>(hw);
    const int per_fold = std::max(1, total / std::min<int>(jobs, static_cast<int>(folds.size())));
    // The stored config decides results; settings that do not (device, threads, checkpoints)
    // come from this invocation.
    std::vector<std::string> args = {"train", "--config", train::run_directory(cfg) + "/config.json",
                                     "--threads", std::to_string(per_fold), "--device", cfg.train.device,
                                     "--set", "train.checkpoint_every=" + std::to_string(cfg.train.checkpoint_every),
                                     "--set", "features.from_store=true", "--no-progress", "--fold-worker"};
    if (spdlog::get_level() <= spdlog::level::debug) args.insert(args.begin(), "--verbose");
    if (spdlog::get_level() >= spdlog::level::warn) args.insert(args.begin(), "--quiet");
    const auto failed = run_fold_processes(args, folds, jobs);
    if (g_stop_requested) {
      throw Error(ErrorKind::Interrupted, "train", "stopped; run the same command again to resume");
    }
    if (!failed.empty()) fail_runtime("fold " + std::to_string(failed.front()), "its process failed (see above)");
  };
  const train::RunSummary s = train::run_experiment(cfg, opt);
  if (!a.fold_worker) print_summary(s, cfg);
  return 0;
}

}  // namespace

void register_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* sub = app.add_subcommand("train", "Train and evaluate a model under a protocol (k-fold, speaker folds, holdout)");
  sub->add_option("-c,--config", a->config_path, "JSON config")->required();
  sub->add_option("--set", a->overrides, "Override a config key: key=value (repeatable)");
  sub->add_option("--fold", a->fold, "Run only fold K (1-based), e.g. one job of a cluster array");
  sub->add_option("-j,--jobs", a->jobs, "Folds trained at once, each in its own process; threads are shared out (default 0: one per core)");
  sub->add_flag("--fresh", a->fresh, "Discard folds, checkpoints and metrics an earlier run left in the run directory");
  sub->add_flag("--final", a->final_model, "Also train one model on all items (for deployment) into <run>/final");
  sub->add_option("--device", a->device, "auto | cpu | cuda (overrides train.device)");
  sub->add_option("--threads", a->threads, "Intra-op threads for training (overrides train.threads)");
  sub->add_flag("--no-progress", a->no_progress, "No progress bar during feature extraction");
  sub->add_flag("--fold-worker", a->fold_worker, "Internal: a fold process started by --jobs")->group("");
  add_runner("train", [a]() { return run_train(*a); });
}

}  // namespace ser::cli
