#include "ser/model/models.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>

#include "ser/error.hpp"
#include "ser/util/files.hpp"

namespace ser::model {

namespace {

constexpr int kPool = 8;     // Model A's MaxPool1D(8): 'valid', stride 8, so 193 -> 24
constexpr int kKernel = 5;   // every Model A conv; Keras 'same' with an odd kernel = padding 2
constexpr int kFormat = 1;   // version of the metadata stored next to the weights

std::string shape_of(const torch::Tensor& x) {
  std::ostringstream s;
  s << x.sizes();
  return s.str();
}

// Accepts (batch, input_dim) or (batch, 1, input_dim); returns the 3-D view.
torch::Tensor as_batch_1_d(torch::Tensor x, int input_dim) {
  if (x.dim() == 2) x = x.unsqueeze(1);
  if (x.dim() != 3 || x.size(1) != 1 || x.size(2) != input_dim)
    fail_runtime("model input", "expected (batch, 1, " + std::to_string(input_dim) + ") or (batch, " +
                                    std::to_string(input_dim) + "), got " + shape_of(x));
  return x;
}

// A counter-based hash (splitmix64's finaliser): element i's bits depend only on (seed, i), so the
// mask is the same whatever the thread count.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t draw_seed() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

// Keras defaults: glorot_uniform kernels, zero biases. torch's xavier_uniform_ uses the same fans
// (conv: in*k and out*k; dense: in and out), so the distribution matches Keras exactly.
template <typename Layer>
void keras_init(Layer& layer) {
  torch::nn::init::xavier_uniform_(layer->weight);
  torch::nn::init::zeros_(layer->bias);
}

torch::nn::Conv1d conv_same(int in, int out) {
  return torch::nn::Conv1d(torch::nn::Conv1dOptions(in, out, kKernel).padding(kKernel / 2));
}

// Keras BatchNormalization: momentum m (default 0.99; torch's momentum is 1 - m), epsilon 1e-3.
// (Keras updates the moving variance with the biased batch variance, torch with the unbiased
// one; the difference is a factor batch/(batch-1) in the running statistics only.)
torch::nn::BatchNorm1d keras_bn(int features, double keras_momentum) {
  return torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(features).momentum(1.0 - keras_momentum).eps(1e-3));
}

class ModelA : public Classifier {
 public:
  explicit ModelA(const ModelSpec& spec) : Classifier(spec) {
    const ModelConfig& c = spec.config;
    conv1_ = register_module("conv1", conv_same(1, 256));
    if (c.bn_conv1) bn_conv1_ = register_module("bn_conv1", keras_bn(256, c.bn_momentum));
    conv2_ = register_module("conv2", conv_same(256, 128));
    if (c.bn_block1) bn_block1_ = register_module("bn_block1", keras_bn(128, c.bn_momentum));
    conv3_ = register_module("conv3", conv_same(128, 128));
    conv4_ = register_module("conv4", conv_same(128, 128));
    conv5_ = register_module("conv5", conv_same(128, 128));
    if (c.bn_conv5) bn_conv5_ = register_module("bn_conv5", keras_bn(128, c.bn_momentum));
    conv6_ = register_module("conv6", conv_same(128, 128));
    // 'same' convs keep the length; only the pool shrinks it: flatten = 128 * floor(input_dim / 8).
    dense_ = register_module("dense", torch::nn::Linear(128 * (spec.input_dim / kPool), spec.n_classes));
    if (c.bn_head) bn_head_ = register_module("bn_head", keras_bn(spec.n_classes, c.bn_momentum));
    for (auto* conv : {&conv1_, &conv2_, &conv3_, &conv4_, &conv5_, &conv6_}) keras_init(*conv);
    keras_init(dense_);
  }

  torch::Tensor forward(torch::Tensor x) override {
    const ModelConfig& c = spec().config;
    const bool train = is_training();
    x = conv1_(as_batch_1_d(std::move(x), spec().input_dim));
    if (bn_conv1_) x = bn_conv1_(x);
    x = torch::relu(x);
    x = torch::relu(conv2_(x));
    x = model::dropout(x, c.dropout_block1, train);
    if (bn_block1_) x = bn_block1_(x);
    x = torch::max_pool1d(x, kPool);
    x = torch::relu(conv3_(x));
    x = torch::relu(conv4_(x));
    x = conv5_(x);
    if (bn_conv5_) x = bn_conv5_(x);
    x = torch::relu(x);
    x = model::dropout(x, c.dropout_mid, train);
    x = torch::relu(conv6_(x));
    // Flatten in Keras' channels-last order (index = t * 128 + c), so Dense weights exported from
    // the published Keras models could be loaded as they are.
    x = x.transpose(1, 2).flatten(1);
    x = model::dropout(x, c.dropout_head, train);
    x = dense_(x);
    if (bn_head_) x = bn_head_(x);
    return x;  // logits; softmax lives in the loss / at prediction
  }

 private:
  torch::nn::Conv1d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, conv4_{nullptr}, conv5_{nullptr},
      conv6_{nullptr};
  torch::nn::BatchNorm1d bn_conv1_{nullptr}, bn_block1_{nullptr}, bn_conv5_{nullptr}, bn_head_{nullptr};
  torch::nn::Linear dense_{nullptr};
};

class Mlp : public Classifier {
 public:
  explicit Mlp(const ModelSpec& spec) : Classifier(spec) {
    hidden_ = register_module("hidden", torch::nn::Linear(spec.input_dim, spec.config.mlp_hidden));
    out_ = register_module("out", torch::nn::Linear(spec.config.mlp_hidden, spec.n_classes));
    keras_init(hidden_);
    keras_init(out_);
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = as_batch_1_d(std::move(x), spec().input_dim).flatten(1);
    return out_(torch::relu(hidden_(x)));
  }

 private:
  torch::nn::Linear hidden_{nullptr}, out_{nullptr};
};

std::string known_list() {
  std::string s;
  for (const auto& n : architecture_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

void check_dropout(const std::string& key, double p) {
  if (!(p >= 0.0 && p < 1.0)) fail_config(key, "dropout rate must be in [0, 1), got " + std::to_string(p));
}

void validate(const ModelConfig& c, int input_dim, int n_classes) {
  const auto& names = architecture_names();
  if (std::find(names.begin(), names.end(), c.architecture) == names.end())
    fail_config("model.architecture", "unknown architecture '" + c.architecture + "' (known: " + known_list() + ")");
  if (n_classes < 2) fail_config("model", "need at least 2 classes, got " + std::to_string(n_classes));
  if (c.architecture == "model_a") {
    if (input_dim < kPool)
      fail_config("model", "model_a needs input_dim >= 8 (MaxPool 8), got " + std::to_string(input_dim));
    check_dropout("model.dropout_block1", c.dropout_block1);
    check_dropout("model.dropout_mid", c.dropout_mid);
    check_dropout("model.dropout_head", c.dropout_head);
    if (!(c.bn_momentum >= 0.0 && c.bn_momentum < 1.0))
      fail_config("model.bn_momentum", "must be in [0, 1) (Keras convention), got " + std::to_string(c.bn_momentum));
  } else {
    if (input_dim < 1) fail_config("model", "input_dim must be positive, got " + std::to_string(input_dim));
    if (c.mlp_hidden < 1) fail_config("model.mlp_hidden", "must be positive, got " + std::to_string(c.mlp_hidden));
  }
}

// The spec travels inside the archive as plain IValues next to the module's tensors.
void write_spec(torch::serialize::OutputArchive& ar, const ModelSpec& s) {
  const ModelConfig& c = s.config;
  ar.write("ser_format", c10::IValue(static_cast<int64_t>(kFormat)));
  ar.write("ser_architecture", c10::IValue(c.architecture));
  ar.write("ser_input_dim", c10::IValue(static_cast<int64_t>(s.input_dim)));
  ar.write("ser_n_classes", c10::IValue(static_cast<int64_t>(s.n_classes)));
  ar.write("ser_dropout_block1", c10::IValue(c.dropout_block1));
  ar.write("ser_dropout_mid", c10::IValue(c.dropout_mid));
  ar.write("ser_dropout_head", c10::IValue(c.dropout_head));
  ar.write("ser_bn_conv1", c10::IValue(c.bn_conv1));
  ar.write("ser_bn_block1", c10::IValue(c.bn_block1));
  ar.write("ser_bn_conv5", c10::IValue(c.bn_conv5));
  ar.write("ser_bn_head", c10::IValue(c.bn_head));
  ar.write("ser_mlp_hidden", c10::IValue(static_cast<int64_t>(c.mlp_hidden)));
  ar.write("ser_bn_momentum", c10::IValue(c.bn_momentum));
}

ModelSpec read_spec(torch::serialize::InputArchive& ar) {
  c10::IValue v;
  auto get = [&](const char* key) -> const c10::IValue& {
    ar.read(key, v);
    return v;
  };
  if (get("ser_format").toInt() != kFormat) throw std::runtime_error("unsupported model file format version");
  ModelSpec s;
  ModelConfig& c = s.config;
  c.architecture = get("ser_architecture").toStringRef();
  s.input_dim = static_cast<int>(get("ser_input_dim").toInt());
  s.n_classes = static_cast<int>(get("ser_n_classes").toInt());
  c.dropout_block1 = get("ser_dropout_block1").toDouble();
  c.dropout_mid = get("ser_dropout_mid").toDouble();
  c.dropout_head = get("ser_dropout_head").toDouble();
  c.bn_conv1 = get("ser_bn_conv1").toBool();
  c.bn_block1 = get("ser_bn_block1").toBool();
  c.bn_conv5 = get("ser_bn_conv5").toBool();
  c.bn_head = get("ser_bn_head").toBool();
  c.mlp_hidden = static_cast<int>(get("ser_mlp_hidden").toInt());
  if (ar.try_read("ser_bn_momentum", v)) c.bn_momentum = v.toDouble();  // absent in early files
  return s;
}

torch::serialize::OutputArchive to_archive(const Classifier& model) {
  torch::serialize::OutputArchive ar;
  model.save(ar);
  write_spec(ar, model.spec());
  return ar;
}

ModelPtr from_archive(torch::serialize::InputArchive& ar, const torch::Device& device) {
  ModelPtr model = make_model(read_spec(ar));
  model->to(device);
  model->load(ar);
  return model;
}

}  // namespace

torch::Tensor dropout(const torch::Tensor& x, double p, bool train) {
  if (!train || p <= 0.0) return x;
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat || p >= 1.0) return torch::dropout(x, p, train);
  const std::uint64_t seed = draw_seed();
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  const auto keep_below = static_cast<std::uint32_t>(std::min(4294967295.0, (1.0 - p) * 4294967296.0));
  auto mask = torch::empty(x.sizes(), x.options());  // contiguous, no autograd history
  float* m = mask.data_ptr<float>();
  const std::int64_t n = mask.numel();
  // One 64-bit hash feeds two elements (low and high 32 bits compared with keep_below).
  at::parallel_for(0, (n + 1) / 2, 16384, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const std::uint64_t r = mix64(seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(i));
      m[2 * i] = static_cast<std::uint32_t>(r) < keep_below ? scale : 0.0f;
      if (2 * i + 1 < n) m[2 * i + 1] = static_cast<std::uint32_t>(r >> 32) < keep_below ? scale : 0.0f;
    }
  });
  return x * mask;
}

std::vector<std::string> architecture_names() { return {"model_a", "mlp"}; }

ModelPtr make_model(const ModelConfig& cfg, int input_dim, int n_classes) {
  validate(cfg, input_dim, n_classes);
  const ModelSpec spec{cfg, input_dim, n_classes};
  if (cfg.architecture == "model_a") return std::make_shared<ModelA>(spec);
  return std::make_shared<Mlp>(spec);
}

std::int64_t parameter_count(const torch::nn::Module& model, bool include_buffers) {
  std::int64_t n = 0;
  for (const auto& p : model.parameters()) n += p.numel();
  if (include_buffers)
    for (const auto& b : model.named_buffers())
      if (b.key().find("num_batches_tracked") == std::string::npos) n += b.value().numel();
  return n;
}

std::int64_t forward_macs_per_sample(const ModelSpec& spec) {
  const std::int64_t d = spec.input_dim, k = spec.n_classes;
  if (spec.config.architecture == "mlp") {
    const std::int64_t h = spec.config.mlp_hidden;
    return d * h + h * k;
  }
  const std::int64_t p = d / kPool;
  return d * 256 * 1 * kKernel        // conv1
         + d * 128 * 256 * kKernel    // conv2 (dominant: ~80 %)
         + 4 * p * 128 * 128 * kKernel  // conv3..conv6 after the pool
         + p * 128 * k;               // dense
}

void save_model(const Classifier& model, const std::string& path) {
  auto ar = to_archive(model);
  util::write_file_atomic(path, [&](std::ostream& out) {
    try {
      ar.save_to(out);
    } catch (const c10::Error& e) {
      fail_runtime(path, std::string("cannot serialise model: ") + e.what_without_backtrace());
    }
  });
}

ModelPtr load_model(const std::string& path, const torch::Device& device) {
  // Through a stream: LibTorch 2.x's file-name overload goes through a reader that crashed on
  // CUDA builds here, and opening the file ourselves gives a plain error for a missing one.
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path, "cannot open model file");
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(in, device);
    return from_archive(ar, device);
  } catch (const ser::Error& e) {  // a stored spec that make_model rejects
    fail_input(path, std::string("invalid model spec: ") + e.what());
  } catch (const c10::Error& e) {
    fail_input(path, std::string("not a readable ser model: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    fail_input(path, std::string("not a readable ser model: ") + e.what());
  }
}

ModelPtr clone_model(const Classifier& model) {
  const auto params = model.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  std::stringstream buffer;
  to_archive(model).save_to(buffer);
  torch::serialize::InputArchive ar;
  ar.load_from(buffer, device);
  ModelPtr copy = from_archive(ar, device);
  copy->train(model.is_training());
  return copy;
}

}  // namespace ser::model
