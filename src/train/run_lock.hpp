#pragma once
// One `ser train` at a time per run directory (private to src/train): an flock on
// <run_dir>/run.lock, held from before the features are read until the run ends. Fold processes
// started by the run inherit the locked descriptor and so work under their parent's lock; any
// other process (a second identical run, `ser train --fold K` by hand) is refused or waits.
#include <functional>
#include <string>

namespace ser::train::detail {

class RunLock {
 public:
  // Creates run_dir when missing. Held elsewhere: throws (runtime) naming the holder's pid, or with
  // `wait` polls until it is free (keep_going() false: throws Interrupted). inherited_fd >= 0: a
  // descriptor of this very lock inherited from the parent run, adopted when it is one.
  // shared: one fold of the run (`ser train --fold K` from a job array) takes the run's lock
  // shared, so folds run side by side while a whole run is refused (and refuses them); the
  // fold's own exclusivity is a second RunLock on its folder.
  RunLock(const std::string& run_dir, bool wait, int inherited_fd, const std::function<bool()>& keep_going,
          bool shared = false);
  // A run directory this lock created and nothing claimed (no config.json) is removed again.
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  // The locked descriptor, for fold processes to inherit.
  int fd() const { return fd_; }

 private:
  std::string dir_, path_;
  int fd_ = -1;
  bool created_dir_ = false, inherited_ = false, shared_ = false;
};

}  // namespace ser::train::detail
