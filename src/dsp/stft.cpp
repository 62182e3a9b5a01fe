#include "ser/dsp/stft.hpp"

#include <algorithm>
#include <cmath>

#include "ser/dsp/complex_abs.hpp"
#include "ser/dsp/fft.hpp"
#include "ser/dsp/pocketfft_f64.hpp"

namespace ser::dsp {

namespace {

#include "hann_tables.inc"

constexpr std::size_t L = RealFftF64::kLanes;

// The frames, window and FFT as librosa under NumPy 2 runs them: float64 window times float32
// samples, numpy.fft.rfft in float64 (pocketfft), rounded per component into complex64.
// L frames go through the FFT at once, one per SIMD lane (see pocketfft_f64.hpp); lanes are
// independent, so any grouping of frames gives the same bits. Frame t of [t_begin, t_end) is
// stored at out(t) (n_fft/2 + 1 values), then done(t0, lanes) follows each batch. Frames inside
// the signal are read in place; only those overlapping librosa's zero padding (n_fft/2 each
// side) are copied, so no padded copy of the whole signal exists.
template <typename Out, typename Done>
void pocketfft_frames(const float* y, std::size_t n, int n_fft, int hop, const std::vector<double>& w,
                      std::size_t t_begin, std::size_t t_end, Out&& out, Done&& done) {
  const RealFftF64 fft(static_cast<std::size_t>(n_fft));
  const std::size_t N = static_cast<std::size_t>(n_fft), H = static_cast<std::size_t>(hop), pad = N / 2;
  std::vector<float> edge(L * N);
  LaneBuffer buf(2 * N * L);
  double* data = buf.data();
  double* scratch = data + N * L;
  for (std::size_t t0 = t_begin; t0 < t_end; t0 += L) {
    const std::size_t lanes = std::min(L, t_end - t0);
    const float* frame[L];
    for (std::size_t l = 0; l < L; ++l) {
      const std::size_t t = t0 + l;
      if (l < lanes && t * H >= pad && t * H - pad + N <= n) {
        frame[l] = y + (t * H - pad);
        continue;
      }
      float* e = edge.data() + l * N;  // zero outside y, as librosa's padding
      std::fill(e, e + N, 0.0f);
      for (std::size_t k = 0; k < N && l < lanes; ++k) {
        const std::size_t i = t * H + k;  // index into the padded signal
        if (i >= pad && i - pad < n) e[k] = y[i - pad];
      }
      frame[l] = e;
    }
    fft.load_lanes(frame, w.data(), data);
    const double* half = fft.forward_lanes(data, scratch);
    std::complex<float>* col[L];
    for (std::size_t l = 0; l < lanes; ++l) col[l] = out(t0 + l);
    fft.store_lanes(half, col, lanes);
    done(t0, lanes);
  }
}

void stft_pocketfft(const float* y, std::size_t n, int n_fft, int hop, const std::vector<double>& w,
                    ComplexMatrix& D) {
  pocketfft_frames(
      y, n, n_fft, hop, w, 0, static_cast<std::size_t>(D.cols()),
      [&](std::size_t t) { return D.col(static_cast<Eigen::Index>(t)).data(); }, [](std::size_t, std::size_t) {});
}

// Sizes pocketfft's rfftp does not cover (a prime factor > 5): FFTW, close but not bit-exact.
void stft_fftw(const float* y, std::size_t n, int n_fft, int hop, const std::vector<double>& w, ComplexMatrix& D) {
  const int n_bins = n_fft / 2 + 1;
  const std::ptrdiff_t pad = n_fft / 2;
  RealFft fft(n_fft);
  double* buf = fft.real();
  const std::complex<double>* spec = fft.spectrum();
  for (Eigen::Index t = 0; t < D.cols(); ++t) {
    const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(t) * hop - pad;  // in y's coordinates
    for (int k = 0; k < n_fft; ++k) {
      const std::ptrdiff_t i = start + k;
      const double v = (i >= 0 && static_cast<std::size_t>(i) < n) ? static_cast<double>(y[i]) : 0.0;
      buf[k] = w[static_cast<std::size_t>(k)] * v;
    }
    fft.forward();
    std::complex<float>* col = D.col(t).data();
    for (int b = 0; b < n_bins; ++b) {
      col[b] = std::complex<float>(static_cast<float>(spec[b].real()), static_cast<float>(spec[b].imag()));
    }
  }
}

}  // namespace

std::vector<double> make_window(Window window, int n) {
  std::vector<double> w(static_cast<std::size_t>(n), 1.0);
  if (window != Window::Hann) return w;
  for (const HannTable& t : kHannTables)
    if (t.n == n) return std::vector<double>(t.w, t.w + n);
  // scipy's general_cosine, periodic: w = 0.5 + 0.5 cos(fac), fac = linspace(-pi, pi, n + 1)[:-1]
  // (k * step + start, step = 2 pi / n). NumPy's SIMD cos differs from std::cos in the last bit
  // for many k, so the common sizes come from the exact tables above.
  const double step = (M_PI - -M_PI) / n;
  for (int k = 0; k < n; ++k) w[static_cast<std::size_t>(k)] = 0.5 + 0.5 * std::cos(k * step + -M_PI);
  return w;
}

std::size_t stft_frame_count(std::size_t n_samples, int hop) {
  return 1 + n_samples / static_cast<std::size_t>(hop);
}

Matrix stft_magnitude(const float* y, std::size_t n, int n_fft, int hop, Window window) {
  const std::vector<double> w = make_window(window, n_fft);
  const std::size_t frames = stft_frame_count(n, hop), B = static_cast<std::size_t>(n_fft / 2 + 1);
  Matrix S(static_cast<Eigen::Index>(B), static_cast<Eigen::Index>(frames));
  if (!RealFftF64::supported(static_cast<std::size_t>(n_fft))) return magnitude(stft(y, n, n_fft, hop, window));
  std::vector<std::complex<float>> cols(L * B);
  pocketfft_frames(
      y, n, n_fft, hop, w, 0, frames, [&](std::size_t t) { return cols.data() + (t % L) * B; },
      [&](std::size_t t0, std::size_t lanes) { numpy_abs(cols.data(), S.data() + t0 * B, lanes * B); });
  return S;
}

void stft_columns(const float* y, std::size_t n, int n_fft, int hop, std::size_t t0, std::size_t count,
                  std::complex<float>* out) {
  const std::size_t B = static_cast<std::size_t>(n_fft / 2 + 1);
  const std::vector<double> w = make_window(Window::Hann, n_fft);
  if (!RealFftF64::supported(static_cast<std::size_t>(n_fft))) {
    const ComplexMatrix D = stft(y, n, n_fft, hop);
    std::copy(D.data() + t0 * B, D.data() + (t0 + count) * B, out);
    return;
  }
  pocketfft_frames(
      y, n, n_fft, hop, w, t0, t0 + count, [&](std::size_t t) { return out + (t - t0) * B; },
      [](std::size_t, std::size_t) {});
}

ComplexMatrix stft(const float* y, std::size_t n, int n_fft, int hop, Window window) {
  const std::vector<double> w = make_window(window, n_fft);
  const std::size_t frames = stft_frame_count(n, hop);
  ComplexMatrix D(n_fft / 2 + 1, static_cast<Eigen::Index>(frames));
  if (RealFftF64::supported(static_cast<std::size_t>(n_fft)))
    stft_pocketfft(y, n, n_fft, hop, w, D);
  else
    stft_fftw(y, n, n_fft, hop, w, D);
  return D;
}


}  // namespace ser::dsp
