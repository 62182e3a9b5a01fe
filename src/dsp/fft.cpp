#include "ser/dsp/fft.hpp"

#include <fftw3.h>

#include <map>
#include <mutex>
#include <new>
#include <string>

namespace ser::dsp {

namespace {

std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

// Plans are cached per (kind, size) and reused for every buffer of that size; buffers from
// fftw_malloc share the alignment the plan was made with.
enum class PlanKind { R2C, C2R, C2C };

fftw_plan cached_plan(PlanKind kind, int n) {
  // Never destroyed: plans live until the process ends, and a map torn down by static
  // destructors while other statics' destructors or threads may still execute plans would leave
  // the plans unreachable (LeakSanitizer reports them) or dangling.
  static auto& plans = *new std::map<std::pair<int, int>, fftw_plan>();
  std::lock_guard<std::mutex> lock(planner_mutex());
  auto key = std::make_pair(static_cast<int>(kind), n);
  auto it = plans.find(key);
  if (it != plans.end()) return it->second;
  const std::size_t nc = static_cast<std::size_t>(n) / 2 + 1;
  fftw_plan plan = nullptr;
  if (kind == PlanKind::C2C) {
    auto* buf = static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * static_cast<std::size_t>(n)));
    plan = fftw_plan_dft_1d(n, buf, buf, FFTW_FORWARD, FFTW_ESTIMATE);
    fftw_free(buf);
  } else {
    auto* r = static_cast<double*>(fftw_malloc(sizeof(double) * static_cast<std::size_t>(n)));
    auto* c = static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * nc));
    plan = kind == PlanKind::R2C ? fftw_plan_dft_r2c_1d(n, r, c, FFTW_ESTIMATE)
                                 : fftw_plan_dft_c2r_1d(n, c, r, FFTW_ESTIMATE);
    fftw_free(r);
    fftw_free(c);
  }
  if (!plan) throw std::bad_alloc();
  plans.emplace(key, plan);
  return plan;
}

template <typename T>
T* aligned_alloc_n(std::size_t n) {
  void* p = fftw_malloc(sizeof(T) * n);
  if (!p) throw std::bad_alloc();
  return static_cast<T*>(p);
}

}  // namespace

RealFft::RealFft(int n)
    : n_(n),
      real_(aligned_alloc_n<double>(static_cast<std::size_t>(n))),
      spec_(aligned_alloc_n<std::complex<double>>(static_cast<std::size_t>(n) / 2 + 1)),
      plan_fwd_(cached_plan(PlanKind::R2C, n)),
      plan_inv_(cached_plan(PlanKind::C2R, n)) {}

RealFft::~RealFft() {
  fftw_free(real_);
  fftw_free(spec_);
}

void RealFft::forward() {
  fftw_execute_dft_r2c(static_cast<fftw_plan>(plan_fwd_), real_, reinterpret_cast<fftw_complex*>(spec_));
}

void RealFft::inverse() {
  fftw_execute_dft_c2r(static_cast<fftw_plan>(plan_inv_), reinterpret_cast<fftw_complex*>(spec_), real_);
}

ComplexFft::ComplexFft(int n)
    : n_(n), data_(aligned_alloc_n<std::complex<double>>(static_cast<std::size_t>(n))),
      plan_(cached_plan(PlanKind::C2C, n)) {}

ComplexFft::~ComplexFft() { fftw_free(data_); }

void ComplexFft::forward() {
  auto* d = reinterpret_cast<fftw_complex*>(data_);
  fftw_execute_dft(static_cast<fftw_plan>(plan_), d, d);
}

const char* fft_backend_name() {
  // The feature paths use our NumPy-exact pocketfft-order transforms; FFTW serves the rest
  // (filter design, sizes with prime factors above 5).
  static const std::string name =
      std::string("NumPy-exact pocketfft order (f64 batched, f32); ") + fftw_version + " for the rest";
  return name.c_str();
}

}  // namespace ser::dsp
