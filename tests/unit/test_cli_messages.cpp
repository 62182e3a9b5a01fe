// Messages for mistakes at the command line: an unknown subcommand, a corpus root or manifest
// that does not exist (usage mistakes, exit 2), and prediction from a manifest without labels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::util::write_text_atomic;

class CliMessages : public ser::test::CliTest {};

TEST_F(CliMessages, UnknownSubcommandIsNamedWithTheNearestOne) {
  auto r = run_cli("bogus");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown subcommand 'bogus'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("train"), std::string::npos) << r.out;  // the list of subcommands
  r = run_cli("-q evalute --run x");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("did you mean 'evaluate'"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  r = run_cli("--version");
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST_F(CliMessages, MissingCorpusRootOrManifestIsAUsageMistake) {
  auto r = run_cli("extract --dataset ravdess --root " + p("no-such-root") + " --out " + p("f"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("no-such-root"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not found"), std::string::npos) << r.out;
  r = run_cli("extract --dataset manifest --manifest " + p("none.csv") + " --out " + p("f"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("none.csv"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(p("f/meta.json")));
}

TEST_F(CliMessages, ABadLengthLimitInTheEnvironmentIsAUsageMistakeForEveryCommand) {
  setenv("SER_MAX_SECONDS", "abc", 1);
  const auto r = run_cli("info");
  unsetenv("SER_MAX_SECONDS");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("SER_MAX_SECONDS"), std::string::npos) << r.out;
}

TEST_F(CliMessages, PredictReadsAManifestWithoutLabelsInItsRowOrder) {
  setenv("SER_TORCH_LIBRARY", "/nonexistent/libser_torch.so", 1);
  write_tone_corpus("m.csv");
  write_text_atomic(p("cfg.json"), R"({"name": "lr", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                       R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" + p("features") +
                                       R"("}, "protocol": {"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]},
                                       "model": {"architecture": "logreg", "logreg_c": 1.0}})");
  auto r = run_cli("train --config " + p("cfg.json") + " --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  // No label column; rows deliberately out of path order.
  write_text_atomic(p("unlabelled.csv"), "path\nclips/mid3.wav\nclips/high1.wav\nclips/low0.wav\n");
  r = run_cli("predict --model " + p("runs/lr") + " --format csv " + p("unlabelled.csv"));
  unsetenv("SER_TORCH_LIBRARY");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto mid = r.out.find("mid3.wav"), high = r.out.find("high1.wav"), low = r.out.find("low0.wav");
  ASSERT_NE(mid, std::string::npos) << r.out;
  ASSERT_NE(high, std::string::npos) << r.out;
  ASSERT_NE(low, std::string::npos) << r.out;
  EXPECT_LT(mid, high) << r.out;
  EXPECT_LT(high, low) << r.out;

  // A ragged row and a conflicting duplicate are named with their lines; the rest is predicted.
  write_text_atomic(p("rows.csv"), "path,speaker\nclips/mid3.wav,a\nclips/low1.wav\nclips/high2.wav,b\nclips/mid3.wav,c\n");
  setenv("SER_TORCH_LIBRARY", "/nonexistent/libser_torch.so", 1);
  r = run_cli("predict --model " + p("runs/lr") + " --format csv " + p("rows.csv"));
  unsetenv("SER_TORCH_LIBRARY");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("rows.csv:3: row has 1 fields"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lines 2 and 5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("high2.wav,"), std::string::npos) << r.out;
}

}  // namespace
