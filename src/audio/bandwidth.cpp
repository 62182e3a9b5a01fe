// Effective bandwidth of a signal from its long-term average spectrum. A file's sample rate says
// only what band could be present; audio resampled up from 16 kHz, or coded with a low-pass
// (telephone, low-bitrate codecs), is empty above its real cut-off, and features computed over
// that empty band read it as signal. The estimate looks for where the spectrum meets its floor.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ser/audio/audio.hpp"
#include "ser/dsp/fft.hpp"

namespace ser::audio {

namespace {
constexpr double kBandHz = 100.0;       // narrowest band whose levels are compared
constexpr int kMaxBands = 400;          // wider bands at very high rates
constexpr int kMaxFrames = 128;         // frames averaged, spread evenly over the signal
constexpr double kClearOfFloorDb = 10;  // a band carries signal this far above the floor
// ... and no further than this below the loudest band: a resampler's stopband (100+ dB down)
// is empty, however far the float noise floor of a 32-bit file lies below it.
constexpr double kBelowPeakDb = 90;
// A cut-off is a cliff: the band above it lies this far below the quiet part of the band below
// it. A noise bed that goes on to the Nyquist frequency (a tone over noise) is no cliff.
constexpr double kCliffDb = 20;

double percentile_of(std::vector<double> v, double q) {
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}
}  // namespace

double effective_bandwidth_hz(const float* samples, std::size_t n, int rate) {
  if (rate <= 0 || n == 0) return 0;
  const double nyquist = rate / 2.0;
  // ~25 Hz bins: a power of two near rate / 25, within [256, 32768].
  int size = 256;
  while (size < 32768 && size < rate / 25) size *= 2;
  const std::size_t N = static_cast<std::size_t>(size);
  dsp::RealFft fft(size);
  std::vector<double> window(N);
  for (std::size_t i = 0; i < N; ++i) window[i] = 0.5 - 0.5 * std::cos(2.0 * M_PI * static_cast<double>(i) / N);
  const std::size_t bins = N / 2 + 1;
  std::vector<double> power(bins, 0.0);
  const std::size_t frames = n <= N ? 1 : std::min<std::size_t>(kMaxFrames, (n - N) / N + 1);
  const std::size_t span = n <= N ? 0 : n - N;
  for (std::size_t f = 0; f < frames; ++f) {
    const std::size_t start = frames > 1 ? span * f / (frames - 1) : 0;
    double* x = fft.real();
    for (std::size_t i = 0; i < N; ++i) x[i] = start + i < n ? samples[start + i] * window[i] : 0.0;
    fft.forward();
    const auto* X = fft.spectrum();
    for (std::size_t k = 0; k < bins; ++k) power[k] += std::norm(X[k]);
  }
  // Mean power per band (DC bin left out), in dB.
  const double bin_hz = static_cast<double>(rate) / size;
  const double band_hz = std::max(kBandHz, nyquist / kMaxBands);
  const auto per_band = static_cast<std::size_t>(std::max(1.0, std::round(band_hz / bin_hz)));
  std::vector<double> level;
  for (std::size_t k = 1; k + per_band <= bins; k += per_band) {
    double sum = 0;
    for (std::size_t j = k; j < k + per_band; ++j) sum += power[j];
    level.push_back(sum / per_band);
  }
  if (level.empty() || *std::max_element(level.begin(), level.end()) <= 0) return 0;  // digital silence
  for (double& l : level) l = 10.0 * std::log10(l + 1e-30);
  // Floor: the quietest band above 300 Hz (below it, a recording's high-pass may leave a gap that
  // is not the end of its band). The cut-off candidate is the top of the last band that stands
  // clear of the floor (on a flat spectrum, white noise, "clear" shrinks with the range).
  const auto first = std::min(level.size() - 1, static_cast<std::size_t>(300.0 / (per_band * bin_hz)));
  const double floor = *std::min_element(level.begin() + static_cast<std::ptrdiff_t>(first), level.end());
  const double top = *std::max_element(level.begin(), level.end());
  const double threshold = std::max(floor + std::min(kClearOfFloorDb, 0.25 * (top - floor)), top - kBelowPeakDb);
  std::size_t cut = 0;  // bands [0, cut) carry the signal
  for (std::size_t b = 0; b < level.size(); ++b) {
    if (level[b] > threshold) cut = b + 1;
  }
  // Confirmed only when it is a cliff: the quiet part (20th percentile) of the bands from 300 Hz
  // up to it against the loud part (90th percentile) of the bands above it.
  if (cut < level.size()) {
    const bool enough_below = cut >= first + 3;
    const double gap =
        enough_below ? percentile_of({level.begin() + static_cast<std::ptrdiff_t>(first),
                                      level.begin() + static_cast<std::ptrdiff_t>(cut)}, 0.2) -
                           percentile_of({level.begin() + static_cast<std::ptrdiff_t>(cut), level.end()}, 0.9)
                     : 0.0;
    if (gap < kCliffDb) return nyquist;
  }
  return std::min(nyquist, (1.0 + static_cast<double>(cut * per_band)) * bin_hz);
}

}  // namespace ser::audio
