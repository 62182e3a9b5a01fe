#pragma once
// Training one fold: standardise (fit on the training rows only), build the model, optimise with
// early stopping on a validation metric, and return the best epoch's predictions on the test rows.
// Torch stays behind this interface (src/train), so callers compile without LibTorch headers.
#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ser/data/protocols.hpp"
#include "ser/features/scaler.hpp"

namespace ser::train {

struct OptimizerConfig {
  std::string name = "adam";  // rmsprop | adam | adamw | sgd
  double lr = 1e-3;
  double weight_decay = 0.0;
  double momentum = 0.9;  // sgd
  double rho = 0.9;       // rmsprop (Keras rho = torch alpha)
  double eps = 1e-7;      // Keras default epsilon
  double beta1 = 0.9, beta2 = 0.999;
  double decay = 0.0;  // Keras-style time decay: lr_t = lr / (1 + decay * step)
};

struct ScheduleConfig {
  std::string name = "none";  // none | step | cosine | plateau
  int step_size = 50;         // step: epochs between reductions
  double gamma = 0.5;         // step and plateau: multiplier
  int plateau_patience = 10;  // plateau: epochs without improvement
  double min_lr = 1e-7;
};

struct ModelSettings {  // mirrors model::ModelConfig without pulling in torch
  std::string architecture = "model_a";  // model_a | mlp (LibTorch) | svm | logreg (classic)
  double dropout_block1 = 0.1, dropout_mid = 0.2, dropout_head = 0.2;
  bool bn_conv1 = true, bn_block1 = true, bn_conv5 = true, bn_head = true;
  double bn_momentum = 0.99;  // Keras convention
  int mlp_hidden = 300;
  // svm (libsvm, = scikit-learn SVC): kernel rbf | linear; gamma <= 0 is sklearn's "scale",
  // 1 / (dim * var(training matrix)); probability: Platt-scaled probabilities for ensembles.
  std::string svm_kernel = "rbf";
  double svm_c = 1.0;
  double svm_gamma = 0.0;
  bool svm_probability = true;
  // logreg: L2 logistic regression, ovr (liblinear, = sklearn solver="liblinear") or
  // multinomial (softmax, L-BFGS, = sklearn's lbfgs).
  std::string logreg_multi_class = "ovr";
  double logreg_c = 1.0;
  int logreg_max_iter = 1000;
};

// Architectures trained without LibTorch.
bool is_classic(const std::string& architecture);
// Config keys only LibTorch models use (epochs, batch size, optimiser, schedule, dropout,
// BatchNorm, hidden units): they do nothing for a classic model, nor change its run's identity.
const std::set<std::string>& torch_only_keys();
// The weights file a model directory holds: model.pt (torch) or classifier.json (classic).
std::string weights_file(const std::string& architecture);

struct TrainConfig {
  ModelSettings model;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  int epochs = 200;
  int batch_size = 32;
  std::string monitor = "val_uar";  // val_uar | val_accuracy | val_loss (early stopping, checkpoint)
  int patience = 30;                // epochs without improvement before stopping; 0 = never stop early
  int min_epochs = 20;              // no early stop before this: BN running statistics (Keras
                                    // momentum 0.99) need tens of epochs before validation means much
  bool class_weights = false;       // weight the loss by inverse class frequency of the training part
  std::uint64_t seed = 42;
  std::string device = "auto";      // auto | cpu | cuda
  int threads = 0;                  // intra-op threads; 0 = leave torch's default
  int checkpoint_every = 1;         // epochs between resumable checkpoints (when a path is given); 0 = none
  // After the validation run picks the best epoch E, train again from the same initialisation on
  // the whole training part (training + validation) for E epochs; that model predicts the test part.
  bool refit = false;
  // Model selection without the test part: {"model.svm_c": [1, 10], "train.optimizer.lr": [...]}
  // (any model.* or train.* key), or a list of such grids whose points are pooled (e.g. one grid
  // per architecture), every point scored by inner cross-validation on
  // the training part only, grouped by speaker in speaker protocols; best by inner UAR.
  nlohmann::json search = nlohmann::json::object();
  int search_folds = 5;
  // The whole protocol this many times, repeat R with the seed derive_repeat_seed(seed, R): random
  // protocols reshuffle their folds, every model and augmentation is initialised anew.
  int repeats = 1;
};

// Repeat 1 keeps the configured seed (a one-repeat run is that run); later repeats step away.
inline std::uint64_t derive_repeat_seed(std::uint64_t seed, int repeat) {
  return seed + 1000003ull * static_cast<std::uint64_t>(repeat - 1);
}

// Checks a classic model's settings (kernel, C, ...) before any work; throws a config error
// naming the model.* key. Torch settings are checked when the model is built.
void check_model_settings(const TrainConfig& cfg);

struct EpochRecord {
  int epoch;
  double lr, train_loss, train_accuracy, val_loss, val_accuracy, val_uar;
};

struct FoldResult {
  features::StandardScaler scaler;
  std::vector<EpochRecord> history;
  int best_epoch = 0;
  double best_validation = NAN;  // the monitored value at best_epoch (loss: negated); NaN without validation
  std::vector<int> test_predictions;                 // class index per test row (fold.test order)
  std::vector<std::vector<float>> test_probabilities;  // softmax per test row
  std::string device;                                // what actually ran
};

struct FoldOptions {
  std::string model_path;       // the chosen model is saved here (atomically) when not empty
  // Resumable state (weights, optimizer, best-so-far, history, RNG), written atomically every
  // `checkpoint_every` epochs. When the file exists at the start, training continues from it and
  // ends exactly as an uninterrupted run would on the same device. Removed once the fold is done.
  std::string checkpoint_path;
  // Called after every epoch; returning false stops training after a checkpoint is written and
  // throws ser::Error (Interrupted). Used for Ctrl-C and by tests.
  std::function<bool(const EpochRecord&)> keep_going;
  // Fixed number of epochs without validation (e.g. the final model on all data). 0 = cfg.epochs.
  int epochs_override = 0;
};

// rows: row-major N x dim features; labels: class index per row (0..n_classes-1). Validation
// rows drive early stopping and checkpoint choice; test rows are touched once, by the final model.
// Classic architectures fit on the training part (validation unused) in this process; torch ones
// run in the LibTorch backend (model/torch_backend.hpp), loaded on first use.
FoldResult train_fold(const std::vector<float>& rows, std::size_t dim, const std::vector<int>& labels, int n_classes,
                      const data::Fold& fold, const TrainConfig& cfg, const FoldOptions& options);
inline FoldResult train_fold(const std::vector<float>& rows, std::size_t dim, const std::vector<int>& labels,
                             int n_classes, const data::Fold& fold, const TrainConfig& cfg,
                             const std::string& model_path = "") {
  FoldOptions options;
  options.model_path = model_path;
  return train_fold(rows, dim, labels, n_classes, fold, cfg, options);
}

// Resolves "auto" to what this build and machine offer; throws a config error for "cuda" without
// a usable GPU, naming the key `train.device`. Classic architectures always run on "cpu".
std::string resolve_device(const std::string& requested, const std::string& architecture = "model_a");

}  // namespace ser::train
