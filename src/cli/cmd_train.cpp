// `ser train`: features, folds, one model per fold and the run directory, from one config.
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <utility>

#include "cli/commands.hpp"
#include "cli/fold_processes.hpp"
#include "ser/config/config.hpp"
#include "ser/error.hpp"
#include "ser/eval/report.hpp"
#include "ser/eval/uncertainty.hpp"
#include "ser/train/run.hpp"
#include "ser/train/trainer.hpp"

namespace ser::cli {

namespace {

struct TrainArgs {
  std::string config_path, device;
  std::vector<std::string> overrides;
  int fold = 0, threads = -1, jobs = 0, repeats = 0;
  bool list_folds = false, no_progress = false, fresh = false, final_model = false, fold_worker = false, wait = false,
       allow_duplicates = false;
};

namespace fs = std::filesystem;

// `--config D/config.json` of a run directory D means that run, wherever it now lives: a copied or
// moved directory still names the place it was started in.
void locate_run(nlohmann::json& doc, const std::string& config_path, bool quiet) {
  fs::path file(config_path);
  if (file.filename() != "config.json") return;
  fs::path dir = file.parent_path();
  if (dir.empty() || !dir.has_filename() || dir.filename() == "." || dir.filename() == "..") {
    dir = fs::absolute(dir.empty() ? fs::path(".") : dir).lexically_normal();
    if (!dir.has_filename()) dir = dir.parent_path();
  }
  std::error_code ec;
  bool is_run = fs::exists(dir / "run.lock", ec) || fs::exists(dir / "metrics.json", ec);
  for (fs::directory_iterator it(dir, ec), end; !ec && !is_run && it != end; it.increment(ec)) {
    is_run = it->path().filename().string().rfind("fold-", 0) == 0;
  }
  if (!is_run) return;
  const std::string runs_dir = dir.parent_path().string(), name = dir.filename().string();
  const std::string was = (fs::path(doc.value("runs_dir", "runs")) / doc.value("name", "")).string();
  if (!quiet && fs::weakly_canonical(was, ec) != fs::weakly_canonical(dir, ec)) {
    spdlog::info("run directory {} (started as {})", dir.string(), was);
  }
  doc["runs_dir"] = runs_dir.empty() ? "." : runs_dir;
  doc["name"] = name;
}

// A config error about a key that a flag set names that flag, not the config file.
struct FlagOrigin {
  std::string key, flag;
};

[[noreturn]] void blame_flag(const Error& e, const std::vector<FlagOrigin>& flags, const std::string& file) {
  const std::string& subject = e.subject();
  for (auto f = flags.rbegin(); f != flags.rend(); ++f) {
    const bool same = subject == f->key || subject.rfind(f->key + ".", 0) == 0 || f->key.rfind(subject + ".", 0) == 0;
    if (!same) continue;
    std::string what = e.what();
    if (what.rfind(subject + ": ", 0) == 0 && subject == f->key) what = what.substr(subject.size() + 2);
    const std::string in_file = " in " + file;
    for (std::size_t at; (at = what.find(in_file)) != std::string::npos;) what.erase(at, in_file.size());
    throw Error(e.kind(), f->flag, what);
  }
  throw e;
}

std::string with_interval(const nlohmann::json& metrics, const char* key) {
  const std::string ci = eval::interval_text(metrics.value("ci", nlohmann::json()), key);
  return ci.empty() ? "" : " " + ci;
}

void print_summary(const train::RunSummary& s, const config::Config& cfg) {
  if (s.repeats_total > 0) {
    std::printf("run %s: %d of %d repeat(s) finished, %d of %d fold(s) (%d trained now) in %.1f s\n", s.run_dir.c_str(),
                s.repeats_finished, s.repeats_total, s.folds_finished, s.folds_total, s.folds_trained, s.seconds);
  } else {
    std::printf("run %s: %d of %d fold(s) finished (%d trained now) in %.1f s\n", s.run_dir.c_str(), s.folds_finished,
                s.folds_total, s.folds_trained, s.seconds);
  }
  std::printf("  %s on %s, %s, %s\n", cfg.train.model.architecture.c_str(), cfg.features.set.c_str(),
              cfg.features.normalize == "speaker" ? eval::kSpeakerNormalisedNote : "globally standardised",
              cfg.protocol.name.c_str());
  if (s.metrics.is_null()) {
    if (s.repeats_total > 0 && !s.complete) std::printf("  (metrics.json is written once every repeat has finished)\n");
    return;
  }
  const auto& sum = s.metrics["summary"];
  if (s.repeats_total > 0) {
    std::printf("  mean +- std over %d repeat(s) of the fold means:\n", s.repeats_total);
  } else {
    std::printf("  fold mean +- std over %d fold(s):\n", s.folds_finished);
  }
  auto line = [&](const char* name, const char* key) {
    std::printf("    %-14s %.4f +- %.4f\n", name, sum[key]["mean"].get<double>(), sum[key]["std"].get<double>());
  };
  line("accuracy (WA)", "accuracy");
  line("UAR", "balanced_accuracy");
  line("macro-F1", "macro_f1");
  const auto& pooled = s.metrics["pooled"];
  std::printf("  pooled over every test prediction%s: WA %.4f%s, UAR %.4f%s, macro-F1 %.4f%s\n",
              s.repeats_total > 0 ? " (mean over repeats)" : "", pooled["accuracy"].get<double>(),
              with_interval(s.metrics, "accuracy").c_str(), pooled["balanced_accuracy"].get<double>(),
              with_interval(s.metrics, "balanced_accuracy").c_str(), pooled["macro_f1"].get<double>(),
              with_interval(s.metrics, "macro_f1").c_str());
  if (s.metrics.contains("ci")) std::printf("  %s\n", eval::ci_note(s.metrics["ci"]).c_str());
  for (const auto& w : s.metrics.value("warnings", nlohmann::json::array())) {
    if (w.is_string()) spdlog::warn("{}", w.get<std::string>());
  }
  if (!s.complete) std::printf("  (metrics.json is written once every fold has finished)\n");
  if (!s.final_dir.empty()) std::printf("final model: %s\n", s.final_dir.c_str());
}

train::RunSummary run_config(const config::Config& cfg, const TrainArgs& a);

// Keys a classic model cannot use, given in the config or by --set: said, never silently kept
// (they are not part of a classic run's identity either).
void warn_about_torch_keys(const nlohmann::json& doc, const config::Config& cfg, bool fold_worker) {
  if (fold_worker || !train::is_classic(cfg.train.model.architecture)) return;
  if (doc.contains("train") && doc["train"].is_object() && doc["train"].contains("search") &&
      doc["train"]["search"].dump().find("model.architecture") != std::string::npos) {
    return;  // a search over architectures may pick a torch model
  }
  for (const auto& key : train::torch_only_keys()) {
    const auto dot = key.find('.');
    const std::string section = key.substr(0, dot), name = key.substr(dot + 1);
    if (doc.contains(section) && doc[section].is_object() && doc[section].contains(name)) {
      spdlog::warn("{} has no effect on {} (a classic model has no epochs, optimiser or layers); it is not part of the "
                   "run's identity",
                   key, cfg.train.model.architecture);
    }
  }
}

int run_train(const TrainArgs& a) {
  // Until the folds start, a stop request ends the process at once (features are cached per file).
  // Installed first: a fold process starts with the stop signals blocked until here.
  set_stop_at_once(true);
  install_stop_handlers();
  if (a.jobs < 0) fail_config("--jobs", "must be >= 0 (0 = one fold per core)");
  if (a.fold < 0) fail_config("--fold", "must be >= 1");

  nlohmann::json doc = config_document(a.config_path).doc;  // file-level errors name the file and key first
  locate_run(doc, a.config_path, a.fold_worker);
  std::vector<FlagOrigin> flags;
  if (!a.device.empty()) {
    doc["train"]["device"] = a.device;
    flags.push_back({"train.device", "--device " + a.device});
  }
  if (a.repeats != 0) {
    doc["train"]["repeats"] = a.repeats;
    flags.push_back({"train.repeats", "--repeats " + std::to_string(a.repeats)});
  }
  if (a.allow_duplicates) {
    doc["protocol"]["allow_duplicates"] = true;
    flags.push_back({"protocol.allow_duplicates", "--allow-duplicates"});
  }
  if (a.threads >= 0) {
    doc["train"]["threads"] = a.threads;
    flags.push_back({"train.threads", "--threads " + std::to_string(a.threads)});
  }
  for (const auto& o : a.overrides) {
    try {
      config::apply_override(doc, o);
    } catch (const Error& e) {
      const std::string what = e.what();
      throw Error(e.kind(), "--set " + o, e.subject().empty() ? what : what.substr(e.subject().size() + 2));
    }
    flags.push_back({o.substr(0, o.find('=')), "--set " + o});
  }
  // Every key, range and combination is checked here, before anything is read or written.
  config::Config cfg;
  try {
    cfg = config::parse_config(doc, a.config_path);
    config::validate_training(cfg, a.config_path);
  } catch (const Error& e) {
    blame_flag(e, flags, a.config_path);
  }
  warn_about_torch_keys(doc, cfg, a.fold_worker);
  if (a.list_folds) {
    std::printf("%d\n", train::fold_count(cfg));
    return 0;
  }
  const train::RunSummary s = run_config(cfg, a);
  if (!a.fold_worker) print_summary(s, cfg);
  return 0;
}

// <run>/train.log: what this process logs (fold processes of the run append to the same file),
// with time and process id, since a terminal's scrollback is no record. Until the run is
// claimed (a refused run leaves no folder behind) the lines wait in memory; then they go first
// into the file. A run of repeats logs at its top; a sweep's tasks each in their own run.
const char* const kLogPattern = "%Y-%m-%d %H:%M:%S.%e [%P] [%l] %v";
std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> early_log;
std::shared_ptr<spdlog::sinks::sink> run_log;
std::string run_log_dir;

void drop_sink(const std::shared_ptr<spdlog::sinks::sink>& sink) {
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
}

void hold_early_log() {
  if (early_log) return;
  early_log = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000);
  early_log->set_pattern(kLogPattern);
  spdlog::default_logger()->sinks().push_back(early_log);
}

void keep_log_in(const std::string& run_dir) {
  // A repeat inside the run already logging keeps the run's log.
  if (!run_log_dir.empty() && run_dir.rfind(run_log_dir + "/", 0) == 0) return;
  std::vector<std::string> held;
  if (early_log) {
    held = early_log->last_formatted();
    drop_sink(early_log);
    early_log.reset();
  }
  if (run_log) drop_sink(run_log);
  run_log.reset();
  run_log_dir = run_dir;
  const std::string path = run_dir + "/train.log";
  if (!held.empty()) {
    if (std::FILE* f = std::fopen(path.c_str(), "ab")) {
      for (const auto& line : held) std::fputs(line.c_str(), f);
      std::fclose(f);
    }
  }
  try {
    run_log = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
    run_log->set_pattern(kLogPattern);
    spdlog::default_logger()->sinks().push_back(run_log);
    spdlog::default_logger()->flush_on(spdlog::level::info);  // a killed run keeps its log
  } catch (const spdlog::spdlog_ex& e) {
    run_log.reset();
    spdlog::warn("{}: cannot keep a log there ({})", path, e.what());
  }
}

train::RunSummary run_config(const config::Config& cfg, const TrainArgs& a) {
  train::RunOptions opt;
  hold_early_log();
  opt.on_run_directory = keep_log_in;
  opt.only_fold = a.fold;
  opt.progress = !a.no_progress;
  opt.fresh = a.fresh;
  opt.final_model = a.final_model;
  opt.aggregate = !a.fold_worker;
  // Folds in parallel, one thread each, use a CPU better than one fold on every thread.
  opt.jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opt.wait_for_lock = a.wait;
  if (a.fold_worker) {
    if (const char* fd = std::getenv(kLockFdVariable)) opt.inherited_lock_fd = std::atoi(fd);
  }
  opt.keep_going = [] { return !stop_requested(); };
  // From here a stop request is honoured after the current epoch, and no new fold starts.
  opt.before_folds = [] { set_stop_at_once(false); };
  opt.run_folds_elsewhere = [&](const std::string& run_dir, const std::vector<int>& folds, int jobs, int lock_fd) {
    // Each fold process gets an equal share of the threads, reads the features this process
    // just wrote, and works on the run directory this process has claimed.
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const int total = cfg.train.threads > 0 ? cfg.train.threads : static_cast<int>(hw);
    const int per_fold = std::max(1, total / std::min<int>(jobs, static_cast<int>(folds.size())));
    // The stored config decides results; settings that do not (device, threads, checkpoints)
    // come from this invocation.
    std::vector<std::string> args = {"train", "--config", run_dir + "/config.json",
                                     "--threads", std::to_string(per_fold), "--device", cfg.train.device,
                                     "--set", "train.checkpoint_every=" + std::to_string(cfg.train.checkpoint_every),
                                     "--set", "features.from_store=true", "--no-progress", "--fold-worker"};
    if (spdlog::get_level() <= spdlog::level::debug) args.insert(args.begin(), "--verbose");
    if (spdlog::get_level() >= spdlog::level::warn) args.insert(args.begin(), "--quiet");
    const auto failed = run_fold_processes(args, folds, jobs, lock_fd);
    if (stop_requested()) {
      throw Error(ErrorKind::Interrupted, "train", "stopped; run the same command again to resume");
    }
    if (!failed.empty()) fail_runtime("fold " + std::to_string(failed.front()), "its process failed (see above)");
  };
  return train::run_experiment(cfg, opt);
}

}  // namespace

train::RunSummary train_config(const config::Config& cfg, const TrainInvocation& how) {
  TrainArgs a;
  a.jobs = how.jobs;
  a.no_progress = !how.progress;
  a.wait = how.wait;
  set_stop_at_once(true);
  install_stop_handlers();
  const train::RunSummary s = run_config(cfg, a);
  if (how.print) print_summary(s, cfg);
  return s;
}

void register_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* sub = app.add_subcommand("train", "Train and evaluate a model under a protocol (k-fold, speaker folds, holdout)");
  sub->add_option("-c,--config", a->config_path, "JSON config")->required();
  sub->add_option("--set", a->overrides, "Override a config key: key=value (repeatable)");
  sub->add_option("--fold", a->fold, "Run only fold K (1-based; of every repeat), e.g. one job of a cluster array");
  sub->add_option("--repeats", a->repeats, "Run the whole protocol N times with seeds derived from train.seed (overrides train.repeats)");
  sub->add_flag("--list-folds", a->list_folds, "Print the number of folds of the configured protocol and exit (for job arrays)");
  sub->add_option("-j,--jobs", a->jobs, "Folds trained at once, each in its own process; threads are shared out (default 0: one per core)");
  sub->add_flag("--fresh", a->fresh, "Discard folds, checkpoints and metrics an earlier run left in the run directory");
  sub->add_flag("--final", a->final_model, "Also train one model on all items (for deployment) into <run>/final");
  sub->add_option("--device", a->device, "auto | cpu | cuda (overrides train.device)");
  sub->add_option("--threads", a->threads, "Intra-op threads for training (overrides train.threads)");
  sub->add_flag("--allow-duplicates", a->allow_duplicates,
                "Train although items with identical audio sit on both sides of a fold (sets protocol.allow_duplicates)");
  sub->add_flag("--wait", a->wait, "Another `ser train` holds the run directory: wait for it to end (default: refuse)");
  sub->add_flag("--no-progress", a->no_progress, "No progress bar during feature extraction");
  sub->add_flag("--fold-worker", a->fold_worker, "Internal: a fold process started by --jobs")->group("");
  add_runner("train", [a]() { return run_train(*a); });
}

}  // namespace ser::cli
