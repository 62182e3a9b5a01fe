#pragma once
// Double-precision forward real FFT that reproduces, bit for bit, pocketfft's rfftp plan in
// float64 (numpy.fft.rfft under NumPy >= 2.0 and scipy.fft.rfft on float64 data). librosa's
// STFT multiplies float32 frames by a float64 window, so its rfft runs in double precision and is
// then rounded to complex64; matching that rounding needs the very same double results.
//
// The algorithm is the one pocketfft_f32.hpp follows (factorisation 4,..,(2 first),3,5, twiddles
// from octant-reduced double sin/cos, FFTPACK butterflies, no FMA contraction), in double.
// forward_lanes() runs kLanes independent transforms at once, one per SIMD lane: every lane does
// exactly the scalar operation sequence, so each result is identical to forward()'s.
//
// Sizes: n >= 1 whose prime factors are 2, 3 and 5 (see supported()); others throw
// std::invalid_argument. Objects are immutable after construction (thread-safe to share).
#include <complex>
#include <cstddef>
#include <new>
#include <vector>

namespace ser::dsp {

// std::vector storage on 64-byte boundaries, as forward_lanes() requires.
template <class T>
struct Aligned64Allocator {
  using value_type = T;
  Aligned64Allocator() = default;
  template <class U>
  Aligned64Allocator(const Aligned64Allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(64)); }
  template <class U>
  bool operator==(const Aligned64Allocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const Aligned64Allocator<U>&) const noexcept { return false; }
};
using LaneBuffer = std::vector<double, Aligned64Allocator<double>>;

class RealFftF64 {
 public:
  // Transforms per forward_lanes() call: one SIMD register of doubles.
#if defined(__AVX512F__)
  static constexpr std::size_t kLanes = 8;
#elif defined(__AVX__)
  static constexpr std::size_t kLanes = 4;
#else
  static constexpr std::size_t kLanes = 2;
#endif

  static bool supported(std::size_t n);
  explicit RealFftF64(std::size_t n);
  std::size_t size() const { return n_; }

  // out[0..n/2] = numpy.fft.rfft(in[0..n)) for float64 input. Uses a thread_local scratch.
  void forward(const double* in, std::complex<double>* out) const;

  // kLanes transforms of interleaved data: element a of transform l is data[a * kLanes + l]
  // (n * kLanes doubles). The result, interleaved the same way, is FFTPACK's half-complex order
  // r0, r1, i1, r2, i2, ..., (r_{n/2} for even n); the imaginary parts of DC and, for even n,
  // Nyquist are zero and not stored. Both buffers (n * kLanes doubles each, 64-byte aligned, e.g.
  // LaneBuffer; std::invalid_argument otherwise) are overwritten and the result is left in one
  // of them: the returned pointer (data or scratch).
  const double* forward_lanes(double* data, double* scratch) const;

  // forward_lanes()'s input from kLanes float32 frames of n samples each:
  // data[a * kLanes + l] = w[a] * double(frame[l][a]), NumPy's float64 window times float32
  // frame; w == nullptr is a window of ones (the plain widened samples).
  void load_lanes(const float* const* frame, const double* w, double* data) const;

  // Lanes [0, lanes) of a forward_lanes() result as complex64 spectra: out[l][0..n/2], each
  // component rounded to float (NumPy's complex128 -> complex64 cast), zero imaginary parts
  // at DC and Nyquist.
  void store_lanes(const double* half, std::complex<float>* const* out, std::size_t lanes = kLanes) const;

 private:
  struct Stage {
    std::size_t ip;      // radix
    std::size_t tw_off;  // offset of this stage's twiddles in tw_
  };
  std::size_t n_;
  std::vector<Stage> stages_;
  std::vector<double> tw_;  // pocketfft rfftp layout: per stage (ip-1) x (ido-1), (re, im) pairs
  template <class V>
  V* run(V* c, V* ch) const;  // returns c or ch, whichever holds the result
};

}  // namespace ser::dsp
