#pragma once
// Audio in and out: decode anything libsndfile reads, mix to mono, resample with libsoxr,
// following librosa.load (float32, mono = channel mean, soxr "HQ", length ceil(n * sr / sr_in)).
#include <cstdint>
#include <string>
#include <vector>

namespace ser::audio {

inline constexpr int kDefaultSampleRate = 22050;

struct Signal {
  std::vector<float> samples;  // mono, nominal range [-1, 1]
  int sample_rate = 0;
  double duration_seconds() const {
    return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0;
  }
};

struct AudioInfo {
  int sample_rate = 0;
  int channels = 0;
  std::int64_t frames = 0;
  std::string format;  // e.g. "WAV PCM_16", "FLAC PCM_24"
};

// Header facts without decoding. Throws ser::Error naming the file on failure.
AudioInfo probe(const std::string& path);

// Decodes at the native rate, mixed to mono. Rejects empty, zero-length and non-finite audio.
Signal read_mono(const std::string& path);

// librosa.load(path, sr=target_rate): decode, mono, resample with soxr HQ when rates differ.
Signal load(const std::string& path, int target_rate = kDefaultSampleRate);

// librosa.resample(res_type="soxr_hq", fix=True, scale=false): soxr HQ, then the output is
// zero-padded or trimmed to ceil(n * out_rate / in_rate) samples.
std::vector<float> resample(const std::vector<float>& in, double in_rate, double out_rate);

// Writes a mono 16-bit PCM (or float) WAV atomically.
void write_wav(const std::string& path, const Signal& signal, bool float32 = false);

}  // namespace ser::audio
