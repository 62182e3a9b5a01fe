// config::validate and validate_training: what a config may hold whatever the data, checked
// before a command reads or writes anything.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "ser/config/config.hpp"
#include "ser/error.hpp"
#include "ser/features/registry.hpp"

namespace ser::config {

using nlohmann::json;

namespace {

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void one_of(const std::string& key, const std::string& value, const std::vector<std::string>& known,
            const std::string& what, const std::string& origin) {
  if (std::find(known.begin(), known.end(), value) != known.end()) return;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  fail_config(key, "unknown " + what + " '" + value + "' (known: " + list + ") in " + origin);
}

// Ranges: `lo <= v` (or `lo < v`), `v <= hi` (or `v < hi`), and finite.
void in_range(const std::string& key, double v, double lo, bool lo_open, double hi, bool hi_open,
              const std::string& origin) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (ok) return;
  std::string range;
  if (std::isinf(hi)) {
    range = std::string(lo_open ? "> " : ">= ") + number(lo);
  } else {
    range = std::string("in ") + (lo_open ? "(" : "[") + number(lo) + ", " + number(hi) + (hi_open ? ")" : "]");
  }
  fail_config(key, "must be " + range + ", got " + number(v) + " in " + origin);
}

void at_least(const std::string& key, long long v, long long lo, const std::string& origin) {
  if (v < lo) fail_config(key, "must be >= " + std::to_string(lo) + ", got " + std::to_string(v) + " in " + origin);
}

constexpr double kInf = std::numeric_limits<double>::infinity();

// What build_folds would refuse whatever the corpus holds.
void check_protocol(const Config& cfg, const std::string& origin) {
  const data::ProtocolConfig& p = cfg.protocol;
  one_of("protocol.name", p.name, {"random_kfold", "speaker_kfold", "holdout", "cross_corpus"}, "protocol", origin);
  if (p.name == "cross_corpus") {
    one_of("protocol.test_dataset", p.test_dataset, {"ravdess", "emodb", "manifest"}, "dataset", origin);
    if (p.test_dataset == "manifest" && p.test_manifest.empty() && !cfg.features.from_store) {
      fail_config("protocol.test_manifest", "required when protocol.test_dataset is manifest in " + origin);
    }
    if (p.test_dataset != "manifest" && p.test_root.empty() && !cfg.features.from_store) {
      fail_config("protocol.test_root", "required for protocol.test_dataset " + p.test_dataset + " in " + origin);
    }
    if (p.test_features_out.empty()) fail_config("protocol.test_features_out", "missing output folder in " + origin);
    if (p.test_features_out == cfg.features.out) {
      fail_config("protocol.test_features_out", "must differ from features.out (two corpora, two stores) in " + origin);
    }
  } else if (!p.test_dataset.empty() || !p.test_root.empty() || !p.test_manifest.empty() ||
             !p.test_features_out.empty() || !p.test_label_map.empty()) {
    fail_config("protocol.test_dataset", "the protocol.test_* keys belong to protocol.name cross_corpus, not " + p.name +
                                             " in " + origin);
  }
  if (p.name == "random_kfold") at_least("protocol.k", p.k, 2, origin);
  in_range("protocol.validation_fraction", p.validation_fraction, 0, false, 1, true, origin);
  if (p.name == "holdout" && p.holdout_test_speakers.empty()) {
    in_range("protocol.holdout_test_fraction", p.holdout_test_fraction, 0, true, 1, true, origin);
  }
  // Without a table (given or built in), speaker_kfold makes protocol.k folds from the corpus.
  if (p.name == "speaker_kfold" && p.speaker_table.empty() && data::builtin_speaker_table(cfg.dataset).empty()) {
    at_least("protocol.k", p.k, 2, origin);
  }
}

// The train and model sections, so that a fold process never meets a value it cannot use.
void check_training(const train::TrainConfig& t, const std::string& origin) {
  const train::ModelSettings& m = t.model;
  one_of("model.architecture", m.architecture, {"model_a", "mlp", "svm", "logreg"}, "architecture", origin);
  for (const auto& [key, p] : {std::pair<const char*, double>{"model.dropout_block1", m.dropout_block1},
                               {"model.dropout_mid", m.dropout_mid},
                               {"model.dropout_head", m.dropout_head},
                               {"model.bn_momentum", m.bn_momentum}}) {
    in_range(key, p, 0, false, 1, true, origin);
  }
  at_least("model.mlp_hidden", m.mlp_hidden, 1, origin);
  train::check_model_settings(t);  // svm_* / logreg_*
  at_least("train.epochs", t.epochs, 1, origin);
  at_least("train.batch_size", t.batch_size, 1, origin);
  at_least("train.patience", t.patience, 0, origin);
  at_least("train.min_epochs", t.min_epochs, 0, origin);
  at_least("train.threads", t.threads, 0, origin);
  at_least("train.checkpoint_every", t.checkpoint_every, 0, origin);
  at_least("train.repeats", t.repeats, 1, origin);
  if (t.repeats > 1000) fail_config("train.repeats", "must be at most 1000 in " + origin);
  one_of("train.monitor", t.monitor, {"val_uar", "val_accuracy", "val_loss"}, "monitor", origin);
  one_of("train.device", t.device, {"auto", "cpu", "cuda"}, "device", origin);
  const train::OptimizerConfig& o = t.optimizer;
  one_of("train.optimizer.name", o.name, {"rmsprop", "adam", "adamw", "sgd"}, "optimizer", origin);
  in_range("train.optimizer.lr", o.lr, 0, true, kInf, false, origin);
  in_range("train.optimizer.weight_decay", o.weight_decay, 0, false, kInf, false, origin);
  in_range("train.optimizer.momentum", o.momentum, 0, false, 1, false, origin);
  in_range("train.optimizer.rho", o.rho, 0, false, 1, true, origin);
  in_range("train.optimizer.eps", o.eps, 0, true, kInf, false, origin);
  in_range("train.optimizer.beta1", o.beta1, 0, false, 1, true, origin);
  in_range("train.optimizer.beta2", o.beta2, 0, false, 1, true, origin);
  in_range("train.optimizer.decay", o.decay, 0, false, kInf, false, origin);
  const train::ScheduleConfig& s = t.schedule;
  one_of("train.schedule.name", s.name, {"none", "step", "cosine", "plateau"}, "schedule", origin);
  at_least("train.schedule.step_size", s.step_size, 1, origin);
  in_range("train.schedule.gamma", s.gamma, 0, true, 1, false, origin);
  at_least("train.schedule.plateau_patience", s.plateau_patience, 1, origin);
  in_range("train.schedule.min_lr", s.min_lr, 0, false, kInf, false, origin);
}

}  // namespace

void validate(const Config& cfg, const std::string& origin) {
  if (cfg.dataset.empty()) fail_config("dataset", "missing (ravdess, emodb or manifest) in " + origin);
  if (cfg.dataset != "ravdess" && cfg.dataset != "emodb" && cfg.dataset != "manifest") {
    fail_config("dataset", "'" + cfg.dataset + "' is not one of ravdess, emodb, manifest in " + origin);
  }
  if (!cfg.features.from_store) {
    if (cfg.dataset == "manifest" && cfg.manifest.empty()) fail_config("manifest", "required when dataset is manifest");
    if (cfg.dataset != "manifest" && cfg.root.empty()) fail_config("root", "required for dataset " + cfg.dataset);
  }
  if (cfg.features.out.empty()) fail_config("features.out", "missing output folder in " + origin);
  if (cfg.features.normalize != "global" && cfg.features.normalize != "speaker") {
    fail_config("features.normalize", "'" + cfg.features.normalize + "' is not one of global, speaker in " + origin);
  }
  // 0 or [1000, 11025): make_feature_set states the rule (and the set's Nyquist) in its error.
  // (An encoder set is made later, when features are needed: making it loads LibTorch.)
  if (!features::uses_encoder(cfg.features.set)) features::make_feature_set(cfg.features.set, cfg.features.fmax);
  one_of("model.architecture", cfg.train.model.architecture, {"model_a", "mlp", "svm", "logreg"}, "architecture",
         origin);
}

void validate_training(const Config& cfg, const std::string& origin) {
  validate(cfg, origin);
  check_training(cfg.train, origin);
  check_protocol(cfg, origin);
  // Every point a search may pick is a config of its own: checked whole now, not in a fold later.
  if (!cfg.train.search.empty()) {
    for (const json& point : search_points(cfg.train)) {
      try {
        check_training(with_point(cfg, point).train, origin);
      } catch (const Error& e) {
        fail_config("train.search", "point " + point.dump() + ": " + e.what());
      }
    }
  }
}

}  // namespace ser::config
