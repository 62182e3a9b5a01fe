#include "cli/fold_processes.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <map>

#include "ser/error.hpp"

extern char** environ;

namespace ser::cli {

namespace {

// Read and written by the signal handler: lock-free atomics only.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_stop_at_once{false};
constexpr int kMaxChildren = 256;
std::atomic<pid_t> g_children[kMaxChildren];

extern "C" void on_stop(int sig) {
  const int saved = errno;
  g_stop.store(true);
  if (g_stop_at_once.load()) {
    static const char msg[] = "ser: error: train: stopped; run the same command again to resume\n";
    const ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    ::_exit(130);
  }
  // A signal sent to this process alone (a scheduler, `kill PID`) reaches the folds too; after a
  // Ctrl-C to the whole group they just get it twice.
  for (auto& child : g_children) {
    const pid_t pid = child.load();
    if (pid > 0) ::kill(pid, sig);
  }
  errno = saved;
}

void register_child(pid_t pid) {
  for (auto& child : g_children) {
    pid_t expected = 0;
    if (child.compare_exchange_strong(expected, pid)) return;
  }
}

void unregister_child(pid_t pid) {
  for (auto& child : g_children) {
    pid_t expected = pid;
    if (child.compare_exchange_strong(expected, 0)) return;
  }
}

sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

std::string self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) fail_runtime("/proc/self/exe", "cannot find this executable to start fold processes");
  std::string exe(buf, static_cast<std::size_t>(n));
  // Rebuilt or reinstalled while this run went on: the folds would exec nothing (exit 127).
  const std::string deleted = " (deleted)";
  if (::access(exe.c_str(), X_OK) != 0 ||
      (exe.size() > deleted.size() && exe.compare(exe.size() - deleted.size(), deleted.size(), deleted) == 0)) {
    fail_runtime(exe, "this ser executable was replaced or removed while the run went on, so no fold process can "
                      "start; run the same command again to resume with the new one");
  }
  return exe;
}

pid_t spawn(const std::string& exe, const std::vector<std::string>& args, int lock_fd) {
  // Everything the child needs is built here: between fork and exec only async-signal-safe calls.
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string prefix = std::string(kLockFdVariable) + "=";
  const std::string lock_var = prefix + std::to_string(lock_fd);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) envp.push_back(*e);
  }
  if (lock_fd >= 0) envp.push_back(const_cast<char*>(lock_var.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();

  // Blocked until the child is registered, so that a stop request cannot miss it; the child keeps
  // them blocked through exec until its own handlers are in place (install_stop_handlers).
  const sigset_t block = stop_signals();
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &block, &old);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Dies with its parent, whatever kills it (SIGTERM: the fold stops after its epoch). The
    // parent may have died before prctl took effect: then getppid() is no longer it.
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(130);
    if (lock_fd >= 0) ::fcntl(lock_fd, F_SETFD, 0);  // inherited across exec: the run's lock
    ::execve(exe.c_str(), argv.data(), envp.data());
    static const char kExecFailed[] = "ser: error: a fold process could not start this ser executable\n";
    [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
    ::_exit(127);
  }
  const int err = errno;
  if (pid > 0) register_child(pid);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) fail_runtime(exe, std::string("cannot start a fold process: ") + std::strerror(err));
  // Another thread may have taken a stop request before the child was registered.
  if (g_stop.load()) ::kill(pid, SIGTERM);
  return pid;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const sigset_t s = stop_signals();
  pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
}

bool stop_requested() { return g_stop.load(); }

void set_stop_at_once(bool at_once) {
  g_stop_at_once.store(at_once);
  if (at_once && g_stop.load()) on_stop(SIGTERM);  // asked before this was set
}

std::vector<int> run_fold_processes(const std::vector<std::string>& base_args, const std::vector<int>& folds,
                                    int jobs, int lock_fd) {
  const std::string exe = self_executable();
  jobs = std::max(1, std::min(jobs, kMaxChildren));
  std::map<pid_t, int> running;  // pid -> fold
  std::vector<int> failed;
  std::size_t next = 0;
  while (true) {
    while (!stop_requested() && next < folds.size() && static_cast<int>(running.size()) < jobs) {
      std::vector<std::string> args = base_args;
      args.push_back("--fold");
      args.push_back(std::to_string(folds[next]));
      running[spawn(exe, args, lock_fd)] = folds[next];
      ++next;
    }
    if (running.empty()) break;
    // Looked at first and reaped only once unregistered: the handler never signals a reused pid.
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      fail_runtime("fold processes", std::string("wait failed: ") + std::strerror(errno));
    }
    const pid_t pid = info.si_pid;
    unregister_child(pid);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const bool exited = WIFEXITED(status);
    const int code = exited ? WEXITSTATUS(status) : WTERMSIG(status);
    if (!exited || code != 0) {
      if (stop_requested()) {
        spdlog::info("fold {}: stopped", it->second);
      } else {
        spdlog::error("fold {}: process ended with {} {}", it->second, exited ? "exit code" : "signal", code);
      }
      failed.push_back(it->second);
    }
    running.erase(it);
  }
  return failed;
}

}  // namespace ser::cli
