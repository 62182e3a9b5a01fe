#pragma once
// Concurrent folds as child processes (`ser train --fold K`): each has its own torch runtime and
// random generator, so a fold's result does not depend on what runs beside it. And the stop
// requests of a run (SIGINT, SIGTERM), which reach its fold processes too.
#include <string>
#include <vector>

namespace ser::cli {

// SIGINT and SIGTERM ask the run to stop: each is forwarded to the fold processes running, no
// further fold is started, and the run ends with exit code 130 once they have. Also unblocks
// both signals (a fold process starts with them blocked, so that none is lost before this).
void install_stop_handlers();
bool stop_requested();
// While true (set until the folds start), a stop request ends the process at once with exit
// code 130: nothing that a re-run would not redo is lost.
void set_stop_at_once(bool at_once);

// The variable that tells a fold process which descriptor holds its parent's run lock.
inline constexpr const char* kLockFdVariable = "SER_RUN_LOCK_FD";

// Runs `<this executable> <base_args...> --fold K` for every fold, at most `jobs` at a time, and
// waits for all; none is started once a stop was requested. Each inherits lock_fd (when >= 0)
// and gets SIGTERM when this process dies. Returns the folds whose process failed (non-zero exit
// or signal).
std::vector<int> run_fold_processes(const std::vector<std::string>& base_args, const std::vector<int>& folds,
                                    int jobs, int lock_fd);

}  // namespace ser::cli
