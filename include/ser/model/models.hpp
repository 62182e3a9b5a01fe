#pragma once
// Named classifier architectures over one feature vector per utterance (LibTorch).
//
// Every model maps a (batch, 1, input_dim) float tensor (a (batch, input_dim) one is accepted too)
// to (batch, n_classes) LOGITS. Softmax is not part of the model: the loss (cross-entropy) and the
// prediction code apply it. In Model A the final [BN] over the Dense output sits before that
// softmax, i.e. the logits are batch-normalised.
//
// Only torch translation units (src/model, src/train, torch tests/benches) include this header.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ser::model {

struct ModelConfig {
  std::string architecture = "model_a";  // model_a | mlp
  // Model A (docs PROTOCOLS.md): every dropout rate and BatchNorm placement is a key.
  double dropout_block1 = 0.1;  // after conv2's ReLU
  double dropout_mid = 0.2;     // between conv5 and conv6
  double dropout_head = 0.2;    // after Flatten, before Dense
  bool bn_conv1 = true;         // conv1 -> [BN] -> ReLU
  bool bn_block1 = true;        // conv2 -> ReLU -> Dropout -> [BN] -> MaxPool
  bool bn_conv5 = true;         // conv5 -> [BN] -> ReLU
  bool bn_head = true;          // Dense -> [BN] -> (softmax in the loss)
  // Keras convention: running = m * running + (1 - m) * batch. Keras' 0.99 needs tens of epochs
  // before the running statistics describe the trained weights (validation looks collapsed till
  // then); 0.9 (torch's default) settles within a few epochs.
  double bn_momentum = 0.99;
  // MLP: Linear(input_dim -> mlp_hidden) -> ReLU -> Linear(n_classes).
  int mlp_hidden = 300;
};

// What a model was built from; stored inside every saved model so it can be rebuilt on load.
struct ModelSpec {
  ModelConfig config;
  int input_dim = 0;
  int n_classes = 0;
};

// Common base of every architecture: a torch Module with a virtual forward, so callers (trainer,
// predictor) hold one pointer type and still get parameters(), train()/eval(), to(device).
class Classifier : public torch::nn::Module {
 public:
  explicit Classifier(ModelSpec spec) : spec_(std::move(spec)) {}
  // x: (batch, 1, input_dim) or (batch, input_dim), float. Returns (batch, n_classes) logits.
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  const ModelSpec& spec() const { return spec_; }

 private:
  ModelSpec spec_;
};
using ModelPtr = std::shared_ptr<Classifier>;

// Builds the named architecture with Keras-default initialisation (glorot_uniform weights, zero
// biases; BN gamma 1, beta 0, momentum 0.01 in torch terms = Keras 0.99, eps 1e-3), drawing from
// torch's global generator: seed it with torch::manual_seed first for reproducible weights.
// Throws ser::Error (config) naming `model.architecture` (listing the known names) or the
// offending `model.*` key for invalid values.
ModelPtr make_model(const ModelConfig& cfg, int input_dim, int n_classes);
inline ModelPtr make_model(const ModelSpec& spec) {
  return make_model(spec.config, spec.input_dim, spec.n_classes);
}

std::vector<std::string> architecture_names();

// Inverted dropout as torch::dropout (zero with probability p, scale survivors by 1/(1-p); identity
// when !train), used by every architecture here. On CPU float tensors the mask comes from a
// counter-based hash seeded by one draw from torch's default generator (so torch::manual_seed
// still fixes it, whatever the thread count): Debian's libtorch (no MKL) draws each Bernoulli
// through mt19937, which cost ~9 % of a Model A training epoch. Other devices use torch::dropout.
torch::Tensor dropout(const torch::Tensor& x, double p, bool train);

// Trainable parameters (what Keras calls "trainable params"); with include_buffers, BN running
// mean/var (Keras' "non-trainable params") are added, excluding BN's num_batches_tracked counter.
std::int64_t parameter_count(const torch::nn::Module& model, bool include_buffers = false);

// Multiply-accumulates of one forward pass per sample (convolutions and Dense layers only).
// Analytic, from the spec; used by the benchmark for GFLOP/s (FLOPs = 2 * MACs).
std::int64_t forward_macs_per_sample(const ModelSpec& spec);

// Saves weights, BN statistics and the ModelSpec (torch::serialize archive), written to a temp
// name and renamed into place. Throws ser::Error (runtime) on I/O failure.
void save_model(const Classifier& model, const std::string& path);
// Rebuilds the model from the spec stored in the file and loads its state, on `device`.
// Throws ser::Error (input) naming the file if it is missing, not a model, or inconsistent.
ModelPtr load_model(const std::string& path, const torch::Device& device = torch::kCPU);
// Exact deep copy (same spec, weights, BN statistics, train/eval mode, device), e.g. to keep the
// best epoch's weights for early stopping without touching the disk.
ModelPtr clone_model(const Classifier& model);

}  // namespace ser::model
