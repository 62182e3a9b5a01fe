// Stopping and sharing a `ser train` run: Ctrl-C to the process group or SIGTERM to the parent
// alone stops every fold after its epoch and starts no new one (exit 130, resumable); fold
// processes die with their parent; a second run on the same run directory is refused (or waits).
// The runs are started with fork/exec in their own process group, with bounded waits throughout.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::util::read_text;
using ser::util::write_text_atomic;
using Clock = std::chrono::steady_clock;

bool wait_until(const std::function<bool()>& done, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Running and not a zombie.
bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != "Z") out.push_back(std::stoi(name));
  }
  return out;
}

class RunControl : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_tone_corpus("m.csv");
    // Folds that would train for minutes: every test stops them.
    write_text_atomic(p("long.json"), R"({"name": "long", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                          R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" +
                                          p("features") + R"("}, "protocol": {"name": "random_kfold", "k": 3},
      "model": {"architecture": "mlp", "mlp_hidden": 16},
      "train": {"epochs": 1000000, "patience": 0, "threads": 1, "optimizer": {"name": "adam", "lr": 0.01}}})");
  }
  void TearDown() override {
    for (pid_t pid : started_) {  // still ours (not reaped): stop what a failed test left running
      if (::waitpid(pid, nullptr, WNOHANG) == 0) {
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
    CliTest::TearDown();
  }

  // `ser <args>` in a process group of its own, output to `log`.
  pid_t start(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> all = {SER_CLI_PATH};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log_path = p(log);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    started_.push_back(pid);
    return pid;
  }
  // Exit code, or -1 (and the group killed) when it has not ended within `seconds`.
  int wait_exit(pid_t pid, double seconds) {
    int status = 0;
    const bool ended = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, seconds);
    if (!ended) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool training(const std::string& fold) const { return fs::exists(p("runs/long/" + fold + "/checkpoint.pt")); }
  std::string log(const std::string& name) const { return fs::exists(p(name)) ? read_text(p(name)) : ""; }

  std::vector<pid_t> started_;
};

const std::vector<std::string> kParallel = {"train", "--config", "", "--jobs", "2", "--no-progress"};

std::vector<std::string> with_config(std::vector<std::string> args, const std::string& config) {
  args[2] = config;
  return args;
}

// Ctrl-C in a terminal: SIGINT to the whole group. Folds 1 and 2 stop after their epoch; fold 3
// is never started; the run is resumable.
TEST_F(RunControl, InterruptToTheGroupStartsNoNewFold) {
  const pid_t run = start(with_config(kParallel, p("long.json")), "run.log");
  ASSERT_TRUE(wait_until([&] { return training("fold-1") && training("fold-2"); }, 60)) << log("run.log");
  ::kill(-run, SIGINT);
  EXPECT_EQ(wait_exit(run, 30), 130) << log("run.log");
  EXPECT_FALSE(fs::exists(p("runs/long/fold-3"))) << "a fold started after Ctrl-C\n" << log("run.log");
  EXPECT_TRUE(training("fold-1") && training("fold-2")) << "checkpoints kept for the re-run";
  EXPECT_FALSE(fs::exists(p("runs/long/fold-1/metrics.json")));

  // The same command resumes both folds from their checkpoints.
  const pid_t again = start(with_config(kParallel, p("long.json")), "again.log");
  EXPECT_TRUE(wait_until([&] {
    const std::string l = log("again.log");
    return l.find("fold 1/3: 13 train, 3 validation, 8 test (resuming from its checkpoint)") != std::string::npos &&
           l.find("fold 2/3: 13 train, 3 validation, 8 test (resuming from its checkpoint)") != std::string::npos;
  }, 60)) << log("again.log");
  ::kill(-again, SIGINT);
  EXPECT_EQ(wait_exit(again, 30), 130) << log("again.log");
}

// `kill PID` or a scheduler: SIGTERM to the parent alone reaches the folds.
TEST_F(RunControl, TerminateToTheParentAloneStopsTheFolds) {
  const pid_t run = start(with_config(kParallel, p("long.json")), "run.log");
  ASSERT_TRUE(wait_until([&] { return training("fold-1") && training("fold-2"); }, 60)) << log("run.log");
  const std::vector<pid_t> folds = children_of(run);
  EXPECT_EQ(folds.size(), 2u);
  ::kill(run, SIGTERM);
  EXPECT_EQ(wait_exit(run, 30), 130) << log("run.log");
  for (pid_t f : folds) EXPECT_FALSE(alive(f)) << "fold process " << f << " outlived the run";
  EXPECT_FALSE(fs::exists(p("runs/long/fold-3"))) << log("run.log");
  EXPECT_NE(log("run.log").find("stopped after epoch"), std::string::npos) << log("run.log");
}

// kill -9 of the parent: the fold processes get SIGTERM from the kernel and stop after their
// epoch, so nothing keeps training (or holding the run directory) unseen; the run resumes.
TEST_F(RunControl, FoldProcessesDieWithTheirParent) {
  const pid_t run = start(with_config(kParallel, p("long.json")), "run.log");
  ASSERT_TRUE(wait_until([&] { return training("fold-1") && training("fold-2"); }, 60)) << log("run.log");
  const std::vector<pid_t> folds = children_of(run);
  ASSERT_EQ(folds.size(), 2u);
  ::kill(run, SIGKILL);
  ::waitpid(run, nullptr, 0);
  for (pid_t f : folds) {
    EXPECT_TRUE(wait_until([&] { return !alive(f); }, 30)) << "fold process " << f << " orphaned";
    if (alive(f)) ::kill(f, SIGKILL);
  }
  const pid_t again = start(with_config(kParallel, p("long.json")), "again.log");
  EXPECT_TRUE(wait_until([&] {
    return log("again.log").find("(resuming from its checkpoint)") != std::string::npos;
  }, 60)) << log("again.log");
  ::kill(-again, SIGINT);
  EXPECT_EQ(wait_exit(again, 30), 130) << log("again.log");
}

// One process, folds in turn: SIGTERM is a stop request like Ctrl-C.
TEST_F(RunControl, SerialRunStopsOnTerminate) {
  const pid_t run = start({"train", "--config", p("long.json"), "--jobs", "1", "--no-progress"}, "run.log");
  ASSERT_TRUE(wait_until([&] { return training("fold-1"); }, 60)) << log("run.log");
  ::kill(run, SIGTERM);
  EXPECT_EQ(wait_exit(run, 30), 130) << log("run.log");
  EXPECT_TRUE(training("fold-1"));
  EXPECT_FALSE(fs::exists(p("runs/long/fold-2"))) << log("run.log");
}

// A second run on the same run directory, or one fold of it started by hand, is refused at once
// naming the holder; the run's own fold processes are not. With --wait it starts when the first ends.
TEST_F(RunControl, SecondRunOnTheSameDirectoryIsRefused) {
  const pid_t run = start(with_config(kParallel, p("long.json")), "run.log");
  ASSERT_TRUE(wait_until([&] { return training("fold-1") && training("fold-2"); }, 60)) << log("run.log");
  const auto t0 = Clock::now();
  const auto second = run_cli("train --config " + p("long.json") + " --jobs 2 --no-progress");
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(second.code, 1) << second.out;
  EXPECT_NE(second.out.find("in use by another `ser train` (pid " + std::to_string(run) + ")"), std::string::npos)
      << second.out;
  EXPECT_EQ(std::count(second.out.begin(), second.out.end(), '\n'), 1) << second.out;
  EXPECT_LT(seconds, 10.0);
  const auto by_hand = run_cli("train --config " + p("long.json") + " --fold 3 --no-progress");
  EXPECT_EQ(by_hand.code, 1) << by_hand.out;
  EXPECT_NE(by_hand.out.find("pid " + std::to_string(run)), std::string::npos) << by_hand.out;
  EXPECT_FALSE(fs::exists(p("runs/long/fold-3"))) << "the refused fold must not have started";

  const pid_t waiting =
      start({"train", "--config", p("long.json"), "--jobs", "2", "--wait", "--no-progress"}, "waiting.log");
  EXPECT_TRUE(wait_until([&] { return log("waiting.log").find("waiting for it to end") != std::string::npos; }, 30))
      << log("waiting.log");
  EXPECT_TRUE(alive(waiting));
  ::kill(-run, SIGINT);
  EXPECT_EQ(wait_exit(run, 30), 130) << log("run.log");
  EXPECT_TRUE(wait_until([&] {
    return log("waiting.log").find("(resuming from its checkpoint)") != std::string::npos;
  }, 60)) << log("waiting.log");
  ::kill(-waiting, SIGINT);
  EXPECT_EQ(wait_exit(waiting, 30), 130) << log("waiting.log");
}

}  // namespace
