// `ser sweep`: one run per combination of grid values (and corpus), a job array's worth of
// numbered tasks, and a summary ranked by validation UAR.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "cli/fold_processes.hpp"
#include "ser/error.hpp"
#include "ser/train/sweep.hpp"
#include "ser/util/strings.hpp"

namespace ser::cli {

namespace {

struct SweepArgs {
  std::string config_path, name, corpora, task_text;
  std::vector<std::string> grids;
  int jobs = 0;
  bool list = false, collect = false, wait = false;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text + ",") {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  return out;
}

int run_sweep(const SweepArgs& a) {
  const bool one_task = !a.task_text.empty();
  if (static_cast<int>(a.list) + static_cast<int>(a.collect) + static_cast<int>(one_task) > 1) {
    throw Error(ErrorKind::Usage, "ser sweep", "--list, --task and --collect are alternatives; give one");
  }
  const ConfigDocument base = config_document(a.config_path);
  std::vector<train::GridAxis> axes;
  for (const auto& g : a.grids) axes.push_back(train::parse_grid(g));
  const std::vector<std::string> corpora = a.corpora.empty() ? std::vector<std::string>{} : split_list(a.corpora);
  const train::SweepPlan plan = train::plan_sweep(base.doc, a.config_path, axes, corpora, a.name);
  const int n = static_cast<int>(plan.tasks.size());
  if (a.list) {
    for (const auto& t : plan.tasks) std::printf("%d\t%s\n", t.index, t.name.c_str());
    return 0;
  }
  long long task = -1;
  if (one_task) {
    std::size_t used = 0;
    try {
      task = std::stoll(a.task_text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != a.task_text.size()) fail_config("--task", "'" + a.task_text + "' is not a task number");
    if (task < 0 || task >= n) {
      fail_config("--task", a.task_text + " is out of range: the sweep has " + std::to_string(n) + " task(s), 0.." +
                                std::to_string(n - 1));
    }
  }
  train::claim_sweep_directory(plan);
  if (a.collect) {
    const int finished = train::collect_sweep(plan);
    std::printf("sweep %s: %d of %d task(s) finished; %s/results.csv, %s/report.md\n", plan.name.c_str(), finished, n,
                plan.dir.c_str(), plan.dir.c_str());
    return 0;
  }
  TrainInvocation how;
  how.jobs = a.jobs;
  how.wait = a.wait;
  if (one_task) {
    spdlog::info("sweep {}: task {} of {}: {}", plan.name, task, n, plan.tasks[static_cast<std::size_t>(task)].name);
    for (const auto& note : plan.tasks[static_cast<std::size_t>(task)].notes) spdlog::info("  {}", note);
    train_config(plan.tasks[static_cast<std::size_t>(task)].config, how);
    return 0;
  }
  // A task that fails (unreadable audio, a fold process dying) does not stop the others: it is
  // named at the end, stays pending in the summary, and re-running the sweep retries it.
  std::vector<std::string> failed;
  for (const auto& t : plan.tasks) {
    spdlog::info("sweep {}: task {} of {}: {}", plan.name, t.index, n, t.name);
    for (const auto& note : t.notes) spdlog::info("  {}", note);
    try {
      train_config(t.config, how);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Interrupted || stop_requested()) throw;
      spdlog::error("sweep {}: task {} ({}) failed: {}", plan.name, t.index, t.name, e.what());
      failed.push_back(std::to_string(t.index));
    }
    if (stop_requested()) throw Error(ErrorKind::Interrupted, "sweep", "stopped; run the same command again to resume");
  }
  const int finished = train::collect_sweep(plan);
  std::printf("sweep %s: %d of %d task(s) finished; %s/results.csv, %s/report.md\n", plan.name.c_str(), finished, n,
              plan.dir.c_str(), plan.dir.c_str());
  if (!failed.empty()) {
    std::string list;
    for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
    fail_runtime("sweep " + plan.name, std::to_string(failed.size()) + " task(s) failed (" + list +
                                           "; see above); run the same command again to retry them");
  }
  return 0;
}

}  // namespace

void register_sweep(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  auto* sub = app.add_subcommand("sweep", "One run per combination of config values (and corpus), ranked by validation UAR");
  sub->add_option("-c,--config", a->config_path, "Base JSON config")->required();
  sub->add_option("--grid", a->grids, "key=v1,v2,... (repeatable): every combination of the grids' values is a task");
  sub->add_option("--corpora", a->corpora, "ravdess,emodb or manifest .csv paths: every combination on each corpus");
  sub->add_option("--name", a->name, "Sweep folder under the base's runs_dir (default <name>-sweep)");
  sub->add_flag("--list", a->list, "Print the numbered tasks (index<TAB>name) and exit");
  sub->add_option("--task", a->task_text, "Run task K (0-based) alone, e.g. $SLURM_ARRAY_TASK_ID");
  sub->add_flag("--collect", a->collect, "Write results.csv and report.md from the tasks that have finished");
  sub->add_option("-j,--jobs", a->jobs, "Folds trained at once within a task (default 0: one per core)");
  sub->add_flag("--wait", a->wait, "A task's run directory is held by another run: wait for it (default: refuse)");
  add_runner("sweep", [a]() { return run_sweep(*a); });
}

}  // namespace ser::cli
