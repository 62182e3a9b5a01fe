// Speaker normalisation (FUNCTIONALS.md, last section): the statistics a row is standardised
// with, and the leakage properties: a test speaker's statistics read its features, never its
// labels, and never touch a training row.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ser/error.hpp"
#include "ser/features/speaker_norm.hpp"

namespace {

using namespace ser;

constexpr std::size_t kDim = 3;

// 4 speakers x 5 items; speaker s's features are offset by 10 s and scaled by s + 1.
struct Corpus {
  std::vector<float> values;
  std::vector<std::string> speakers;
  data::Fold fold;
};

Corpus corpus() {
  Corpus c;
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  for (int s = 0; s < 4; ++s) {
    for (int i = 0; i < 5; ++i) {
      for (std::size_t j = 0; j < kDim; ++j) c.values.push_back(10.0f * s + (s + 1.0f) * noise(rng));
      c.speakers.push_back("spk" + std::to_string(s));
    }
  }
  for (std::size_t i = 0; i < 10; ++i) c.fold.train.push_back(i);       // spk0, spk1
  for (std::size_t i = 10; i < 15; ++i) c.fold.validation.push_back(i);  // spk2
  for (std::size_t i = 15; i < 20; ++i) c.fold.test.push_back(i);        // spk3
  return c;
}

TEST(SpeakerNorm, EachSpeakerHasZeroMeanAndUnitStd) {
  const Corpus c = corpus();
  const auto n = features::normalize_fold(c.values, kDim, c.speakers, 20, {}, c.fold);
  for (int s = 0; s < 4; ++s) {
    for (std::size_t j = 0; j < kDim; ++j) {
      double mean = 0, sq = 0;
      for (int i = 0; i < 5; ++i) mean += n.values[(s * 5 + i) * kDim + j];
      mean /= 5;
      for (int i = 0; i < 5; ++i) sq += std::pow(n.values[(s * 5 + i) * kDim + j] - mean, 2);
      EXPECT_NEAR(mean, 0.0, 1e-5) << s;
      EXPECT_NEAR(std::sqrt(sq / 5), 1.0, 1e-5) << s;
    }
  }
  EXPECT_EQ(n.training.size(), 2u);
  EXPECT_EQ(n.from_own_part, (std::vector<std::string>{"spk2", "spk3"}));
}

TEST(SpeakerNorm, TestFeaturesNeverTouchATrainingRow) {
  Corpus c = corpus();
  const auto before = features::normalize_fold(c.values, kDim, c.speakers, 20, {}, c.fold);
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> junk(-1000.0f, 1000.0f);
  for (std::size_t i : c.fold.test) {
    for (std::size_t j = 0; j < kDim; ++j) c.values[i * kDim + j] = junk(rng);
  }
  const auto after = features::normalize_fold(c.values, kDim, c.speakers, 20, {}, c.fold);
  for (std::size_t i = 0; i < 15; ++i) {  // training and validation rows are bit-identical
    for (std::size_t j = 0; j < kDim; ++j) EXPECT_EQ(before.values[i * kDim + j], after.values[i * kDim + j]) << i;
  }
}

TEST(SpeakerNorm, ASpeakerWithTrainingItemsUsesOnlyThoseStatistics) {
  Corpus c = corpus();
  // Random-fold style: spk0 has items in train and test; its test items use the training statistics.
  c.fold.train = {0, 1, 2, 5, 6, 7, 8, 9};
  c.fold.validation = {10, 11, 12, 13, 14};
  c.fold.test = {3, 4, 15, 16, 17, 18, 19};
  const auto n = features::normalize_fold(c.values, kDim, c.speakers, 20, {}, c.fold);
  const auto st = features::speaker_stats(c.values.data(), {0, 1, 2}, kDim, "spk0");
  for (std::size_t j = 0; j < kDim; ++j) {
    EXPECT_FLOAT_EQ(n.values[3 * kDim + j], static_cast<float>((c.values[3 * kDim + j] - st.mean[j]) / st.scale[j]));
  }
}

TEST(SpeakerNorm, CopiesUseTheirSourceStatisticsAndNeverEnterThem) {
  Corpus c = corpus();
  // Two copies of item 0 with wild values: they must not move spk0's statistics.
  for (int k = 0; k < 2; ++k) {
    for (std::size_t j = 0; j < kDim; ++j) c.values.push_back(500.0f + static_cast<float>(k));
  }
  const auto n = features::normalize_fold(c.values, kDim, c.speakers, 20, {0, 0}, c.fold);
  const auto st = features::speaker_stats(c.values.data(), {0, 1, 2, 3, 4}, kDim, "spk0");
  for (std::size_t j = 0; j < kDim; ++j) {
    EXPECT_FLOAT_EQ(n.values[20 * kDim + j], static_cast<float>((500.0 - st.mean[j]) / st.scale[j]));
    EXPECT_FLOAT_EQ(n.values[0 * kDim + j], static_cast<float>((c.values[j] - st.mean[j]) / st.scale[j]));
  }
}

TEST(SpeakerNorm, ASpeakerWithOneItemIsAnError) {
  Corpus c = corpus();
  c.fold.test = {15};  // spk3's other items are in no part: its test group has one item
  try {
    features::normalize_fold(c.values, kDim, c.speakers, 20, {}, c.fold);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("speaker 'spk3'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at least 2"), std::string::npos) << e.what();
  }
}

TEST(SpeakerNorm, GroupsOfNewAudioUseTheirOwnStatistics) {
  const Corpus c = corpus();
  std::vector<float> rows = c.values;
  std::vector<std::string> small;
  features::normalize_groups(rows, kDim, c.speakers, &small);
  EXPECT_EQ(small.size(), 4u);  // 5 items each: under 10, named for a warning
  const auto st = features::speaker_stats(c.values.data(), {15, 16, 17, 18, 19}, kDim, "spk3");
  EXPECT_FLOAT_EQ(rows[15 * kDim], static_cast<float>((c.values[15 * kDim] - st.mean[0]) / st.scale[0]));
  std::vector<std::string> one = c.speakers;
  one[0] = "alone";
  EXPECT_THROW(features::normalize_groups(rows, kDim, one), Error);
}

TEST(SpeakerNorm, StatisticsRoundTripThroughJson) {
  const Corpus c = corpus();
  const auto st = features::speaker_stats(c.values.data(), {0, 1, 2, 3, 4}, kDim, "spk0");
  const auto back = features::speaker_stats_from_json(nlohmann::json::parse(features::to_json(st).dump()), "x");
  EXPECT_EQ(back.mean, st.mean);
  EXPECT_EQ(back.scale, st.scale);
  EXPECT_THROW(features::speaker_stats_from_json(nlohmann::json{{"n", 2}, {"mean", {1.0}}, {"scale", {0.0}}}, "x"), Error);
}

}  // namespace
