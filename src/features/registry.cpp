#include "ser/features/registry.hpp"

#include <algorithm>

#include "ser/error.hpp"
#include "ser/features/functionals.hpp"
#include "ser/features/issa193.hpp"

namespace ser::features {

namespace {

std::unique_ptr<FeatureSet> make_base_set(const std::string& name) {
  if (name == "issa193") return std::make_unique<Issa193>();
  if (name == "functionals") return std::make_unique<Functionals>();
  return nullptr;
}

[[noreturn]] void unknown_set(const std::string& part, const std::string& whole) {
  std::string known;
  for (const auto& n : feature_set_names()) known += (known.empty() ? "" : ", ") + n;
  fail_config("features.set", "unknown feature set '" + part + "'" + (whole != part ? " in '" + whole + "'" : "") +
                                  " (known: " + known + "; parts may be joined with '+')");
}

// Parts concatenated in order. issa193 and functionals share their STFT / mel / mfcc / chroma /
// contrast work, so when both are parts one pass computes both.
class Concatenation : public FeatureSet {
 public:
  explicit Concatenation(std::vector<std::unique_ptr<FeatureSet>> parts) : parts_(std::move(parts)) {}

  std::string name() const override {
    std::string n;
    for (const auto& p : parts_) n += (n.empty() ? "" : "+") + p->name();
    return n;
  }
  int sample_rate() const override { return parts_.front()->sample_rate(); }
  std::vector<Block> blocks() const override {
    std::vector<Block> out;
    std::size_t off = 0;
    for (const auto& p : parts_) {
      for (const auto& b : p->blocks()) out.push_back({p->name() + "/" + b.name, off + b.offset, b.size});
      off += p->dim();
    }
    return out;
  }
  std::string settings_fingerprint() const override {
    std::string f = "concat(";
    for (std::size_t i = 0; i < parts_.size(); ++i) f += (i ? " + " : "") + parts_[i]->settings_fingerprint();
    return f + ")";
  }
  std::vector<float> compute(const audio::Signal& signal) const override {
    const bool shared = has("issa193") && has("functionals");
    Issa193FunctionalsFrames both;
    if (shared) {
      if (signal.sample_rate != 22050) {
        fail_runtime(name(), "expects audio at 22050 Hz, got " + std::to_string(signal.sample_rate));
      }
      both = issa193_functionals_frames(signal.samples, signal.sample_rate);
    }
    std::vector<float> out;
    for (const auto& p : parts_) {
      std::vector<float> v;
      if (shared && p->name() == "issa193") v = issa193_vector(both.issa193);
      else if (shared && p->name() == "functionals") v = functionals_vector(both.functionals);
      else v = p->compute(signal);
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }

 private:
  bool has(const std::string& n) const {
    return std::any_of(parts_.begin(), parts_.end(), [&](const auto& p) { return p->name() == n; });
  }
  std::vector<std::unique_ptr<FeatureSet>> parts_;
};

}  // namespace

std::vector<std::string> feature_set_names() { return {"issa193", "functionals"}; }

std::unique_ptr<FeatureSet> make_feature_set(const std::string& name) {
  if (name.find('+') == std::string::npos) {
    if (auto set = make_base_set(name)) return set;
    unknown_set(name, name);
  }
  std::vector<std::unique_ptr<FeatureSet>> parts;
  std::vector<std::string> seen;
  std::size_t start = 0;
  while (true) {
    const std::size_t plus = name.find('+', start);
    const std::string part = name.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    auto set = make_base_set(part);
    if (!set) unknown_set(part, name);
    if (std::find(seen.begin(), seen.end(), part) != seen.end()) {
      fail_config("features.set", "feature set '" + part + "' appears twice in '" + name + "'");
    }
    seen.push_back(part);
    parts.push_back(std::move(set));
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  return std::make_unique<Concatenation>(std::move(parts));
}

}  // namespace ser::features
