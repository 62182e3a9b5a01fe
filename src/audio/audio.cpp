#include "ser/audio/audio.hpp"

#include <sndfile.h>
#include <soxr.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <type_traits>
#include <unistd.h>

#include "ser/error.hpp"

namespace ser::audio {

namespace {

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

SndfilePtr open_for_read(const std::string& path, SF_INFO& info) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail_input(path, "file not found");
  if (std::filesystem::is_directory(path, ec)) fail_input(path, "is a directory, not an audio file");
  if (std::filesystem::file_size(path, ec) == 0) fail_input(path, "empty file (0 bytes)");
  info = SF_INFO{};
  // libsndfile reports open failures through one process-wide error slot; serialise opens so
  // the message read back belongs to this file.
  static std::mutex open_mutex;
  std::unique_lock<std::mutex> lock(open_mutex);
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (!f) fail_input(path, std::string("not readable as audio (") + sf_strerror(nullptr) + ")");
  lock.unlock();
  return SndfilePtr(f);
}

std::string describe_format(int format) {
  SF_FORMAT_INFO major{}, sub{};
  major.format = format & SF_FORMAT_TYPEMASK;
  sub.format = format & SF_FORMAT_SUBMASK;
  sf_command(nullptr, SFC_GET_FORMAT_INFO, &major, sizeof(major));
  sf_command(nullptr, SFC_GET_FORMAT_INFO, &sub, sizeof(sub));
  std::string out = major.extension ? major.extension : "?";
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out + " " + (sub.name ? sub.name : "?");
}

// libsndfile logs "data : 2000 (should be 1)" (WAV) or "SSND : ... (should be ...)" (AIFF) when a
// chunk is longer than the bytes that follow it.
bool header_claims_more_data(SNDFILE* f) {
  char log[4096] = {0};
  sf_command(f, SFC_GET_LOG_INFO, log, sizeof(log));
  return std::strstr(log, "(should be") != nullptr;
}

}  // namespace

AudioInfo probe(const std::string& path) {
  SF_INFO info;
  SndfilePtr f = open_for_read(path, info);
  return AudioInfo{info.samplerate, info.channels, static_cast<std::int64_t>(info.frames),
                   describe_format(info.format)};
}

Signal read_mono(const std::string& path) {
  SF_INFO info;
  SndfilePtr f = open_for_read(path, info);
  if (info.channels < 1 || info.samplerate < 1) fail_input(path, "invalid channel count or sample rate");
  // libsndfile clamps a cut-off data chunk to what is present, so a truncated file (an
  // interrupted copy or download) would otherwise load as a shorter recording; only its log
  // tells. Partial audio would silently change the features, so it is an error.
  if (header_claims_more_data(f.get())) {
    fail_input(path, info.frames <= 0
                         ? "truncated: the header declares audio data but the file ends before the first complete sample"
                         : "truncated: the header declares more audio data than the file holds");
  }
  if (info.frames <= 0) fail_input(path, "zero-length audio (the header declares no samples)");

  const auto channels = static_cast<std::size_t>(info.channels);
  std::vector<float> interleaved(static_cast<std::size_t>(info.frames) * channels);
  const sf_count_t got = sf_readf_float(f.get(), interleaved.data(), info.frames);
  if (got <= 0) fail_input(path, "no audio frames could be decoded (truncated or corrupt)");
  const auto frames = static_cast<std::size_t>(got);

  Signal sig;
  sig.sample_rate = info.samplerate;
  sig.samples.resize(frames);
  if (channels == 1) {
    std::copy(interleaved.begin(), interleaved.begin() + static_cast<std::ptrdiff_t>(frames), sig.samples.begin());
  } else {
    // numpy's mean over the channel axis: sequential float32 sum, then divide.
    const float n = static_cast<float>(channels);
    for (std::size_t i = 0; i < frames; ++i) {
      float acc = interleaved[i * channels];
      for (std::size_t c = 1; c < channels; ++c) acc += interleaved[i * channels + c];
      sig.samples[i] = acc / n;
    }
  }
  for (std::size_t i = 0; i < frames; ++i) {
    if (!std::isfinite(sig.samples[i])) {
      fail_input(path, "audio contains non-finite samples (NaN or Inf) at sample " + std::to_string(i));
    }
  }
  return sig;
}

namespace {

// Designing an HQ filter costs ~25 us, so each thread keeps one resampler per rate pair and
// resets it between signals; soxr_clear gives output identical to a fresh resampler.
struct SoxrDeleter {
  void operator()(soxr_t s) const { soxr_delete(s); }
};
using SoxrPtr = std::unique_ptr<std::remove_pointer_t<soxr_t>, SoxrDeleter>;

soxr_t resampler_for(double in_rate, double out_rate) {
  thread_local std::map<std::pair<double, double>, SoxrPtr> cache;
  auto& slot = cache[{in_rate, out_rate}];
  if (!slot) {
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    const soxr_runtime_spec_t rt = soxr_runtime_spec(1);
    soxr_error_t err = nullptr;
    soxr_t s = soxr_create(in_rate, out_rate, 1, &err, &io, &q, &rt);
    if (err || !s) fail_runtime("resample", std::string("libsoxr failed: ") + (err ? err : "no resampler"));
    slot.reset(s);
  } else {
    soxr_clear(slot.get());
  }
  return slot.get();
}

}  // namespace

std::vector<float> resample(const std::vector<float>& in, double in_rate, double out_rate) {
  // librosa: ratio = target / orig, then ceil(n * ratio), in that order.
  const double ratio = out_rate / in_rate;
  const auto target_len = static_cast<std::size_t>(std::ceil(static_cast<double>(in.size()) * ratio));
  // Room for everything soxr emits, including the tail it flushes at the end.
  const std::size_t capacity = target_len + 16;
  std::vector<float> out(capacity, 0.0f);
  soxr_t s = resampler_for(in_rate, out_rate);
  std::size_t used = 0, done = 0, flushed = 0;
  soxr_error_t err = soxr_process(s, in.data(), in.size(), &used, out.data(), out.size(), &done);
  if (!err) err = soxr_process(s, nullptr, 0, nullptr, out.data() + done, out.size() - done, &flushed);
  if (err) fail_runtime("resample", std::string("libsoxr failed: ") + err);
  out.resize(done + flushed);
  out.resize(target_len, 0.0f);  // librosa's fix_length: pad with zeros or trim
  return out;
}

Signal load(const std::string& path, int target_rate) {
  Signal sig = read_mono(path);
  if (target_rate > 0 && sig.sample_rate != target_rate) {
    sig.samples = resample(sig.samples, sig.sample_rate, target_rate);
    sig.sample_rate = target_rate;
  }
  return sig;
}

void write_wav(const std::string& path, const Signal& signal, bool float32) {
  SF_INFO info{};
  info.samplerate = signal.sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | (float32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
  if (!f) fail_runtime(path, std::string("cannot open for writing: ") + sf_strerror(nullptr));
  // No PEAK chunk: it carries a timestamp, and the same samples should give the same bytes.
  sf_command(f, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
  const auto n = static_cast<sf_count_t>(signal.samples.size());
  const sf_count_t wrote = sf_writef_float(f, signal.samples.data(), n);
  sf_close(f);
  if (wrote != n) {
    std::remove(tmp.c_str());
    fail_runtime(path, "short write");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail_runtime(path, "cannot rename temp file into place: " + ec.message());
}

}  // namespace ser::audio
