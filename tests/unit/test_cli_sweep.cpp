// `ser sweep` end to end on the synthetic tone corpus: numbered tasks, one task alone, a summary
// from whatever has finished, resuming, ranking by validation UAR, corpora, and the mistakes a
// grid invites (unknown key, empty value, task out of range).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::util::read_text;
using ser::util::write_text_atomic;

class SweepCli : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_tone_corpus("m.csv");
    // Searched logistic regression: every task has an inner-validation UAR to be ranked by.
    write_text_atomic(p("base.json"), R"({"name": "tones", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                          R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("features") +
                                          R"("}, "protocol": {"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]},
                                          "model": {"architecture": "logreg"},
                                          "train": {"search": {"model.logreg_c": [0.001, 1.0]}, "search_folds": 3}})");
  }
  std::string sweep(const std::string& extra) {
    return "sweep --config " + p("base.json") +
           " --grid model.logreg_multi_class=ovr,multinomial --grid features.normalize=global,speaker " + extra;
  }
  std::vector<ser::util::CsvRow> results(const std::string& name) const {
    return ser::util::parse_csv(read_text(p("runs/" + name + "/results.csv")), "results.csv");
  }
};

std::size_t column(const std::vector<ser::util::CsvRow>& rows, const std::string& name) {
  const auto& h = rows.at(0).fields;
  const auto it = std::find(h.begin(), h.end(), name);
  EXPECT_NE(it, h.end()) << name;
  return static_cast<std::size_t>(it - h.begin());
}

TEST_F(SweepCli, TasksRunAloneCollectPartiallyAndResumeToTheFullRanking) {
  const auto list = run_cli(sweep("--list"));
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_EQ(list.out,
            "0\tlogreg_multi_class=ovr_normalize=global\n1\tlogreg_multi_class=ovr_normalize=speaker\n"
            "2\tlogreg_multi_class=multinomial_normalize=global\n3\tlogreg_multi_class=multinomial_normalize=speaker\n");

  const auto one = run_cli(sweep("--task 2 --jobs 1"));
  ASSERT_EQ(one.code, 0) << one.out;
  EXPECT_TRUE(fs::exists(p("runs/tones-sweep/logreg_multi_class=multinomial_normalize=global/metrics.json")));
  EXPECT_FALSE(fs::exists(p("runs/tones-sweep/logreg_multi_class=ovr_normalize=global")));
  const auto cfg = nlohmann::json::parse(read_text(p("runs/tones-sweep/logreg_multi_class=multinomial_normalize=global/config.json")));
  EXPECT_EQ(cfg["model"]["logreg_multi_class"], "multinomial");
  EXPECT_EQ(cfg["features"]["normalize"], "global");

  const auto collect = run_cli(sweep("--collect"));
  ASSERT_EQ(collect.code, 0) << collect.out;
  EXPECT_NE(collect.out.find("1 of 4 task(s) finished"), std::string::npos) << collect.out;
  auto rows = results("tones-sweep");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[1].fields[column(rows, "task")], "2");
  EXPECT_EQ(rows[1].fields[column(rows, "rank")], "1");
  for (std::size_t i = 2; i < 5; ++i) EXPECT_EQ(rows[i].fields[column(rows, "status")], "pending");
  EXPECT_NE(read_text(p("runs/tones-sweep/report.md")).find("The table is partial"), std::string::npos);

  // The whole sweep: task 2 is kept, the rest run, the summary ranks all four.
  const auto all = run_cli(sweep("--jobs 1"));
  ASSERT_EQ(all.code, 0) << all.out;
  EXPECT_NE(all.out.find("4 of 4 task(s) finished"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("fold 1: finished earlier, kept"), std::string::npos) << all.out;
  rows = results("tones-sweep");
  ASSERT_EQ(rows.size(), 5u);
  const std::size_t rank = column(rows, "rank"), val = column(rows, "validation_uar"), src = column(rows, "validation_source");
  double previous = 2;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].fields[rank], std::to_string(i));
    const double v = std::stod(rows[i].fields[val]);
    EXPECT_LE(v, previous) << "ranked by validation UAR";
    previous = v;
    EXPECT_NE(rows[i].fields[src].find("inner cross-validation"), std::string::npos);
  }
  const std::string report = read_text(p("runs/tones-sweep/report.md"));
  EXPECT_NE(report.find("ranking.svg"), std::string::npos);
  EXPECT_NE(report.find("validation UAR"), std::string::npos);
  EXPECT_EQ(read_text(p("runs/tones-sweep/ranking.svg")).rfind("<svg", 0), 0u);

  // Running it again changes nothing.
  const std::string before = read_text(p("runs/tones-sweep/results.csv"));
  ASSERT_EQ(run_cli(sweep("--jobs 1")).code, 0);
  EXPECT_EQ(read_text(p("runs/tones-sweep/results.csv")), before);
  // The sweep folder holds this sweep only.
  const auto other = run_cli("sweep --config " + p("base.json") + " --grid features.normalize=global,speaker --name tones-sweep --list");
  EXPECT_EQ(other.code, 0) << "listing touches nothing";
  const auto clash = run_cli("sweep --config " + p("base.json") + " --grid features.normalize=global,speaker --name tones-sweep --collect");
  EXPECT_EQ(clash.code, 2) << clash.out;
  EXPECT_NE(clash.out.find("other tasks"), std::string::npos) << clash.out;
}

TEST_F(SweepCli, CorporaMultiplyTheTasksAndRankWithinEachCorpus) {
  write_text_atomic(p("m2.csv"), read_text(p("m.csv")));
  const auto list = run_cli("sweep --config " + p("base.json") + " --grid features.normalize=global,speaker --corpora " +
                            p("m.csv") + "," + p("m2.csv") + " --name both --list");
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_EQ(list.out, "0\tm_normalize=global\n1\tm_normalize=speaker\n2\tm2_normalize=global\n3\tm2_normalize=speaker\n");
  const auto run = run_cli("sweep --config " + p("base.json") + " --grid features.normalize=global,speaker --corpora " +
                           p("m.csv") + "," + p("m2.csv") + " --name both --jobs 1");
  ASSERT_EQ(run.code, 0) << run.out;
  const auto rows = results("both");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[1].fields[column(rows, "rank")], "1");
  EXPECT_EQ(rows[3].fields[column(rows, "rank")], "1") << "ranks restart for the second corpus";
  EXPECT_EQ(rows[3].fields[column(rows, "corpus")], p("m2.csv"));
}

TEST_F(SweepCli, GridMistakesAreOneLineUsageErrors) {
  auto expect_usage = [&](const std::string& args, const std::string& needle) {
    const auto r = run_cli("sweep --config " + p("base.json") + " " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << args << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  };
  expect_usage("--grid model.logreg_multiclass=ovr,multinomial", "did you mean 'model.logreg_multi_class'?");
  expect_usage("--grid features.normalise=global", "did you mean 'features.normalize'?");
  expect_usage("--grid features.normalize=global,,speaker", "empty value");
  expect_usage("--grid features.normalize=", "empty value");
  expect_usage("--grid features.normalize", "expected key=value1,value2");
  expect_usage("--grid features.normalize=global,global", "given twice");
  expect_usage("--grid features.normalize=global,speaker --task 2", "out of range: the sweep has 2 task(s), 0..1");
  expect_usage("--grid features.normalize=global,speaker --task -1", "out of range");
  expect_usage("--grid features.normalize=global,speaker --task one", "not a task number");
  expect_usage("--grid features.normalize=global,spekaer", "normalize");
  expect_usage("--grid name=a,b", "set by the sweep");
  expect_usage("--grid train=1,2", "unknown config key 'train'");
  expect_usage("--grid features.normalize=global --list --collect", "alternatives");
  expect_usage("", "give at least one --grid");
  EXPECT_FALSE(fs::exists(p("runs"))) << "nothing is written before the grid is valid";
}

TEST_F(SweepCli, AFailingTaskIsNamedAndTheOthersStillRun) {
  // One speaker with a single clip: speaker normalisation cannot standardise it, global can.
  write_tone("clips/solo.wav", 225, 16000);
  write_text_atomic(p("solo.csv"), read_text(p("m.csv")) + p("clips/solo.wav") + ",low,solo\n");
  write_text_atomic(p("random.json"), R"({"name": "solo", "dataset": "manifest", "manifest": ")" + p("solo.csv") +
                                          R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("features-solo") +
                                          R"("}, "protocol": {"name": "random_kfold", "k": 3}, "model": {"architecture": "logreg"}})");
  const auto r = run_cli("sweep --config " + p("random.json") + " --grid features.normalize=speaker,global --jobs 1");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("1 task(s) failed (0;"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 of 2 task(s) finished"), std::string::npos) << r.out;
  const auto rows = results("solo-sweep");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].fields[column(rows, "task")], "1");
  EXPECT_EQ(rows[1].fields[column(rows, "status")], "finished");
  EXPECT_EQ(rows[1].fields[column(rows, "rank")], "") << "no validation score: listed, not ranked";
  EXPECT_EQ(rows[2].fields[column(rows, "status")], "pending");
}

TEST_F(SweepCli, TrainListsItsFoldsForJobArrays) {
  const auto r = run_cli("train --config " + p("base.json") + " --list-folds");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "4\n");
}

// What a job array of one run's folds needs: a fold started alone shares the run with its
// sibling folds (they hold the run's lock shared), is refused when its own fold is taken, and a
// whole-run `ser train` is refused while folds work.
TEST_F(SweepCli, FoldsStartedAloneShareTheRunDirectory) {
  fs::create_directories(p("runs/tones/fold-3"));
  const int sibling = ::open(p("runs/tones/run.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(sibling, 0);
  ASSERT_EQ(::flock(sibling, LOCK_SH | LOCK_NB), 0);
  const auto fold2 = run_cli("train --config " + p("base.json") + " --fold 2 --no-progress");
  EXPECT_EQ(fold2.code, 0) << fold2.out;
  EXPECT_TRUE(fs::exists(p("runs/tones/fold-2/metrics.json")));
  const auto whole = run_cli("train --config " + p("base.json") + " --no-progress");
  EXPECT_EQ(whole.code, 1) << whole.out;
  EXPECT_NE(whole.out.find("in use by `ser train --fold` jobs"), std::string::npos) << whole.out;
  const int taken = ::open(p("runs/tones/fold-3/run.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(taken, 0);
  ASSERT_EQ(::flock(taken, LOCK_EX | LOCK_NB), 0);
  const auto fold3 = run_cli("train --config " + p("base.json") + " --fold 3 --no-progress");
  EXPECT_EQ(fold3.code, 1) << fold3.out;
  EXPECT_NE(fold3.out.find("fold-3"), std::string::npos) << fold3.out;
  ::close(taken);
  ::close(sibling);
  // Once the folds are done, the whole run keeps fold 2 and writes the aggregate.
  const auto after = run_cli("train --config " + p("base.json") + " --no-progress --jobs 1");
  ASSERT_EQ(after.code, 0) << after.out;
  EXPECT_NE(after.out.find("fold 2: finished earlier, kept"), std::string::npos) << after.out;
  EXPECT_TRUE(fs::exists(p("runs/tones/metrics.json")));
}

}  // namespace

namespace {

// A grid over the architecture leaves the other architecture's search keys out
// of a task (said when it runs), so README's example over configs/emodb.json lists its tasks.
TEST_F(SweepCli, AnArchitectureGridLeavesOtherArchitecturesSearchKeysOut) {
  const auto list = ser::test::run_cli_streams("sweep --config " + p("base.json") + " --grid model.architecture=logreg,svm --list");
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(list.out, "0\tarchitecture=logreg\n1\tarchitecture=svm\n");
  const auto svm = ser::test::run_cli_streams("sweep --config " + p("base.json") + " --grid model.architecture=logreg,svm --task 1");
  ASSERT_EQ(svm.code, 0) << svm.err;
  EXPECT_NE(svm.err.find("train.search key model.logreg_c belongs to another architecture than svm"), std::string::npos)
      << svm.err;
  const auto fold = nlohmann::json::parse(
      read_text(p("runs/tones-sweep/architecture=svm/fold-1/metrics.json")));
  EXPECT_EQ(fold["architecture"], "svm");

  const std::string readme_config = std::string(SER_FIXTURES_DIR) + "/../../configs/emodb.json";
  const auto readme = ser::test::run_cli_streams("sweep --config " + ser::test::shell_quote(readme_config) +
                                                 " --grid features.normalize=global,speaker --grid model.architecture=logreg,svm --list");
  EXPECT_EQ(readme.code, 0) << readme.err;
  EXPECT_EQ(std::count(readme.out.begin(), readme.out.end(), '\n'), 4) << readme.out;
}

}  // namespace
