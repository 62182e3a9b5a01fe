// train_fold: classic models fit here; torch models go to the LibTorch backend.
#include <algorithm>
#include <cmath>

#include "ser/classic/classic.hpp"
#include "ser/error.hpp"
#include "ser/model/torch_backend.hpp"
#include "ser/train/trainer.hpp"

namespace ser::train {

bool is_classic(const std::string& architecture) { return classic::is_classic_architecture(architecture); }

std::string weights_file(const std::string& architecture) {
  return is_classic(architecture) ? "classifier.json" : "model.pt";
}

std::string resolve_device(const std::string& requested, const std::string& architecture) {
  if (is_classic(architecture)) {
    if (requested == "cuda") fail_config("train.device", "cuda requested, but " + architecture + " runs on the CPU");
    if (requested != "auto" && requested != "cpu") {
      fail_config("train.device", "unknown device '" + requested + "' (known: auto, cpu, cuda)");
    }
    return "cpu";
  }
  if (requested == "cpu") return "cpu";
  return model::torch_backend().resolve_device(requested);
}

namespace {

classic::ClassicSettings classic_settings(const TrainConfig& cfg, std::uint64_t seed) {
  classic::ClassicSettings s;
  s.architecture = cfg.model.architecture;
  s.svm.kernel = cfg.model.svm_kernel;
  s.svm.c = cfg.model.svm_c;
  s.svm.gamma = cfg.model.svm_gamma;
  s.svm.probability = cfg.model.svm_probability;
  s.logreg.multi_class = cfg.model.logreg_multi_class;
  s.logreg.c = cfg.model.logreg_c;
  s.logreg.max_iter = cfg.model.logreg_max_iter;
  s.class_weights = cfg.class_weights;
  s.seed = seed;
  return s;
}

FoldResult fit_classic(const std::vector<float>& rows, std::size_t dim, const std::vector<int>& labels, int n_classes,
                       const data::Fold& fold, const TrainConfig& cfg, const FoldOptions& options) {
  FoldResult result;
  result.device = resolve_device(cfg.device, cfg.model.architecture);
  // A classic model has no epochs to stop early: the validation part (when the protocol carved
  // one) trains too, and the test part is touched once, by the fitted model.
  std::vector<std::size_t> train = fold.train;
  train.insert(train.end(), fold.validation.begin(), fold.validation.end());
  std::sort(train.begin(), train.end());
  result.scaler.fit(rows.data(), train, dim);  // leakage rule 1: training rows only
  std::vector<float> x(train.size() * dim);
  std::vector<int> y(train.size());
  for (std::size_t i = 0; i < train.size(); ++i) {
    std::copy_n(rows.data() + train[i] * dim, dim, x.data() + i * dim);
    result.scaler.transform(x.data() + i * dim);
    y[i] = labels[train[i]];
  }
  const classic::ClassicModel m =
      classic::ClassicModel::fit(x.data(), train.size(), dim, y, n_classes, classic_settings(cfg, cfg.seed + static_cast<std::uint64_t>(fold.index)));
  result.best_epoch = 0;
  if (!fold.test.empty()) {
    std::vector<float> xt(fold.test.size() * dim);
    for (std::size_t i = 0; i < fold.test.size(); ++i) {
      std::copy_n(rows.data() + fold.test[i] * dim, dim, xt.data() + i * dim);
      result.scaler.transform(xt.data() + i * dim);
    }
    m.predict(xt.data(), fold.test.size(), result.test_predictions, result.test_probabilities);
  }
  if (!options.model_path.empty()) m.save(options.model_path);
  return result;
}

}  // namespace

void check_model_settings(const TrainConfig& cfg) {
  if (is_classic(cfg.model.architecture)) classic::validate_settings(classic_settings(cfg, cfg.seed));
}

FoldResult train_fold(const std::vector<float>& rows, std::size_t dim, const std::vector<int>& labels, int n_classes,
                      const data::Fold& fold, const TrainConfig& cfg, const FoldOptions& options) {
  if (dim == 0 || rows.size() != labels.size() * dim) {
    fail_runtime("fold " + std::to_string(fold.index + 1), "feature rows and labels disagree");
  }
  if (fold.train.empty()) fail_runtime("fold " + std::to_string(fold.index + 1), "empty training part");
  if (is_classic(cfg.model.architecture)) return fit_classic(rows, dim, labels, n_classes, fold, cfg, options);
  return model::torch_backend().train_fold(rows, dim, labels, n_classes, fold, cfg, options);
}

}  // namespace ser::train
