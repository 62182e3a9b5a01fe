#include "run_lock.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "ser/error.hpp"

namespace ser::train::detail {

namespace fs = std::filesystem;

namespace {

bool same_file(int fd, const std::string& path) {
  struct stat a {}, b {};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Whoever holds the lock wrote its pid into the file.
std::string holder_of(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

bool make_dir(const std::string& dir) {
  std::error_code ec;
  const bool created = fs::create_directories(dir, ec);
  if (ec) fail_input(dir, "cannot create the run directory: " + ec.message());
  return created;
}

}  // namespace

RunLock::RunLock(const std::string& run_dir, bool wait, int inherited_fd, const std::function<bool()>& keep_going,
                 bool shared)
    : dir_(run_dir), path_(run_dir + "/run.lock"), shared_(shared) {
  // flock on a descriptor that shares the holder's open file description succeeds at once; a
  // descriptor of another file, or of no lock, does not count.
  if (inherited_fd >= 0 && same_file(inherited_fd, path_) && ::flock(inherited_fd, LOCK_EX | LOCK_NB) == 0) {
    ::fcntl(inherited_fd, F_SETFD, FD_CLOEXEC);
    fd_ = inherited_fd;
    inherited_ = true;
    return;
  }
  created_dir_ = make_dir(dir_);
  bool told = false;
  while (true) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_input(path_, std::string("cannot open the run's lock file: ") + std::strerror(errno));
    if (::flock(fd_, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0) {
      if (same_file(fd_, path_)) break;
      // The holder gave an unclaimed directory up and removed the file we locked: start over.
      ::close(fd_);
      created_dir_ = make_dir(dir_) || created_dir_;
      continue;
    }
    const int err = errno;
    const std::string holder = holder_of(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err != EWOULDBLOCK) fail_runtime(path_, std::string("cannot lock: ") + std::strerror(err));
    // Folds of a job array hold the lock shared and record no pid: the file may name a past run.
    const bool alive = holder != "unknown" && ::kill(std::atoi(holder.c_str()), 0) == 0;
    const std::string who = alive ? "another `ser train` (pid " + holder + ")" : "`ser train --fold` jobs";
    if (!wait) fail_runtime(dir_, "in use by " + who + "; wait for it to end, or pass --wait to start when it has");
    if (!told) spdlog::info("{}: in use by {}; waiting for it to end", dir_, who);
    told = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (keep_going && !keep_going()) throw Error(ErrorKind::Interrupted, dir_, "stopped while waiting for the run directory");
    created_dir_ = make_dir(dir_) || created_dir_;
  }
  if (shared) return;  // the file names the exclusive holder only
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    spdlog::debug("{}: could not record this process's pid", path_);
  }
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  if (inherited_) {
    // Never LOCK_UN here: the lock belongs to the parent's open file description.
    ::close(fd_);
    return;
  }
  std::error_code ec;
  if (created_dir_ && !shared_ && !fs::exists(dir_ + "/config.json", ec)) {
    // Nothing of the run was written (an error before the folds): leave no trace of the attempt.
    // Unlinked while still locked, so a waiting process sees the file is gone and starts over.
    ::unlink(path_.c_str());
    fs::remove(dir_, ec);  // only when empty
  }
  ::close(fd_);
}

}  // namespace ser::train::detail
