#include "ser/config/config.hpp"

#include <algorithm>
#include <fstream>
#include <map>

#include "ser/error.hpp"
#include "ser/util/files.hpp"

namespace ser::config {

using nlohmann::json;

namespace {

enum class Kind { String, Int, Number, Bool, Object, StringList, StringTable };

// The schema: dotted key -> type. Sections are objects whose children are listed here too.
const std::map<std::string, Kind>& schema() {
  static const std::map<std::string, Kind> s = {
      {"name", Kind::String},
      {"dataset", Kind::String},
      {"root", Kind::String},
      {"manifest", Kind::String},
      {"runs_dir", Kind::String},
      {"features", Kind::Object},
      {"features.set", Kind::String},
      {"features.out", Kind::String},
      {"features.jobs", Kind::Int},
      {"features.cache", Kind::Bool},
      {"features.cache_dir", Kind::String},
      {"protocol", Kind::Object},
      {"protocol.name", Kind::String},
      {"protocol.k", Kind::Int},
      {"protocol.speaker_table", Kind::StringTable},
      {"protocol.validation_fraction", Kind::Number},
      {"protocol.holdout_test_speakers", Kind::StringList},
      {"protocol.holdout_test_fraction", Kind::Number},
      {"model", Kind::Object},
      {"model.architecture", Kind::String},
      {"model.dropout_block1", Kind::Number},
      {"model.dropout_mid", Kind::Number},
      {"model.dropout_head", Kind::Number},
      {"model.bn_conv1", Kind::Bool},
      {"model.bn_block1", Kind::Bool},
      {"model.bn_conv5", Kind::Bool},
      {"model.bn_head", Kind::Bool},
      {"model.mlp_hidden", Kind::Int},
      {"train", Kind::Object},
      {"train.epochs", Kind::Int},
      {"train.batch_size", Kind::Int},
      {"train.monitor", Kind::String},
      {"train.patience", Kind::Int},
      {"train.min_epochs", Kind::Int},
      {"train.class_weights", Kind::Bool},
      {"train.seed", Kind::Int},
      {"train.device", Kind::String},
      {"train.threads", Kind::Int},
      {"train.optimizer", Kind::Object},
      {"train.optimizer.name", Kind::String},
      {"train.optimizer.lr", Kind::Number},
      {"train.optimizer.weight_decay", Kind::Number},
      {"train.optimizer.momentum", Kind::Number},
      {"train.optimizer.rho", Kind::Number},
      {"train.optimizer.eps", Kind::Number},
      {"train.optimizer.beta1", Kind::Number},
      {"train.optimizer.beta2", Kind::Number},
      {"train.optimizer.decay", Kind::Number},
      {"train.schedule", Kind::Object},
      {"train.schedule.name", Kind::String},
      {"train.schedule.step_size", Kind::Int},
      {"train.schedule.gamma", Kind::Number},
      {"train.schedule.plateau_patience", Kind::Int},
      {"train.schedule.min_lr", Kind::Number},
  };
  return s;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(const std::string& key) {
  std::string best;
  std::size_t best_d = 3;  // only suggest near misses
  for (const auto& [known, kind] : schema()) {
    const std::size_t d = edit_distance(key, known);
    if (d < best_d) {
      best_d = d;
      best = known;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

void check_keys(const json& obj, const std::string& prefix, const std::string& origin) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    auto known = schema().find(key);
    if (known == schema().end()) fail_config(key, "unknown config key in " + origin + suggestion(key));
    const json& v = it.value();
    bool ok = true;
    switch (known->second) {
      case Kind::String: ok = v.is_string(); break;
      case Kind::Int: ok = v.is_number_integer(); break;
      case Kind::Number: ok = v.is_number(); break;
      case Kind::Bool: ok = v.is_boolean(); break;
      case Kind::Object: ok = v.is_object(); break;
      case Kind::StringList:
        ok = v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
        break;
      case Kind::StringTable:
        ok = v.is_array() && std::all_of(v.begin(), v.end(), [](const json& row) {
               return row.is_array() && std::all_of(row.begin(), row.end(), [](const json& e) { return e.is_string(); });
             });
        break;
    }
    static const char* names[] = {"a string", "an integer", "a number", "true or false", "an object",
                                  "a list of strings", "a list of lists of strings"};
    if (!ok) fail_config(key, std::string("must be ") + names[static_cast<int>(known->second)] + " in " + origin);
    if (known->second == Kind::Object) check_keys(v, key, origin);
  }
}

template <typename T>
void read(const json& obj, const char* key, T& out) {
  if (obj.contains(key)) out = obj.at(key).get<T>();
}

}  // namespace

Config parse_config(const json& doc, const std::string& origin) {
  if (!doc.is_object()) fail_config(origin, "config must be a JSON object");
  check_keys(doc, "", origin);
  Config cfg;
  read(doc, "name", cfg.name);
  read(doc, "dataset", cfg.dataset);
  read(doc, "root", cfg.root);
  read(doc, "manifest", cfg.manifest);
  if (doc.contains("features")) {
    const json& f = doc.at("features");
    read(f, "set", cfg.features.set);
    read(f, "out", cfg.features.out);
    read(f, "jobs", cfg.features.jobs);
    read(f, "cache", cfg.features.cache);
    read(f, "cache_dir", cfg.features.cache_dir);
  }
  read(doc, "runs_dir", cfg.runs_dir);
  if (doc.contains("protocol")) {
    const json& p = doc.at("protocol");
    read(p, "name", cfg.protocol.name);
    read(p, "k", cfg.protocol.k);
    read(p, "speaker_table", cfg.protocol.speaker_table);
    read(p, "validation_fraction", cfg.protocol.validation_fraction);
    read(p, "holdout_test_speakers", cfg.protocol.holdout_test_speakers);
    read(p, "holdout_test_fraction", cfg.protocol.holdout_test_fraction);
  }
  if (doc.contains("model")) {
    const json& m = doc.at("model");
    auto& mc = cfg.train.model;
    read(m, "architecture", mc.architecture);
    read(m, "dropout_block1", mc.dropout_block1);
    read(m, "dropout_mid", mc.dropout_mid);
    read(m, "dropout_head", mc.dropout_head);
    read(m, "bn_conv1", mc.bn_conv1);
    read(m, "bn_block1", mc.bn_block1);
    read(m, "bn_conv5", mc.bn_conv5);
    read(m, "bn_head", mc.bn_head);
    read(m, "mlp_hidden", mc.mlp_hidden);
  }
  if (doc.contains("train")) {
    const json& t = doc.at("train");
    auto& tc = cfg.train;
    read(t, "epochs", tc.epochs);
    read(t, "batch_size", tc.batch_size);
    read(t, "monitor", tc.monitor);
    read(t, "patience", tc.patience);
    read(t, "min_epochs", tc.min_epochs);
    read(t, "class_weights", tc.class_weights);
    read(t, "seed", tc.seed);
    read(t, "device", tc.device);
    read(t, "threads", tc.threads);
    if (t.contains("optimizer")) {
      const json& o = t.at("optimizer");
      auto& oc = tc.optimizer;
      read(o, "name", oc.name);
      read(o, "lr", oc.lr);
      read(o, "weight_decay", oc.weight_decay);
      read(o, "momentum", oc.momentum);
      read(o, "rho", oc.rho);
      read(o, "eps", oc.eps);
      read(o, "beta1", oc.beta1);
      read(o, "beta2", oc.beta2);
      read(o, "decay", oc.decay);
    }
    if (t.contains("schedule")) {
      const json& sc = t.at("schedule");
      auto& sched = tc.schedule;
      read(sc, "name", sched.name);
      read(sc, "step_size", sched.step_size);
      read(sc, "gamma", sched.gamma);
      read(sc, "plateau_patience", sched.plateau_patience);
      read(sc, "min_lr", sched.min_lr);
    }
  }
  cfg.protocol.seed = cfg.train.seed;
  if (cfg.features.jobs < 0) fail_config("features.jobs", "must be >= 0 (0 = all cores) in " + origin);
  if (cfg.name.empty()) cfg.name = cfg.dataset;
  return cfg;
}

Config load_config(const std::string& path) {
  std::ifstream probe(path);
  if (!probe) fail_config(path, "config file not found");
  json doc;
  try {
    doc = json::parse(util::read_text(path));
  } catch (const json::parse_error& e) {
    fail_config(path, std::string("invalid JSON: ") + e.what());
  }
  return parse_config(doc, path);
}

void apply_override(json& doc, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) fail_config(assignment, "override must look like key=value");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    value = text;  // bare strings need no quotes
  }
  json* node = &doc;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      (*node)[part] = value;
      break;
    }
    node = &(*node)[part];
    if (!node->is_object() && !node->is_null()) fail_config(key, "is not inside an object");
    start = dot + 1;
  }
}

void validate(const Config& cfg, const std::string& origin) {
  if (cfg.dataset.empty()) fail_config("dataset", "missing (ravdess, emodb or manifest) in " + origin);
  if (cfg.dataset != "ravdess" && cfg.dataset != "emodb" && cfg.dataset != "manifest") {
    fail_config("dataset", "'" + cfg.dataset + "' is not one of ravdess, emodb, manifest in " + origin);
  }
  if (cfg.dataset == "manifest" && cfg.manifest.empty()) fail_config("manifest", "required when dataset is manifest");
  if (cfg.dataset != "manifest" && cfg.root.empty()) fail_config("root", "required for dataset " + cfg.dataset);
  if (cfg.features.out.empty()) fail_config("features.out", "missing output folder in " + origin);
}

json to_json(const Config& cfg) {
  const auto& t = cfg.train;
  return json{{"name", cfg.name},
              {"dataset", cfg.dataset},
              {"root", cfg.root},
              {"manifest", cfg.manifest},
              {"runs_dir", cfg.runs_dir},
              {"features",
               {{"set", cfg.features.set},
                {"out", cfg.features.out},
                {"jobs", cfg.features.jobs},
                {"cache", cfg.features.cache},
                {"cache_dir", cfg.features.cache_dir}}},
              {"protocol",
               {{"name", cfg.protocol.name},
                {"k", cfg.protocol.k},
                {"speaker_table", cfg.protocol.speaker_table},
                {"validation_fraction", cfg.protocol.validation_fraction},
                {"holdout_test_speakers", cfg.protocol.holdout_test_speakers},
                {"holdout_test_fraction", cfg.protocol.holdout_test_fraction}}},
              {"model",
               {{"architecture", t.model.architecture},
                {"dropout_block1", t.model.dropout_block1},
                {"dropout_mid", t.model.dropout_mid},
                {"dropout_head", t.model.dropout_head},
                {"bn_conv1", t.model.bn_conv1},
                {"bn_block1", t.model.bn_block1},
                {"bn_conv5", t.model.bn_conv5},
                {"bn_head", t.model.bn_head},
                {"mlp_hidden", t.model.mlp_hidden}}},
              {"train",
               {{"epochs", t.epochs},
                {"batch_size", t.batch_size},
                {"monitor", t.monitor},
                {"patience", t.patience},
                {"min_epochs", t.min_epochs},
                {"class_weights", t.class_weights},
                {"seed", t.seed},
                {"device", t.device},
                {"threads", t.threads},
                {"optimizer",
                 {{"name", t.optimizer.name},
                  {"lr", t.optimizer.lr},
                  {"weight_decay", t.optimizer.weight_decay},
                  {"momentum", t.optimizer.momentum},
                  {"rho", t.optimizer.rho},
                  {"eps", t.optimizer.eps},
                  {"beta1", t.optimizer.beta1},
                  {"beta2", t.optimizer.beta2},
                  {"decay", t.optimizer.decay}}},
                {"schedule",
                 {{"name", t.schedule.name},
                  {"step_size", t.schedule.step_size},
                  {"gamma", t.schedule.gamma},
                  {"plateau_patience", t.schedule.plateau_patience},
                  {"min_lr", t.schedule.min_lr}}}}}};
}

}  // namespace ser::config
