// Audio loading: formats libsndfile reads (by content, not extension), channel mixing, rates,
// original WAVs with extra chunks, and bad input with clear errors naming the file.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "ser/audio/audio.hpp"
#include "ser/error.hpp"
#include "support/shared.hpp"
#include "support/temp_dir.hpp"

using namespace ser;
namespace fs = std::filesystem;

namespace {

using ser::test::TempDir;

// Writes interleaved float samples with an explicit libsndfile format.
void write_sound(const std::string& path, int format, int sr, int channels, const std::vector<float>& interleaved) {
  SF_INFO info{};
  info.samplerate = sr;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  sf_writef_float(f, interleaved.data(), static_cast<sf_count_t>(interleaved.size() / channels));
  sf_close(f);
}

std::vector<float> tone(std::size_t n, double freq, double sr, float amp = 0.5f) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = amp * static_cast<float>(std::sin(2 * M_PI * freq * i / sr));
  return v;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Audio, ReadsFormatsByContentNotExtension) {
  TempDir tmp;
  const auto x = tone(16000, 440, 16000);
  write_sound((tmp / "a.flac"), SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, x);
  write_sound((tmp / "aiff_named.wav"), SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 16000, 1, x);
  write_sound((tmp / "b.ogg"), SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1, x);
  write_sound((tmp / "c.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_24, 16000, 1, x);
  for (const char* name : {"a.flac", "aiff_named.wav", "b.ogg", "c.wav"}) {
    const auto sig = audio::read_mono((tmp / name));
    EXPECT_EQ(sig.sample_rate, 16000) << name;
    EXPECT_EQ(sig.samples.size(), x.size()) << name;
  }
  // Lossless formats decode the same values (16-bit quantisation aside).
  const auto flac = audio::read_mono((tmp / "a.flac")), aiff = audio::read_mono((tmp / "aiff_named.wav"));
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(flac.samples[i], aiff.samples[i]);
  EXPECT_NE(audio::probe((tmp / "aiff_named.wav")).format.find("AIFF"), std::string::npos);
}

TEST(Audio, MixesChannelsToMean) {
  TempDir tmp;
  std::vector<float> inter;
  for (int i = 0; i < 1000; ++i) {
    inter.push_back(0.25f);
    inter.push_back(-0.75f);
    inter.push_back(0.5f);
  }
  write_sound((tmp / "three.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 3, inter);
  const auto sig = audio::read_mono((tmp / "three.wav"));
  ASSERT_EQ(sig.samples.size(), 1000u);
  EXPECT_FLOAT_EQ(sig.samples[10], (0.25f + -0.75f + 0.5f) / 3.0f);
}

TEST(Audio, ResampleLengthFollowsLibrosa) {
  for (int n : {1, 7, 882, 16000, 44101}) {
    const std::vector<float> x(static_cast<std::size_t>(n), 0.1f);
    for (double in_sr : {8000.0, 16000.0, 44100.0, 48000.0}) {
      const auto y = audio::resample(x, in_sr, 22050);
      EXPECT_EQ(y.size(), static_cast<std::size_t>(std::ceil(n * 22050.0 / in_sr))) << n << " @ " << in_sr;
    }
  }
}

TEST(Audio, ReadsOriginalWavsWithExtraChunks) {
  SER_REQUIRE_SHARED();
  const std::string samples = test::shared_dir() + "/data/samples/";
  const auto stereo = audio::probe(samples + "ravdess_03-01-02-01-01-02-01_stereo.wav");
  EXPECT_EQ(stereo.channels, 2);
  EXPECT_EQ(stereo.sample_rate, 48000);
  const auto pad = audio::read_mono(samples + "emodb_14a07Aa_padchunk.wav");
  EXPECT_EQ(pad.sample_rate, 16000);
  // The FLAC copy in the corpus decodes to exactly the same samples as the original WAV.
  const auto flac = audio::read_mono(test::shared_dir() + "/data/emodb/wav/14a07Aa.flac");
  ASSERT_EQ(flac.samples.size(), pad.samples.size());
  EXPECT_EQ(flac.samples, pad.samples);
}

TEST(Audio, BadInputNamesTheFile) {
  TempDir tmp;
  const std::string missing = (tmp / "missing.wav");
  EXPECT_NE(error_of([&] { audio::load(missing); }).find(missing + ": file not found"), std::string::npos);

  const std::string empty = (tmp / "empty.wav");
  std::ofstream(empty).close();
  EXPECT_NE(error_of([&] { audio::load(empty); }).find(empty + ": empty file"), std::string::npos);

  const std::string text = (tmp / "notes.wav");
  std::ofstream(text) << "this is not audio at all, just some text\n";
  EXPECT_NE(error_of([&] { audio::load(text); }).find(text + ": not readable as audio"), std::string::npos);

  const std::string zero = (tmp / "zero.wav");
  write_sound(zero, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, {});
  EXPECT_NE(error_of([&] { audio::load(zero); }).find("zero-length audio"), std::string::npos);

  const std::string nan = (tmp / "nan.wav");
  auto x = tone(1000, 440, 16000);
  x[500] = std::nanf("");
  write_sound(nan, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x);
  EXPECT_NE(error_of([&] { audio::load(nan); }).find("non-finite samples"), std::string::npos);
}

TEST(Audio, TruncatedWavIsAnError) {
  TempDir tmp;
  const std::string full = (tmp / "full.wav"), cut = (tmp / "cut.wav");
  write_sound(full, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, tone(16000, 440, 16000));
  EXPECT_EQ(audio::read_mono(full).samples.size(), 16000u);
  fs::copy_file(full, cut);
  fs::resize_file(cut, 44 + 2 * 4000);  // header + 4000 samples; the header still says 16000
  EXPECT_NE(error_of([&] { audio::read_mono(cut); }).find(cut + ": truncated"), std::string::npos);
  fs::resize_file(cut, 46);  // cut before the first complete sample
  EXPECT_NE(error_of([&] { audio::read_mono(cut); }).find(cut + ": truncated"), std::string::npos);
  fs::resize_file(cut, 20);  // cut inside the header
  EXPECT_FALSE(error_of([&] { audio::read_mono(cut); }).empty());
}

}  // namespace
