#include "run_files.hpp"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "ser/error.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/version.hpp"

namespace ser::train::detail {

nlohmann::json model_card(const std::string& feature_set, const std::string& fingerprint, std::size_t dim,
                          const std::vector<std::string>& labels, const features::StandardScaler& scaler) {
  return {{"feature_set", feature_set}, {"feature_fingerprint", fingerprint}, {"dim", dim},
          {"labels", labels},           {"scaler", scaler.to_json()},         {"toolkit_version", kVersion}};
}

std::string history_csv(const std::vector<EpochRecord>& history) {
  std::ostringstream out;
  out << "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_uar\n";
  out.precision(9);
  for (const auto& e : history) {
    out << e.epoch << ',' << e.lr << ',' << e.train_loss << ',' << e.train_accuracy << ',' << e.val_loss << ','
        << e.val_accuracy << ',' << e.val_uar << '\n';
  }
  return out.str();
}

std::string predictions_csv(const std::vector<data::Item>& items, const std::vector<std::size_t>& test,
                            const std::vector<int>& truth, const FoldResult& r, const std::vector<std::string>& labels) {
  std::vector<std::string> header{"id", "true", "pred"};
  for (const auto& l : labels) header.push_back("p_" + l);
  std::string out = util::csv_line(header);
  for (std::size_t i = 0; i < test.size(); ++i) {
    std::vector<std::string> row{items[test[i]].id, labels[static_cast<std::size_t>(truth[i])],
                                 labels[static_cast<std::size_t>(r.test_predictions[i])]};
    for (float p : r.test_probabilities[i]) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.6g", p);
      row.emplace_back(buf);
    }
    out += util::csv_line(row);
  }
  return out;
}

FinishedFold read_finished_fold(const std::string& fold_dir, const std::vector<std::string>& labels) {
  FinishedFold f;
  const std::string metrics_path = fold_dir + "/metrics.json";
  try {
    f.metrics = nlohmann::json::parse(util::read_text(metrics_path));
  } catch (const nlohmann::json::exception& e) {
    fail_input(metrics_path, std::string("not valid JSON: ") + e.what());
  }
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < labels.size(); ++i) index[labels[i]] = static_cast<int>(i);
  const std::string pred_path = fold_dir + "/predictions.csv";
  const auto rows = util::parse_csv(util::read_text(pred_path), pred_path);
  if (rows.empty() || rows[0].fields.size() < 3 || rows[0].fields[1] != "true" || rows[0].fields[2] != "pred") {
    fail_input(pred_path, "expected a header starting id,true,pred");
  }
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& fields = rows[r].fields;
    const auto t = fields.size() >= 3 ? index.find(fields[1]) : index.end();
    const auto p = fields.size() >= 3 ? index.find(fields[2]) : index.end();
    if (t == index.end() || p == index.end()) {
      fail_input(pred_path + ":" + std::to_string(rows[r].line), "label not among the run's classes");
    }
    f.truth.push_back(t->second);
    f.pred.push_back(p->second);
  }
  return f;
}

namespace {

const std::set<std::string> kRuntimeOnly = {"train.threads", "train.device", "features.jobs", "features.cache",
                                             "features.cache_dir", "features.from_store", "train.checkpoint_every"};

std::string first_difference(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
    for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
    for (const auto& k : keys) {
      const std::string key = prefix.empty() ? k : prefix + "." + k;
      if (kRuntimeOnly.count(key)) continue;
      if (!a.contains(k) || !b.contains(k)) return key;
      const std::string d = first_difference(a[k], b[k], key);
      if (!d.empty()) return d;
    }
    return "";
  }
  return a == b ? "" : (prefix.empty() ? "(whole config)" : prefix);
}

}  // namespace

std::string config_difference(const nlohmann::json& stored, const nlohmann::json& current) {
  return first_difference(stored, current, "");
}

}  // namespace ser::train::detail
