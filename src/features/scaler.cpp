// StandardScaler: two-pass mean / variance in double (exact enough that constant columns come out
// with variance 0 or within scikit-learn's rounding bound, and no catastrophic cancellation).
#include "ser/features/scaler.hpp"

#include <cmath>
#include <limits>

#include "ser/error.hpp"

namespace ser::features {

namespace {

const char* const kType = "StandardScaler";

// scikit-learn's _is_constant_feature: a variance within the rounding error of the two-pass
// computation means the column is constant.
bool is_constant(double var, double mean, std::size_t n) {
  const double eps = std::numeric_limits<double>::epsilon();
  const double nd = static_cast<double>(n);
  return var <= nd * eps * var + (nd * mean * eps) * (nd * mean * eps);
}

std::vector<double> finite_array(const nlohmann::json& j, const char* key, const std::string& origin) {
  if (!j.contains(key) || !j.at(key).is_array()) fail_input(origin, std::string("scaler lacks an array '") + key + "'");
  const auto& arr = j.at(key);
  std::vector<double> out;
  out.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_number()) fail_input(origin, std::string("scaler '") + key + "' entry " + std::to_string(i) + " is not a number");
    const double v = arr[i].get<double>();
    if (!std::isfinite(v)) fail_input(origin, std::string("scaler '") + key + "' entry " + std::to_string(i) + " is not finite");
    out.push_back(v);
  }
  return out;
}

}  // namespace

void StandardScaler::fit(const float* rows, const std::vector<std::size_t>& row_indices, std::size_t dim) {
  if (dim == 0) fail_runtime("scaler", "cannot fit on 0-dimensional rows");
  if (row_indices.empty()) fail_runtime("scaler", "cannot fit on no rows (the training part is empty)");
  if (rows == nullptr) fail_runtime("scaler", "no data to fit on");
  const std::size_t n = row_indices.size();
  std::vector<double> mean(dim, 0.0), var(dim, 0.0);
  for (std::size_t r : row_indices) {
    const float* row = rows + r * dim;
    for (std::size_t j = 0; j < dim; ++j) {
      if (!std::isfinite(row[j])) {
        fail_input("scaler", "row " + std::to_string(r) + " column " + std::to_string(j) + " is not finite");
      }
      mean[j] += row[j];
    }
  }
  for (double& m : mean) m /= static_cast<double>(n);
  for (std::size_t r : row_indices) {
    const float* row = rows + r * dim;
    for (std::size_t j = 0; j < dim; ++j) {
      const double d = static_cast<double>(row[j]) - mean[j];
      var[j] += d * d;
    }
  }
  std::vector<double> scale(dim);
  for (std::size_t j = 0; j < dim; ++j) {
    var[j] /= static_cast<double>(n);  // population variance (ddof 0)
    scale[j] = is_constant(var[j], mean[j], n) ? 1.0 : std::sqrt(var[j]);
  }
  mean_ = std::move(mean);
  scale_ = std::move(scale);
  n_samples_seen_ = n;
}

void StandardScaler::transform(float* row) const {
  if (!fitted()) fail_runtime("scaler", "transform called before fit");
  for (std::size_t j = 0; j < mean_.size(); ++j) {
    row[j] = static_cast<float>((static_cast<double>(row[j]) - mean_[j]) / scale_[j]);
  }
}

void StandardScaler::transform_rows(float* rows, std::size_t n_rows) const {
  for (std::size_t r = 0; r < n_rows; ++r) transform(rows + r * dim());
}

nlohmann::json StandardScaler::to_json() const {
  return {{"type", kType}, {"n_samples_seen", n_samples_seen_}, {"mean", mean_}, {"scale", scale_}};
}

StandardScaler StandardScaler::from_json(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) fail_input(origin, "scaler must be a JSON object");
  if (!j.contains("type") || !j.at("type").is_string() || j.at("type").get<std::string>() != kType) {
    fail_input(origin, std::string("scaler lacks \"type\": \"") + kType + "\"");
  }
  StandardScaler s;
  s.mean_ = finite_array(j, "mean", origin);
  s.scale_ = finite_array(j, "scale", origin);
  if (s.mean_.empty()) fail_input(origin, "scaler 'mean' is empty");
  if (s.mean_.size() != s.scale_.size()) {
    fail_input(origin, "scaler 'mean' has " + std::to_string(s.mean_.size()) + " entries but 'scale' has " +
                           std::to_string(s.scale_.size()));
  }
  for (std::size_t i = 0; i < s.scale_.size(); ++i) {
    if (!(s.scale_[i] > 0)) fail_input(origin, "scaler 'scale' entry " + std::to_string(i) + " is not positive");
  }
  if (!j.contains("n_samples_seen") || !j.at("n_samples_seen").is_number_integer() ||
      j.at("n_samples_seen").get<long long>() < 0) {
    fail_input(origin, "scaler lacks a non-negative integer 'n_samples_seen'");
  }
  s.n_samples_seen_ = j.at("n_samples_seen").get<std::size_t>();
  return s;
}

}  // namespace ser::features
