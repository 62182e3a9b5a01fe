#include "ser/train/run.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/eval/metrics.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"
#include "ser/train/trainer.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/version.hpp"

namespace ser::train {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> label_set(const config::Config& cfg, const std::vector<data::Item>& items) {
  std::vector<std::string> labels = data::dataset_labels(cfg.dataset);
  if (labels.empty()) {  // manifest: whatever the CSV holds, sorted
    std::set<std::string> seen;
    for (const auto& it : items) seen.insert(it.label);
    labels.assign(seen.begin(), seen.end());
  }
  return labels;
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

std::string predictions_csv(const std::vector<data::Item>& items, const data::Fold& fold, const std::vector<int>& truth,
                            const FoldResult& r, const std::vector<std::string>& labels) {
  std::vector<std::string> header{"id", "true", "pred"};
  for (const auto& l : labels) header.push_back("p_" + l);
  std::string out = util::csv_line(header);
  for (std::size_t i = 0; i < fold.test.size(); ++i) {
    std::vector<std::string> row{items[fold.test[i]].id, labels[static_cast<std::size_t>(truth[i])],
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

}  // namespace

RunSummary run_experiment(const config::Config& cfg, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  config::validate(cfg, "config");
  const auto set = features::make_feature_set(cfg.features.set);

  // Features first; a re-run over an unchanged corpus reads them from the cache.
  const data::CorpusIndex index = data::index_corpus(cfg.dataset, cfg.dataset == "manifest" ? cfg.manifest : cfg.root);
  features::ExtractOptions ex;
  ex.out_dir = cfg.features.out;
  ex.jobs = cfg.features.jobs;
  ex.use_cache = cfg.features.cache;
  ex.cache_dir = cfg.features.cache_dir;
  ex.progress = opt.progress;
  const auto extracted = features::extract_corpus(index, *set, ex);
  if (extracted.failed) {
    spdlog::warn("{} file(s) could not be used (listed in {}/meta.json); training on the rest", extracted.failed,
                 cfg.features.out);
  }
  const features::FeatureTable table = features::read_feature_store(cfg.features.out);
  if (table.items.empty()) fail_runtime(cfg.features.out, "no usable items to train on");

  const std::vector<std::string> labels = label_set(cfg, table.items);
  std::map<std::string, int> label_index;
  for (std::size_t i = 0; i < labels.size(); ++i) label_index[labels[i]] = static_cast<int>(i);
  std::vector<int> y(table.items.size());
  for (std::size_t i = 0; i < table.items.size(); ++i) {
    auto it = label_index.find(table.items[i].label);
    if (it == label_index.end()) fail_runtime(table.items[i].path, "label '" + table.items[i].label + "' is not a class of " + cfg.dataset);
    y[i] = it->second;
  }

  const std::vector<data::Fold> folds = data::build_folds(table.items, cfg.dataset, cfg.protocol);
  const bool by_speaker = cfg.protocol.name == "speaker_kfold" ||
                          (cfg.protocol.name == "holdout" && !cfg.protocol.holdout_test_speakers.empty());
  for (const auto& f : folds) {
    const std::string problem = data::check_fold(table.items, f, by_speaker);
    if (!problem.empty()) fail_runtime("fold " + std::to_string(f.index + 1), "leakage check failed: " + problem);
  }
  if (opt.only_fold < 0 || opt.only_fold > static_cast<int>(folds.size())) {
    fail_config("--fold", "must be between 1 and " + std::to_string(folds.size()));
  }

  const std::string run_dir = (fs::path(cfg.runs_dir) / (cfg.name.empty() ? cfg.dataset : cfg.name)).string();
  fs::create_directories(run_dir);
  nlohmann::json resolved = config::to_json(cfg);
  resolved["toolkit_version"] = kVersion;
  util::write_text_atomic(run_dir + "/config.json", resolved.dump(2) + "\n");

  nlohmann::json fold_metrics = nlohmann::json::array();
  std::vector<eval::Metrics> per_fold;
  std::vector<int> pooled_truth, pooled_pred;
  for (const auto& fold : folds) {
    const int number = fold.index + 1;
    if (opt.only_fold && number != opt.only_fold) continue;
    const std::string dir = run_dir + "/fold-" + std::to_string(number);
    fs::create_directories(dir);
    spdlog::info("fold {}/{}: {} train, {} validation, {} test", number, folds.size(), fold.train.size(),
                 fold.validation.size(), fold.test.size());
    const FoldResult r = train_fold(table.values, table.dim, y, static_cast<int>(labels.size()), fold, cfg.train,
                                    dir + "/model.pt");
    std::vector<int> truth;
    for (std::size_t i : fold.test) truth.push_back(y[i]);
    const eval::Metrics m = eval::compute_metrics(truth, r.test_predictions, labels);
    nlohmann::json fm = eval::to_json(m);
    fm["fold"] = number;
    fm["best_epoch"] = r.best_epoch;
    fm["epochs_run"] = r.history.size();
    fm["device"] = r.device;

    // The model travels with what is needed to use it on new audio.
    const nlohmann::json model_card = {{"feature_set", set->name()},
                                       {"feature_fingerprint", set->settings_fingerprint()},
                                       {"dim", table.dim},
                                       {"labels", labels},
                                       {"scaler", r.scaler.to_json()},
                                       {"toolkit_version", kVersion}};
    util::write_text_atomic(dir + "/model.json", model_card.dump(2) + "\n");
    util::write_text_atomic(dir + "/scaler.json", r.scaler.to_json().dump(2) + "\n");
    util::write_text_atomic(dir + "/history.csv", history_csv(r.history));
    util::write_text_atomic(dir + "/predictions.csv", predictions_csv(table.items, fold, truth, r, labels));
    util::write_text_atomic(dir + "/metrics.json", fm.dump(2) + "\n");
    spdlog::info("fold {}: accuracy {:.4f}, UAR {:.4f}, macro-F1 {:.4f} (best epoch {})", number, m.accuracy,
                 m.balanced_accuracy, m.macro_f1, r.best_epoch);
    fold_metrics.push_back(fm);
    per_fold.push_back(m);
    pooled_truth.insert(pooled_truth.end(), truth.begin(), truth.end());
    pooled_pred.insert(pooled_pred.end(), r.test_predictions.begin(), r.test_predictions.end());
  }

  const eval::Metrics pooled = eval::compute_metrics(pooled_truth, pooled_pred, labels);
  RunSummary summary;
  summary.run_dir = run_dir;
  summary.metrics = {{"protocol", cfg.protocol.name},
                     {"labels", labels},
                     {"folds", fold_metrics},
                     {"summary", eval::summarize_folds(per_fold)},
                     {"pooled", eval::to_json(pooled)}};
  const std::string suffix = opt.only_fold ? "-fold-" + std::to_string(opt.only_fold) : "";
  util::write_text_atomic(run_dir + "/metrics" + suffix + ".json", summary.metrics.dump(2) + "\n");
  util::write_text_atomic(run_dir + "/confusion" + suffix + ".csv", eval::confusion_csv(pooled, labels));
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace ser::train
