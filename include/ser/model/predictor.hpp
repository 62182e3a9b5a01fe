#pragma once
// A trained model applied to new feature vectors. Loads what `ser train` writes: a model
// directory (model.pt + model.json with feature set, labels and scaler) or a whole run directory,
// whose fold models form an ensemble that averages their probabilities. Torch stays inside the
// implementation, so callers compile without LibTorch headers.
#include <memory>
#include <string>
#include <vector>

namespace ser::model {

class Predictor {
 public:
  // `path`: a model directory, its model.pt or model.json, or a run directory (every
  // fold-K/model.pt; members must agree on feature set, settings and labels). Throws ser::Error
  // (input) naming the file that is missing or inconsistent.
  static Predictor load(const std::string& path, const std::string& device = "cpu");

  const std::string& feature_set() const;
  const std::string& feature_fingerprint() const;
  std::size_t dim() const;
  const std::vector<std::string>& labels() const;
  std::size_t members() const;                    // 1 for a single model
  const std::vector<std::string>& sources() const;  // the model.pt files, in order

  // rows: n x dim raw (unscaled) features, row-major. Each member standardises with its own
  // scaler; returns n x labels().size() probabilities, the members' softmax averaged.
  std::vector<std::vector<double>> predict(const std::vector<float>& rows, std::size_t n) const;

  Predictor(Predictor&&) noexcept;
  Predictor& operator=(Predictor&&) noexcept;
  ~Predictor();

 private:
  struct Impl;
  explicit Predictor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ser::model
