// model.pt behind the torch-free ScoringModel interface (see torch_backend.hpp).
#include <torch/torch.h>

#include <algorithm>

#include "ser/error.hpp"
#include "ser/model/models.hpp"
#include "ser/model/scoring.hpp"
#include "torch_internal.hpp"

namespace ser::model {

namespace {

class TorchScoringModel : public ScoringModel {
 public:
  TorchScoringModel(ModelPtr net, torch::Device device) : net_(std::move(net)), device_(device) { net_->eval(); }
  std::size_t input_dim() const override { return static_cast<std::size_t>(net_->spec().input_dim); }
  std::size_t n_classes() const override { return static_cast<std::size_t>(net_->spec().n_classes); }

  std::vector<double> probabilities(const float* rows, std::size_t n) const override {
    const std::size_t dim = input_dim(), k = n_classes();
    std::vector<double> out(n * k, 0.0);
    if (n == 0) return out;
    torch::NoGradGuard no_grad;
    // In chunks: Model A's first layer alone holds 256 x dim floats per row.
    constexpr std::size_t kChunk = 256;
    auto x = torch::empty({static_cast<int64_t>(std::min(n, kChunk)), 1, static_cast<int64_t>(dim)}, torch::kFloat32);
    for (std::size_t start = 0; start < n; start += kChunk) {
      const std::size_t count = std::min(kChunk, n - start);
      torch::Tensor xb = x.narrow(0, 0, static_cast<int64_t>(count));
      std::copy_n(rows + start * dim, count * dim, xb.data_ptr<float>());
      const torch::Tensor probs = torch::softmax(net_->forward(xb.to(device_)), 1).to(torch::kCPU).contiguous();
      const float* p = probs.data_ptr<float>();
      for (std::size_t i = 0; i < count * k; ++i) out[start * k + i] = p[i];
    }
    return out;
  }

 private:
  ModelPtr net_;
  torch::Device device_;
};

}  // namespace

torch::Device predictor_device(const std::string& device) {
  if (device == "cuda") {
    if (!torch::cuda::is_available()) fail_config("--device", "cuda requested but no usable GPU");
    return torch::Device(torch::kCUDA);
  }
  if (device != "cpu" && device != "auto") fail_config("--device", "unknown device '" + device + "' (known: auto, cpu, cuda)");
  return device == "auto" && torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

std::unique_ptr<ScoringModel> load_torch_scoring_model(const std::string& model_pt, const std::string& device) {
  return std::make_unique<TorchScoringModel>(load_model(model_pt, predictor_device(device)), predictor_device(device));
}

}  // namespace ser::model
