// `ser train`: features, folds, one model per fold and the run directory, from one config.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "ser/config/config.hpp"
#include "ser/error.hpp"
#include "ser/train/run.hpp"
#include "ser/util/files.hpp"

namespace ser::cli {

namespace {

struct TrainArgs {
  std::string config_path, device;
  std::vector<std::string> overrides;
  int fold = 0, threads = -1;
  bool no_progress = false;
};

int run_train(const TrainArgs& a) {
  config::load_config(a.config_path);  // file-level errors name the file and key first
  nlohmann::json doc = nlohmann::json::parse(util::read_text(a.config_path));
  if (!a.device.empty()) doc["train"]["device"] = a.device;
  if (a.threads >= 0) doc["train"]["threads"] = a.threads;
  for (const auto& o : a.overrides) config::apply_override(doc, o);
  const config::Config cfg = config::parse_config(doc, a.config_path);
  config::validate(cfg, a.config_path);

  train::RunOptions opt;
  opt.only_fold = a.fold;
  opt.progress = !a.no_progress;
  const train::RunSummary s = train::run_experiment(cfg, opt);
  const auto& sum = s.metrics["summary"];
  std::printf("run %s: %zu fold(s) in %.1f s\n", s.run_dir.c_str(), s.metrics["folds"].size(), s.seconds);
  std::printf("  accuracy (WA)  %.4f +- %.4f\n", sum["accuracy"]["mean"].get<double>(), sum["accuracy"]["std"].get<double>());
  std::printf("  UAR            %.4f +- %.4f\n", sum["balanced_accuracy"]["mean"].get<double>(),
              sum["balanced_accuracy"]["std"].get<double>());
  std::printf("  macro-F1       %.4f +- %.4f\n", sum["macro_f1"]["mean"].get<double>(), sum["macro_f1"]["std"].get<double>());
  std::printf("  pooled         WA %.4f, UAR %.4f\n", s.metrics["pooled"]["accuracy"].get<double>(),
              s.metrics["pooled"]["balanced_accuracy"].get<double>());
  return 0;
}

}  // namespace

void register_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* sub = app.add_subcommand("train", "Train and evaluate a model under a protocol (k-fold, speaker folds, holdout)");
  sub->add_option("-c,--config", a->config_path, "JSON config")->required();
  sub->add_option("--set", a->overrides, "Override a config key: key=value (repeatable)");
  sub->add_option("--fold", a->fold, "Run only fold K (1-based), e.g. one job of a cluster array");
  sub->add_option("--device", a->device, "auto | cpu | cuda (overrides train.device)");
  sub->add_option("--threads", a->threads, "Intra-op threads for training (overrides train.threads)");
  sub->add_flag("--no-progress", a->no_progress, "No progress bar during feature extraction");
  add_runner("train", [a]() { return run_train(*a); });
}

}  // namespace ser::cli
