// Model A training speed on one CPU thread: one epoch = 1440 random samples (193 features,
// 8 classes; RAVDESS-sized), batch 32, RMSprop(lr 1e-5, alpha 0.9, eps 1e-7), cross-entropy.
// Prints seconds per epoch (mean of timed epochs after a warm-up), the ratio against Python
// PyTorch 1.13 on one thread of this machine type (3.6 s/epoch; ratio <= 1.0 is the target),
// achieved GFLOP/s (training counted as 3x the analytic forward FLOPs), a forward/backward/step
// breakdown, and a few variants (inference pass under NoGradGuard, oneDNN off).
//   bench_train_epoch [--epochs N] [--threads T] [--blas 1]   (--blas 1: also time oneDNN off, ~2 min)
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ser/model/build_info.hpp"
#include "ser/model/models.hpp"
#include "ser/model/runtime.hpp"

namespace {

constexpr double kPythonSecondsPerEpoch = 3.6;  // PyTorch 1.13 (pip), 1 thread, same work
constexpr int kSamples = 1440, kDim = 193, kClasses = 8, kBatch = 32;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Phases {
  double forward = 0, backward = 0, step = 0;
};

// One pass over the data in a fresh random order; each batch is gathered into a contiguous tensor.
double train_epoch(ser::model::Classifier& model, torch::optim::Optimizer& opt, const torch::Tensor& x,
                   const torch::Tensor& y, Phases* phases) {
  model.train();
  const auto order = torch::randperm(x.size(0), torch::kLong);
  const auto t0 = Clock::now();
  for (int64_t start = 0; start < x.size(0); start += kBatch) {
    const auto idx = order.slice(0, start, std::min<int64_t>(start + kBatch, x.size(0)));
    const auto xb = x.index_select(0, idx);
    const auto yb = y.index_select(0, idx);
    auto t = Clock::now();
    opt.zero_grad();
    const auto loss = torch::nn::functional::cross_entropy(model.forward(xb), yb);
    if (phases) phases->forward += since(t), t = Clock::now();
    loss.backward();
    if (phases) phases->backward += since(t), t = Clock::now();
    opt.step();
    if (phases) phases->step += since(t);
  }
  return since(t0);
}

// Validation-style pass: eval mode, no autograd graph.
double predict_pass(ser::model::Classifier& model, const torch::Tensor& x, int64_t batch) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto t0 = Clock::now();
  double sink = 0;
  for (int64_t start = 0; start < x.size(0); start += batch)
    sink += model.forward(x.slice(0, start, std::min<int64_t>(start + batch, x.size(0)))).sum().item<double>();
  const double s = since(t0);
  if (sink == 12345.678) std::printf(" ");  // keep the result alive
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 3, threads = 1;
  bool blas_variant = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--epochs") epochs = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--blas") blas_variant = std::atoi(argv[i + 1]) != 0;
  }
  // Threads first (interop threads can only be set before parallel work); glibc allocator left at
  // its defaults for one comparison epoch, then tuned.
  ser::model::configure_cpu_runtime({threads, 1, false});
  const auto info = ser::model::torch_build_info();
  std::printf("libtorch %s, %d intra-op thread(s), oneDNN %s, anomaly mode %s\n", info.torch_version.c_str(),
              at::get_num_threads(), at::globalContext().userEnabledMkldnn() ? "on" : "off",
              torch::autograd::AnomalyMode::is_enabled() ? "ON" : "off");

  torch::manual_seed(0);
  const auto x = torch::randn({kSamples, 1, kDim}).contiguous();
  const auto y = torch::randint(0, kClasses, {kSamples}, torch::kLong);
  ser::model::ModelConfig cfg;  // model_a, default dropout/BN
  auto model = ser::model::make_model(cfg, kDim, kClasses);
  const double gflop_fwd = 2.0 * ser::model::forward_macs_per_sample(model->spec()) * 1e-9;
  const double gflop_epoch = 3.0 * gflop_fwd * kSamples;
  std::printf("Model A: %lld parameters, %.1f MFLOP forward/sample, %.1f GFLOP per training epoch\n",
              static_cast<long long>(ser::model::parameter_count(*model)), gflop_fwd * 1e3, gflop_epoch);

  auto make_opt = [](ser::model::Classifier& m) {
    return torch::optim::RMSprop(m.parameters(), torch::optim::RMSpropOptions(1e-5).alpha(0.9).eps(1e-7));
  };
  auto opt = make_opt(*model);
  train_epoch(*model, opt, x, y, nullptr);  // warm-up: oneDNN primitive creation, allocator
  const double untuned = train_epoch(*model, opt, x, y, nullptr);
  std::printf("  epoch with glibc's default malloc tuning: %.3f s (ratio %.2f)\n", untuned,
              untuned / kPythonSecondsPerEpoch);
  ser::model::configure_cpu_runtime({0, 0, true});  // retain freed memory (see runtime.hpp)
  train_epoch(*model, opt, x, y, nullptr);
  Phases ph;
  double total = 0;
  for (int e = 0; e < epochs; ++e) {
    const double s = train_epoch(*model, opt, x, y, &ph);
    std::printf("  epoch %d: %.3f s\n", e + 1, s);
    total += s;
  }
  const double per_epoch = total / epochs;
  std::printf("train epoch: %.3f s  ratio %.2f vs Python PyTorch 1.13 (%.1f s; target <= 1.0)  %.1f GFLOP/s\n",
              per_epoch, per_epoch / kPythonSecondsPerEpoch, kPythonSecondsPerEpoch, gflop_epoch / per_epoch);
  std::printf("  per epoch: forward+loss %.3f s (%.1f GFLOP/s), backward %.3f s (%.1f GFLOP/s at 2x fwd), "
              "optimizer %.3f s\n",
              ph.forward / epochs, gflop_fwd * kSamples * epochs / ph.forward, ph.backward / epochs,
              2 * gflop_fwd * kSamples * epochs / ph.backward, ph.step / epochs);

  // Variants.
  for (int64_t batch : {int64_t{32}, int64_t{kSamples}}) {
    predict_pass(*model, x, batch);
    const double s = predict_pass(*model, x, batch);
    std::printf("inference pass (eval, NoGradGuard, batch %lld): %.3f s  %.1f GFLOP/s\n", static_cast<long long>(batch),
                s, gflop_fwd * kSamples / s);
  }
  if (blas_variant && at::globalContext().userEnabledMkldnn()) {
    at::globalContext().setUserEnabledMkldnn(false);
    torch::manual_seed(0);
    auto plain = ser::model::make_model(cfg, kDim, kClasses);
    auto plain_opt = make_opt(*plain);
    train_epoch(*plain, plain_opt, x, y, nullptr);
    const double s = train_epoch(*plain, plain_opt, x, y, nullptr);
    std::printf("variant oneDNN off (im2col + BLAS): %.3f s/epoch  ratio %.2f  %.1f GFLOP/s\n", s,
                s / kPythonSecondsPerEpoch, gflop_epoch / s);
    at::globalContext().setUserEnabledMkldnn(true);
  }
  return 0;
}
