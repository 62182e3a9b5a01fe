#include "ser/eval/gates.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "ser/error.hpp"
#include "ser/util/csv.hpp"

namespace ser::eval {

namespace {

// Slack for values that are equal to the bound up to rounding (e.g. a mean over folds).
constexpr double kTolerance = 1e-12;
const char* const kOption = "--fail-under";

[[noreturn]] void fail_usage(const std::string& option, const std::string& what) {
  throw Error(ErrorKind::Usage, option, what);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string fixed3(double v) { return util::format_double("%.3f", v); }

}  // namespace

std::string canonical_metric(const std::string& name, const std::string& option) {
  const std::string n = lower(trim(name));
  if (n == "accuracy" || n == "wa") return "accuracy";
  if (n == "uar" || n == "balanced_accuracy") return "balanced_accuracy";
  if (n == "macro_f1" || n == "f1") return "macro_f1";
  fail_usage(option, "unknown metric '" + name + "' (use accuracy|wa, uar|balanced_accuracy, macro_f1|f1)");
}

std::vector<Threshold> parse_fail_under(const std::string& text) {
  if (trim(text).empty()) fail_usage(kOption, "empty; expected e.g. uar=0.60,accuracy=0.70");
  std::vector<Threshold> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (item.empty()) fail_usage(kOption, "empty entry in '" + text + "'; expected e.g. uar=0.60,accuracy=0.70");
    const auto eq = item.find('=');
    if (eq == std::string::npos) fail_usage(kOption, "'" + item + "' is not METRIC=VALUE (e.g. uar=0.60)");
    Threshold t;
    t.metric = canonical_metric(item.substr(0, eq), kOption);
    const std::string value = trim(item.substr(eq + 1));
    char* end = nullptr;
    const double v = value.empty() ? 0.0 : std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !std::isfinite(v) || v < 0.0 || v > 1.0) {
      fail_usage(kOption, "'" + item + "': the value must be a number between 0 and 1");
    }
    t.minimum = v;
    for (const auto& seen : out) {
      if (seen.metric == t.metric) fail_usage(kOption, t.metric + " given twice in '" + text + "'");
    }
    out.push_back(t);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

double headline_value(const nlohmann::json& metrics, const std::string& key, const std::string& origin) {
  if (metrics.is_object()) {
    const auto summary = metrics.find("summary");
    if (summary != metrics.end() && summary->is_object() && summary->contains(key)) {
      const auto& entry = (*summary)[key];
      if (entry.is_object() && entry.contains("mean") && entry["mean"].is_number()) return entry["mean"].get<double>();
      fail_input(origin, "summary." + key + ".mean is missing or not a number");
    }
    const auto top = metrics.find(key);
    if (top != metrics.end()) {
      if (top->is_number()) return top->get<double>();
      fail_input(origin, "'" + key + "' is not a number");
    }
    // A document with only pooled results (no folds, no top-level value).
    const auto pooled = metrics.find("pooled");
    if (pooled != metrics.end() && pooled->is_object() && pooled->contains(key) && (*pooled)[key].is_number()) {
      return (*pooled)[key].get<double>();
    }
  }
  fail_input(origin, "no '" + key + "' value (neither summary." + key + ".mean nor " + key + ")");
}

std::vector<GateResult> check_thresholds(const nlohmann::json& metrics, const std::vector<Threshold>& thresholds) {
  std::vector<GateResult> out;
  for (const auto& t : thresholds) {
    GateResult g;
    g.value = headline_value(metrics, t.metric, "metrics.json");
    g.limit = t.minimum;
    g.gate = t.metric + " >= " + fixed3(t.minimum);
    g.passed = g.value >= t.minimum - kTolerance;
    out.push_back(g);
  }
  return out;
}

std::vector<GateResult> check_baseline(const nlohmann::json& metrics, const nlohmann::json& baseline,
                                       const std::string& baseline_origin, double max_drop) {
  if (!std::isfinite(max_drop) || max_drop < 0.0) fail_usage("--max-drop", "must be a number >= 0");
  std::vector<GateResult> out;
  for (const char* key : {"accuracy", "balanced_accuracy", "macro_f1"}) {
    const double base = headline_value(baseline, key, baseline_origin);
    const double current = headline_value(metrics, key, "metrics.json");
    GateResult g;
    g.value = base - current;
    g.limit = max_drop;
    g.gate = std::string(key) + " drop <= " + fixed3(max_drop) + " vs " + baseline_origin;
    g.passed = g.value <= max_drop + kTolerance;
    out.push_back(g);
  }
  return out;
}

}  // namespace ser::eval
