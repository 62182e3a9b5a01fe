#include "ser/features/speaker_norm.hpp"

#include <cmath>
#include <set>

#include "ser/error.hpp"

namespace ser::features {

SpeakerStats speaker_stats(const float* rows, const std::vector<std::size_t>& indices, std::size_t dim,
                           const std::string& speaker) {
  if (indices.size() < 2) {
    fail_input("speaker '" + speaker + "'", std::to_string(indices.size()) +
                                               " item(s); speaker normalisation needs at least 2 per speaker");
  }
  SpeakerStats s;
  s.n = indices.size();
  s.mean.assign(dim, 0.0);
  s.scale.assign(dim, 0.0);
  for (std::size_t i : indices) {
    const float* r = rows + i * dim;
    for (std::size_t j = 0; j < dim; ++j) s.mean[j] += r[j];
  }
  for (double& m : s.mean) m /= static_cast<double>(s.n);
  for (std::size_t i : indices) {
    const float* r = rows + i * dim;
    for (std::size_t j = 0; j < dim; ++j) {
      const double d = r[j] - s.mean[j];
      s.scale[j] += d * d;
    }
  }
  for (double& v : s.scale) v = std::sqrt(v / static_cast<double>(s.n)) + 1e-8;
  return s;
}

void apply_speaker_stats(const SpeakerStats& s, float* row) {
  for (std::size_t j = 0; j < s.mean.size(); ++j) {
    row[j] = static_cast<float>((static_cast<double>(row[j]) - s.mean[j]) / s.scale[j]);
  }
}

nlohmann::json to_json(const SpeakerStats& s) { return {{"n", s.n}, {"mean", s.mean}, {"scale", s.scale}}; }

SpeakerStats speaker_stats_from_json(const nlohmann::json& j, const std::string& origin) {
  SpeakerStats s;
  try {
    s.n = j.at("n").get<std::size_t>();
    s.mean = j.at("mean").get<std::vector<double>>();
    s.scale = j.at("scale").get<std::vector<double>>();
  } catch (const nlohmann::json::exception&) {
    fail_input(origin, "speaker statistics need n, mean and scale");
  }
  if (s.mean.size() != s.scale.size() || s.mean.empty()) fail_input(origin, "speaker statistics of unequal lengths");
  for (std::size_t k = 0; k < s.mean.size(); ++k) {
    if (!std::isfinite(s.mean[k]) || !std::isfinite(s.scale[k]) || s.scale[k] <= 0) {
      fail_input(origin, "speaker statistics hold a non-finite mean or a non-positive scale");
    }
  }
  return s;
}

FoldNormalization normalize_fold(const std::vector<float>& values, std::size_t dim,
                                 const std::vector<std::string>& speakers, std::size_t n_items,
                                 const std::vector<std::size_t>& copy_source, const data::Fold& fold) {
  if (dim == 0 || values.size() != (n_items + copy_source.size()) * dim || speakers.size() < n_items) {
    fail_runtime("speaker normalisation", "rows, speakers and copies disagree");
  }
  FoldNormalization out;
  out.values = values;
  auto speaker_of = [&](std::size_t i) -> const std::string& {
    if (speakers[i].empty()) fail_input("item " + std::to_string(i + 1), "has no speaker; speaker normalisation needs one per item");
    return speakers[i];
  };
  std::vector<const SpeakerStats*> stats_of(n_items, nullptr);
  std::map<std::string, std::vector<std::size_t>> train_rows;
  for (std::size_t i : fold.train) {
    if (i < n_items) train_rows[speaker_of(i)].push_back(i);
  }
  for (const auto& [s, rows] : train_rows) out.training[s] = speaker_stats(values.data(), rows, dim, s);
  // Statistics of speakers without training items, one group per part (features only).
  std::vector<std::map<std::string, SpeakerStats>> own_stats(2);
  std::set<std::string> own;
  const std::vector<std::size_t>* parts[] = {&fold.train, &fold.validation, &fold.test};
  for (int p = 0; p < 3; ++p) {
    std::map<std::string, std::vector<std::size_t>> groups;
    for (std::size_t i : *parts[p]) {
      if (i >= n_items) continue;
      const auto it = out.training.find(speaker_of(i));
      if (it != out.training.end()) {
        stats_of[i] = &it->second;
      } else {
        groups[speakers[i]].push_back(i);
      }
    }
    for (const auto& [s, rows] : groups) {
      const SpeakerStats& st = own_stats[static_cast<std::size_t>(p - 1)][s] = speaker_stats(values.data(), rows, dim, s);
      for (std::size_t i : rows) stats_of[i] = &st;
      own.insert(s);
    }
  }
  for (std::size_t i = 0; i < n_items; ++i) {
    if (stats_of[i]) apply_speaker_stats(*stats_of[i], out.values.data() + i * dim);
  }
  for (std::size_t j = 0; j < copy_source.size(); ++j) {
    const SpeakerStats* st = copy_source[j] < n_items ? stats_of[copy_source[j]] : nullptr;
    if (st) apply_speaker_stats(*st, out.values.data() + (n_items + j) * dim);
  }
  out.from_own_part.assign(own.begin(), own.end());
  return out;
}

void normalize_groups(std::vector<float>& rows, std::size_t dim, const std::vector<std::string>& groups,
                      std::vector<std::string>* small_groups) {
  if (dim == 0 || rows.size() != groups.size() * dim) fail_runtime("speaker normalisation", "rows and groups disagree");
  std::map<std::string, std::vector<std::size_t>> by_group;
  for (std::size_t i = 0; i < groups.size(); ++i) by_group[groups[i]].push_back(i);
  const std::vector<float> original = rows;
  for (const auto& [g, idx] : by_group) {
    const SpeakerStats st = speaker_stats(original.data(), idx, dim, g);
    for (std::size_t i : idx) apply_speaker_stats(st, rows.data() + i * dim);
    if (small_groups && idx.size() < 10) small_groups->push_back(g);
  }
}

}  // namespace ser::features
