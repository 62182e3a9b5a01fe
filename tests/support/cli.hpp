#pragma once
// Running the `ser` binary from tests: exit code plus stdout and stderr together, and a scratch
// folder with a synthetic corpus writer (tones, so no shared data is needed).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "ser/audio/audio.hpp"
#include "ser/util/files.hpp"

namespace ser::test {

struct CliResult {
  int code;
  std::string out;  // stdout and stderr together
};

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline CliResult run_cli(const std::string& args) {
  const std::string cmd = shell_quote(SER_CLI_PATH) + " " + args + " 2>&1";
  CliResult r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// stdout alone (what a script reads) and stderr alone; `prefix` runs first in the same shell
// (e.g. "cd 'dir' &&").
struct CliStreams {
  int code;
  std::string out, err;
};

inline CliStreams run_cli_streams(const std::string& args, const std::string& prefix = "") {
  const std::string err_path =
      (std::filesystem::temp_directory_path() / ("ser-cli-stderr-" + std::to_string(::getpid()))).string();
  const std::string cmd = prefix + " " + shell_quote(SER_CLI_PATH) + " " + args + " 2>" + shell_quote(err_path);
  CliStreams r{-1, "", ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  std::size_t got;
  while ((got = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), got);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (std::filesystem::exists(err_path)) r.err = util::read_text(err_path);
  std::filesystem::remove(err_path);
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("ser-cli-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "clips");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string p(const std::string& rel) const { return (dir_ / rel).string(); }

  void write_tone(const std::string& rel, double freq, int sr) {
    audio::Signal s;
    s.sample_rate = sr;
    for (int i = 0; i < sr / 2; ++i) s.samples.push_back(0.3f * static_cast<float>(std::sin(2 * M_PI * freq * i / sr)));
    audio::write_wav(p(rel), s);
  }
  // Three tone "emotions" (low/mid/high) x 8 clips from speakers spk0..spk3, 16 kHz: separable
  // and small enough to train on in seconds. Writes clips/ and the manifest `rel`.
  void write_tone_corpus(const std::string& rel, bool with_gender = false) {
    std::string manifest = with_gender ? "path,label,speaker,gender\n" : "path,label,speaker\n";
    const double freq[] = {220, 440, 880};
    const char* label[] = {"low", "mid", "high"};
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < 8; ++i) {
        const std::string clip = "clips/" + std::string(label[c]) + std::to_string(i) + ".wav";
        write_tone(clip, freq[c] * (1.0 + 0.01 * i), 16000);
        manifest += p(clip) + "," + label[c] + ",spk" + std::to_string(i % 4);
        manifest += with_gender ? std::string(i % 2 ? ",female\n" : ",male\n") : std::string("\n");
      }
    }
    util::write_text_atomic(p(rel), manifest);
  }
  std::filesystem::path dir_;
};

}  // namespace ser::test
