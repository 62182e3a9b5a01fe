#pragma once
// Short-time Fourier transform as librosa 0.11 computes it: center=True with zero padding,
// periodic window, frames = 1 + len / hop. librosa's float64 window times the float32 signal goes
// through NumPy 2's pocketfft rfft in double precision and is rounded into a complex64 matrix;
// stft() reproduces that bit for bit (scipy's exact Hann values, pocketfft_f64.hpp's FFT) for
// every n_fft whose prime factors are 2, 3 and 5; other sizes use FFTW (last-bit differences).
#include <complex>
#include <cstddef>
#include <vector>

#include "ser/dsp/types.hpp"

namespace ser::dsp {

enum class Window { Hann, Ones };

// scipy.signal.get_window(name, n, fftbins=True): periodic. Hann for n = 1024, 2048, 4096 is
// scipy's exact table (NumPy's cos); other n use 0.5 + 0.5 cos(linspace(-pi, pi, n+1)[:-1]) with
// std::cos, which can differ in the last bit.
std::vector<double> make_window(Window window, int n);

std::size_t stft_frame_count(std::size_t n_samples, int hop);

// librosa.stft(y, n_fft, hop_length, window, center=True, pad_mode="constant").
ComplexMatrix stft(const float* y, std::size_t n, int n_fft = 2048, int hop = 512, Window window = Window::Hann);

// magnitude(stft(y, ...)), bit for bit, without the complex matrix (which is twice its size)
// nor a padded copy of y: for a 10-minute file that is 212 MB not allocated.
Matrix stft_magnitude(const float* y, std::size_t n, int n_fft = 2048, int hop = 512, Window window = Window::Hann);

// Columns [t0, t0 + count) of stft(y, n, n_fft, hop) (Hann), bit for bit, into out
// (count * (n_fft/2 + 1) values, column after column): for consumers that walk the STFT once.
void stft_columns(const float* y, std::size_t n, int n_fft, int hop, std::size_t t0, std::size_t count,
                  std::complex<float>* out);

// np.abs on a complex64 matrix, bit-identical to NumPy (complex_abs.hpp; defined there).
Matrix magnitude(const ComplexMatrix& D);

// librosa.istft(D, hop_length, window="hann", center=True, length=length): overlap-add of the
// windowed inverse frames divided by the window's sum of squares; every one of `length`
// samples is reconstructed.
std::vector<float> istft(const ComplexMatrix& D, std::size_t length, int hop = 512);

}  // namespace ser::dsp
