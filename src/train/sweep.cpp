#include "ser/train/sweep.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "ser/error.hpp"
#include "ser/eval/sweep_plot.hpp"
#include "ser/eval/uncertainty.hpp"
#include "ser/train/run.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;

namespace ser::train {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Commas inside [...], {...} or "..." belong to one value (a JSON list or object).
std::vector<std::string> split_values(const std::string& list) {
  std::vector<std::string> out(1);
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const char c = list[i];
    if (quoted) {
      if (c == '\\' && i + 1 < list.size()) out.back() += list[i++];
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  return out;
}


// A run directory name: letters, digits and . _ + - = kept, anything else becomes '_'.
std::string safe_name(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += std::isalnum(c) || std::string("._+-=").find(static_cast<char>(c)) != std::string::npos ? static_cast<char>(c) : '_';
  return out;
}

std::string last_part(const std::string& key) { return key.substr(key.rfind('.') + 1); }

// Options of another architecture than the one a task sets (svm_* without svm...), unless the
// task sets them itself: the base's logreg_c must not make an svm task invalid.
// The base config's options of one classic architecture, dropped from a task whose grid picks
// another: model.svm_* / model.logreg_* keys, and the same keys in train.search grids (a grid
// that names model.architecture itself is kept whole). Returns the search keys dropped.
std::vector<std::string> drop_foreign_model_options(nlohmann::json& doc, const nlohmann::json& point) {
  std::vector<std::string> dropped;
  if (!doc.contains("model") || !doc["model"].is_object()) return dropped;
  const std::string arch = doc["model"].value("architecture", "");
  auto foreign = [&](const std::string& k) {
    return (k.rfind("svm_", 0) == 0 && arch != "svm") || (k.rfind("logreg_", 0) == 0 && arch != "logreg");
  };
  auto& model = doc["model"];
  for (auto it = model.begin(); it != model.end();) {
    if (foreign(it.key()) && !point.contains("model." + it.key())) {
      it = model.erase(it);
    } else {
      ++it;
    }
  }
  if (!point.contains("model.architecture") || !doc.contains("train") || !doc["train"].is_object() ||
      !doc["train"].contains("search")) {
    return dropped;
  }
  auto prune = [&](nlohmann::json& grid) {
    if (!grid.is_object() || grid.contains("model.architecture")) return;
    for (auto it = grid.begin(); it != grid.end();) {
      if (it.key().rfind("model.", 0) == 0 && foreign(it.key().substr(6))) {
        dropped.push_back(it.key());
        it = grid.erase(it);
      } else {
        ++it;
      }
    }
  };
  nlohmann::json& search = doc["train"]["search"];
  if (search.is_array()) {
    for (auto& grid : search) prune(grid);
    search.erase(std::remove_if(search.begin(), search.end(), [](const nlohmann::json& g) { return g.is_object() && g.empty(); }),
                 search.end());
    if (search.empty()) search = nlohmann::json::object();
  } else {
    prune(search);
  }
  return dropped;
}

void apply_corpus(nlohmann::json& doc, const std::string& corpus, const std::string& flag) {
  if (corpus.size() > 4 && corpus.substr(corpus.size() - 4) == ".csv") {
    doc["dataset"] = "manifest";
    doc["manifest"] = corpus;
    doc.erase("root");
    return;
  }
  if (corpus != "ravdess" && corpus != "emodb") {
    fail_config(flag, "'" + corpus + "' is not ravdess, emodb or a manifest .csv");
  }
  const std::string base_root = doc.value("root", "");
  const fs::path parent = base_root.empty() ? fs::path("data") : fs::path(base_root).lexically_normal().parent_path();
  doc["dataset"] = corpus;
  doc["root"] = (parent / corpus).string();
  doc.erase("manifest");
}

}  // namespace

GridAxis parse_grid(const std::string& text) {
  const std::string flag = "--grid " + text;
  const auto eq = text.find('=');
  if (eq == std::string::npos) fail_config(flag, "expected key=value1,value2,...");
  GridAxis axis;
  axis.key = trim(text.substr(0, eq));
  if (axis.key.empty()) fail_config(flag, "expected key=value1,value2,... (no key before '=')");
  if (!config::is_setting_key(axis.key)) {
    fail_config(flag, "unknown config key '" + axis.key + "'" + config::key_suggestion(axis.key));
  }
  static const std::set<std::string> fixed = {"name", "runs_dir", "features.out", "features.cache_dir", "dataset",
                                              "root", "manifest"};
  if (fixed.count(axis.key)) {
    fail_config(flag, "'" + axis.key + "' is set by the sweep for each task (use --corpora to vary the corpus)");
  }
  const auto parts = split_values(text.substr(eq + 1));
  std::set<std::string> seen;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string v = trim(parts[i]);
    if (v.empty()) fail_config(flag, "empty value (value " + std::to_string(i + 1) + " of " + std::to_string(parts.size()) + ")");
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(v);
    } catch (const nlohmann::json::exception&) {
      value = v;  // a bare word: a string
    }
    if (!seen.insert(value.dump()).second) fail_config(flag, "value " + v + " is given twice");
    axis.values.push_back(value);
  }
  return axis;
}

SweepPlan plan_sweep(const nlohmann::json& base, const std::string& origin, const std::vector<GridAxis>& axes,
                     const std::vector<std::string>& corpora, const std::string& name) {
  if (!base.is_object()) fail_config(origin, "config must be a JSON object");
  if (axes.empty() && corpora.empty()) fail_config("--grid", "give at least one --grid key=v1,v2 (or --corpora)");
  std::set<std::string> keys;
  for (const auto& a : axes) {
    if (!keys.insert(a.key).second) fail_config("--grid " + a.key, "the key is given in two --grid flags");
  }
  std::set<std::string> corpus_seen;
  for (const auto& c : corpora) {
    if (c.empty()) fail_config("--corpora", "empty corpus name");
    if (!corpus_seen.insert(c).second) fail_config("--corpora", "'" + c + "' is given twice");
  }
  SweepPlan plan;
  plan.axes = axes;
  plan.corpora = corpora;
  const std::string base_name = base.value("name", base.value("dataset", "sweep"));
  plan.name = name.empty() ? base_name + "-sweep" : name;
  if (plan.name.empty() || plan.name == "." || plan.name == ".." || plan.name.find('/') != std::string::npos) {
    fail_config("--name", "'" + plan.name + "' is not a folder name");
  }
  plan.dir = (fs::path(base.value("runs_dir", "runs")) / plan.name).string();
  const nlohmann::json base_features = base.value("features", nlohmann::json::object());
  const std::string base_cache = base_features.value("cache_dir", "").empty()
                                     ? base_features.value("out", "") + "/cache"
                                     : base_features.value("cache_dir", "");

  // Short names (the key's last part) unless two keys share one.
  std::set<std::string> shorts, clashes;
  for (const auto& a : axes) {
    if (!shorts.insert(last_part(a.key)).second) clashes.insert(last_part(a.key));
  }
  std::vector<std::string> corpus_list = corpora.empty() ? std::vector<std::string>{""} : corpora;
  std::size_t combos = 1;
  for (const auto& a : axes) combos *= a.values.size();
  if (combos * corpus_list.size() > 10000) fail_config("--grid", "more than 10000 combinations");
  std::set<std::string> names;
  for (const auto& corpus : corpus_list) {
    for (std::size_t c = 0; c < combos; ++c) {
      SweepTask task;
      task.index = static_cast<int>(plan.tasks.size());
      task.corpus = corpus;
      nlohmann::json doc = base;
      std::vector<std::string> parts;
      if (!corpus.empty()) {
        apply_corpus(doc, corpus, "--corpora");
        task.point["corpus"] = corpus;
        parts.push_back(safe_name(fs::path(corpus).stem().string()));
      }
      std::size_t rest = c, stride = combos;
      for (const auto& a : axes) {  // the last axis varies fastest
        stride /= a.values.size();
        const nlohmann::json& v = a.values[rest / stride];
        rest %= stride;
        config::apply_value(doc, a.key, v);
        task.point[a.key] = v;
        const std::string shown = clashes.count(last_part(a.key)) ? a.key : last_part(a.key);
        parts.push_back(safe_name(shown + "=" + grid_value_text(v)));
      }
      const std::vector<std::string> dropped = drop_foreign_model_options(doc, task.point);
      for (const auto& p : parts) task.name += (task.name.empty() ? "" : "_") + p;
      if (task.name.size() > 200) task.name = task.name.substr(0, 180) + "_task" + std::to_string(task.index);
      if (!names.insert(task.name).second) {
        fail_config("--grid", "two combinations share the run name '" + task.name + "'; use values that differ in letters or digits");
      }
      doc["name"] = task.name;
      doc["runs_dir"] = plan.dir;
      doc["features"]["out"] = (fs::path(plan.dir) / "features" / task.name).string();
      doc["features"]["cache_dir"] = base_cache;
      const std::string where = origin + " (sweep task " + std::to_string(task.index) + ", " + task.name + ")";
      task.config = config::parse_config(doc, where);
      config::validate_training(task.config, where);
      for (const auto& key : dropped) {
        task.notes.push_back("train.search key " + key + " belongs to another architecture than " +
                             doc["model"].value("architecture", "") + ": not searched in this task");
      }
      plan.tasks.push_back(std::move(task));
    }
  }
  nlohmann::json axes_json = nlohmann::json::array();
  for (const auto& a : axes) axes_json.push_back({{"key", a.key}, {"values", a.values}});
  nlohmann::json tasks_json = nlohmann::json::array();
  for (const auto& t : plan.tasks) tasks_json.push_back({{"task", t.index}, {"name", t.name}, {"point", t.point}});
  plan.description = {{"sweep", plan.name}, {"base", base}, {"grid", axes_json}, {"corpora", corpora}, {"tasks", tasks_json}};
  return plan;
}

void claim_sweep_directory(const SweepPlan& plan) {
  const std::string path = plan.dir + "/sweep.json";
  if (fs::exists(path)) {
    nlohmann::json stored;
    try {
      stored = util::read_json(path);
    } catch (const Error&) {
      fail_input(path, "not valid JSON; remove it (or the sweep folder) to plan the sweep again");
    }
    if (stored.value("tasks", nlohmann::json()) != plan.description["tasks"] ||
        stored.value("base", nlohmann::json()) != plan.description["base"]) {
      fail_config("--name " + plan.name, "the sweep in " + plan.dir + " has other tasks or another base config; pick another --name");
    }
    return;
  }
  fs::create_directories(plan.dir);
  util::write_text_atomic(path, plan.description.dump(2) + "\n");
}

}  // namespace ser::train
