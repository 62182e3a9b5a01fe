#pragma once
// Each subcommand registers its options with CLI11 and a runner; main() dispatches after parsing,
// so logging flags are applied before any work starts.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace ser::cli {

void add_runner(const std::string& name, std::function<int()> runner);
int run_subcommand(const std::string& name);

void register_info(CLI::App& app);
void register_extract(CLI::App& app);
void register_augment(CLI::App& app);
void register_train(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_predict(CLI::App& app);

}  // namespace ser::cli
