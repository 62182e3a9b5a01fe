#include "ser/audio/audio.hpp"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
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

// libsndfile reports open failures through one process-wide error slot; serialise opens so
// the message read back belongs to this file.
std::mutex& open_mutex() {
  static std::mutex m;
  return m;
}

struct Opened {
  SndfilePtr file;
  SF_INFO info{};
  std::int64_t bytes = 0;  // size of the input
};

Opened open_for_read(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail_input(path, "file not found");
  if (std::filesystem::is_directory(path, ec)) fail_input(path, "is a directory, not an audio file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail_input(path, "cannot read its size: " + ec.message());
  if (size == 0) fail_input(path, "empty file (0 bytes)");
  Opened o;
  o.bytes = static_cast<std::int64_t>(size);
  std::unique_lock<std::mutex> lock(open_mutex());
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &o.info);
  if (!f) fail_input(path, std::string("not readable as audio (") + sf_strerror(nullptr) + ")");
  lock.unlock();
  o.file.reset(f);
  return o;
}

// Bytes in memory behind libsndfile's virtual I/O.
struct MemoryStream {
  const unsigned char* data;
  sf_count_t size, pos;
};
sf_count_t mem_length(void* u) { return static_cast<MemoryStream*>(u)->size; }
sf_count_t mem_tell(void* u) { return static_cast<MemoryStream*>(u)->pos; }
sf_count_t mem_seek(sf_count_t offset, int whence, void* u) {
  auto* m = static_cast<MemoryStream*>(u);
  const sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
  const sf_count_t to = base + offset;
  if (to < 0 || to > m->size) return -1;
  return m->pos = to;
}
sf_count_t mem_read(void* ptr, sf_count_t count, void* u) {
  auto* m = static_cast<MemoryStream*>(u);
  const sf_count_t n = std::max<sf_count_t>(0, std::min(count, m->size - m->pos));
  if (n > 0) std::memcpy(ptr, m->data + m->pos, static_cast<std::size_t>(n));
  m->pos += n;
  return n;
}
sf_count_t mem_write(const void*, sf_count_t, void*) { return 0; }

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

std::string log_of(SNDFILE* f) {
  char log[8192] = {0};
  sf_command(f, SFC_GET_LOG_INFO, log, sizeof(log) - 1);
  return log;
}

// libsndfile logs "data : 2000 (should be 1)" (WAV) or "SSND : ... (should be ...)" (AIFF) when a
// chunk is longer than the bytes that follow it.
bool header_claims_more_data(const std::string& log) { return log.find("(should be") != std::string::npos; }

// Bytes after the declared audio that parse as no chunk ("Unknown chunk marker at position 58"):
// typically a data chunk whose size field understates the audio, which libsndfile then reads as
// the shorter recording the header describes. Legitimate trailing chunks (LIST, bext...) parse.
std::vector<std::string> warnings_from_log(const std::string& log, const SF_INFO& info, std::int64_t bytes) {
  std::vector<std::string> out;
  const auto at = log.find("Unknown chunk marker");
  if (at == std::string::npos) return out;
  std::string where;
  const auto pos = log.find("position ", at);
  if (pos != std::string::npos && pos < log.find('\n', at)) {
    const long long p = std::atoll(log.c_str() + pos + 9);
    if (p > 0 && p < bytes) where = " (" + std::to_string(bytes - p) + " bytes from offset " + std::to_string(p) + ")";
  }
  out.push_back("the " + std::to_string(static_cast<long long>(info.frames)) +
                " frames the header declares are followed by data that is not a valid chunk" + where +
                "; the header may understate the audio, and only the declared frames were read");
  return out;
}

std::string seconds_text(double s) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), s >= 100 ? "%.0f" : "%.3g", s);
  return buf;
}

std::atomic<double>& limit_seconds() {
  static std::atomic<double> value{[] {
    const char* env = std::getenv("SER_MAX_SECONDS");
    return env && *env ? -1.0 : kDefaultMaxSeconds;  // -1: parse (and report) on first use
  }()};
  return value;
}

std::string limit_hint() { return "raise it with --max-seconds or SER_MAX_SECONDS"; }

// Everything after a successful open: the header checks, block-wise decoding under the limit,
// the checks on what was decoded.
Signal decode(SNDFILE* f, const SF_INFO& info, std::int64_t bytes, const std::string& path, int target_rate,
              const Limits& lim) {
  if (info.channels < 1 || info.channels > kMaxChannels) {
    fail_input(path, "invalid channel count " + std::to_string(info.channels) + " in the header (1.." +
                         std::to_string(kMaxChannels) + ")");
  }
  if (info.samplerate < 1) fail_input(path, "invalid sample rate " + std::to_string(info.samplerate) + " in the header");
  const std::string log = log_of(f);
  // libsndfile clamps a cut-off data chunk to what is present, so a truncated file (an
  // interrupted copy or download) would otherwise load as a shorter recording; only its log
  // tells. Partial audio would silently change the features, so it is an error.
  if (header_claims_more_data(log)) {
    fail_input(path, info.frames <= 0
                         ? "truncated: the header declares audio data but the file ends before the first complete sample"
                         : "truncated: the header declares more audio data than the file holds");
  }
  if (info.frames <= 0) fail_input(path, "zero-length audio (the header declares no samples)");
  const bool known = info.frames != SF_COUNT_MAX;  // libsndfile's "length unknown" (FLAC total 0)
  const double rate = info.samplerate;
  const auto max_frames = static_cast<std::int64_t>(std::floor(lim.max_seconds * rate));
  const std::string limit_text = seconds_text(lim.max_seconds) + " s; " + limit_hint();
  if (known) {
    const double declared = static_cast<double>(info.frames);
    if (target_rate > 0 && target_rate != info.samplerate) {
      const double out_len = std::ceil(declared * (target_rate / rate));
      const double max_out = std::floor(lim.max_seconds * target_rate);
      if (out_len > max_out) {
        fail_input(path, "resampled length " + std::to_string(static_cast<long long>(out_len)) + " samples (" +
                             seconds_text(declared / rate) + " s at " + std::to_string(target_rate) +
                             " Hz) exceeds the limit of " + std::to_string(static_cast<long long>(max_out)) +
                             " samples (" + limit_text + ")");
      }
    }
    if (info.frames > max_frames) {
      fail_input(path, "decoded length " + std::to_string(static_cast<long long>(info.frames)) + " frames (" +
                           seconds_text(declared / rate) + " s at " + std::to_string(info.samplerate) +
                           " Hz) exceeds the limit of " + std::to_string(static_cast<long long>(max_frames)) +
                           " frames (" + limit_text + ")");
    }
  }
  if (info.samplerate < kMinSampleRate || info.samplerate > kMaxSampleRate) {
    fail_input(path, "sample rate " + std::to_string(info.samplerate) + " Hz is outside the supported range " +
                         std::to_string(kMinSampleRate) + ".." + std::to_string(kMaxSampleRate) + " Hz");
  }

  // Blocks, so that neither an interleaved copy of the whole file nor a header's claim is ever
  // allocated: the first reservation is at most what the header says and what the bytes could
  // plausibly hold, and growth stops at the limit.
  const auto channels = static_cast<std::size_t>(info.channels);
  const std::int64_t plausible = 8 * bytes / info.channels + 65536;
  Signal sig;
  sig.sample_rate = info.samplerate;
  sig.samples.reserve(static_cast<std::size_t>(
      std::min({known ? info.frames : plausible, max_frames + 1, plausible})));
  constexpr std::size_t kBlock = 1 << 16;
  const std::size_t block_frames = std::max<std::size_t>(1, kBlock / channels);
  std::vector<float> interleaved(channels == 1 ? 0 : block_frames * channels);
  std::int64_t total = 0;
  for (;;) {
    const auto want = static_cast<sf_count_t>(std::min<std::int64_t>(static_cast<std::int64_t>(block_frames),
                                                                        max_frames + 1 - total));
    if (want <= 0) break;
    sf_count_t got;
    if (channels == 1) {
      sig.samples.resize(static_cast<std::size_t>(total + want));
      got = sf_readf_float(f, sig.samples.data() + total, want);
      sig.samples.resize(static_cast<std::size_t>(total + std::max<sf_count_t>(got, 0)));
    } else {
      got = sf_readf_float(f, interleaved.data(), want);
      // numpy's mean over the channel axis: sequential float32 sum, then divide.
      const float n = static_cast<float>(channels);
      for (sf_count_t i = 0; i < got; ++i) {
        const float* frame = interleaved.data() + static_cast<std::size_t>(i) * channels;
        float acc = frame[0];
        for (std::size_t c = 1; c < channels; ++c) acc += frame[c];
        sig.samples.push_back(acc / n);
      }
    }
    if (got <= 0) break;
    total += got;
  }
  if (total > max_frames) {
    fail_input(path, "decoded length exceeds the limit of " + std::to_string(static_cast<long long>(max_frames)) +
                         " frames (" + limit_text + ")" +
                         (known ? "" : "; the header does not declare a length"));
  }
  if (sf_error(f) != SF_ERR_NO_ERROR) {
    fail_input(path, "corrupt or truncated: decoding stopped after " + std::to_string(static_cast<long long>(total)) +
                         " frames (" + sf_strerror(f) + ")");
  }
  if (total == 0) fail_input(path, "no audio frames could be decoded (truncated or corrupt)");
  // An MP3's length is an estimate; every other format states it exactly.
  const bool exact_length = (info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG;
  if (known && exact_length && total < info.frames) {
    fail_input(path, "truncated: the header declares " + std::to_string(static_cast<long long>(info.frames)) +
                         " frames but only " + std::to_string(static_cast<long long>(total)) + " could be decoded");
  }
  if (sig.samples.capacity() > sig.samples.size() + sig.samples.size() / 4 + kBlock) sig.samples.shrink_to_fit();
  for (std::size_t i = 0; i < sig.samples.size(); ++i) {
    if (!std::isfinite(sig.samples[i])) {
      fail_input(path, "audio contains non-finite samples (NaN or Inf) at sample " + std::to_string(i));
    }
  }
  sig.warnings = warnings_from_log(log, info, bytes);
  sig.native_rate = info.samplerate;
  sig.bandwidth_hz = effective_bandwidth_hz(sig.samples.data(), sig.samples.size(), info.samplerate);
  return sig;
}

void resample_to(Signal& sig, int target_rate, const Limits& lim) {
  if (target_rate > 0 && sig.sample_rate != target_rate) {
    const auto max_len = static_cast<std::size_t>(std::floor(lim.max_seconds * target_rate));
    sig.samples = resample(sig.samples, sig.sample_rate, target_rate, max_len);
    sig.sample_rate = target_rate;
  }
}

void check_target_rate(const std::string& path, int target_rate) {
  if (target_rate < 0 || target_rate > kMaxSampleRate) {
    fail_input(path, "target sample rate " + std::to_string(target_rate) + " Hz is outside 0.." +
                         std::to_string(kMaxSampleRate));
  }
}

}  // namespace

double parse_max_seconds(const std::string& text, const std::string& where) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v > 0 && v <= kMaxMaxSeconds)) {
    fail_config(where, "must be a number of seconds in (0, " + seconds_text(kMaxMaxSeconds) + "] (got '" + text + "')");
  }
  return v;
}

Limits limits() {
  double v = limit_seconds().load();
  if (v < 0) {
    v = parse_max_seconds(std::getenv("SER_MAX_SECONDS"), "SER_MAX_SECONDS");
    limit_seconds().store(v);
  }
  return Limits{v};
}

void set_limits(const Limits& l) {
  if (!(l.max_seconds > 0 && l.max_seconds <= kMaxMaxSeconds)) {
    fail_config("max_seconds", "must be in (0, " + seconds_text(kMaxMaxSeconds) + "] (got " + seconds_text(l.max_seconds) + ")");
  }
  limit_seconds().store(l.max_seconds);
}

AudioInfo probe(const std::string& path) {
  Opened o = open_for_read(path);
  return AudioInfo{o.info.samplerate, o.info.channels,
                   o.info.frames == SF_COUNT_MAX ? -1 : static_cast<std::int64_t>(o.info.frames),
                   describe_format(o.info.format)};
}

std::vector<std::string> header_warnings(const std::string& path) {
  Opened o = open_for_read(path);
  return warnings_from_log(log_of(o.file.get()), o.info, o.bytes);
}

Signal read_mono(const std::string& path) { return read_mono(path, limits()); }

Signal read_mono(const std::string& path, const Limits& lim) {
  Opened o = open_for_read(path);
  return decode(o.file.get(), o.info, o.bytes, path, 0, lim);
}

Signal load(const std::string& path, int target_rate) { return load(path, target_rate, limits()); }

Signal load(const std::string& path, int target_rate, const Limits& lim) {
  check_target_rate(path, target_rate);
  Opened o = open_for_read(path);
  Signal sig = decode(o.file.get(), o.info, o.bytes, path, target_rate, lim);
  o.file.reset();
  resample_to(sig, target_rate, lim);
  return sig;
}

Signal load_memory(const std::string& name, const void* data, std::size_t size, int target_rate, const Limits& lim) {
  check_target_rate(name, target_rate);
  if (size == 0) fail_input(name, "empty file (0 bytes)");
  MemoryStream stream{static_cast<const unsigned char*>(data), static_cast<sf_count_t>(size), 0};
  SF_VIRTUAL_IO io{mem_length, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  std::unique_lock<std::mutex> lock(open_mutex());
  SNDFILE* raw = sf_open_virtual(&io, SFM_READ, &info, &stream);
  if (!raw) fail_input(name, std::string("not readable as audio (") + sf_strerror(nullptr) + ")");
  lock.unlock();
  SndfilePtr f(raw);
  Signal sig = decode(f.get(), info, static_cast<std::int64_t>(size), name, target_rate, lim);
  f.reset();
  resample_to(sig, target_rate, lim);
  return sig;
}

namespace {

// Designing an HQ filter costs ~25 us, so each thread keeps one resampler per rate pair and
// resets it between signals; soxr_clear gives output identical to a fresh resampler.
struct SoxrDeleter {
  void operator()(soxr_t s) const { soxr_delete(s); }
};
using SoxrPtr = std::unique_ptr<std::remove_pointer_t<soxr_t>, SoxrDeleter>;

SoxrPtr make_resampler(double in_rate, double out_rate) {
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_runtime_spec_t rt = soxr_runtime_spec(1);
  soxr_error_t err = nullptr;
  soxr_t s = soxr_create(in_rate, out_rate, 1, &err, &io, &q, &rt);
  if (err || !s) fail_runtime("resample", std::string("libsoxr failed: ") + (err ? err : "no resampler"));
  return SoxrPtr(s);
}

soxr_t resampler_for(double in_rate, double out_rate) {
  thread_local std::map<std::pair<double, double>, SoxrPtr> cache;
  // Augmentation draws many rate pairs (speed=0.9..1.1); keep the cache from growing without end.
  if (cache.size() >= 32 && !cache.count({in_rate, out_rate})) cache.clear();
  auto& slot = cache[{in_rate, out_rate}];
  if (!slot) {
    slot = make_resampler(in_rate, out_rate);
  } else {
    soxr_clear(slot.get());
  }
  return slot.get();
}

}  // namespace

std::vector<float> resample(const std::vector<float>& in, double in_rate, double out_rate, std::size_t max_len) {
  if (!(std::isfinite(in_rate) && in_rate > 0 && std::isfinite(out_rate) && out_rate > 0)) {
    fail_runtime("resample", "rates must be finite and > 0 (got " + seconds_text(in_rate) + " -> " +
                                 seconds_text(out_rate) + ")");
  }
  // librosa: ratio = target / orig, then ceil(n * ratio), in that order. Checked in double before
  // any allocation: a wild ratio must be an error, not a multi-gigabyte buffer.
  const double ratio = out_rate / in_rate;
  const double len = std::ceil(static_cast<double>(in.size()) * ratio);
  const double cap = max_len > 0 ? static_cast<double>(max_len) : std::floor(limits().max_seconds * kMaxSampleRate);
  if (!(len <= cap)) {
    throw Error(ErrorKind::Input, "", "resampled length " + std::to_string(static_cast<long long>(len)) +
                                          " samples exceeds the limit of " + std::to_string(static_cast<long long>(cap)) +
                                          " samples (" + limit_hint() + ")");
  }
  const auto target_len = static_cast<std::size_t>(len);
  // Room for everything soxr emits, including the tail it flushes at the end.
  const std::size_t capacity = target_len + 16;
  std::vector<float> out(capacity, 0.0f);
  // soxr keeps internal buffers sized by the largest input it has seen, so a cached resampler
  // would hold ~2.5x a long file's samples per thread for good; long inputs get their own,
  // freed on return (same output: soxr_clear is a fresh resampler).
  constexpr std::size_t kCacheBelow = std::size_t{1} << 20;
  SoxrPtr own;
  if (in.size() >= kCacheBelow) own = make_resampler(in_rate, out_rate);
  soxr_t s = own ? own.get() : resampler_for(in_rate, out_rate);
  std::size_t used = 0, done = 0, flushed = 0;
  soxr_error_t err = soxr_process(s, in.data(), in.size(), &used, out.data(), out.size(), &done);
  if (!err) err = soxr_process(s, nullptr, 0, nullptr, out.data() + done, out.size() - done, &flushed);
  if (err) fail_runtime("resample", std::string("libsoxr failed: ") + err);
  out.resize(done + flushed);
  out.resize(target_len, 0.0f);  // librosa's fix_length: pad with zeros or trim
  return out;
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
