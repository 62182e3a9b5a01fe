#include "run_files.hpp"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "ser/error.hpp"
#include "ser/eval/overlap.hpp"
#include "ser/eval/predictions.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/version.hpp"

namespace ser::train::detail {

namespace fs = std::filesystem;

nlohmann::json model_card(const std::string& feature_set, const std::string& fingerprint, std::size_t dim,
                          const std::vector<std::string>& labels, const features::StandardScaler& scaler) {
  return {{"format", "ser-model"},  {"format_version", 1},  // docs/SCHEMAS.md
          {"feature_set", feature_set}, {"feature_fingerprint", fingerprint}, {"dim", dim},
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
                            const std::vector<int>& truth, const FoldResult& r, const std::vector<std::string>& labels,
                            const std::vector<std::string>& metadata_columns) {
  eval::PredictionTable t;
  t.labels = labels;
  t.metadata_columns = {"speaker"};
  t.metadata_columns.insert(t.metadata_columns.end(), metadata_columns.begin(), metadata_columns.end());
  for (std::size_t i = 0; i < test.size(); ++i) {
    const data::Item& item = items[test[i]];
    eval::PredictionRow row;
    row.id = item.id;
    row.truth = truth[i];
    row.pred = r.test_predictions[i];
    row.metadata.push_back(item.speaker);
    for (const auto& column : metadata_columns) {
      std::string value;
      for (const auto& [k, v] : item.metadata) {
        if (k == column) value = v;
      }
      row.metadata.push_back(value);
    }
    row.probabilities.assign(r.test_probabilities[i].begin(), r.test_probabilities[i].end());
    t.rows.push_back(std::move(row));
  }
  return eval::predictions_csv(t);
}

namespace {

// name and runs_dir only say where the run lives: a run directory copied or moved elsewhere is
// the same run.
const std::set<std::string> kRuntimeOnly = {"train.threads", "train.device", "features.jobs", "features.cache",
                                             "features.cache_dir", "features.from_store", "train.checkpoint_every",
                                             "label_map", "name", "runs_dir"};

bool classic_only(const nlohmann::json& config) {
  const auto model = config.find("model");
  if (model == config.end() || !model->is_object() || !is_classic(model->value("architecture", ""))) return false;
  const auto train = config.find("train");
  return train == config.end() || !train->is_object() || !train->contains("search") ||
         (*train)["search"].dump().find("model.architecture") == std::string::npos;
}

std::string first_difference(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix,
                             const std::set<std::string>& ignored) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
    for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
    for (const auto& k : keys) {
      const std::string key = prefix.empty() ? k : prefix + "." + k;
      if (kRuntimeOnly.count(key) || ignored.count(key)) continue;
      if (!a.contains(k) || !b.contains(k)) return key;
      const std::string d = first_difference(a[k], b[k], key, ignored);
      if (!d.empty()) return d;
    }
    return "";
  }
  return a == b ? "" : (prefix.empty() ? "(whole config)" : prefix);
}

}  // namespace

std::string config_difference(const nlohmann::json& stored, const nlohmann::json& current) {
  // A classic model has no epochs, optimiser or layers: those keys cannot change its results.
  static const std::set<std::string> none;
  const bool classic = classic_only(stored) && classic_only(current);
  return first_difference(stored, current, "", classic ? torch_only_keys() : none);
}

// Each item's content record: hashed from its file, or, for a run from a feature store (a fold
// process, a node without the corpus), read from the run's items.csv; a file that is neither
// readable nor recorded keeps its id only.
std::vector<eval::ContentRecord> item_content(const config::Config& cfg, const std::string& run_dir,
                                              const std::vector<data::Item>& items) {
  const std::string path = run_dir + "/items.csv";
  if (cfg.features.from_store && fs::exists(path)) {
    std::map<std::string, eval::ContentRecord> recorded;
    for (auto& r : eval::read_content_records(path)) recorded[r.id] = r;
    std::vector<eval::ContentRecord> out;
    for (const auto& item : items) {
      const auto it = recorded.find(item.id);
      if (it == recorded.end()) break;
      out.push_back(it->second);
    }
    if (out.size() == items.size()) return out;
  }
  return eval::content_records(items, cfg.features.jobs);
}

// <run>/items.csv, rewritten only when it changes (the fold jobs of one run agree).
void write_item_content(const std::string& run_dir, const std::vector<eval::ContentRecord>& content) {
  const std::string path = run_dir + "/items.csv";
  const std::string text = eval::content_records_csv(content);
  if (!fs::exists(path) || util::read_text(path) != text) util::write_text_atomic(path, text);
}

void require_corpus(const config::Config& cfg) {
  if (cfg.features.from_store) return;
  data::check_corpus_location(cfg.dataset, cfg.dataset == "manifest" ? cfg.manifest : cfg.root);
  const auto& p = cfg.protocol;
  if (p.name == "cross_corpus") data::check_corpus_location(p.test_dataset, p.test_dataset == "manifest" ? p.test_manifest : p.test_root);
}

void write_run_plan(const std::string& run_dir, const config::Config& cfg, const std::vector<data::Fold>& folds,
                    const std::vector<std::string>& labels) {
  nlohmann::json tests = nlohmann::json::array();
  for (const auto& f : folds) tests.push_back(f.test.size());
  const std::string corpus = cfg.dataset == "manifest" ? cfg.manifest : cfg.root;
  std::error_code ec;
  const fs::path absolute = corpus.empty() ? fs::path() : fs::absolute(corpus, ec).lexically_normal();
  const nlohmann::json plan = {{"format_version", 1},
                               {"folds_total", folds.size()},
                               {"protocol", cfg.protocol.name},
                               {"dataset", cfg.dataset},
                               {"corpus", absolute.string()},
                               {"labels", labels},
                               {"test_items_per_fold", tests}};
  const std::string path = run_dir + "/plan.json";
  const std::string text = plan.dump(2) + "\n";
  if (fs::exists(path) && util::read_text(path) == text) return;  // fold jobs of one run agree
  util::write_text_atomic(path, text);
}

}  // namespace ser::train::detail

namespace ser::train {

const std::set<std::string>& torch_only_keys() {
  static const std::set<std::string> keys = {
      "train.epochs",        "train.batch_size",   "train.monitor",     "train.patience",   "train.min_epochs",
      "train.optimizer",     "train.schedule",     "train.refit",       "model.dropout_block1", "model.dropout_mid",
      "model.dropout_head",  "model.bn_conv1",     "model.bn_block1",   "model.bn_conv5",   "model.bn_head",
      "model.bn_momentum",   "model.mlp_hidden"};
  return keys;
}

}  // namespace ser::train
