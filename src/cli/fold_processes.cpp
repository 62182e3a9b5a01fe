#include "cli/fold_processes.hpp"

#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <map>

#include "ser/error.hpp"

extern char** environ;

namespace ser::cli {

namespace {

std::string self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) fail_runtime("/proc/self/exe", "cannot find this executable to start fold processes");
  return std::string(buf, static_cast<std::size_t>(n));
}

pid_t spawn(const std::string& exe, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) fail_runtime(exe, std::string("cannot start a fold process: ") + std::strerror(rc));
  return pid;
}

}  // namespace

std::vector<int> run_fold_processes(const std::vector<std::string>& base_args, const std::vector<int>& folds,
                                    int jobs) {
  const std::string exe = self_executable();
  std::map<pid_t, int> running;  // pid -> fold
  std::vector<int> failed;
  std::size_t next = 0;
  while (next < folds.size() || !running.empty()) {
    while (next < folds.size() && static_cast<int>(running.size()) < jobs) {
      std::vector<std::string> args = base_args;
      args.push_back("--fold");
      args.push_back(std::to_string(folds[next]));
      running[spawn(exe, args)] = folds[next];
      ++next;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;  // Ctrl-C reaches the children too; keep waiting for them
      fail_runtime("fold processes", std::string("wait failed: ") + std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      spdlog::error("fold {}: process ended with {} {}", it->second, WIFEXITED(status) ? "exit code" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
      failed.push_back(it->second);
    }
    running.erase(it);
  }
  return failed;
}

}  // namespace ser::cli
