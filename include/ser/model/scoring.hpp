#pragma once
// A trained classifier seen from prediction: standardised rows in, class probabilities out.
// Torch models (model.pt, in the LibTorch backend) and classic ones (svm, logreg) both implement
// it, so the predictor and fold ensembles treat every architecture alike without torch headers.
#include <cstddef>
#include <vector>

namespace ser::model {

class ScoringModel {
 public:
  virtual ~ScoringModel() = default;
  virtual std::size_t input_dim() const = 0;
  virtual std::size_t n_classes() const = 0;
  // rows: n x input_dim(), already standardised by the model's scaler; returns n x n_classes()
  // probabilities, row-major, each row summing to 1.
  virtual std::vector<double> probabilities(const float* rows, std::size_t n) const = 0;
};

}  // namespace ser::model
