#pragma once
// Each subcommand registers its options with CLI11 and a runner; main() dispatches after parsing,
// so logging flags are applied before any work starts.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "ser/config/config.hpp"
#include "ser/train/run.hpp"

namespace ser::cli {

void add_runner(const std::string& name, std::function<int()> runner);

// A config file as a JSON document for flags to be layered over, checked on its own first so that
// its errors name the file and key; with no path, an empty document from the "command line".
struct ConfigDocument {
  nlohmann::json doc = nlohmann::json::object();
  std::string origin = "command line";
};
ConfigDocument config_document(const std::string& path);
// The corpus flags (--dataset, --root, --manifest) that were given, over the document.
void apply_corpus_flags(nlohmann::json& doc, const std::string& dataset, const std::string& root,
                        const std::string& manifest);
int run_subcommand(const std::string& name);

// A training run of a validated config as `ser train` runs it (fold processes, stop signals,
// the run lock), for commands that train many configs (`ser sweep`).
struct TrainInvocation {
  int jobs = 0;  // folds at once; 0 = one per core
  bool progress = false, wait = false, print = true;
};
train::RunSummary train_config(const config::Config& cfg, const TrainInvocation& how);

void register_info(CLI::App& app);
void register_extract(CLI::App& app);
void register_augment(CLI::App& app);
void register_train(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_predict(CLI::App& app);
void register_compare(CLI::App& app);
void register_sweep(CLI::App& app);

}  // namespace ser::cli
