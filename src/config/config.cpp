#include "ser/config/config.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>

#include "ser/augment/augment.hpp"
#include "ser/error.hpp"
#include "ser/util/strings.hpp"
#include "ser/util/files.hpp"

// One field list per settings struct drives parsing (missing keys keep their defaults), the
// resolved config written to run directories, and the schema of known keys below. The
// definitions sit in the structs' own namespaces so nlohmann finds them.
namespace ser::features {
// layers: "all" (written for an empty list) or a list of hidden-state indices.
inline void to_json(nlohmann::json& j, const EncoderOptions& o) {
  j = {{"checkpoint", o.checkpoint}, {"pooling", o.pooling}, {"chunk_seconds", o.chunk_seconds}, {"batch", o.batch},
       {"device", o.device}, {"dtype", o.dtype}};
  j["layers"] = o.layers.empty() ? nlohmann::json("all") : nlohmann::json(o.layers);
}
inline void from_json(const nlohmann::json& j, EncoderOptions& o) {
  o.checkpoint = j.value("checkpoint", o.checkpoint);
  o.pooling = j.value("pooling", o.pooling);
  o.chunk_seconds = j.value("chunk_seconds", o.chunk_seconds);
  o.batch = j.value("batch", o.batch);
  o.device = j.value("device", o.device);
  o.dtype = j.value("dtype", o.dtype);
  if (j.contains("layers")) {
    o.layers.clear();
    if (j["layers"].is_array()) o.layers = j["layers"].get<std::vector<int>>();
  }
}
}  // namespace ser::features
namespace ser::config {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FeatureConfig, set, out, jobs, cache, cache_dir, from_store, normalize, fmax, encoder, frames, blocks)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AugmentConfig, ops, copies)
}  // namespace ser::config
namespace ser::data {
// seed is not a key: train.seed drives the folds too.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ProtocolConfig, name, k, speaker_table, validation_fraction,
                                                holdout_test_speakers, holdout_test_fraction, allow_duplicates,
                                                test_dataset, test_root, test_manifest, test_features_out, test_label_map)
}  // namespace ser::data
namespace ser::train {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OptimizerConfig, name, lr, weight_decay, momentum, rho, eps, beta1,
                                                beta2, decay)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ScheduleConfig, name, step_size, gamma, plateau_patience, min_lr)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ModelSettings, architecture, dropout_block1, dropout_mid, dropout_head,
                                                bn_conv1, bn_block1, bn_conv5, bn_head, bn_momentum, mlp_hidden,
                                                svm_kernel, svm_c, svm_gamma, svm_probability, logreg_multi_class,
                                                logreg_c, logreg_max_iter)
// model is its own top-level section in a config file, so it is not part of "train".
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, optimizer, schedule, epochs, batch_size, monitor,
                                                patience, min_epochs, class_weights, seed, device, threads,
                                                checkpoint_every, refit, search, search_folds, repeats)
}  // namespace ser::train

namespace ser::config {

using nlohmann::json;

namespace {

enum class Kind { String, Int, Number, Bool, Object, StringList, StringTable, StringMap, Grid, Layers };

json default_config_json();

// Every key of a default config, with the JSON type of its default. Lists start empty, so their
// element types are stated here.
const std::map<std::string, Kind>& schema() {
  static const std::map<std::string, Kind> s = [] {
    std::map<std::string, Kind> out;
    const std::map<std::string, Kind> lists = {{"protocol.speaker_table", Kind::StringTable},
                                               {"protocol.holdout_test_speakers", Kind::StringList},
                                               {"augment.ops", Kind::StringList},
                                               {"features.blocks", Kind::StringList},
                                               {"classes", Kind::StringList}};
    std::function<void(const json&, const std::string&)> walk = [&](const json& obj, const std::string& prefix) {
      for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
        const json& v = it.value();
        if (key == "label_map" || key == "protocol.test_label_map") {  // user-chosen keys: not part of the schema
          out[key] = Kind::StringMap;
        } else if (key == "features.encoder.layers") {  // "all" or a list of indices
          out[key] = Kind::Layers;
        } else if (key == "train.search") {  // grid(s) of config keys -> values, checked by check_search
          out[key] = Kind::Grid;
        } else if (v.is_object()) {
          out[key] = Kind::Object;
          walk(v, key);
        } else if (v.is_array()) {
          out[key] = lists.at(key);
        } else if (v.is_boolean()) {
          out[key] = Kind::Bool;
        } else if (v.is_number_float()) {
          out[key] = Kind::Number;
        } else if (v.is_number()) {
          out[key] = Kind::Int;
        } else {
          out[key] = Kind::String;
        }
      }
    };
    walk(default_config_json(), "");
    return out;
  }();
  return s;
}

}  // namespace

std::string key_suggestion(const std::string& key) {
  std::string best;
  std::size_t best_d = 3;  // only suggest near misses
  for (const auto& [known, kind] : schema()) {
    const std::size_t d = util::edit_distance(key, known);
    if (d < best_d) {
      best_d = d;
      best = known;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

bool is_setting_key(const std::string& key) {
  const auto it = schema().find(key);
  return it != schema().end() && it->second != Kind::Object;
}

namespace {

std::string suggestion(const std::string& key) { return key_suggestion(key); }

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
      case Kind::StringMap:
        ok = v.is_object() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
        break;
      case Kind::Grid:
        ok = v.is_object() || (v.is_array() && std::all_of(v.begin(), v.end(), [](const json& g) { return g.is_object(); }));
        break;
      case Kind::Layers:
        ok = (v.is_string() && v.get<std::string>() == "all") ||
             (v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_number_integer(); }));
        break;
    }
    static const char* names[] = {"a string",          "an integer",
                                  "a number",          "true or false",
                                  "an object",         "a list of strings",
                                  "a list of lists of strings", "an object of strings (\"from\": \"to\")",
                                  "an object of config keys and lists of values, or a list of such objects",
                                  "\"all\" or a non-empty list of layer indices"};
    if (!ok) fail_config(key, std::string("must be ") + names[static_cast<int>(known->second)] + " in " + origin);
    if (known->second == Kind::Object) check_keys(v, key, origin);
  }
}

template <typename T>
void read(const json& obj, const char* key, T& out) {
  if (obj.contains(key)) out = obj.at(key).get<T>();
}

// svm_* keys only mean something to svm, logreg_* only to logreg: given to another architecture
// they would be silently ignored, which hides a mistake.
void check_model_options(const json& model, const std::string& architecture, const std::string& prefix,
                         const std::string& origin) {
  for (auto it = model.begin(); it != model.end(); ++it) {
    const std::string& k = it.key();
    const bool svm = k.rfind("svm_", 0) == 0, logreg = k.rfind("logreg_", 0) == 0;
    if ((svm && architecture != "svm") || (logreg && architecture != "logreg")) {
      fail_config(prefix + k, std::string("is an option of ") + (svm ? "svm" : "logreg") +
                                  ", but model.architecture is '" + architecture + "' in " + origin);
    }
  }
}

// The grid must name existing model.* / train.* keys, each with a non-empty list of values
// that the key accepts (checked by parsing every value into a copy of the config).
void check_search(const json& doc, const Config& cfg, const std::string& origin);

}  // namespace

Config parse_config(const json& doc, const std::string& origin) {
  if (!doc.is_object()) fail_config(origin, "config must be a JSON object");
  check_keys(doc, "", origin);
  Config cfg;
  read(doc, "name", cfg.name);
  read(doc, "dataset", cfg.dataset);
  read(doc, "root", cfg.root);
  read(doc, "manifest", cfg.manifest);
  read(doc, "runs_dir", cfg.runs_dir);
  read(doc, "label_map", cfg.label_map);
  read(doc, "classes", cfg.classes);
  read(doc, "features", cfg.features);
  read(doc, "protocol", cfg.protocol);
  read(doc, "train", cfg.train);
  read(doc, "model", cfg.train.model);
  read(doc, "augment", cfg.augment);
  if (cfg.augment.copies < 1) fail_config("augment.copies", "must be >= 1 in " + origin);
  for (std::size_t i = 0; i < cfg.augment.ops.size(); ++i) {
    augment::parse_recipe(cfg.augment.ops[i], "augment.ops[" + std::to_string(i) + "]");  // fail early, not mid-run
  }
  cfg.protocol.seed = cfg.train.seed;
  check_model_options(doc.contains("model") ? doc.at("model") : json::object(), cfg.train.model.architecture, "model.",
                      origin);
  check_search(doc, cfg, origin);
  if (cfg.features.jobs < 0) fail_config("features.jobs", "must be >= 0 (0 = all cores) in " + origin);
  if (cfg.name.empty()) cfg.name = cfg.dataset;
  return cfg;
}

namespace {

// Options that belong to another architecture than `architecture` (svm_*, logreg_*), except `keep`.
static void drop_foreign_options(json& model, const std::string& architecture, const json& keep = json::object()) {
  for (auto it = model.begin(); it != model.end();) {
    const std::string& k = it.key();
    const bool foreign = (k.rfind("svm_", 0) == 0 && architecture != "svm") ||
                         (k.rfind("logreg_", 0) == 0 && architecture != "logreg");
    if (foreign && !keep.contains("model." + k)) {
      it = model.erase(it);
    } else {
      ++it;
    }
  }
}

// A search is one grid (an object of key -> values) or a list of grids, whose points are pooled
// (scikit-learn's param_grid), so different architectures can be searched with their own options.
std::vector<json> grids_of(const json& search) {
  if (search.is_array()) return {search.begin(), search.end()};
  return {search};
}

void check_search(const json& doc, const Config& cfg, const std::string& origin) {
  if (cfg.train.search_folds < 2) fail_config("train.search_folds", "must be >= 2 in " + origin);
  const json& search = cfg.train.search;
  if (search.is_array() && search.empty()) fail_config("train.search", "empty list of grids in " + origin);
  const std::vector<json> grids = grids_of(search);
  for (std::size_t g = 0; g < grids.size(); ++g) {
    const std::string prefix = search.is_array() ? "train.search[" + std::to_string(g) + "]." : "train.search.";
    if (!grids[g].is_object()) fail_config(prefix.substr(0, prefix.size() - 1), "must be an object of config keys and lists of values in " + origin);
    if (search.is_array() && grids[g].empty()) fail_config(prefix.substr(0, prefix.size() - 1), "empty grid in " + origin);
    for (auto it = grids[g].begin(); it != grids[g].end(); ++it) {
      const std::string& key = it.key();
      const std::string where = prefix + key;
      if (key.rfind("model.", 0) != 0 && key.rfind("train.", 0) != 0) {
        fail_config(where, "only model.* and train.* keys can be searched in " + origin);
      }
      if (key == "train.search" || key == "train.search_folds" || key == "train.seed" || key == "train.repeats") {
        fail_config(where, "cannot be searched in " + origin);
      }
      const auto known = schema().find(key);
      if (known == schema().end()) fail_config(where, "unknown config key in " + origin + suggestion(key));
      if (known->second == Kind::Object) fail_config(where, "is a section; search its keys in " + origin);
      if (!it.value().is_array()) fail_config(where, "must be a list of values in " + origin);
      if (it.value().empty()) fail_config(where, "empty grid: give at least one value in " + origin);
      for (const json& value : it.value()) {  // each value of the type its key takes
        json trial = doc;
        trial["train"].erase("search");
        apply_value(trial, key, value);
        try {
          check_keys(trial, "", origin);
        } catch (const Error& e) {
          fail_config(where, "value " + value.dump() + " " + std::string(e.what()).substr(e.subject().size() + 2));
        }
      }
    }
  }
  // Each point as a whole: its model options must belong to its architecture.
  for (const json& point : search_points(cfg.train)) {
    json model = doc.contains("model") ? doc["model"] : json::object();
    std::string arch = model.value("architecture", cfg.train.model.architecture);
    if (point.contains("model.architecture") && point["model.architecture"].is_string()) {
      arch = point["model.architecture"].get<std::string>();
    }
    json model_point = json::object();
    for (auto it = point.begin(); it != point.end(); ++it) {
      if (it.key().rfind("model.", 0) == 0) model_point[it.key().substr(6)] = it.value();
    }
    drop_foreign_options(model, arch);
    model.merge_patch(model_point);
    check_model_options(model, arch, "train.search.model.", origin);
  }
}

}  // namespace

void apply_value(json& doc, const std::string& key, const json& value) {
  json* node = &doc;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    // Checked before indexing: operator[] on a string or array throws a raw JSON type error.
    if (!node->is_object() && !node->is_null()) fail_config(key, "is not inside an object");
    if (dot == std::string::npos) {
      (*node)[part] = value;
      break;
    }
    node = &(*node)[part];
    start = dot + 1;
  }
}

std::vector<json> search_points(const train::TrainConfig& cfg) {
  std::vector<json> all;
  for (const json& grid : grids_of(cfg.search)) {
    std::vector<json> points = {json::object()};
    for (auto it = grid.begin(); it != grid.end(); ++it) {
      std::vector<json> next;
      for (const json& p : points) {
        for (const json& v : it.value()) {
          json q = p;
          q[it.key()] = v;
          next.push_back(std::move(q));
        }
      }
      points = std::move(next);
    }
    all.insert(all.end(), points.begin(), points.end());
  }
  return all;
}

Config with_point(const Config& base, const json& point) {
  json doc = to_json(base);
  doc["train"]["search"] = json::object();
  for (auto it = point.begin(); it != point.end(); ++it) apply_value(doc, it.key(), it.value());
  drop_foreign_options(doc["model"], doc["model"].value("architecture", "model_a"), point);
  return parse_config(doc, "train.search point " + point.dump());
}

Config load_config(const std::string& path) {
  std::ifstream probe(path);
  if (!probe) fail_config(path, "config file not found");
  json doc;
  try {
    doc = json::parse(util::read_text(path));
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
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
  } catch (const json::out_of_range&) {
    fail_config(key, "value '" + text + "' is a number too large to represent");
  } catch (const json::exception&) {
    value = text;  // bare strings need no quotes
  }
  apply_value(doc, key, value);
}

namespace {
// Every key, the options of every architecture included: the schema of known keys.
json full_json(const Config& cfg) {
  return json{{"name", cfg.name},         {"dataset", cfg.dataset},   {"root", cfg.root},
              {"manifest", cfg.manifest}, {"runs_dir", cfg.runs_dir}, {"features", cfg.features},
              {"protocol", cfg.protocol}, {"model", cfg.train.model}, {"train", cfg.train},
              {"augment", cfg.augment},   {"label_map", cfg.label_map}, {"classes", cfg.classes}};
}
}  // namespace

json to_json(const Config& cfg) {
  json j = full_json(cfg);
  drop_foreign_options(j["model"], cfg.train.model.architecture);
  return j;
}

namespace {
json default_config_json() { return full_json(Config{}); }
}  // namespace

}  // namespace ser::config
