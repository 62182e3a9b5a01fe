#include "ood_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace ser::train::detail {

namespace {

// numpy.quantile's default (linear interpolation between the closest ranks).
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

double max_abs_z(const float* row, std::size_t dim, const std::vector<double>& mean, const std::vector<double>& scale) {
  double worst = 0;
  for (std::size_t j = 0; j < dim; ++j) worst = std::max(worst, std::fabs((row[j] - mean[j]) / scale[j]));
  return worst;
}

}  // namespace

nlohmann::json ood_calibration(const Experiment& ex, const FoldRows& rows, const std::vector<std::size_t>& trained,
                               std::uint64_t seed) {
  const std::size_t dim = ex.table.dim, n_items = ex.table.items.size();
  const std::vector<float>& values = rows.values();
  // Groups: speakers in speaker protocols (new speech is a new speaker), else items.
  std::map<std::string, std::vector<std::size_t>> by_group;
  for (std::size_t i : trained) {
    if (i >= n_items) continue;  // copies are not speech the model will meet
    by_group[ex.by_speaker ? ex.table.items[i].speaker : ex.table.items[i].id].push_back(i);
  }
  if (by_group.size() < 2) return nullptr;
  std::vector<const std::vector<std::size_t>*> groups;
  for (const auto& [name, members] : by_group) groups.push_back(&members);
  std::mt19937_64 rng(seed ^ 0x6F6F645F63616CULL);  // its own stream: "ood_cal"
  std::shuffle(groups.begin(), groups.end(), rng);
  const std::size_t k = std::min<std::size_t>(5, groups.size());

  std::vector<double> held_out;
  for (std::size_t part = 0; part < k; ++part) {
    std::vector<double> sum(dim, 0.0), sq(dim, 0.0);
    std::size_t n = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (g % k == part) continue;
      for (std::size_t i : *groups[g]) {
        const float* row = values.data() + i * dim;
        for (std::size_t j = 0; j < dim; ++j) {
          sum[j] += row[j];
          sq[j] += static_cast<double>(row[j]) * row[j];
        }
        ++n;
      }
    }
    std::vector<double> mean(dim), scale(dim);
    for (std::size_t j = 0; j < dim; ++j) {
      mean[j] = sum[j] / static_cast<double>(n);
      const double var = std::max(0.0, sq[j] / static_cast<double>(n) - mean[j] * mean[j]);
      scale[j] = var > 0 ? std::sqrt(var) : 1.0;  // as scikit-learn's StandardScaler
    }
    for (std::size_t g = part; g < groups.size(); g += k) {
      for (std::size_t i : *groups[g]) held_out.push_back(max_abs_z(values.data() + i * dim, dim, mean, scale));
    }
  }
  return {{"statistic", "max_abs_z"},
          {"quantile", kOodQuantile},
          {"threshold", quantile(held_out, kOodQuantile)},
          {"held_out_rows", held_out.size()},
          {"method", std::to_string(k) + "-fold hold-out on the training part" +
                         (ex.by_speaker ? ", grouped by speaker" : "")}};
}

double ood_false_alarm_rate(const Experiment& ex, const FoldRows& rows, const std::vector<std::size_t>& test,
                            const features::StandardScaler& scaler, double threshold) {
  if (test.empty()) return 0.0;
  const std::size_t dim = ex.table.dim;
  std::size_t flagged = 0;
  for (std::size_t i : test) {
    flagged += max_abs_z(rows.values().data() + i * dim, dim, scaler.mean(), scaler.scale()) > threshold;
  }
  return static_cast<double>(flagged) / static_cast<double>(test.size());
}

}  // namespace ser::train::detail
