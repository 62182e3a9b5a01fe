#include "ser/dsp/stft.hpp"

#include <cmath>

#include "ser/dsp/fft.hpp"
#include "ser/dsp/hpss.hpp"

namespace ser::dsp {

std::vector<double> make_window(Window window, int n) {
  std::vector<double> w(static_cast<std::size_t>(n), 1.0);
  if (window == Window::Hann) {
    // scipy's general_cosine: 0.5 - 0.5 cos(2 pi k / n) for the periodic (fftbins) form.
    for (int k = 0; k < n; ++k) w[static_cast<std::size_t>(k)] = 0.5 - 0.5 * std::cos(2.0 * M_PI * k / n);
  }
  return w;
}

std::size_t stft_frame_count(std::size_t n_samples, int hop) {
  return 1 + n_samples / static_cast<std::size_t>(hop);
}

ComplexMatrix stft(const float* y, std::size_t n, int n_fft, int hop, Window window) {
  const std::vector<double> w = make_window(window, n_fft);
  const std::size_t frames = stft_frame_count(n, hop);
  const int n_bins = n_fft / 2 + 1;
  const std::ptrdiff_t pad = n_fft / 2;
  ComplexMatrix D(n_bins, static_cast<Eigen::Index>(frames));
  RealFft fft(n_fft);
  double* buf = fft.real();
  const std::complex<double>* spec = fft.spectrum();
  for (std::size_t t = 0; t < frames; ++t) {
    const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(t) * hop - pad;  // in y's coordinates
    for (int k = 0; k < n_fft; ++k) {
      const std::ptrdiff_t i = start + k;
      const double v = (i >= 0 && static_cast<std::size_t>(i) < n) ? static_cast<double>(y[i]) : 0.0;
      buf[k] = w[static_cast<std::size_t>(k)] * v;
    }
    fft.forward();
    std::complex<float>* col = D.col(static_cast<Eigen::Index>(t)).data();
    for (int b = 0; b < n_bins; ++b) {
      col[b] = std::complex<float>(static_cast<float>(spec[b].real()), static_cast<float>(spec[b].imag()));
    }
  }
  return D;
}

// np.abs of complex64 is not a correctly rounded hypot: NumPy uses its own scaled formula, which
// numpy_abs reproduces bit for bit. Tuning estimation is sensitive to the last bit.
Matrix magnitude(const ComplexMatrix& D) { return numpy_abs(D); }

}  // namespace ser::dsp
