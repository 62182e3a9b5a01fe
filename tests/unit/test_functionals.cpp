// The `functionals` set (FUNCTIONALS.md) against librosa 0.11: every frame-level stage
// (func_*.npy) and the final 1020-vector of every reference clip, block by block (block-relative
// error <= 1e-4, the block's max |ref| floored at 1e-3), plus the concatenation with issa193.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "ser/audio/audio.hpp"
#include "ser/dsp/lld.hpp"
#include "ser/error.hpp"
#include "ser/features/functionals.hpp"
#include "ser/features/issa193.hpp"
#include "ser/features/registry.hpp"
#include "ser/util/files.hpp"
#include "support/shared.hpp"

using namespace ser;

namespace {

constexpr double kTol = 1e-4;

std::vector<float> load_y(const std::string& clip) {
  const auto a = util::read_npy(test::clip_dir(clip) + "/y.npy");
  return std::vector<float>(a.values.begin(), a.values.end());
}

// A 1-D "|b1" .npy (util::read_npy reads numbers only): header length at bytes 8-9 (v1.0).
std::vector<bool> read_bool_npy(const std::string& path) {
  const std::string raw = util::read_text(path);
  if (raw.size() < 10 || raw.compare(1, 5, "NUMPY") != 0) return {};
  const std::size_t header = static_cast<unsigned char>(raw[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(raw[9])) << 8);
  if (raw.find("|b1") == std::string::npos) return {};
  std::vector<bool> out;
  for (std::size_t i = 10 + header; i < raw.size(); ++i) out.push_back(raw[i] != 0);
  return out;
}

// Block-relative error of a (rows x T) stage, the reference's max |value| floored at 1e-3.
template <typename M>
double stage_error(const util::NpyArray& ref, const M& ours) {
  if (ref.shape.size() != 2 || ref.shape[0] != static_cast<std::size_t>(ours.rows()) ||
      ref.shape[1] != static_cast<std::size_t>(ours.cols())) {
    ADD_FAILURE() << "shape mismatch";
    return INFINITY;
  }
  double max_ref = 0, max_diff = 0;
  for (std::size_t i = 0; i < ref.shape[0]; ++i)
    for (std::size_t j = 0; j < ref.shape[1]; ++j) {
      max_ref = std::max(max_ref, std::abs(ref.at(i, j)));
      max_diff = std::max(max_diff, std::abs(static_cast<double>(ours(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j))) - ref.at(i, j)));
    }
  return max_diff / std::max(max_ref, 1e-3);
}

double block_error(const std::vector<float>& ours, const std::vector<double>& ref, std::size_t off, std::size_t n) {
  double max_ref = 0, max_diff = 0;
  for (std::size_t i = off; i < off + n; ++i) {
    max_ref = std::max(max_ref, std::abs(ref[i]));
    max_diff = std::max(max_diff, std::abs(static_cast<double>(ours[i]) - ref[i]));
  }
  return max_diff / std::max(max_ref, 1e-3);
}

const char* kFuncClips[] = {"03a01Fa", "16b10Wb", "chirp_44k_float", "clipped_22k", "noise_8k_24bit",
                            "ravdess_03-01-02-01-01-02-01_stereo", "ravdess_03-01-05-02-01-01-12", "silence_16k",
                            "tones_stereo_44k"};

std::string param_name(const ::testing::TestParamInfo<const char*>& info) {
  std::string n = info.param;
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

class FunctionalsClip : public ::testing::TestWithParam<const char*> {};

TEST_P(FunctionalsClip, EveryStageMatchesLibrosa) {
  SER_REQUIRE_SHARED();
  const std::string clip = GetParam();
  const auto f = features::functionals_frames(load_y(clip), 22050);
  auto ref = [&](const char* stage) { return util::read_npy(test::clip_dir(clip) + "/func_" + stage + ".npy"); };
  EXPECT_LE(stage_error(ref("mfcc"), f.mfcc), kTol) << clip << " mfcc";
  EXPECT_LE(stage_error(ref("delta_mfcc"), f.delta_mfcc), kTol) << clip << " delta_mfcc";
  EXPECT_LE(stage_error(ref("logmel64"), f.logmel), kTol) << clip << " logmel64";
  EXPECT_LE(stage_error(ref("chroma_stft"), f.chroma_stft), kTol) << clip << " chroma_stft";
  EXPECT_LE(stage_error(ref("contrast"), f.contrast), kTol) << clip << " contrast";
  EXPECT_LE(stage_error(ref("rms"), f.rms), 1e-6) << clip << " rms";
  EXPECT_LE(stage_error(ref("zcr"), f.zcr), 1e-12) << clip << " zcr";
  EXPECT_LE(stage_error(ref("centroid"), f.centroid), 1e-6) << clip << " centroid";
  EXPECT_LE(stage_error(ref("bandwidth"), f.bandwidth), 1e-6) << clip << " bandwidth";
  EXPECT_LE(stage_error(ref("rolloff"), f.rolloff), 1e-12) << clip << " rolloff";
  EXPECT_LE(stage_error(ref("flatness"), f.flatness), 1e-5) << clip << " flatness";
  const std::vector<bool> voiced = read_bool_npy(test::clip_dir(clip) + "/func_voiced.npy");
  ASSERT_EQ(voiced.size(), f.voiced.size());
  for (std::size_t t = 0; t < voiced.size(); ++t) EXPECT_EQ(f.voiced[t] != 0, voiced[t]) << clip << " t " << t;
  // f0 on the voiced frames (the ones the pitch block uses): same period and shift. The last bits
  // differ (~1e-8 relative) from float32 rounding inside the FFT autocorrelation, which in
  // near-silent unvoiced frames can move the shift or the period (counted, not checked).
  const auto f0 = ref("yin_f0");
  ASSERT_EQ(f0.size(), f.f0.size());
  std::size_t exact = 0, unvoiced_off = 0;
  for (std::size_t t = 0; t < f0.size(); ++t) {
    exact += f.f0[t] == f0.values[t];
    if (voiced[t]) EXPECT_NEAR(f.f0[t], f0.values[t], 1e-6 * f0.values[t]) << clip << " f0 frame " << t;
    else unvoiced_off += std::abs(f.f0[t] - f0.values[t]) > 1e-6 * f0.values[t];
  }
  std::printf("  %s: f0 bit-exact on %zu of %zu frames; %zu unvoiced frames off by > 1e-6\n", clip.c_str(), exact,
              f0.size(), unvoiced_off);
}

TEST_P(FunctionalsClip, VectorFromLibrosaSignalEveryBlock) {
  SER_REQUIRE_SHARED();
  const std::string clip = GetParam();
  const auto ref = util::read_npy(test::clip_dir(clip) + "/func_functionals.npy");
  const std::vector<float> ours = features::functionals_vector(features::functionals_frames(load_y(clip), 22050));
  ASSERT_EQ(ours.size(), 1020u);
  ASSERT_EQ(ref.size(), 1020u);
  double worst = 0;
  std::string worst_block;
  for (const auto& b : features::functionals_blocks()) {
    const double e = block_error(ours, ref.values, b.offset, b.size);
    if (e >= worst) worst_block = b.name;
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol) << clip << " block " << b.name;
  }
  std::printf("  %s (librosa's y): worst block-relative error %.3g (%s)\n", clip.c_str(), worst, worst_block.c_str());
}

TEST_P(FunctionalsClip, FileToVectorEveryBlock) {
  SER_REQUIRE_SHARED();
  const std::string clip = GetParam();
  const auto ref = util::read_npy(test::clip_dir(clip) + "/func_functionals.npy");
  const auto set = features::make_feature_set("functionals");
  ASSERT_EQ(set->dim(), 1020u);
  const std::vector<float> ours = set->compute(audio::load(test::clip_source(clip), set->sample_rate()));
  double worst = 0;
  std::string worst_block;
  for (const auto& b : set->blocks()) {
    const double e = block_error(ours, ref.values, b.offset, b.size);
    if (e >= worst) worst_block = b.name;
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol) << clip << " block " << b.name;
  }
  std::printf("  %s: worst block-relative error %.3g (%s)\n", clip.c_str(), worst, worst_block.c_str());
}

INSTANTIATE_TEST_SUITE_P(Clips, FunctionalsClip, ::testing::ValuesIn(kFuncClips), param_name);

TEST(Functionals, ShortClipIsAnInputError) {
  SER_REQUIRE_SHARED();
  const std::string clip = "short_40ms_22k";
  const std::string expected = util::read_text(test::clip_dir(clip) + "/functionals_error.json");
  EXPECT_NE(expected.find("too short for functionals"), std::string::npos);
  const auto set = features::make_feature_set("functionals");
  try {
    set->compute(audio::load(test::clip_source(clip), 22050));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("too short for functionals (2 frames, needs 9)"), std::string::npos) << e.what();
  }
}

TEST(Functionals, NineFrameBoundary) {
  // 1 + n / 512 frames: 8 frames below 4096 samples, 9 from 4096 on.
  std::vector<float> y(4095);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(0.3 * std::sin(0.05 * static_cast<double>(i)));
  try {
    features::functionals_frames(y, 22050);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too short for functionals (8 frames, needs 9)"), std::string::npos) << e.what();
  }
  y.push_back(0.1f);
  const auto f = features::functionals_frames(y, 22050);
  EXPECT_EQ(f.mfcc.cols(), 9);
  const auto v = features::functionals_vector(f);
  ASSERT_EQ(v.size(), 1020u);
  for (float x : v) EXPECT_TRUE(std::isfinite(x));
  EXPECT_FLOAT_EQ(v[1019], 4096.0f / 22050.0f);
}

TEST(Functionals, BlocksCoverTheVector) {
  const auto blocks = features::functionals_blocks();
  EXPECT_EQ(blocks.size(), 72u);
  std::size_t off = 0;
  for (const auto& b : blocks) {
    EXPECT_EQ(b.offset, off) << b.name;
    off += b.size;
  }
  EXPECT_EQ(off, 1020u);
  auto offset_of = [&](const std::string& n) {
    for (const auto& b : blocks)
      if (b.name == n) return b.offset;
    return std::size_t(-1);
  };
  EXPECT_EQ(offset_of("mfcc.mean"), 0u);
  EXPECT_EQ(offset_of("dmfcc.mean"), 240u);
  EXPECT_EQ(offset_of("logmel.mean"), 480u);
  EXPECT_EQ(offset_of("chroma.mean"), 864u);
  EXPECT_EQ(offset_of("contrast.mean"), 936u);
  EXPECT_EQ(offset_of("rms.mean"), 978u);
  EXPECT_EQ(offset_of("pitch.mean"), 1014u);
  EXPECT_EQ(offset_of("duration"), 1019u);
}

TEST(FeatureSets, NamesAndUnknownParts) {
  const auto names = features::feature_set_names();
  EXPECT_EQ(names, (std::vector<std::string>{"issa193", "functionals"}));
  for (const std::string bad : {"mfcc13", "issa193+mfcc13", "issa193+issa193", "issa193+", "+functionals"}) {
    try {
      features::make_feature_set(bad);
      FAIL() << "no error for " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2) << bad;
      EXPECT_EQ(e.subject(), "features.set") << bad;
    }
  }
  try {
    features::make_feature_set("issa193+mfcc13");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'mfcc13'"), std::string::npos) << e.what();
  }
}

TEST(FeatureSets, ConcatenationEqualsTheParts) {
  SER_REQUIRE_SHARED();
  const auto sig = audio::load(test::clip_source("03a01Fa"), 22050);
  const auto issa = features::make_feature_set("issa193");
  const auto func = features::make_feature_set("functionals");
  const std::vector<float> a = issa->compute(sig), b = func->compute(sig);
  for (const std::string order : {"issa193+functionals", "functionals+issa193"}) {
    const auto cat = features::make_feature_set(order);
    EXPECT_EQ(cat->name(), order);
    EXPECT_EQ(cat->sample_rate(), 22050);
    EXPECT_EQ(cat->dim(), 1213u);
    const bool issa_first = order.rfind("issa193", 0) == 0;
    std::vector<float> expected = issa_first ? a : b;
    const auto& second = issa_first ? b : a;
    expected.insert(expected.end(), second.begin(), second.end());
    const std::vector<float> v = cat->compute(sig);
    ASSERT_EQ(v.size(), expected.size());
    for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], expected[i]) << order << " index " << i;  // bit-exact
    const auto blocks = cat->blocks();
    const auto& first_part = issa_first ? *issa : *func;
    const auto& second_part = issa_first ? *func : *issa;
    ASSERT_EQ(blocks.size(), first_part.blocks().size() + second_part.blocks().size());
    const features::Block& b0 = blocks.front();
    EXPECT_EQ(b0.name, first_part.name() + "/" + first_part.blocks().front().name);
    EXPECT_EQ(b0.offset, 0u);
    const features::Block& bs = blocks[first_part.blocks().size()];
    EXPECT_EQ(bs.name, second_part.name() + "/" + second_part.blocks().front().name);
    EXPECT_EQ(bs.offset, first_part.dim());
    EXPECT_NE(cat->settings_fingerprint().find(issa->settings_fingerprint()), std::string::npos);
    EXPECT_NE(cat->settings_fingerprint().find(func->settings_fingerprint()), std::string::npos);
  }
  EXPECT_NE(features::make_feature_set("issa193+functionals")->settings_fingerprint(),
            features::make_feature_set("functionals+issa193")->settings_fingerprint());
  // The concatenated blocks include the named fine ones.
  bool found = false;
  for (const auto& blk : features::make_feature_set("issa193+functionals")->blocks())
    found |= blk.name == "functionals/mfcc.mean" && blk.offset == 193;
  EXPECT_TRUE(found);
}

TEST(FeatureSets, SharedPassLeavesIssa193Unchanged) {
  SER_REQUIRE_SHARED();
  for (const char* clip : {"03a01Fa", "ravdess_03-01-05-02-01-01-12"}) {
    const std::vector<float> y = load_y(clip);
    const auto alone = features::issa193_frames(y, 22050);
    const auto both = features::issa193_functionals_frames(y, 22050);
    EXPECT_EQ(features::issa193_vector(alone), features::issa193_vector(both.issa193)) << clip;
    EXPECT_TRUE(alone.tonnetz == both.issa193.tonnetz) << clip;
    EXPECT_TRUE(alone.mel == both.issa193.mel) << clip;
    EXPECT_EQ(features::functionals_vector(features::functionals_frames(y, 22050)),
              features::functionals_vector(both.functionals))
        << clip;
    // And issa193 itself still matches librosa's 193-vector.
    const auto ref = util::read_npy(test::clip_dir(clip) + "/features193.npy");
    const auto v = features::issa193_vector(both.issa193);
    for (const auto& b : features::Issa193().blocks()) {
      double max_ref = 0, max_diff = 0;
      for (std::size_t i = b.offset; i < b.offset + b.size; ++i) {
        max_ref = std::max(max_ref, std::abs(ref.values[i]));
        max_diff = std::max(max_diff, std::abs(v[i] - ref.values[i]));
      }
      EXPECT_LE(max_diff / std::max(max_ref, 1e-30), kTol) << clip << " " << b.name;
    }
  }
}

TEST(Lld, DeltaOfALineIsItsSlope) {
  dsp::Matrix x(2, 12);
  for (int t = 0; t < 12; ++t) {
    x(0, t) = 3.0f * t - 1.0f;
    x(1, t) = 0.5f;
  }
  const dsp::Matrix d = dsp::delta(x, 9);
  for (int t = 0; t < 12; ++t) {
    EXPECT_NEAR(d(0, t), 3.0f, 1e-5f) << t;
    EXPECT_NEAR(d(1, t), 0.0f, 1e-6f) << t;
  }
  EXPECT_THROW(dsp::delta(dsp::Matrix(1, 8), 9), std::invalid_argument);
}

TEST(Lld, YinFindsASine) {
  std::vector<float> y(22050);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 220.0 * i / 22050.0));
  const auto f0 = dsp::yin(y.data(), y.size(), 60, 600, 22050);
  ASSERT_EQ(f0.size(), 1 + y.size() / 512);
  for (std::size_t t = 4; t + 4 < f0.size(); ++t) EXPECT_NEAR(f0[t], 220.0, 0.5) << t;
}

}  // namespace
