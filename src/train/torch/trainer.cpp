#include "ser/train/trainer.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include "ser/error.hpp"
#include "ser/model/models.hpp"
#include "ser/model/runtime.hpp"
#include "checkpoint.hpp"
#include "../../model/torch/torch_internal.hpp"

namespace ser::train {

namespace {

model::ModelConfig to_model_config(const ModelSettings& m) {
  model::ModelConfig c;
  c.architecture = m.architecture;
  c.dropout_block1 = m.dropout_block1;
  c.dropout_mid = m.dropout_mid;
  c.dropout_head = m.dropout_head;
  c.bn_conv1 = m.bn_conv1;
  c.bn_block1 = m.bn_block1;
  c.bn_conv5 = m.bn_conv5;
  c.bn_head = m.bn_head;
  c.bn_momentum = m.bn_momentum;
  c.mlp_hidden = m.mlp_hidden;
  return c;
}

// Standardised rows [indices] as a (n, 1, dim) float tensor.
torch::Tensor feature_tensor(const std::vector<float>& rows, std::size_t dim, const std::vector<std::size_t>& indices,
                             const features::StandardScaler& scaler) {
  auto t = torch::empty({static_cast<int64_t>(indices.size()), 1, static_cast<int64_t>(dim)}, torch::kFloat32);
  float* out = t.data_ptr<float>();
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::copy_n(rows.data() + indices[i] * dim, dim, out + i * dim);
    scaler.transform(out + i * dim);
  }
  return t;
}

torch::Tensor label_tensor(const std::vector<int>& labels, const std::vector<std::size_t>& indices) {
  auto t = torch::empty({static_cast<int64_t>(indices.size())}, torch::kInt64);
  auto* out = t.data_ptr<int64_t>();
  for (std::size_t i = 0; i < indices.size(); ++i) out[i] = labels[indices[i]];
  return t;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params,
                                                        const OptimizerConfig& o) {
  if (o.lr <= 0) fail_config("train.optimizer.lr", "must be > 0");
  if (o.name == "rmsprop") {
    // Keras RMSprop: w -= lr * g / (sqrt(v) + eps) with v = rho v + (1 - rho) g^2 (torch's alpha).
    return std::make_unique<torch::optim::RMSprop>(
        params, torch::optim::RMSpropOptions(o.lr).alpha(o.rho).eps(o.eps).weight_decay(o.weight_decay));
  }
  if (o.name == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params,
        torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
  }
  if (o.name == "adamw") {
    return std::make_unique<torch::optim::AdamW>(
        params,
        torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
  }
  if (o.name == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
  }
  fail_config("train.optimizer.name", "unknown optimizer '" + o.name + "' (known: rmsprop, adam, adamw, sgd)");
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

// Learning rate of an epoch from the epoch-level schedule (plateau is applied separately).
double scheduled_lr(const TrainConfig& cfg, int epoch, double plateau_factor) {
  const ScheduleConfig& s = cfg.schedule;
  const double base = cfg.optimizer.lr;
  if (s.name == "none") return base * plateau_factor;
  if (s.name == "step") return std::max(s.min_lr, base * std::pow(s.gamma, (epoch - 1) / std::max(1, s.step_size)));
  if (s.name == "cosine") {
    const double t = cfg.epochs > 1 ? static_cast<double>(epoch - 1) / (cfg.epochs - 1) : 0.0;
    return s.min_lr + 0.5 * (base - s.min_lr) * (1.0 + std::cos(M_PI * t));
  }
  if (s.name == "plateau") return std::max(s.min_lr, base * plateau_factor);
  fail_config("train.schedule.name", "unknown schedule '" + s.name + "' (known: none, step, cosine, plateau)");
}

struct Evaluation {
  double loss = 0, accuracy = 0, uar = 0;
};

// Unweighted average recall over the classes present in `truth`.
double uar_of(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred, int n_classes) {
  std::vector<int> hits(static_cast<std::size_t>(n_classes), 0), support(static_cast<std::size_t>(n_classes), 0);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    ++support[static_cast<std::size_t>(truth[i])];
    if (truth[i] == pred[i]) ++hits[static_cast<std::size_t>(truth[i])];
  }
  double sum = 0;
  int present = 0;
  for (int c = 0; c < n_classes; ++c) {
    if (support[static_cast<std::size_t>(c)] == 0) continue;
    sum += static_cast<double>(hits[static_cast<std::size_t>(c)]) / support[static_cast<std::size_t>(c)];
    ++present;
  }
  return present ? sum / present : 0.0;
}

Evaluation evaluate(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y, int n_classes) {
  // Batches of 64: LibTorch's CPU kernels run ~2.5x slower on one very large batch.
  constexpr int64_t kBatch = 64;
  torch::NoGradGuard no_grad;
  net.eval();
  double loss_sum = 0;
  std::vector<int64_t> p, t;
  for (int64_t start = 0; start < x.size(0); start += kBatch) {
    const int64_t stop = std::min<int64_t>(x.size(0), start + kBatch);
    const torch::Tensor logits = net.forward(x.slice(0, start, stop));
    const torch::Tensor yb = y.slice(0, start, stop);
    loss_sum += torch::nn::functional::cross_entropy(logits, yb).item<double>() * static_cast<double>(stop - start);
    const torch::Tensor pred = logits.argmax(1).to(torch::kCPU).contiguous();
    const torch::Tensor truth = yb.to(torch::kCPU).contiguous();
    p.insert(p.end(), pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + pred.numel());
    t.insert(t.end(), truth.data_ptr<int64_t>(), truth.data_ptr<int64_t>() + truth.numel());
  }
  Evaluation e;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < p.size(); ++i) correct += p[i] == t[i];
  e.loss = p.empty() ? 0.0 : loss_sum / static_cast<double>(p.size());
  e.accuracy = p.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(p.size());
  e.uar = uar_of(t, p, n_classes);
  return e;
}

// Larger is better for every monitored value (loss is negated).
double monitored(const std::string& monitor, const Evaluation& val) {
  if (monitor == "val_uar") return val.uar;
  if (monitor == "val_accuracy") return val.accuracy;
  if (monitor == "val_loss") return -val.loss;
  fail_config("train.monitor", "unknown monitor '" + monitor + "' (known: val_uar, val_accuracy, val_loss)");
}

}  // namespace

std::string resolve_torch_device(const std::string& requested) {
  if (requested == "cpu") return "cpu";
  if (requested == "auto") return torch::cuda::is_available() ? "cuda" : "cpu";
  if (requested == "cuda") {
    if (!torch::cuda::is_available()) fail_config("train.device", "cuda requested but no CUDA device is available");
    return "cuda";
  }
  fail_config("train.device", "unknown device '" + requested + "' (known: auto, cpu, cuda)");
}

FoldResult train_fold_torch(const std::vector<float>& rows, std::size_t dim, const std::vector<int>& labels,
                            int n_classes, const data::Fold& fold, const TrainConfig& cfg, const FoldOptions& options) {
  const std::string where = "fold " + std::to_string(fold.index + 1);
  if (dim == 0 || rows.size() != labels.size() * dim) fail_runtime(where, "feature rows and labels disagree");
  if (fold.train.empty()) fail_runtime(where, "empty training part");
  const int epochs = options.epochs_override > 0 ? options.epochs_override : cfg.epochs;
  if (epochs < 1) fail_config("train.epochs", "must be >= 1");
  if (cfg.batch_size < 1) fail_config("train.batch_size", "must be >= 1");
  if (cfg.min_epochs < 0) fail_config("train.min_epochs", "must be >= 0");
  if (cfg.checkpoint_every < 0) fail_config("train.checkpoint_every", "must be >= 0");
  for (int l : labels) {
    if (l < 0 || l >= n_classes) fail_runtime(where, "label index out of range");
  }
  monitored(cfg.monitor, {});  // validates the key before any work
  scheduled_lr(cfg, 1, 1.0);

  FoldResult result;
  result.device = resolve_torch_device(cfg.device);
  const torch::Device device(result.device == "cuda" ? torch::kCUDA : torch::kCPU);
  model::CpuRuntimeOptions runtime;
  runtime.intra_op_threads = std::max(0, cfg.threads);
  model::configure_cpu_runtime(runtime);
  torch::manual_seed(cfg.seed + static_cast<std::uint64_t>(fold.index));

  // Leakage rule 1: the scaler sees the training rows only.
  result.scaler.fit(rows.data(), fold.train, dim);
  const torch::Tensor x_train = feature_tensor(rows, dim, fold.train, result.scaler).to(device);
  const torch::Tensor y_train = label_tensor(labels, fold.train).to(device);
  const bool has_val = !fold.validation.empty() && options.epochs_override == 0;
  const torch::Tensor x_val = has_val ? feature_tensor(rows, dim, fold.validation, result.scaler).to(device) : torch::Tensor();
  const torch::Tensor y_val = has_val ? label_tensor(labels, fold.validation).to(device) : torch::Tensor();

  model::ModelPtr net = model::make_model(to_model_config(cfg.model), static_cast<int>(dim), n_classes);
  net->to(device);
  auto optimizer = make_optimizer(net->parameters(), cfg.optimizer);

  torch::Tensor class_weight;
  if (cfg.class_weights) {
    std::vector<float> counts(static_cast<std::size_t>(n_classes), 0.0f);
    for (std::size_t i : fold.train) counts[static_cast<std::size_t>(labels[i])] += 1.0f;
    std::vector<float> w(counts.size());
    for (std::size_t c = 0; c < counts.size(); ++c) {
      w[c] = counts[c] > 0 ? static_cast<float>(fold.train.size()) / (static_cast<float>(n_classes) * counts[c]) : 0.0f;
    }
    class_weight = torch::tensor(w).to(device);
  }
  auto loss_options = torch::nn::functional::CrossEntropyFuncOptions();
  if (class_weight.defined()) loss_options.weight(class_weight);

  const int64_t n_train = x_train.size(0);
  detail::LoopState st;
  model::ModelPtr best;
  const detail::CheckpointShape shape{n_train, has_val ? x_val.size(0) : 0, static_cast<int64_t>(dim), n_classes};
  const bool checkpoints = !options.checkpoint_path.empty() && cfg.checkpoint_every > 0;
  if (checkpoints && std::filesystem::exists(options.checkpoint_path)) {
    detail::load_checkpoint(options.checkpoint_path, shape, st, *net, best, *optimizer, device);
  }
  bool stopped_early = has_val && cfg.patience > 0 && st.epoch >= cfg.min_epochs && st.since_best >= cfg.patience;
  while (st.epoch < epochs && !stopped_early) {
    const int epoch = st.epoch + 1;
    const double epoch_lr = scheduled_lr(cfg, epoch, st.plateau_factor);
    net->train();
    const torch::Tensor order = torch::randperm(n_train, torch::TensorOptions().dtype(torch::kInt64)).to(device);
    // Summed on the device and read once per epoch: a per-batch read would stall a GPU each step.
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    torch::Tensor correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(device));
    for (int64_t start = 0, stop = 0; start < n_train; start = stop) {
      stop = std::min<int64_t>(n_train, start + cfg.batch_size);
      // BatchNorm cannot train on a batch of one: a lone trailing sample joins the last batch.
      if (n_train - stop == 1) stop = n_train;
      const torch::Tensor idx = order.slice(0, start, stop);
      const torch::Tensor xb = x_train.index_select(0, idx), yb = y_train.index_select(0, idx);
      // Keras' time decay works per optimizer step, on top of the epoch's scheduled rate.
      set_lr(*optimizer, epoch_lr / (1.0 + cfg.optimizer.decay * static_cast<double>(st.step)));
      optimizer->zero_grad();
      const torch::Tensor logits = net->forward(xb);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, yb, loss_options);
      loss.backward();
      optimizer->step();
      ++st.step;
      loss_sum += loss.detach().to(torch::kFloat64) * static_cast<double>(stop - start);
      correct += logits.detach().argmax(1).eq(yb).sum();
    }
    EpochRecord rec{epoch, epoch_lr, loss_sum.item<double>() / static_cast<double>(n_train),
                    static_cast<double>(correct.item<int64_t>()) / static_cast<double>(n_train), NAN, NAN, NAN};
    if (has_val) {
      const Evaluation val = evaluate(*net, x_val, y_val, n_classes);
      rec.val_loss = val.loss;
      rec.val_accuracy = val.accuracy;
      rec.val_uar = val.uar;
      const double score = monitored(cfg.monitor, val);
      if (score > st.best_score) {
        st.best_score = score;
        best = model::clone_model(*net);
        st.best_epoch = epoch;
        st.since_best = 0;
      } else {
        ++st.since_best;
      }
      if (score > st.plateau_best) {
        st.plateau_best = score;
        st.since_plateau_best = 0;
      } else if (cfg.schedule.name == "plateau" && ++st.since_plateau_best >= cfg.schedule.plateau_patience) {
        st.plateau_factor *= cfg.schedule.gamma;
        st.since_plateau_best = 0;
      }
    }
    st.history.push_back(rec);
    st.epoch = epoch;
    stopped_early = has_val && cfg.patience > 0 && epoch >= cfg.min_epochs && st.since_best >= cfg.patience;
    const bool go_on = !options.keep_going || options.keep_going(rec);
    const bool last = epoch == epochs || stopped_early;
    if (checkpoints && !last && (!go_on || epoch % cfg.checkpoint_every == 0)) {
      detail::save_checkpoint(options.checkpoint_path, shape, st, *net, best.get(), *optimizer, device);
    }
    if (!go_on && !last) {
      throw Error(ErrorKind::Interrupted, where,
                  "stopped after epoch " + std::to_string(epoch) +
                      (checkpoints ? "; run the same command again to resume from the checkpoint" : ""));
    }
  }
  result.history = st.history;
  result.best_epoch = st.best_epoch;
  if (best) result.best_validation = st.best_score;
  if (!best) {  // no validation part: the last epoch's model is the final one
    best = net;
    result.best_epoch = static_cast<int>(result.history.size());
  }

  // The test part is touched once, by the chosen model.
  if (!fold.test.empty()) {
    torch::NoGradGuard no_grad;
    best->eval();
    const torch::Tensor x_test = feature_tensor(rows, dim, fold.test, result.scaler).to(device);
    const torch::Tensor probs = torch::softmax(best->forward(x_test), 1).to(torch::kCPU).contiguous();
    const float* p = probs.data_ptr<float>();
    for (int64_t i = 0; i < probs.size(0); ++i) {
      std::vector<float> row(p + i * n_classes, p + (i + 1) * n_classes);
      result.test_predictions.push_back(
          static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin()));
      result.test_probabilities.push_back(std::move(row));
    }
  }
  if (!options.model_path.empty()) model::save_model(*best, options.model_path);
  if (checkpoints) std::filesystem::remove(options.checkpoint_path);
  return result;
}

}  // namespace ser::train
