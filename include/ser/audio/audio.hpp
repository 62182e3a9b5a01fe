#pragma once
// Audio in and out: decode anything libsndfile reads, mix to mono, resample with libsoxr,
// following librosa.load (float32, mono = channel mean, soxr "HQ", length ceil(n * sr / sr_in)).
//
// Decoding never trusts a header's sizes: the declared length, channel count and rate are checked
// against Limits before anything is allocated, audio is read in blocks with the limit enforced as
// it goes (a header may also understate or omit the length), and the resampled length is checked
// before the output is allocated. Memory for one file is therefore bounded by max_seconds of
// audio at the file's rate plus the same at the target rate, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ser::audio {

inline constexpr int kDefaultSampleRate = 22050;

// Native rates outside this range are refused (a header claiming 2 Hz is corrupt, not audio).
inline constexpr int kMinSampleRate = 1000;
inline constexpr int kMaxSampleRate = 768000;
inline constexpr int kMaxChannels = 1024;  // libsndfile's own ceiling
inline constexpr double kDefaultMaxSeconds = 1800.0;  // 30 minutes
inline constexpr double kMaxMaxSeconds = 86400.0;     // the largest limit accepted: a day

struct Limits {
  // Longest audio accepted, in seconds: at the file's own rate when decoding, and again at the
  // target rate when resampling. Longer files are refused with an error naming the length.
  double max_seconds = kDefaultMaxSeconds;
};

// The process-wide limits used by read_mono/load without an explicit Limits: kDefaultMaxSeconds,
// or SER_MAX_SECONDS from the environment when it is set (read on first use). Throws ser::Error
// (config kind, subject SER_MAX_SECONDS) when that variable is not a number in (0, 86400].
Limits limits();
// Replaces the process-wide limits (e.g. from --max-seconds); call before starting workers.
void set_limits(const Limits& limits);
// "900" -> 900 seconds; throws ser::Error (config kind, subject `where`) unless in (0, 86400].
double parse_max_seconds(const std::string& text, const std::string& where);

struct Signal {
  std::vector<float> samples;  // mono, nominal range [-1, 1]
  int sample_rate = 0;
  // Things about the file a user should know that do not stop it from being used, e.g. bytes
  // after the declared audio data that are not a valid chunk (the header may understate it).
  std::vector<std::string> warnings = {};
  // The file's own rate and effective bandwidth (effective_bandwidth_hz of the decoded samples,
  // before any resampling): what a model can know about the band an input really covers.
  int native_rate = 0;
  double bandwidth_hz = 0;
  double duration_seconds() const {
    return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0;
  }
};

struct AudioInfo {
  int sample_rate = 0;
  int channels = 0;
  std::int64_t frames = 0;  // -1 when the header does not say (e.g. a streamed FLAC)
  std::string format;       // e.g. "WAV PCM_16", "FLAC PCM_24"
};

// Header facts without decoding. Throws ser::Error naming the file on failure.
AudioInfo probe(const std::string& path);

// Decodes at the native rate, mixed to mono. Rejects empty, zero-length, truncated (fewer frames
// decodable than the header declares, or a decoder error), over-long and non-finite audio, and
// rates or channel counts outside the ranges above; every error is a ser::Error naming the file.
Signal read_mono(const std::string& path);
Signal read_mono(const std::string& path, const Limits& limits);

// librosa.load(path, sr=target_rate): decode, mono, resample with soxr HQ when rates differ.
Signal load(const std::string& path, int target_rate = kDefaultSampleRate);
Signal load(const std::string& path, int target_rate, const Limits& limits);

// load() on bytes in memory (any format libsndfile reads; `name` appears in errors). The same
// checks and limits as for a file, so that any input is safe to feed it (fuzzing, uploads).
// target_rate 0 keeps the native rate.
Signal load_memory(const std::string& name, const void* data, std::size_t size, int target_rate,
                   const Limits& limits);

// The header warnings of a file (Signal::warnings) without decoding it; for files whose
// features come from a cache.
std::vector<std::string> header_warnings(const std::string& path);

// librosa.resample(res_type="soxr_hq", fix=True, scale=false): soxr HQ, then the output is
// zero-padded or trimmed to ceil(n * out_rate / in_rate) samples. That length is computed before
// anything is allocated and refused (ser::Error, input kind) above max_len samples; max_len 0
// means limits().max_seconds at kMaxSampleRate.
std::vector<float> resample(const std::vector<float>& in, double in_rate, double out_rate, std::size_t max_len = 0);

// The highest frequency that carries signal rather than the noise floor, in Hz (at most rate / 2):
// the upper edge of the last 100 Hz band of the long-term spectrum (Hann, ~25 Hz bins, up to 128
// frames spread over the signal) that stands clear of the floor. A 16 kHz recording stored at
// 48 kHz gives ~8000, telephone audio ~3400-4000, a full-band recording close to rate / 2; all
// zeros give 0. Cheap (about a millisecond for a few seconds of audio).
double effective_bandwidth_hz(const float* samples, std::size_t n, int rate);

// Writes a mono 16-bit PCM (or float) WAV atomically.
void write_wav(const std::string& path, const Signal& signal, bool float32 = false);

}  // namespace ser::audio
