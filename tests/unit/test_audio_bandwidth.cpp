// Effective bandwidth (audio::effective_bandwidth_hz), the band limit of feature sets
// (features.fmax) and the audio facts a feature store keeps (audio.csv).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "ser/audio/audio.hpp"
#include "ser/error.hpp"
#include "ser/features/bandwidth.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;
using namespace ser;

namespace {

std::vector<float> white_noise(std::size_t n, unsigned seed = 3) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.1f);
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

// Noise that only holds the band of `rate_through`: down to it and back up, as a 16 kHz
// recording stored at 48 kHz is.
std::vector<float> band_limited_noise(int rate, int rate_through, std::size_t n) {
  const auto low = audio::resample(white_noise(n), rate, rate_through);
  return audio::resample(low, rate_through, rate);
}

class BandwidthFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ser-bandwidth-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, std::vector<float> samples, int rate) {
    audio::Signal s;
    s.sample_rate = rate;
    s.samples = std::move(samples);
    const std::string path = (dir_ / name).string();
    audio::write_wav(path, s, /*float32=*/true);
    return path;
  }
  fs::path dir_;
};

}  // namespace

TEST(EffectiveBandwidth, FullBandNoiseReachesNyquist) {
  const auto x = white_noise(48000);
  EXPECT_GT(audio::effective_bandwidth_hz(x.data(), x.size(), 48000), 23000);
  const auto y = white_noise(16000);
  EXPECT_GT(audio::effective_bandwidth_hz(y.data(), y.size(), 16000), 7600);
}

TEST(EffectiveBandwidth, FindsTheCutOffOfResampledAudio) {
  for (const int through : {16000, 8000}) {
    const auto x = band_limited_noise(48000, through, 48000);
    const double bw = audio::effective_bandwidth_hz(x.data(), x.size(), 48000);
    EXPECT_NEAR(bw, through / 2.0, 0.1 * through / 2.0) << "through " << through;
  }
}

TEST(EffectiveBandwidth, SilenceAndEmptyInputHaveNone) {
  const std::vector<float> zeros(22050, 0.0f);
  EXPECT_EQ(audio::effective_bandwidth_hz(zeros.data(), zeros.size(), 22050), 0.0);
  EXPECT_EQ(audio::effective_bandwidth_hz(nullptr, 0, 22050), 0.0);
  const auto x = white_noise(100);  // shorter than one frame: zero-padded, still measured
  EXPECT_GT(audio::effective_bandwidth_hz(x.data(), x.size(), 22050), 10000);
}

TEST_F(BandwidthFiles, DecodingRecordsNativeRateAndBandwidth) {
  const auto path = write("narrow.wav", band_limited_noise(44100, 8000, 44100), 44100);
  const audio::Signal s = audio::load(path, 22050);
  EXPECT_EQ(s.sample_rate, 22050);
  EXPECT_EQ(s.native_rate, 44100);
  EXPECT_NEAR(s.bandwidth_hz, 4000, 400);
}

TEST_F(BandwidthFiles, BandLimitEmptiesTheBandAboveFmax) {
  const auto path = write("wide.wav", white_noise(48000), 48000);
  const auto full = features::make_feature_set("functionals");
  const auto limited = features::make_feature_set("functionals", 4000);
  EXPECT_EQ(limited->name(), "functionals");
  EXPECT_EQ(limited->sample_rate(), full->sample_rate());
  EXPECT_EQ(limited->band_limit_hz(), 4000);
  EXPECT_NE(limited->settings_fingerprint(), full->settings_fingerprint());

  const audio::Signal a = features::load_for(path, *full);
  const audio::Signal b = features::load_for(path, *limited);
  EXPECT_EQ(a.samples.size(), b.samples.size());  // the same length at the set's rate
  EXPECT_EQ(b.native_rate, 48000);                // the file's facts, not the limited signal's
  EXPECT_GT(b.bandwidth_hz, 23000);
  EXPECT_GT(audio::effective_bandwidth_hz(a.samples.data(), a.samples.size(), 22050), 10500);
  EXPECT_NEAR(audio::effective_bandwidth_hz(b.samples.data(), b.samples.size(), 22050), 4000, 400);
  // Without a limit, load_for is librosa.load.
  EXPECT_EQ(a.samples, audio::load(path, 22050).samples);
}

TEST(BandLimit, OutOfRangeIsAConfigError) {
  for (const double bad : {-1.0, 500.0, 11025.0, 20000.0, 8000.25}) {
    try {
      features::make_feature_set("functionals", bad);
      FAIL() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Config);
      EXPECT_NE(std::string(e.what()).find("features.fmax"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(features::make_feature_set("issa193+functionals", 8000));
}

TEST(TrainedBand, WarnsOnlyBelowTheTrainedBand) {
  const auto set = features::make_feature_set("functionals");
  std::vector<features::AudioFacts> training(40, {48000, 20000});
  training[0] = {16000, 7800};  // one narrow file does not lower the 5th percentile
  const auto j = features::trained_band_json(*set, training);
  EXPECT_EQ(j["analysis_band_hz"], 11025);
  EXPECT_EQ(j["bandwidth_hz"], 11025);  // capped at what the features analyse
  EXPECT_EQ(j["native_rates"]["48000"], 39);
  const auto band = features::trained_band_from_json(j, "model.json");
  ASSERT_TRUE(band);
  EXPECT_NE(features::bandwidth_warning({16000, 7900}, *band).find("below the 11025 Hz"), std::string::npos);
  EXPECT_EQ(features::bandwidth_warning({44100, 15000}, *band), "");
  EXPECT_EQ(features::bandwidth_warning({}, *band), "");  // unknown facts: no guess

  const auto limited = features::make_feature_set("functionals", 8000);
  const auto b8 = *features::trained_band_from_json(features::trained_band_json(*limited, training), "m");
  EXPECT_EQ(b8.bandwidth_hz, 8000);
  EXPECT_EQ(features::bandwidth_warning({16000, 7600}, b8), "");  // a 16 kHz recording's roll-off
  EXPECT_NE(features::bandwidth_warning({8000, 3900}, b8), "");   // telephone band
  // Facts unknown for every training file: no bandwidth, so never a warning.
  const auto none = features::trained_band_from_json(features::trained_band_json(*set, {{}, {}}), "m");
  EXPECT_EQ(none->bandwidth_hz, 0);
  EXPECT_EQ(features::bandwidth_warning({8000, 3900}, *none), "");
  EXPECT_FALSE(features::trained_band_from_json(nullptr, "m"));
  EXPECT_THROW(features::trained_band_from_json({{"analysis_band_hz", "x"}}, "m"), Error);
}

TEST_F(BandwidthFiles, StoreKeepsFactsThroughTheCache) {
  data::CorpusIndex index;
  index.dataset = "manifest";
  index.root = dir_.string();
  index.items.push_back({"wide", write("wide.wav", white_noise(22050), 22050), "a", "s1", {}});
  index.items.push_back({"narrow", write("narrow.wav", band_limited_noise(48000, 8000, 48000), 48000), "b", "s1", {}});
  const auto set = features::make_feature_set("functionals");
  features::ExtractOptions opt;
  opt.out_dir = (dir_ / "store").string();
  opt.progress = false;
  for (int pass = 0; pass < 2; ++pass) {  // computed, then from the cache
    const auto summary = features::extract_corpus(index, *set, opt);
    EXPECT_EQ(pass == 0 ? summary.extracted : summary.from_cache, 2u);
    const auto table = features::read_feature_store(opt.out_dir);
    ASSERT_EQ(table.audio.size(), 2u);
    EXPECT_EQ(table.audio[0].native_rate, 22050);
    EXPECT_GT(table.audio[0].bandwidth_hz, 10500);
    EXPECT_EQ(table.audio[1].native_rate, 48000);
    EXPECT_NEAR(table.audio[1].bandwidth_hz, 4000, 400);
  }
  // A damaged audio.csv is named; a store without one (written before it) reads with no facts.
  const std::string csv = opt.out_dir + "/audio.csv";
  util::write_text_atomic(csv, "id,native_rate,bandwidth_hz\nwide,22050,x\nnarrow,48000,4000\n");
  try {
    features::read_feature_store(opt.out_dir);
    FAIL() << "bad bandwidth accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("audio.csv"), std::string::npos) << e.what();
  }
  util::write_text_atomic(csv, "id,native_rate,bandwidth_hz\nnarrow,48000,4000\nwide,22050,11000\n");
  EXPECT_THROW(features::read_feature_store(opt.out_dir), Error);  // rows of another order
  fs::remove(csv);
  EXPECT_TRUE(features::read_feature_store(opt.out_dir).audio.empty());
}
