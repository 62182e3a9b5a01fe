// Resource limits and damaged input through the CLI: one absurd header must not cost the corpus
// (`ser extract` still writes its store, the failure recorded), augmentation parameters are
// bounded before any file is touched, copies are bounded in length, and an unusable --out is
// found before anything is computed. No path may end in a raw C++ message.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "ser/util/files.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;
using ser::test::run_cli;

namespace {

void put32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put16(std::string& s, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Mono 16-bit PCM noise with the header's rate and data size as given.
void write_raw_wav(const std::string& path, std::uint32_t rate, std::size_t frames, std::int64_t data_bytes = -1) {
  std::mt19937 rng(3);
  std::string body = "WAVEfmt ";
  put32(body, 16);
  put16(body, 1);
  put16(body, 1);
  put32(body, rate);
  put32(body, rate * 2u);
  put16(body, 2);
  put16(body, 16);
  body += "data";
  put32(body, static_cast<std::uint32_t>(data_bytes >= 0 ? data_bytes : static_cast<std::int64_t>(2 * frames)));
  for (std::size_t i = 0; i < frames; ++i) put16(body, static_cast<std::uint16_t>(static_cast<int>(rng() % 6000) - 3000));
  std::string out = "RIFF";
  put32(out, static_cast<std::uint32_t>(body.size()));
  std::ofstream(path, std::ios::binary) << out << body;
}

void write_noise_flac(const std::string& path, std::size_t frames) {
  SF_INFO info{};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr);
  std::mt19937 rng(4);
  std::vector<short> x(frames);
  for (auto& v : x) v = static_cast<short>(static_cast<int>(rng() % 6000) - 3000);
  sf_writef_short(f, x.data(), static_cast<sf_count_t>(frames));
  sf_close(f);
}

// The CLI with `prefix` before it: an environment assignment or a command such as setpriv.
ser::test::CliResult run_prefixed(const std::string& prefix, const std::string& args) {
  const std::string cmd = prefix + " " + ser::test::shell_quote(SER_CLI_PATH) + " " + args + " 2>&1";
  ser::test::CliResult r{-1, ""};
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  while (fgets(buf, sizeof buf, pipe)) r.out += buf;
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}
ser::test::CliResult run_cli_env(const std::string& env, const std::string& args) { return run_prefixed(env, args); }

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(ser::util::read_text(path)); }

void expect_no_raw_message(const std::string& out) {
  EXPECT_EQ(out.find("std::"), std::string::npos) << out;
  EXPECT_EQ(out.find("max_size()"), std::string::npos) << out;
  EXPECT_EQ(out.find("filesystem error"), std::string::npos) << out;
}

class ExtractLimits : public ser::test::CliTest {
 protected:
  // Two good tones, the 2 Hz header, a FLAC cut to a third, a data chunk declaring 7
  // frames of 16000.
  void write_mixed_corpus() {
    write_tone("clips/good1.wav", 220, 16000);
    write_tone("clips/good2.wav", 440, 16000);
    write_raw_wav(p("clips/2hz.wav"), 2, 200000);
    write_noise_flac(p("clips/full.flac"), 48000);
    fs::copy_file(p("clips/full.flac"), p("clips/cut.flac"));
    fs::resize_file(p("clips/cut.flac"), fs::file_size(p("clips/full.flac")) / 3);
    write_raw_wav(p("clips/short_chunk.wav"), 16000, 16000, 14);
    ser::util::write_text_atomic(p("m.csv"), "path,label\nclips/good1.wav,a\nclips/2hz.wav,b\nclips/cut.flac,a\n"
                                             "clips/short_chunk.wav,b\nclips/good2.wav,a\n");
  }
};

TEST_F(ExtractLimits, AnAbsurdHeaderFailsItsFileAndTheRestIsStored) {
  write_mixed_corpus();
  const std::string cmd = "extract --dataset manifest --manifest " + p("m.csv") + " --out " + p("out") +
                          " --features functionals --no-progress";
  const auto r = run_cli(cmd);
  EXPECT_EQ(r.code, 1) << r.out;
  expect_no_raw_message(r.out);
  EXPECT_NE(r.out.find("2hz.wav: resampled length 2205000000 samples (100000 s at 22050 Hz) exceeds the limit"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cut.flac: "), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(p("out/features.npy")));
  ASSERT_TRUE(fs::exists(p("out/index.csv")));
  const auto meta = read_json(p("out/meta.json"));
  EXPECT_EQ(meta["counts"]["failed"], 3) << meta.dump(1);
  EXPECT_EQ(meta["counts"]["rows"], 2) << "short_chunk.wav (7 samples) is too short for functionals";
  std::string reasons;
  for (const auto& e : meta["errors"]) reasons += e["path"].get<std::string>() + ": " + e["reason"].get<std::string>() + "\n";
  EXPECT_NE(reasons.find("2hz.wav: resampled length"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("cut.flac: "), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("short_chunk.wav: too short"), std::string::npos) << reasons;
}

TEST_F(ExtractLimits, AShortDataChunkIsAWarningInMetaJsonEvenFromTheCache) {
  write_raw_wav(p("clips/short_chunk.wav"), 16000, 16000, 8000 * 2);  // 8000 of 16000 frames declared
  write_tone("clips/good.wav", 220, 16000);
  ser::util::write_text_atomic(p("m.csv"), "path,label\nclips/short_chunk.wav,a\nclips/good.wav,b\n");
  const std::string cmd = "extract --dataset manifest --manifest " + p("m.csv") + " --out " + p("out") +
                          " --features functionals --no-progress";
  for (int run = 0; run < 2; ++run) {  // the second run reads both from the cache
    const auto r = run_cli(cmd);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("1 file(s) extracted with a warning"), std::string::npos) << r.out;
    const auto meta = read_json(p("out/meta.json"));
    EXPECT_EQ(meta["counts"]["from_cache"], run == 0 ? 0 : 2);
    ASSERT_EQ(meta["warnings"].size(), 1u) << meta.dump(1);
    EXPECT_EQ(meta["warnings"][0]["id"], "clips/short_chunk");
    EXPECT_NE(meta["warnings"][0]["warning"].get<std::string>().find("the 8000 frames the header declares"),
              std::string::npos);
    EXPECT_EQ(meta["counts"]["warnings"], 1);
  }
}

TEST_F(ExtractLimits, MaxSecondsIsAFlagAndAnEnvironmentVariable) {
  write_tone("clips/half_second.wav", 220, 16000);
  ser::util::write_text_atomic(p("m.csv"), "path,label\nclips/half_second.wav,a\n");
  const std::string base = "extract --dataset manifest --manifest " + p("m.csv") + " --out " + p("out") + " --no-progress";
  const auto limited = run_cli(base + " --max-seconds 0.25");
  EXPECT_EQ(limited.code, 1) << limited.out;
  EXPECT_NE(limited.out.find("half_second.wav: resampled length 11025 samples (0.5 s at 22050 Hz) exceeds the limit of "
                             "5512 samples (0.25 s; raise it with --max-seconds or SER_MAX_SECONDS)"),
            std::string::npos) << limited.out;
  const auto unlimited = run_cli(base + " --no-cache");
  EXPECT_EQ(unlimited.code, 0) << unlimited.out;
  const auto via_env = run_cli_env("SER_MAX_SECONDS=0.25", base + " --no-cache");
  EXPECT_EQ(via_env.code, 1) << via_env.out;
  EXPECT_NE(via_env.out.find("exceeds the limit of 5512 samples"), std::string::npos) << via_env.out;
  const auto bad_env = run_cli_env("SER_MAX_SECONDS=lots", base);
  EXPECT_EQ(bad_env.code, 2) << bad_env.out;
  EXPECT_NE(bad_env.out.find("SER_MAX_SECONDS: must be a number of seconds in (0, 86400] (got 'lots')"), std::string::npos)
      << bad_env.out;
  const auto bad_flag = run_cli(base + " --max-seconds 0");
  EXPECT_EQ(bad_flag.code, 2) << bad_flag.out;
  EXPECT_NE(bad_flag.out.find("--max-seconds: must be a number of seconds"), std::string::npos) << bad_flag.out;
}

class AugmentLimits : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_tone("clips/a.wav", 220, 16000);
    ser::util::write_text_atomic(p("m.csv"), "path,label\nclips/a.wav,x\n");
  }
};

TEST_F(AugmentLimits, OutOfRangeParametersStopBeforeAnyFileIsTouched) {
  struct Case {
    std::string ops, expect;
  };
  const Case cases[] = {
      {"tempo=1e-4", "tempo rate must be in [0.25, 4] (got 0.0001)"},
      {"speed=1e-6", "speed factor must be in [0.25, 4] (got 1e-06)"},
      {"speed=0.9|8", "speed factor must be in [0.25, 4] (got 8)"},
      {"tempo=0.5..5", "tempo rate must be in [0.25, 4] (got 5)"},
      {"pitch=1000", "pitch steps must be in [-240, 240] (got 1000)"},
      {"pitch=30", "pitch steps must be within two octaves, |steps| <= 2 * bins_per_octave (got 30 steps at 12"},
      {"pitch:steps=3,bins_per_octave=1", "pitch steps must be within two octaves"},
      {"pitch:steps=3,bins_per_octave=500", "pitch bins_per_octave must be a whole number in [1, 120] (got 500)"},
      {"noise=1000", "noise snr_db must be in [-20, 100] (got 1000)"},
      {"shift=1e9", "shift max_ms must be in [0, 60000] (got 1e+09)"},
      {"trim=1000", "trim top_db must be in (0, 200] (got 1000)"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli("augment --input " + p("m.csv") + " --out " + p("bad") + " --ops '" + c.ops + "'");
    EXPECT_EQ(r.code, 2) << c.ops << "\n" << r.out;
    EXPECT_NE(r.out.find("--ops " + c.ops + ": " + c.expect), std::string::npos) << c.ops << "\n" << r.out;
    EXPECT_FALSE(fs::exists(p("bad"))) << "nothing written for " << c.ops;
  }
  const auto sr = run_cli("augment --input " + p("m.csv") + " --out " + p("bad") + " --ops trim --sr 2");
  EXPECT_EQ(sr.code, 2) << sr.out;
  EXPECT_NE(sr.out.find("--sr: must be in 1000..768000 Hz"), std::string::npos) << sr.out;
}

TEST_F(AugmentLimits, CopiesAreBoundedInLengthAndBadSourcesAreNamed) {
  write_raw_wav(p("clips/2hz.wav"), 2, 200000);
  ser::util::write_text_atomic(p("two.csv"), "path,label\nclips/2hz.wav,y\nclips/a.wav,x\n");
  const auto r = run_cli("augment --input " + p("two.csv") + " --out " + p("out") + " --ops speed=0.25 --max-seconds 1.5");
  EXPECT_EQ(r.code, 1) << r.out;
  expect_no_raw_message(r.out);
  EXPECT_NE(r.out.find("2hz.wav: resampled length"), std::string::npos) << r.out;
  // 0.5 s at factor 0.25 is 2 s, over 1.5 s: refused before it is computed.
  EXPECT_NE(r.out.find("a.wav: speed: the copy would be 44100 samples (2 s), over the limit of 1.5 s"),
            std::string::npos) << r.out;
  const auto chained = run_cli("augment --input " + p("m.csv") + " --out " + p("out2") +
                               " --ops speed=0.25+speed=0.25+speed=0.25+speed=0.25+speed=0.25+speed=0.25");
  EXPECT_EQ(chained.code, 1) << chained.out;
  EXPECT_NE(chained.out.find("a.wav: speed: the copy would be"), std::string::npos) << chained.out;
  const auto ok = run_cli("augment --input " + p("m.csv") + " --out " + p("out3") + " --ops speed=0.25 --max-seconds 2");
  EXPECT_EQ(ok.code, 0) << ok.out;
}

// Runs the CLI as an unprivileged user when the tests run as root (root writes anywhere).
ser::test::CliResult run_cli_unprivileged(const std::string& args) {
  return run_prefixed(::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups" : "", args);
}

TEST_F(AugmentLimits, AnUnusableOutFolderIsFoundBeforeAnythingIsComputed) {
  ser::util::write_text_atomic(p("a_file"), "x");
  const auto aug = run_cli("augment --input " + p("m.csv") + " --out " + p("a_file") + " --ops trim");
  EXPECT_EQ(aug.code, 1) << aug.out;
  EXPECT_NE(aug.out.find(p("a_file") + ": cannot create the output folder"), std::string::npos) << aug.out;
  EXPECT_EQ(aug.out.find("a.wav"), std::string::npos) << "no file is copied first:\n" << aug.out;
  expect_no_raw_message(aug.out);
  const auto ext = run_cli("extract --dataset manifest --manifest " + p("m.csv") + " --out " + p("a_file/sub"));
  EXPECT_EQ(ext.code, 1) << ext.out;
  EXPECT_NE(ext.out.find("cannot create the output folder"), std::string::npos) << ext.out;

  // A folder that exists but cannot be written (found at the very end before).
  fs::create_directories(p("ro"));
  ::chmod(p("ro").c_str(), 0555);
  ::chmod(dir_.c_str(), 0755);
  if (::geteuid() == 0 && std::system("setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null") != 0) {
    GTEST_SKIP() << "running as root without setpriv: cannot test a folder the process may not write";
  }
  // A checkout under a folder only root may enter (e.g. /root): the other user cannot run `ser`.
  if (::geteuid() == 0 && run_cli_unprivileged("--version").code != 0) {
    GTEST_SKIP() << "uid 65534 cannot run " << SER_CLI_PATH
                 << " (the build sits under a folder only root may enter): cannot test a folder the process may not write";
  }
  const auto ext_ro = run_cli_unprivileged("extract --dataset manifest --manifest " + p("m.csv") + " --out " + p("ro") +
                                           " --no-cache --no-progress");
  EXPECT_EQ(ext_ro.code, 1) << ext_ro.out;
  EXPECT_NE(ext_ro.out.find(p("ro") + ": cannot write into the output folder: Permission denied"), std::string::npos)
      << ext_ro.out;
  EXPECT_EQ(ext_ro.out.find("extracted"), std::string::npos) << ext_ro.out;
  const auto aug_ro = run_cli_unprivileged("augment --input " + p("m.csv") + " --out " + p("ro") + " --ops trim");
  EXPECT_EQ(aug_ro.code, 1) << aug_ro.out;
  EXPECT_NE(aug_ro.out.find(p("ro") + ": cannot write into the output folder: Permission denied"), std::string::npos)
      << aug_ro.out;
  ::chmod(p("ro").c_str(), 0755);
}

}  // namespace
