// Augmentation primitives against librosa 0.11 on every reference clip: time_stretch, the soxr
// speed change, pitch_shift and trim, each fed librosa's own loaded signal (y.npy) so that only
// the op is compared. The bar is 1e-4 of the reference's peak; measured: speed and trim are
// bit-identical, stretch and pitch within 1e-6 (float32 sin/cos ulps), so the test holds 1e-5.
// Trim's interval must be exact.
#include <gtest/gtest.h>

#include "ser/augment/augment.hpp"
#include "support/shared.hpp"

using namespace ser;
using ser::test::clip_dir;
using ser::test::kClips;
using ser::util::read_npy;

namespace {

constexpr double kTol = 1e-5;

std::vector<float> reference_signal(const std::string& clip) {
  const auto y = read_npy(clip_dir(clip) + "/y.npy");
  return std::vector<float>(y.values.begin(), y.values.end());
}

void expect_close(const std::string& clip, const std::string& name, const std::vector<float>& ours) {
  const auto ref = read_npy(clip_dir(clip) + "/" + name + ".npy");
  ASSERT_EQ(ours.size(), ref.size()) << clip << " " << name << ": length";
  const double err = test::block_relative_error(ref, [&](std::size_t i) { return ours[i]; });
  EXPECT_LE(err, kTol) << clip << " " << name << ": max error relative to the peak";
}

class AugmentParity : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { SER_REQUIRE_SHARED(); }
};

TEST_P(AugmentParity, TimeStretch) {
  const std::string clip = GetParam();
  const auto y = reference_signal(clip);
  expect_close(clip, "stretch_0.81", augment::time_stretch(y, 0.81));
  expect_close(clip, "stretch_1.23", augment::time_stretch(y, 1.23));
}

TEST_P(AugmentParity, SpeedBySoxrResampling) {
  const std::string clip = GetParam();
  const auto y = reference_signal(clip);
  expect_close(clip, "speed_0.81", augment::change_speed(y, 22050, 0.81));
  expect_close(clip, "speed_1.23", augment::change_speed(y, 22050, 1.23));
}

TEST_P(AugmentParity, PitchShift) {
  const std::string clip = GetParam();
  const auto y = reference_signal(clip);
  expect_close(clip, "pitch_+2", augment::pitch_shift(y, 22050, 2.0));
  expect_close(clip, "pitch_-2", augment::pitch_shift(y, 22050, -2.0));
}

TEST_P(AugmentParity, TrimIntervalExact) {
  const std::string clip = GetParam();
  const auto y = reference_signal(clip);
  const auto interval = read_npy(clip_dir(clip) + "/trim_60db_interval.npy");
  const augment::Trimmed t = augment::trim(y, 60.0);
  EXPECT_EQ(t.start, static_cast<std::size_t>(interval.values[0])) << clip;
  EXPECT_EQ(t.end, static_cast<std::size_t>(interval.values[1])) << clip;
  expect_close(clip, "trim_60db", t.samples);
}

INSTANTIATE_TEST_SUITE_P(Clips, AugmentParity, ::testing::ValuesIn(kClips),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

}  // namespace
