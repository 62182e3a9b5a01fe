#pragma once
// Each subcommand registers its options with CLI11 and a runner; main() dispatches after parsing,
// so logging flags are applied before any work starts.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

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

void register_info(CLI::App& app);
void register_extract(CLI::App& app);
void register_augment(CLI::App& app);
void register_train(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_predict(CLI::App& app);

}  // namespace ser::cli
