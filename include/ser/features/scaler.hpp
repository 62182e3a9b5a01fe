#pragma once
// Per-column standardisation with scikit-learn StandardScaler semantics: mean and population
// standard deviation (ddof 0) accumulated in double; columns that are constant (up to rounding,
// by scikit-learn's own test) get scale 1, so they map to 0 instead of dividing by ~0.
// Leakage rule 1 (PROTOCOLS.md) lives in the signature of fit(): it is given the row indices of
// a fold's TRAINING part and never looks at any other row. The fitted scaler is stored with the
// model (to_json / from_json) so prediction uses exactly the training statistics.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ser::features {

class StandardScaler {
 public:
  // `rows` is row-major with `dim` floats per row; only rows listed in `row_indices` are read.
  // Throws ser::Error for dim 0, no rows, or a non-finite value in a training row (naming it).
  void fit(const float* rows, const std::vector<std::size_t>& row_indices, std::size_t dim);

  // In place: row[j] = (row[j] - mean[j]) / scale[j], computed in double. Throws if not fitted.
  void transform(float* row) const;
  // Every row of a row-major n_rows x dim block.
  void transform_rows(float* rows, std::size_t n_rows) const;

  // {"type": "StandardScaler", "n_samples_seen": N, "mean": [...], "scale": [...]}; doubles are
  // written in shortest round-trip form, so dump -> parse -> from_json is exact.
  nlohmann::json to_json() const;
  // Validates everything (type, arrays of finite numbers of equal non-zero length, scale > 0);
  // throws ser::Error (input kind) whose subject is `origin`, e.g. the scaler.json path.
  static StandardScaler from_json(const nlohmann::json& j, const std::string& origin);

  bool fitted() const { return !mean_.empty(); }
  std::size_t dim() const { return mean_.size(); }
  std::size_t n_samples_seen() const { return n_samples_seen_; }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }

 private:
  std::vector<double> mean_, scale_;
  std::size_t n_samples_seen_ = 0;
};

}  // namespace ser::features
