// `ser compare RUN_A RUN_B ...`: runs side by side with intervals, and paired tests of every pair.
#include <cstdio>

#include "cli/commands.hpp"
#include "ser/error.hpp"
#include "ser/eval/compare.hpp"
#include "ser/util/files.hpp"

namespace ser::cli {

namespace {

struct CompareArgs {
  std::vector<std::string> runs;
  std::string format = "md", out;
  eval::CompareOptions options;
};

int run_compare(const CompareArgs& a) {
  if (a.format != "md" && a.format != "csv" && a.format != "json") {
    throw Error(ErrorKind::Usage, "--format", "'" + a.format + "' is not one of md, csv, json");
  }
  if (a.runs.size() < 2) throw Error(ErrorKind::Usage, "ser compare", "give at least two runs");
  if (a.options.resamples < 100 || a.options.resamples > 1000000) fail_config("--resamples", "must be in 100..1000000");
  if (a.options.permutations < 100 || a.options.permutations > 10000000) fail_config("--permutations", "must be in 100..10000000");
  std::vector<eval::ComparedRun> runs;
  for (const auto& r : a.runs) runs.push_back(eval::load_compared_run(r));
  const nlohmann::json result = eval::compare_runs(runs, a.options);
  const std::string text = a.format == "json" ? result.dump(2) + "\n"
                           : a.format == "csv" ? eval::compare_csv(result)
                                               : eval::compare_markdown(result);
  if (a.out.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    util::write_text_atomic(a.out, text);
  }
  return 0;
}

}  // namespace

void register_compare(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  auto* sub = app.add_subcommand(
      "compare", "Compare finished runs on the same items: bootstrap CIs, paired differences, McNemar, permutation test, Holm");
  sub->add_option("runs", a->runs, "Run directories (or `ser evaluate --out` folders), two or more")->required();
  sub->add_option("-f,--format", a->format, "md | csv | json (default md)");
  sub->add_option("-o,--out", a->out, "Write to this file (atomically) instead of stdout");
  sub->add_option("--resamples", a->options.resamples, "Bootstrap resamples (default 2000)");
  sub->add_option("--permutations", a->options.permutations, "Permutations of the paired test (default 10000)");
  sub->add_option("--seed", a->options.seed,
                  "Seed of the resampling (default: the seed each run's own intervals were made with)");
  add_runner("compare", [a]() { return run_compare(*a); });
}

}  // namespace ser::cli
