#pragma once
// A sweep: one run per combination of grid values (and corpus), each a normal run directory
// under <runs_dir>/<sweep>/<combination>/, and a summary ranked by validation UAR (test metrics
// beside it, never used to rank). Tasks are numbered from 0 in a fixed order, so a job array can
// run task $SLURM_ARRAY_TASK_ID alone; every run resumes, so re-running a sweep continues it.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ser/config/config.hpp"

namespace ser::train {

struct GridAxis {
  std::string key;                     // a config key, e.g. "model.logreg_c"
  std::vector<nlohmann::json> values;  // each parsed as JSON, else taken as a string
};

// "key=v1,v2,...". Throws ser::Error (config, naming "--grid <text>") for a missing '=', an
// unknown key (with a did-you-mean), a section, name, runs_dir or the features' folders, or an
// empty value.
GridAxis parse_grid(const std::string& text);

// A grid value as shown in names and tables: a string as it is, anything else as JSON.
inline std::string grid_value_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

struct SweepTask {
  int index = 0;
  std::string name;         // its run directory's name, e.g. "emodb_logreg_c=0.1_normalize=speaker"
  std::string corpus;       // dataset (or manifest path) of this task
  nlohmann::json point;     // {"corpus": ..., key: value, ...} as given
  config::Config config;    // the resolved, validated config of the run
  // What the task changed in the base beyond its point, e.g. search keys of another
  // architecture left out; said when the task runs.
  std::vector<std::string> notes;
};

struct SweepPlan {
  std::string name, dir;              // dir = <runs_dir>/<name>
  std::vector<GridAxis> axes;
  std::vector<std::string> corpora;   // empty: the base config's corpus
  std::vector<SweepTask> tasks;
  nlohmann::json description;         // what sweep.json holds
};

// Every task's config is parsed and validated here, before anything runs. `corpora` entries are
// ravdess, emodb (root: the base's root folder's sibling of that name) or a manifest .csv path.
// Throws ser::Error (config) naming the grid, corpus or task.
SweepPlan plan_sweep(const nlohmann::json& base, const std::string& origin, const std::vector<GridAxis>& axes,
                     const std::vector<std::string>& corpora, const std::string& name);

// Writes <dir>/sweep.json, or checks that the one there describes the same tasks (a sweep
// directory holds one sweep): throws ser::Error (config) otherwise.
void claim_sweep_directory(const SweepPlan& plan);

// results.csv and report.md (with ranking.svg) from whatever tasks have finished; returns the
// number of finished tasks.
int collect_sweep(const SweepPlan& plan);

}  // namespace ser::train
