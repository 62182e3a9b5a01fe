// ser: command-line entry point. Subcommands are thin wrappers over the library; every
// ser::Error becomes one line on stderr and exit code 2 (usage/config) or 1 (runtime).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "ser/version.hpp"
#include "ser/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ser: speech emotion recognition toolkit"};
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "More log output");
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors");
  app.set_version_flag("--version", std::string(ser::kVersion));

  ser::cli::register_info(app);
  ser::cli::register_extract(app);
  ser::cli::register_augment(app);
  ser::cli::register_train(app);
  ser::cli::register_evaluate(app);
  ser::cli::register_predict(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  spdlog::set_level(quiet ? spdlog::level::warn : verbose ? spdlog::level::debug : spdlog::level::info);
  spdlog::set_pattern("%^[%l]%$ %v");

  try {
    for (CLI::App* sub : app.get_subcommands()) return ser::cli::run_subcommand(sub->get_name());
  } catch (const ser::Error& e) {
    std::fprintf(stderr, "ser: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    // Library exceptions (LibTorch's in particular) may carry a backtrace: keep the first line.
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    std::fprintf(stderr, "ser: error: %s\n", what.c_str());
    return 1;
  }
  return 0;
}
