#pragma once
// Single-precision FFTs that reproduce, bit for bit, the float32 paths of pocketfft's C++ code
// (pocketfft_hdronly: scipy.fft >= 1.4 and numpy.fft >= 2.0 on complex64/float32 data). librosa
// under NumPy 2 runs its inverse STFT through that code, and in near-silent frames the last-bit
// differences of a more accurate FFT get amplified into visible feature errors, so here we follow
// pocketfft's factorisation, twiddle rounding and operation order exactly (no FMA contraction).
//
// Sizes: any n >= 1 whose prime factors are 2, 3 and 5 (pocketfft uses its FFTPACK plan for all
// of them); other sizes throw std::invalid_argument. Objects are immutable after construction, so
// one object may be used from several threads at once. The overloads without a scratch pointer use
// a thread_local buffer (allocated once per thread, grown on demand).
//
// backward_batch() runs kLanes inverse transforms at once, one per SIMD lane, with the same
// operation sequence as backward() in every lane (GCC vector +, -, * are lane-wise IEEE
// operations, never fused), so its results are bit-identical to backward()'s.
#include <complex>
#include <cstddef>
#include <vector>

namespace ser::dsp {

class RealFftF32 {
 public:
  // Transforms per SIMD pass of backward_batch(): one register of floats.
#if defined(__AVX512F__)
  static constexpr std::size_t kLanes = 16;
#elif defined(__AVX__)
  static constexpr std::size_t kLanes = 8;
#else
  static constexpr std::size_t kLanes = 4;
#endif

  explicit RealFftF32(std::size_t n);
  std::size_t size() const { return n_; }
  // Floats of caller scratch needed by the scratch overloads.
  std::size_t scratch_size() const { return n_; }

  // out[0..n) = scale * irfft(spectrum[0..n/2]); equals scipy.fft.irfft(x.astype(complex64), n)
  // with scale = 1/n. Imaginary parts of DC (and of Nyquist for even n) are ignored.
  void backward(const std::complex<float>* spectrum, float* out, float scale) const;
  void backward(const std::complex<float>* spectrum, float* out, float scale, float* scratch) const;
  // backward(spectra[f], outs[f], scale) for f in [0, count), bit for bit, kLanes frames per
  // pass (a last partial pass pads its lanes). Each spectra[f] holds n/2+1 values; an output may
  // alias its own spectrum but no other frame's. Uses thread_local lane buffers.
  void backward_batch(const std::complex<float>* const* spectra, float* const* outs, std::size_t count,
                      float scale) const;
  // out[0..n/2] = scale * rfft(in[0..n)); equals scipy.fft.rfft(float32 x) with scale = 1.
  void forward(const float* in, std::complex<float>* out, float scale) const;
  void forward(const float* in, std::complex<float>* out, float scale, float* scratch) const;

 private:
  struct Stage {
    std::size_t ip;      // radix
    std::size_t tw_off;  // offset of this stage's twiddles in tw_
  };
  std::size_t n_;
  std::vector<Stage> stages_;
  std::vector<float> tw_;  // interleaved (re, im) per stage, pocketfft rfftp layout
  // Runs the stages on c (n floats) using ch (n floats); result scaled into c.
  void run(float* c, float* ch, float scale, bool r2hc) const;
  // Backward stages on kLanes interleaved transforms (V: a vector of kLanes floats); returns
  // whichever of c, ch holds the unscaled result. Defined in pocketfft_f32_batch.cpp.
  template <class V>
  V* run_lanes(V* c, V* ch) const;
};

class ComplexFftF32 {
 public:
  explicit ComplexFftF32(std::size_t n);
  std::size_t size() const { return n_; }
  std::size_t scratch_size() const { return n_; }  // complex values

  // In place: data = scale * sum_k data[k] exp(-2 pi i jk/n); equals scipy.fft.fft(complex64).
  void forward(std::complex<float>* data, float scale) const;
  void forward(std::complex<float>* data, float scale, std::complex<float>* scratch) const;
  // In place, exp(+...) sign; equals scipy.fft.ifft(complex64) with scale = 1/n.
  void backward(std::complex<float>* data, float scale) const;
  void backward(std::complex<float>* data, float scale, std::complex<float>* scratch) const;

 private:
  struct Stage {
    std::size_t ip;
    std::size_t tw_off;  // in complex units
  };
  std::size_t n_;
  std::vector<Stage> stages_;
  std::vector<std::complex<float>> tw_;
  template <bool Fwd>
  void run(std::complex<float>* c, std::complex<float>* ch, float scale) const;
};

}  // namespace ser::dsp
