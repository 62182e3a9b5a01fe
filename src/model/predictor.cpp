#include "ser/model/predictor.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "ser/error.hpp"
#include "ser/features/scaler.hpp"
#include "ser/model/models.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;

namespace ser::model {

namespace {

struct Member {
  std::string model_path;
  ModelPtr net;
  features::StandardScaler scaler;
};

struct Card {
  std::string feature_set, fingerprint;
  std::size_t dim = 0;
  std::vector<std::string> labels;
  features::StandardScaler scaler;
};

Card read_card(const std::string& path) {
  const nlohmann::json j = util::read_json(path);
  Card c;
  try {
    c.feature_set = j.at("feature_set").get<std::string>();
    c.fingerprint = j.at("feature_fingerprint").get<std::string>();
    c.dim = j.at("dim").get<std::size_t>();
    c.labels = j.at("labels").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
    fail_input(path, "not a model card (needs feature_set, feature_fingerprint, dim, labels, scaler)");
  }
  if (!j.contains("scaler")) fail_input(path, "model card lacks its scaler");
  c.scaler = features::StandardScaler::from_json(j.at("scaler"), path);
  if (c.labels.size() < 2) fail_input(path, "a model needs at least 2 labels");
  if (c.scaler.dim() != c.dim) fail_input(path, "scaler and model card disagree on the feature dimension");
  return c;
}

// Model directories behind `path`: itself, its parent (for model.pt/model.json), or fold-K/ of a run.
std::vector<std::string> model_dirs(const std::string& path) {
  if (!fs::exists(path)) fail_input(path, "no such model file or directory");
  if (fs::is_regular_file(path)) {
    const std::string name = fs::path(path).filename().string();
    if (name != "model.pt" && name != "model.json") fail_input(path, "expected a model directory, model.pt or model.json");
    return {fs::path(path).parent_path().string()};
  }
  if (fs::exists(fs::path(path) / "model.json")) return {path};
  const auto folds = util::numbered_subdirs(path, "fold-");
  if (folds.empty()) fail_input(path, "neither a model directory (model.json) nor a run directory (fold-K/)");
  std::vector<std::string> dirs;
  for (const auto& [k, dir] : folds) {
    if (!fs::exists(dir + "/model.json")) fail_input(dir, "fold has no finished model (model.json); finish the run first");
    dirs.push_back(dir);
  }
  return dirs;
}

}  // namespace

struct Predictor::Impl {
  std::string feature_set, fingerprint;
  std::size_t dim = 0;
  std::vector<std::string> labels, sources;
  std::vector<Member> members;
  torch::Device device{torch::kCPU};
};

Predictor::Predictor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;
Predictor::~Predictor() = default;

Predictor Predictor::load(const std::string& path, const std::string& device) {
  auto impl = std::make_unique<Impl>();
  if (device == "cuda") {
    if (!torch::cuda::is_available()) fail_config("--device", "cuda requested but no usable GPU");
    impl->device = torch::Device(torch::kCUDA);
  } else if (device != "cpu" && device != "auto") {
    fail_config("--device", "unknown device '" + device + "' (known: auto, cpu, cuda)");
  } else if (device == "auto" && torch::cuda::is_available()) {
    impl->device = torch::Device(torch::kCUDA);
  }
  for (const auto& dir : model_dirs(path)) {
    const std::string card_path = dir + "/model.json";
    Card card = read_card(card_path);
    if (impl->members.empty()) {
      impl->feature_set = card.feature_set;
      impl->fingerprint = card.fingerprint;
      impl->dim = card.dim;
      impl->labels = card.labels;
    } else if (card.feature_set != impl->feature_set || card.fingerprint != impl->fingerprint ||
               card.dim != impl->dim || card.labels != impl->labels) {
      fail_input(card_path, "differs from " + impl->sources.front() + " in feature set or labels; cannot ensemble");
    }
    Member m;
    m.model_path = dir + "/model.pt";
    m.net = load_model(m.model_path, impl->device);
    const ModelSpec& spec = m.net->spec();
    if (static_cast<std::size_t>(spec.input_dim) != card.dim || static_cast<std::size_t>(spec.n_classes) != card.labels.size()) {
      fail_input(m.model_path, "model shape (" + std::to_string(spec.input_dim) + " -> " + std::to_string(spec.n_classes) +
                                   ") does not match its model.json (" + std::to_string(card.dim) + " -> " +
                                   std::to_string(card.labels.size()) + ")");
    }
    m.net->eval();
    m.scaler = std::move(card.scaler);
    impl->sources.push_back(m.model_path);
    impl->members.push_back(std::move(m));
  }
  return Predictor(std::move(impl));
}

const std::string& Predictor::feature_set() const { return impl_->feature_set; }
const std::string& Predictor::feature_fingerprint() const { return impl_->fingerprint; }
std::size_t Predictor::dim() const { return impl_->dim; }
const std::vector<std::string>& Predictor::labels() const { return impl_->labels; }
std::size_t Predictor::members() const { return impl_->members.size(); }
const std::vector<std::string>& Predictor::sources() const { return impl_->sources; }

std::vector<std::vector<double>> Predictor::predict(const std::vector<float>& rows, std::size_t n) const {
  const std::size_t dim = impl_->dim, k = impl_->labels.size();
  if (rows.size() != n * dim) fail_runtime("predict", "expected " + std::to_string(n) + " x " + std::to_string(dim) + " features");
  std::vector<std::vector<double>> out(n, std::vector<double>(k, 0.0));
  if (n == 0) return out;
  torch::NoGradGuard no_grad;
  // In chunks: Model A's first layer alone holds 256 x dim floats per row.
  constexpr std::size_t kChunk = 256;
  auto x = torch::empty({static_cast<int64_t>(std::min(n, kChunk)), 1, static_cast<int64_t>(dim)}, torch::kFloat32);
  for (const auto& m : impl_->members) {
    for (std::size_t start = 0; start < n; start += kChunk) {
      const std::size_t count = std::min(kChunk, n - start);
      torch::Tensor xb = x.narrow(0, 0, static_cast<int64_t>(count));
      float* dst = xb.data_ptr<float>();
      std::copy_n(rows.data() + start * dim, count * dim, dst);
      m.scaler.transform_rows(dst, count);
      const torch::Tensor probs = torch::softmax(m.net->forward(xb.to(impl_->device)), 1).to(torch::kCPU).contiguous();
      const float* p = probs.data_ptr<float>();
      for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t c = 0; c < k; ++c) out[start + i][c] += p[i * k + c] / static_cast<double>(impl_->members.size());
      }
    }
  }
  return out;
}

}  // namespace ser::model
