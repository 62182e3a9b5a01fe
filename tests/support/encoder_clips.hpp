#pragma once
// The test clips of tests/fixtures/encoders: integer noise (an LCG) plus a 100 Hz sawtooth in
// 0.1 s loudness steps, from integer arithmetic only, so that this and
// scripts/make_encoder_fixtures.py (clip_samples) make the same samples bit for bit.
#include <cstdint>
#include <vector>

namespace ser::test {

inline std::vector<float> encoder_clip(std::size_t n, std::uint32_t seed) {
  std::vector<float> out(n);
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < n; ++i) {
    state = (1103515245ULL * state + 12345ULL) % 2147483648ULL;
    const std::int64_t a = static_cast<std::int64_t>((state >> 16) & 0x7FFF);
    const std::int64_t b = static_cast<std::int64_t>((i * 7) % 160);
    const std::int64_t env = static_cast<std::int64_t>((i / 1600) % 5 + 1);
    out[i] = static_cast<float>((a / 4 + b * 60) * env / 5 - 8866) / 32768.0f;
  }
  return out;
}

struct EncoderClip {
  const char* name;
  std::size_t samples;
  std::uint32_t seed;
};
// 0.5 s, 3 s and 20 s at 16 kHz.
inline const std::vector<EncoderClip>& encoder_clips() {
  static const std::vector<EncoderClip> clips = {{"c05", 8000, 1}, {"c30", 48000, 2}, {"c200", 320000, 3}};
  return clips;
}

}  // namespace ser::test
