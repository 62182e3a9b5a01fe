#pragma once
// train.repeats > 1 (private to src/train): the whole protocol again per repeat, each a complete
// run in <run>/repeat-R/ with the seed derive_repeat_seed(train.seed, R), so repeats resume like
// folds (finished repeats are kept, an unfinished one continues), and the aggregate over repeats
// in <run>/ (eval/repeats.hpp) once every repeat has finished.
#include "ser/config/config.hpp"
#include "ser/train/run.hpp"

namespace ser::train::detail {

RunSummary run_repeats(const config::Config& cfg, const RunOptions& opt);

// The config of repeat R (1-based) of a run: its seed, one repeat, living in <run>/repeat-R.
config::Config repeat_config(const config::Config& cfg, int repeat);

}  // namespace ser::train::detail
