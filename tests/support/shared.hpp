#pragma once
// Locating ../shared (corpora and librosa references). Tests that need it call
// SER_REQUIRE_SHARED(), which skips with a message when it is absent (a user's clone).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <Eigen/Core>

#include "ser/util/npy.hpp"

namespace ser::test {

inline std::string shared_dir() {
  if (const char* env = std::getenv("SER_SHARED_DIR")) return env;
  return SER_SHARED_DEFAULT;
}

inline bool shared_available() {
  return std::filesystem::is_directory(shared_dir() + "/reference/librosa-0.11");
}

inline std::string reference_dir() { return shared_dir() + "/reference/librosa-0.11"; }
inline std::string clip_dir(const std::string& clip) { return reference_dir() + "/clips/" + clip; }
inline std::string fixtures_dir() { return SER_FIXTURES_DIR; }
// The tiny random-weight encoders and their hidden states (reference/encoders/README.md).
inline std::string encoder_references_dir() { return shared_dir() + "/reference/encoders"; }

// FEATURES.md's block-relative error: max |ours - ref| / max(max |ref|, tiny).
template <typename Get>
double block_relative_error(const util::NpyArray& ref, Get ours) {
  double max_ref = 0.0, max_diff = 0.0;
  for (std::size_t i = 0; i < ref.values.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(ref.values[i]));
    max_diff = std::max(max_diff, std::abs(static_cast<double>(ours(i)) - ref.values[i]));
  }
  return max_diff / std::max(max_ref, 1e-30);
}

// For 2-D (rows x frames) references compared against a column-major Eigen matrix.
template <typename M>
double matrix_relative_error(const util::NpyArray& ref, const M& ours) {
  if (ref.shape.size() != 2 || ref.shape[0] != static_cast<std::size_t>(ours.rows()) ||
      ref.shape[1] != static_cast<std::size_t>(ours.cols())) {
    ADD_FAILURE() << "shape mismatch: reference " << ref.shape[0] << "x" << (ref.shape.size() > 1 ? ref.shape[1] : 0)
                  << " vs ours " << ours.rows() << "x" << ours.cols();
    return INFINITY;
  }
  const std::size_t cols = ref.shape[1];
  return block_relative_error(ref, [&](std::size_t i) { return ours(static_cast<Eigen::Index>(i / cols), static_cast<Eigen::Index>(i % cols)); });
}

// The audio file each reference clip was computed from.
inline std::string clip_source(const std::string& clip) {
  const std::string data = shared_dir() + "/data";
  if (clip.rfind("ravdess_", 0) == 0) return data + "/samples/" + clip + ".wav";
  if (std::filesystem::exists(data + "/edge/" + clip + ".wav")) return data + "/edge/" + clip + ".wav";
  return data + "/emodb/wav/" + clip + ".flac";
}

inline const char* kClips[] = {"03a01Fa", "16b10Wb", "chirp_44k_float", "clipped_22k", "noise_8k_24bit",
                               "ravdess_03-01-02-01-01-02-01_stereo", "ravdess_03-01-05-02-01-01-12",
                               "short_40ms_22k", "silence_16k", "tones_stereo_44k"};

}  // namespace ser::test

#define SER_REQUIRE_SHARED()                                                                     \
  do {                                                                                           \
    if (!::ser::test::shared_available())                                                        \
      GTEST_SKIP() << "../shared not found at " << ::ser::test::shared_dir()                     \
                   << " (set SER_SHARED_DIR); skipping a test that needs the corpora/references"; \
  } while (0)
