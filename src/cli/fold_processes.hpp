#pragma once
// Concurrent folds as child processes (`ser train --fold K`): each has its own torch runtime and
// random generator, so a fold's result does not depend on what runs beside it.
#include <string>
#include <vector>

namespace ser::cli {

// Runs `<this executable> <base_args...> --fold K` for every fold, at most `jobs` at a time, and
// waits for all. Returns the folds whose process failed (non-zero exit or signal).
std::vector<int> run_fold_processes(const std::vector<std::string>& base_args, const std::vector<int>& folds,
                                    int jobs);

}  // namespace ser::cli
