#pragma once
// Short-time Fourier transform as librosa 0.11 computes it: center=True with zero padding,
// periodic window, frames = 1 + len / hop. The transform runs in double precision and is stored as
// complex64, which is what librosa's float64 window times float32 signal, rounded into a complex64
// matrix, gives.
#include <cstddef>
#include <vector>

#include "ser/dsp/types.hpp"

namespace ser::dsp {

enum class Window { Hann, Ones };

// scipy.signal.get_window(name, n, fftbins=True): periodic.
std::vector<double> make_window(Window window, int n);

std::size_t stft_frame_count(std::size_t n_samples, int hop);

// librosa.stft(y, n_fft, hop_length, window, center=True, pad_mode="constant").
ComplexMatrix stft(const float* y, std::size_t n, int n_fft = 2048, int hop = 512, Window window = Window::Hann);

// np.abs on a complex64 matrix, bit-identical to NumPy (see numpy_abs in hpss.hpp).
Matrix magnitude(const ComplexMatrix& D);

// librosa.istft(D, hop_length, window="hann", center=True, length=length): overlap-add of the
// windowed inverse frames divided by the window's sum of squares; every one of `length`
// samples is reconstructed.
std::vector<float> istft(const ComplexMatrix& D, std::size_t length, int hop = 512);

}  // namespace ser::dsp
