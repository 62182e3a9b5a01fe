#include "cli/commands.hpp"

#include <map>

#include "ser/config/config.hpp"
#include "ser/error.hpp"
#include "ser/util/files.hpp"

namespace ser::cli {

namespace {
std::map<std::string, std::function<int()>>& runners() {
  static std::map<std::string, std::function<int()>> r;
  return r;
}
}  // namespace

void add_runner(const std::string& name, std::function<int()> runner) { runners()[name] = std::move(runner); }

ConfigDocument config_document(const std::string& path) {
  ConfigDocument d;
  if (path.empty()) return d;
  config::load_config(path);
  d.doc = nlohmann::json::parse(util::read_text(path));
  d.origin = path;
  return d;
}

void apply_corpus_flags(nlohmann::json& doc, const std::string& dataset, const std::string& root,
                        const std::string& manifest) {
  if (!dataset.empty()) doc["dataset"] = dataset;
  if (!root.empty()) doc["root"] = root;
  if (!manifest.empty()) doc["manifest"] = manifest;
}

int run_subcommand(const std::string& name) {
  auto it = runners().find(name);
  if (it == runners().end()) throw Error(ErrorKind::Usage, name, "unknown subcommand");
  return it->second();
}

}  // namespace ser::cli
