#include "ser/features/functionals.hpp"

#include <algorithm>
#include <cmath>

#include "ser/dsp/hpss.hpp"
#include "ser/dsp/lld.hpp"
#include "ser/dsp/spectral.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/dsp/tonnetz.hpp"
#include "ser/dsp/tuning.hpp"
#include "ser/error.hpp"

namespace ser::features {

namespace {

constexpr int kNfft = 2048;
constexpr int kHop = 512;

// The frame-level work issa193 and functionals share: one STFT and everything on |S|.
// Each step is the very call issa193_frames makes, so the results are identical. Only the
// magnitude is kept: the complex STFT would double the memory and nothing here needs it.
struct SpectralCore {
  dsp::Matrix S;
  dsp::Matrix mel;  // 128 x T (power)
  dsp::Matrix mfcc;
  double tuning_stft = 0;
  dsp::Matrix chroma;
  dsp::MatrixD contrast;
};

SpectralCore spectral_core(const std::vector<float>& y, double sr, const TuningOverride& tuning) {
  SpectralCore c;
  c.S = dsp::stft_magnitude(y.data(), y.size(), kNfft, kHop);
  c.mel = dsp::melspectrogram(c.S, sr, kNfft);
  c.mfcc = dsp::mfcc_from_mel_db(dsp::power_to_db(c.mel), 40);
  c.tuning_stft = tuning.stft ? *tuning.stft : dsp::estimate_tuning(c.S, sr, kNfft, 12);
  c.chroma = dsp::chroma_stft(c.S, sr, c.tuning_stft, kNfft);
  c.contrast = dsp::spectral_contrast(c.S, sr, kNfft);
  return c;
}

void check_length(const std::vector<float>& y) {
  if (y.empty()) fail_input("", "zero-length audio");
  const std::size_t frames = dsp::stft_frame_count(y.size(), kHop);
  if (frames < static_cast<std::size_t>(kFunctionalsMinFrames)) {
    fail_input("", "too short for functionals (" + std::to_string(frames) + " frames, needs " +
                       std::to_string(kFunctionalsMinFrames) + ")");
  }
}

// Fills the functionals-only descriptors; mfcc/chroma/contrast are moved or copied in by the caller.
void functionals_rest(const std::vector<float>& y, double sr, const dsp::Matrix& S, FunctionalsFrames& f) {
  f.n_samples = y.size();
  f.sr = sr;
  f.delta_mfcc = dsp::delta(f.mfcc, 9);
  f.logmel = dsp::power_to_db(dsp::melspectrogram(S, sr, kNfft, 64));
  f.rms = dsp::rms_from_magnitude(S, kNfft).cast<double>();
  f.zcr = dsp::zero_crossing_rate(y.data(), y.size(), kNfft, kHop);
  f.centroid = dsp::spectral_centroid(S, sr);
  f.bandwidth = dsp::spectral_bandwidth(S, sr, f.centroid);
  f.rolloff = dsp::spectral_rolloff(S, sr, 0.85);
  f.flatness = dsp::spectral_flatness(S, 1e-10f);
  f.f0 = dsp::yin(y.data(), y.size(), 60.0, 600.0, sr, kNfft, kHop, 0.1);
  const double rms_max = f.rms.maxCoeff();
  const std::size_t T = std::min<std::size_t>(f.f0.size(), static_cast<std::size_t>(f.rms.cols()));
  f.voiced.assign(T, 0);
  for (std::size_t t = 0; t < T; ++t) f.voiced[t] = f.rms(0, static_cast<Eigen::Index>(t)) > 0.1 * rms_max;
}

// NumPy's percentile, method "linear", of a sorted vector.
double percentile_sorted(const std::vector<double>& v, double q) {
  const double idx = (q / 100.0) * static_cast<double>(v.size() - 1);
  const double lo_f = std::floor(idx);
  const std::size_t lo = static_cast<std::size_t>(lo_f), hi = std::min(lo + 1, v.size() - 1);
  const double g = idx - lo_f, a = v[lo], b = v[hi];
  const double diff = b - a;
  return g >= 0.5 ? b - diff * (1.0 - g) : a + diff * g;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double pstd_of(const std::vector<double>& v, double mean) {
  double s = 0;
  for (double x : v) s += (x - mean) * (x - mean);
  return std::sqrt(s / static_cast<double>(v.size()));
}

// stats(M) over R rows of T frames, get(r, t) in float64: [mean | std | p10 | p90 | slope | mad].
template <typename Get>
void append_stats(std::size_t R, std::size_t T, Get get, const std::vector<double>& z, std::vector<double>& out) {
  const std::size_t base = out.size();
  out.resize(base + 6 * R);
  std::vector<double> row(T), sorted(T);
  for (std::size_t r = 0; r < R; ++r) {
    for (std::size_t t = 0; t < T; ++t) row[t] = get(r, t);
    const double mean = mean_of(row);
    sorted = row;
    std::sort(sorted.begin(), sorted.end());
    double slope = 0, mad = 0;
    for (std::size_t t = 0; t < T; ++t) slope += row[t] * z[t];
    for (std::size_t t = 0; t + 1 < T; ++t) mad += std::abs(row[t + 1] - row[t]);
    out[base + r] = mean;
    out[base + R + r] = pstd_of(row, mean);
    out[base + 2 * R + r] = percentile_sorted(sorted, 10.0);
    out[base + 3 * R + r] = percentile_sorted(sorted, 90.0);
    out[base + 4 * R + r] = slope / static_cast<double>(T);
    out[base + 5 * R + r] = T > 1 ? mad / static_cast<double>(T - 1) : 0.0;
  }
}

template <typename M>
void append_matrix_stats(const M& m, const std::vector<double>& z, std::vector<double>& out) {
  append_stats(static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols()),
               [&](std::size_t r, std::size_t t) {
                 return static_cast<double>(m(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(t)));
               },
               z, out);
}

}  // namespace

FunctionalsFrames functionals_frames(const std::vector<float>& y, double sr, const TuningOverride& tuning) {
  check_length(y);
  SpectralCore c = spectral_core(y, sr, tuning);
  FunctionalsFrames f;
  f.mfcc = std::move(c.mfcc);
  f.chroma_stft = std::move(c.chroma);
  f.contrast = std::move(c.contrast);
  f.tuning_stft = c.tuning_stft;
  functionals_rest(y, sr, c.S, f);
  return f;
}

Issa193FunctionalsFrames issa193_functionals_frames(const std::vector<float>& y, double sr,
                                                    const TuningOverride& tuning) {
  check_length(y);
  SpectralCore c = spectral_core(y, sr, tuning);
  Issa193FunctionalsFrames out;
  Issa193Frames& i = out.issa193;
  FunctionalsFrames& f = out.functionals;
  f.mfcc = c.mfcc;
  f.chroma_stft = c.chroma;
  f.contrast = c.contrast;
  f.tuning_stft = c.tuning_stft;
  functionals_rest(y, sr, c.S, f);
  i.mel = std::move(c.mel);
  i.mfcc = std::move(c.mfcc);
  i.tuning_stft = c.tuning_stft;
  i.chroma_stft = std::move(c.chroma);
  i.contrast = std::move(c.contrast);
  const double* cqt_tuning = tuning.cqt ? &*tuning.cqt : nullptr;
  std::vector<float> y_harm = dsp::harmonic(y.data(), y.size(), c.S);
  c.S = dsp::Matrix();  // the tuning estimate and the CQT need only y_harm: free the spectrogram first
  dsp::HarmonicBranch h = dsp::harmonic_branch_from(std::move(y_harm), sr, cqt_tuning);
  i.tuning_cqt = h.tuning_cqt;
  i.tonnetz = std::move(h.tonnetz);
  return out;
}

std::vector<float> functionals_vector(const FunctionalsFrames& f) {
  const std::size_t T = static_cast<std::size_t>(f.mfcc.cols());
  if (T < 1) fail_runtime("functionals", "no frames");
  // z = (t - mean(t)) / (std(t) + 1e-9)
  std::vector<double> t_idx(T), z(T);
  for (std::size_t t = 0; t < T; ++t) t_idx[t] = static_cast<double>(t);
  const double tm = mean_of(t_idx), ts = pstd_of(t_idx, tm);
  for (std::size_t t = 0; t < T; ++t) z[t] = (t_idx[t] - tm) / (ts + 1e-9);

  std::vector<double> v;
  v.reserve(1020);
  append_matrix_stats(f.mfcc, z, v);
  append_matrix_stats(f.delta_mfcc, z, v);
  append_matrix_stats(f.logmel, z, v);
  append_matrix_stats(f.chroma_stft, z, v);
  append_matrix_stats(f.contrast, z, v);
  // scal = [log(rms + 1e-6), zcr, log(cent + 1), log(bw + 1), log(roll + 1), log(flat + 1e-9)];
  // the last log in float32, the others in float64.
  append_stats(6, T,
               [&](std::size_t r, std::size_t t) -> double {
                 const auto c = static_cast<Eigen::Index>(t);
                 switch (r) {
                   case 0: return std::log(f.rms(0, c) + 1e-6);
                   case 1: return f.zcr(0, c);
                   case 2: return std::log(f.centroid(0, c) + 1.0);
                   case 3: return std::log(f.bandwidth(0, c) + 1.0);
                   case 4: return std::log(f.rolloff(0, c) + 1.0);
                   default: return static_cast<double>(std::log(f.flatness(0, c) + 1e-9f));
                 }
               },
               z, v);
  // Pitch: semitones re 55 Hz over voiced frames ([0, 0] when none is voiced).
  std::vector<double> st;
  std::size_t n_voiced = 0;
  for (std::size_t t = 0; t < f.voiced.size(); ++t) {
    if (!f.voiced[t]) continue;
    ++n_voiced;
    st.push_back(12.0 * std::log2(f.f0[t] / 55.0));
  }
  if (st.empty()) st = {0.0, 0.0};
  const double sm = mean_of(st);
  std::vector<double> sorted = st;
  std::sort(sorted.begin(), sorted.end());
  v.push_back(sm);
  v.push_back(pstd_of(st, sm));
  v.push_back(percentile_sorted(sorted, 10.0));
  v.push_back(percentile_sorted(sorted, 90.0));
  v.push_back(f.voiced.empty() ? 0.0 : static_cast<double>(n_voiced) / static_cast<double>(f.voiced.size()));
  v.push_back(static_cast<double>(f.n_samples) / f.sr);
  return std::vector<float>(v.begin(), v.end());
}

std::vector<Block> functionals_blocks() {
  static const char* kStats[] = {"mean", "std", "p10", "p90", "slope", "mad"};
  std::vector<Block> b;
  std::size_t off = 0;
  const std::pair<const char*, std::size_t> groups[] = {
      {"mfcc", 40}, {"dmfcc", 40}, {"logmel", 64}, {"chroma", 12}, {"contrast", 7}};
  for (const auto& g : groups) {
    for (const char* s : kStats) {
      b.push_back({std::string(g.first) + "." + s, off, g.second});
      off += g.second;
    }
  }
  static const char* kScalars[] = {"rms", "zcr", "centroid", "bandwidth", "rolloff", "flatness"};
  for (const char* s : kStats) {
    for (const char* name : kScalars) b.push_back({std::string(name) + "." + s, off++, 1});
  }
  for (const char* name : {"pitch.mean", "pitch.std", "pitch.p10", "pitch.p90", "voiced_ratio", "duration"}) {
    b.push_back({name, off++, 1});
  }
  return b;
}

std::string Functionals::settings_fingerprint() const {
  return "functionals;sr=22050;soxr_hq;n_fft=2048;hop=512;hann;center=zeros;n_mfcc=40;delta=9,interp;"
         "logmel=64;chroma=12;contrast=fmin200,6,q0.02;rms;zcr=edge;centroid;bandwidth;rolloff=0.85;"
         "flatness=1e-10;yin=60-600,thr0.1;voiced=0.1max_rms;stats=mean,std,p10,p90,slope,mad;rev=2";
}

std::vector<float> Functionals::compute(const audio::Signal& signal) const {
  if (signal.sample_rate != sample_rate()) {
    fail_runtime("functionals", "expects audio at 22050 Hz, got " + std::to_string(signal.sample_rate));
  }
  return functionals_vector(functionals_frames(signal.samples, signal.sample_rate));
}

std::vector<Block> Functionals::frame_blocks() const {
  std::vector<Block> b;
  std::size_t off = 0;
  for (const auto& [name, size] : std::initializer_list<std::pair<const char*, std::size_t>>{
           {"mfcc", 40}, {"dmfcc", 40}, {"logmel", 64}, {"chroma", 12}, {"contrast", 7}, {"rms", 1}, {"zcr", 1},
           {"centroid", 1}, {"bandwidth", 1}, {"rolloff", 1}, {"flatness", 1}}) {
    b.push_back({name, off, size});
    off += size;
  }
  return b;
}

std::vector<float> Functionals::compute_with_frames(const audio::Signal& signal, const FrameSink& frames) const {
  if (signal.sample_rate != sample_rate()) {
    fail_runtime("functionals", "expects audio at 22050 Hz, got " + std::to_string(signal.sample_rate));
  }
  const FunctionalsFrames f = functionals_frames(signal.samples, signal.sample_rate);
  const std::size_t width = frame_width(), t_total = static_cast<std::size_t>(f.mfcc.cols());
  // Rows in blocks of up to 256 frames: one buffer for the whole clip.
  constexpr std::size_t kRows = 256;
  std::vector<float> rows(kRows * width);
  for (std::size_t t0 = 0; t0 < t_total; t0 += kRows) {
    const std::size_t n = std::min(kRows, t_total - t0);
    for (std::size_t r = 0; r < n; ++r) {
      const Eigen::Index t = static_cast<Eigen::Index>(t0 + r);
      float* row = rows.data() + r * width;
      auto put = [&](const auto& m) {
        for (Eigen::Index k = 0; k < m.rows(); ++k) *row++ = static_cast<float>(m(k, t));
      };
      put(f.mfcc);
      put(f.delta_mfcc);
      put(f.logmel);
      put(f.chroma_stft);
      put(f.contrast);
      put(f.rms);
      put(f.zcr);
      put(f.centroid);
      put(f.bandwidth);
      put(f.rolloff);
      put(f.flatness);
    }
    frames(rows.data(), n);
  }
  return functionals_vector(f);
}

}  // namespace ser::features
