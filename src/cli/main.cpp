// ser: command-line entry point. Subcommands are thin wrappers over the library; every
// ser::Error becomes one line on stderr and exit code 2 (usage/config) or 1 (runtime).
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "ser/audio/audio.hpp"
#include "ser/version.hpp"
#include "ser/error.hpp"
#include "ser/util/strings.hpp"

namespace {

// CLI11 answers an unknown first word with "A subcommand is required"; name the word instead,
// with the nearest subcommand and the list. The global flags take no values, so the first
// word that is not a flag is where the subcommand belongs.
std::string unknown_subcommand_message(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;
    std::string names, nearest;
    std::size_t nearest_d = 3;
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == word) return {};
      names += (names.empty() ? "" : ", ") + sub->get_name();
      const std::size_t d = ser::util::edit_distance(word, sub->get_name());
      if (d < nearest_d) nearest_d = d, nearest = sub->get_name();
    }
    return "unknown subcommand '" + word + "'" + (nearest.empty() ? "" : " (did you mean '" + nearest + "'?)") +
           "; the subcommands are " + names + " (ser --help)";
  }
  return {};
}

}  // namespace

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
  ser::cli::register_compare(app);
  ser::cli::register_sweep(app);

  if (const std::string unknown = unknown_subcommand_message(app, argc, argv); !unknown.empty()) {
    std::fprintf(stderr, "ser: error: %s\n", unknown.c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Logs, warnings and progress go to stderr: stdout carries only the data a command was asked
  // for (a table, CSV or JSON), so `ser predict --format json > out.json` always parses.
  spdlog::set_default_logger(spdlog::stderr_color_mt("ser"));
  spdlog::set_level(quiet ? spdlog::level::warn : verbose ? spdlog::level::debug : spdlog::level::info);
  spdlog::set_pattern("%^[%l]%$ %v");

  try {
    ser::audio::limits();  // a bad SER_MAX_SECONDS is a usage mistake, before any work starts
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
