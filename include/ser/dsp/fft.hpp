#pragma once
// FFTW3 wrappers. Plans are created once per size (FFTW's planner is not thread-safe, so a
// global mutex guards it) and executed on per-object aligned buffers, which is thread-safe.
// FFTW_ESTIMATE keeps the chosen algorithm, and so the numbers, identical from run to run.
#include <complex>
#include <cstddef>

namespace ser::dsp {

// Double-precision real FFT of size n: forward r2c (n -> n/2+1) and inverse c2r (unnormalised).
class RealFft {
 public:
  explicit RealFft(int n);
  ~RealFft();
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;

  int size() const { return n_; }
  double* real() { return real_; }                   // n values
  std::complex<double>* spectrum() { return spec_; }  // n/2+1 values
  void forward();  // real() -> spectrum()
  void inverse();  // spectrum() -> real(); clobbers spectrum()

 private:
  int n_;
  double* real_;
  std::complex<double>* spec_;
  void* plan_fwd_;
  void* plan_inv_;
};

// Double-precision complex forward FFT of size n, in place on data().
class ComplexFft {
 public:
  explicit ComplexFft(int n);
  ~ComplexFft();
  ComplexFft(const ComplexFft&) = delete;
  ComplexFft& operator=(const ComplexFft&) = delete;

  int size() const { return n_; }
  std::complex<double>* data() { return data_; }
  void forward();

 private:
  int n_;
  std::complex<double>* data_;
  void* plan_;
};

const char* fft_backend_name();

}  // namespace ser::dsp
