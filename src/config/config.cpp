#include "ser/config/config.hpp"

#include <algorithm>
#include <fstream>
#include <map>

#include "ser/error.hpp"
#include "ser/util/files.hpp"

namespace ser::config {

using nlohmann::json;

namespace {

enum class Kind { String, Int, Bool, Object };

// The schema: dotted key -> type. Sections are objects whose children are listed here too.
const std::map<std::string, Kind>& schema() {
  static const std::map<std::string, Kind> s = {
      {"name", Kind::String},        {"dataset", Kind::String},      {"root", Kind::String},
      {"manifest", Kind::String},    {"features", Kind::Object},     {"features.set", Kind::String},
      {"features.out", Kind::String}, {"features.jobs", Kind::Int},  {"features.cache", Kind::Bool},
      {"features.cache_dir", Kind::String},
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
      case Kind::Bool: ok = v.is_boolean(); break;
      case Kind::Object: ok = v.is_object(); break;
    }
    static const char* names[] = {"a string", "an integer", "true or false", "an object"};
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
  return json{{"name", cfg.name},
              {"dataset", cfg.dataset},
              {"root", cfg.root},
              {"manifest", cfg.manifest},
              {"features",
               {{"set", cfg.features.set},
                {"out", cfg.features.out},
                {"jobs", cfg.features.jobs},
                {"cache", cfg.features.cache},
                {"cache_dir", cfg.features.cache_dir}}}};
}

}  // namespace ser::config
