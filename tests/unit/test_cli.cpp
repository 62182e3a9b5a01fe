// End-to-end checks of the `ser` binary: exit codes, one-line errors naming the file or key,
// partial extraction with a failure summary, and cache hits on re-runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ser/audio/audio.hpp"
#include "ser/features/extract.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::CliTest;
using Result = ser::test::CliResult;
Result run(const std::string& args) { return ser::test::run_cli(args); }

TEST_F(CliTest, InfoReportsBuild) {
  const Result r = run("info");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("torch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FFT backend"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("issa193"), std::string::npos) << r.out;
  EXPECT_EQ(run("info --json").code, 0);
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("frobnicate").code, 2);
  const Result r = run("extract");
  EXPECT_EQ(r.code, 2) << r.out;
}

TEST_F(CliTest, ConfigTypoNamesTheKey) {
  ser::util::write_text_atomic(p("c.json"), R"({"dataset":"manifest","manifest":"m.csv","features":{"out":"o","jbos":1}})");
  const Result r = run("extract --config " + p("c.json"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("features.jbos"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean 'features.jobs'"), std::string::npos) << r.out;
  const Result missing = run("extract --config " + p("nope.json"));
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.out.find("nope.json"), std::string::npos) << missing.out;
  const Result set = run("extract --dataset emodb --root " + p("clips") + " --out " + p("o") + " --features mfcc999");
  EXPECT_EQ(set.code, 2) << set.out;
  EXPECT_NE(set.out.find("mfcc999"), std::string::npos) << set.out;
}

TEST_F(CliTest, ExtractsGoodFilesAndListsBadOnes) {
  write_tone("clips/a.wav", 220, 16000);
  write_tone("clips/b.wav", 330, 44100);
  std::ofstream(p("clips/empty.wav")).close();
  std::ofstream(p("clips/text.wav")) << "not audio\n";
  ser::util::write_text_atomic(p("m.csv"),
                               "path,label,speaker\nclips/a.wav,happy,s1\nclips/b.wav,sad,s2\n"
                               "clips/missing.wav,sad,s2\nclips/empty.wav,sad,s1\nclips/text.wav,happy,s1\n");
  const std::string out = p("features");
  const Result r = run("extract --dataset manifest --manifest " + p("m.csv") + " --out " + out + " --jobs 2");
  EXPECT_EQ(r.code, 1) << r.out;
  for (const char* bad : {"missing.wav", "empty.wav", "text.wav"}) EXPECT_NE(r.out.find(bad), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 file(s) failed"), std::string::npos) << r.out;

  const auto table = ser::features::read_feature_store(out);
  ASSERT_EQ(table.items.size(), 2u);
  EXPECT_EQ(table.dim, 193u);
  EXPECT_EQ(table.items[0].label, "happy");
  EXPECT_EQ(table.meta["errors"].size(), 3u);
  for (float v : table.values) ASSERT_TRUE(std::isfinite(v));

  // Unchanged inputs: everything comes from the cache, and the store is identical.
  const Result again = run("extract --dataset manifest --manifest " + p("m.csv") + " --out " + out + " --allow-failures");
  EXPECT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("0 computed, 2 from cache"), std::string::npos) << again.out;
  EXPECT_EQ(ser::features::read_feature_store(out).values, table.values);
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "leftover temp file " << e.path();
  }
}

}  // namespace
