// Decoding under resource limits: headers that lie about length, rate or channels, truncated and
// length-less FLAC, a data chunk shorter than the file, the resample length cap, and decoding
// from memory. Every case must end in a ser::Error naming the file, never a crash or a raw
// C++ message, and must allocate no more than the limit allows.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "ser/audio/audio.hpp"
#include "ser/error.hpp"
#include "support/temp_dir.hpp"

using namespace ser;
namespace fs = std::filesystem;

namespace {

using ser::test::TempDir;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("raw C++ exception: ") + e.what();
  }
  return "";
}

void put32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put16(std::string& s, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A 16-bit PCM WAV whose header says what we like: rate, channels and the data chunk's size
// (default: the payload's real size); the RIFF size always covers the whole file.
std::string wav_bytes(std::uint32_t rate, std::uint16_t channels, const std::vector<std::int16_t>& payload,
                      std::int64_t data_bytes = -1) {
  std::string body = "WAVEfmt ";
  put32(body, 16);
  put16(body, 1);
  put16(body, channels);
  put32(body, rate);
  put32(body, rate * channels * 2u);
  put16(body, static_cast<std::uint16_t>(channels * 2));
  put16(body, 16);
  body += "data";
  put32(body, static_cast<std::uint32_t>(data_bytes >= 0 ? data_bytes : static_cast<std::int64_t>(payload.size() * 2)));
  for (auto v : payload) put16(body, static_cast<std::uint16_t>(v));
  std::string out = "RIFF";
  put32(out, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::int16_t> noise16(std::size_t n, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-3000, 3000);
  std::vector<std::int16_t> v(n);
  for (auto& x : v) x = static_cast<std::int16_t>(d(rng));
  return v;
}

// A FLAC of noise (which does not compress, so a cut-off file is missing most of its frames).
void write_flac(const std::string& path, int rate, std::size_t frames) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = 1;
  info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  const auto n = noise16(frames);
  sf_writef_short(f, n.data(), static_cast<sf_count_t>(n.size()));
  sf_close(f);
}

TEST(AudioLimits, HeaderClaimingTwoHertzIsRefusedBeforeResampling) {
  TempDir tmp;
  // The file: 400 KB declaring 2 Hz, so 200,000 frames are 100,000 s and librosa's
  // length rule asks soxr for 2.2e9 samples at 22050 Hz (a segfault before).
  const std::string path = tmp / "2hz.wav";
  write_bytes(path, wav_bytes(2, 1, noise16(200000)));
  const std::string err = error_of([&] { audio::load(path, 22050); });
  EXPECT_NE(err.find(path + ": resampled length 2205000000 samples"), std::string::npos) << err;
  EXPECT_NE(err.find("exceeds the limit of 39690000 samples (1800 s"), std::string::npos) << err;
  // At its own rate it is over the limit too, and a short file at 2 Hz is refused for its rate.
  EXPECT_NE(error_of([&] { audio::read_mono(path); }).find("decoded length 200000 frames"), std::string::npos);
  const std::string tiny = tmp / "2hz_short.wav";
  write_bytes(tiny, wav_bytes(2, 1, noise16(100)));
  EXPECT_NE(error_of([&] { audio::load(tiny, 22050); }).find(tiny + ": sample rate 2 Hz is outside the supported range 1000..768000 Hz"),
            std::string::npos);
  const std::string fast = tmp / "fast.wav";
  write_bytes(fast, wav_bytes(4000000, 1, noise16(100)));
  EXPECT_NE(error_of([&] { audio::read_mono(fast); }).find("sample rate 4000000 Hz is outside"), std::string::npos);
}

TEST(AudioLimits, TheLimitIsConfigurable) {
  TempDir tmp;
  const std::string path = tmp / "two_seconds.wav";
  write_bytes(path, wav_bytes(16000, 1, noise16(32000)));
  EXPECT_EQ(audio::load(path, 22050).samples.size(), 44100u);
  const std::string err = error_of([&] { audio::load(path, 22050, audio::Limits{1.5}); });
  EXPECT_NE(err.find("resampled length 44100 samples (2 s at 22050 Hz) exceeds the limit of 33075 samples (1.5 s"),
            std::string::npos) << err;
  EXPECT_NE(error_of([&] { audio::read_mono(path, audio::Limits{1.0}); }).find("decoded length 32000 frames"),
            std::string::npos);
  // The process-wide setting, as --max-seconds sets it.
  const audio::Limits before = audio::limits();
  audio::set_limits({1.0});
  EXPECT_NE(error_of([&] { audio::load(path, 16000); }).find("exceeds the limit of 16000 frames (1 s"), std::string::npos);
  audio::set_limits(before);
  EXPECT_EQ(audio::load(path, 16000).samples.size(), 32000u);
  EXPECT_NE(error_of([] { audio::parse_max_seconds("abc", "--max-seconds"); }).find("--max-seconds: must be a number of seconds"),
            std::string::npos);
  EXPECT_NE(error_of([] { audio::parse_max_seconds("-5", "--max-seconds"); }).find("(0, 86400]"), std::string::npos);
  EXPECT_NE(error_of([] { audio::set_limits({1e12}); }).find("max_seconds"), std::string::npos);
}

TEST(AudioLimits, ResampleChecksItsLengthBeforeAllocating) {
  const std::vector<float> x(200000, 0.1f);
  const std::string err = error_of([&] { audio::resample(x, 2, 22050); });
  EXPECT_NE(err.find("resampled length 2205000000 samples exceeds the limit"), std::string::npos) << err;
  EXPECT_NE(error_of([&] { audio::resample(x, 16000, 22050, 1000); }).find("exceeds the limit of 1000 samples"),
            std::string::npos);
  EXPECT_NE(error_of([&] { audio::resample(x, 0, 22050); }).find("rates must be finite and > 0"), std::string::npos);
  EXPECT_NE(error_of([&] { audio::resample(x, NAN, 22050); }).find("rates must be finite and > 0"), std::string::npos);
}

TEST(AudioLimits, FlacWithoutADeclaredLengthDecodesUnderTheLimit) {
  TempDir tmp;
  const std::string full = tmp / "full.flac", zeroed = tmp / "no_total.flac";
  write_flac(full, 16000, 24000);
  // STREAMINFO's 36-bit total sample count (bytes 21..25 of the file) = 0: "unknown", which
  // libsndfile reports as SF_COUNT_MAX frames (a raw "cannot create std::vector larger than
  // max_size()" before). The audio is all there, so it decodes.
  std::string b = read_bytes(full);
  ASSERT_EQ(b.substr(0, 4), "fLaC");
  b[8 + 13] = static_cast<char>(b[8 + 13] & 0xf0);
  for (int i = 8 + 14; i < 8 + 18; ++i) b[static_cast<std::size_t>(i)] = 0;
  write_bytes(zeroed, b);
  EXPECT_EQ(audio::probe(zeroed).frames, -1);
  EXPECT_EQ(audio::read_mono(zeroed).samples, audio::read_mono(full).samples);
  // ...but only up to the limit, since no header bounds it.
  const std::string err = error_of([&] { audio::read_mono(zeroed, audio::Limits{1.0}); });
  EXPECT_NE(err.find(zeroed + ": decoded length exceeds the limit of 16000 frames"), std::string::npos) << err;
  EXPECT_NE(err.find("the header does not declare a length"), std::string::npos) << err;
  // The whole STREAMINFO zeroed: rate 0, one error line naming the file.
  for (int i = 8; i < 42; ++i) b[static_cast<std::size_t>(i)] = 0;
  write_bytes(zeroed, b);
  const std::string zero_err = error_of([&] { audio::load(zeroed); });
  EXPECT_EQ(zero_err.rfind(zeroed + ": ", 0), 0u) << zero_err;
  EXPECT_EQ(zero_err.find("raw C++"), std::string::npos) << zero_err;
}

TEST(AudioLimits, TruncatedFlacIsAnErrorLikeATruncatedWav) {
  TempDir tmp;
  const std::string full = tmp / "full.flac", cut = tmp / "cut.flac";
  write_flac(full, 16000, 48000);
  ASSERT_EQ(audio::read_mono(full).samples.size(), 48000u);
  fs::copy_file(full, cut);
  fs::resize_file(cut, fs::file_size(full) / 3);  // an interrupted copy: the header still says 48000
  const std::string err = error_of([&] { audio::read_mono(cut); });
  EXPECT_EQ(err.rfind(cut + ": ", 0), 0u) << err;
  EXPECT_TRUE(err.find("truncated") != std::string::npos || err.find("corrupt") != std::string::npos) << err;
}

TEST(AudioLimits, DataChunkShorterThanTheFileIsAWarning) {
  TempDir tmp;
  // The data chunk declares 7 frames of a 16000-frame file: libsndfile reads 7 samples and
  // finds the rest is no chunk. Kept (it is what the header says), but never silently.
  const std::string path = tmp / "short_chunk.wav";
  write_bytes(path, wav_bytes(16000, 1, noise16(16000), 14));
  const audio::Signal s = audio::read_mono(path);
  EXPECT_EQ(s.samples.size(), 7u);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("the 7 frames the header declares are followed by data that is not a valid chunk"),
            std::string::npos) << s.warnings[0];
  EXPECT_NE(s.warnings[0].find("31986 bytes"), std::string::npos) << s.warnings[0];
  EXPECT_EQ(audio::header_warnings(path), s.warnings);
  // A clean file has none.
  const std::string clean = tmp / "clean.wav";
  write_bytes(clean, wav_bytes(16000, 1, noise16(16000)));
  EXPECT_TRUE(audio::read_mono(clean).warnings.empty());
  EXPECT_TRUE(audio::header_warnings(clean).empty());
}

TEST(AudioLimits, BlockwiseDecodingMatchesTheWholeFileAtOnce) {
  TempDir tmp;
  // More frames than one decoding block, three channels: the channel mean is numpy's per frame.
  const std::size_t frames = 150001;
  std::vector<float> inter(frames * 3);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-0.9f, 0.9f);
  for (auto& v : inter) v = d(rng);
  const std::string path = tmp / "three.wav";
  SF_INFO info{};
  info.samplerate = 44100;
  info.channels = 3;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr);
  sf_writef_float(f, inter.data(), static_cast<sf_count_t>(frames));
  sf_close(f);
  const audio::Signal s = audio::read_mono(path);
  ASSERT_EQ(s.samples.size(), frames);
  for (std::size_t i = 0; i < frames; ++i) {
    const float mean = (inter[3 * i] + inter[3 * i + 1] + inter[3 * i + 2]) / 3.0f;
    ASSERT_EQ(s.samples[i], mean) << i;
  }
}

TEST(AudioLimits, LoadFromMemoryMatchesLoadFromFileAndSurvivesGarbage) {
  TempDir tmp;
  const std::string bytes = wav_bytes(16000, 1, noise16(8000));
  const std::string path = tmp / "a.wav";
  write_bytes(path, bytes);
  const audio::Limits lim{60};
  EXPECT_EQ(audio::load_memory("a.wav", bytes.data(), bytes.size(), 22050, lim).samples,
            audio::load(path, 22050).samples);
  EXPECT_EQ(audio::load_memory("a.wav", bytes.data(), bytes.size(), 0, lim).samples.size(), 8000u);
  // Every prefix and a few corruptions of a small file: errors, never crashes or raw messages.
  std::mt19937 rng(9);
  for (std::size_t cut = 0; cut < 80; ++cut) {
    const std::string err = error_of([&] { audio::load_memory("m", bytes.data(), cut, 22050, lim); });
    EXPECT_FALSE(err.empty()) << cut;
    EXPECT_EQ(err.find("raw C++"), std::string::npos) << cut << ": " << err;
  }
  for (int round = 0; round < 200; ++round) {
    std::string b = bytes.substr(0, 200);
    for (int k = 0; k < 4; ++k) b[rng() % 44] = static_cast<char>(rng());
    const std::string err = error_of([&] { audio::load_memory("m", b.data(), b.size(), 22050, lim); });
    EXPECT_EQ(err.find("raw C++"), std::string::npos) << round << ": " << err;
  }
}

TEST(AudioLimits, HugeChannelCountsAndSizesInAHeaderAreNotAllocated) {
  TempDir tmp;
  // 1000 channels, a data chunk claiming 4 GB: libsndfile clamps to the file; either way the
  // decoder never allocates for the claim.
  const std::string path = tmp / "wide.wav";
  write_bytes(path, wav_bytes(48000, 1000, noise16(4000), 0xfffffff0));
  const std::string err = error_of([&] { audio::read_mono(path); });
  EXPECT_EQ(err.find("raw C++"), std::string::npos) << err;
}

}  // namespace
