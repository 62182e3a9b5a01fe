#include "ser/features/registry.hpp"

#include "ser/error.hpp"
#include "ser/features/issa193.hpp"

namespace ser::features {

std::vector<std::string> feature_set_names() { return {"issa193"}; }

std::unique_ptr<FeatureSet> make_feature_set(const std::string& name) {
  if (name == "issa193") return std::make_unique<Issa193>();
  std::string known;
  for (const auto& n : feature_set_names()) known += (known.empty() ? "" : ", ") + n;
  fail_config("features.set", "unknown feature set '" + name + "' (known: " + known + ")");
}

}  // namespace ser::features
