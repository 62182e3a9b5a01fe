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
    t.text = value;  // printed as given: a rounded bound would hide which side of it a value lies
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
    g.gate = t.metric + " >= " + (t.text.empty() ? util::exact_double(t.minimum) : t.text);
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
    g.gate = std::string(key) + " drop <= " + util::exact_double(max_drop) + " vs " + baseline_origin;
    g.passed = g.value <= max_drop + kTolerance;
    out.push_back(g);
  }
  return out;
}

nlohmann::json gates_json(const std::vector<GateResult>& gates) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : gates) {
    out.push_back({{"gate", g.gate}, {"value", g.value}, {"limit", g.limit}, {"passed", g.passed}});
  }
  return out;
}

namespace {

std::string describe(const nlohmann::json& v) {
  if (v.is_null()) return "none";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string list;
    for (const auto& x : v) list += (list.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
    return std::to_string(v.size()) + " (" + list + ")";
  }
  return v.dump();
}

nlohmann::json field(const nlohmann::json& doc, const char* key) {
  return doc.is_object() && doc.contains(key) ? doc[key] : nlohmann::json();
}

// "k of n folds" when a metrics document covers part of its run, else empty.
std::string partial_coverage(const nlohmann::json& doc) {
  const nlohmann::json c = field(doc, "coverage");
  if (!c.is_object()) return "";
  for (const char* unit : {"folds", "repeats"}) {
    const std::string used = std::string(unit) + "_used", total = std::string(unit) + "_total";
    if (c.contains(used) && c.contains(total) && c[used].is_number() && c[total].is_number() &&
        c[used].get<double>() < c[total].get<double>()) {
      return c[used].dump() + " of " + c[total].dump() + " " + unit;
    }
  }
  return "";
}

}  // namespace

std::string baseline_mismatch(const nlohmann::json& current, const nlohmann::json& baseline) {
  std::string out;
  auto add = [&](const std::string& what) { out += (out.empty() ? "" : "; ") + what; };
  for (const char* key : {"dataset", "labels", "protocol"}) {
    const nlohmann::json a = field(current, key), b = field(baseline, key);
    if (a != b) add(std::string(key) + " " + describe(b) + " in the baseline, " + describe(a) + " here");
  }
  const std::string partial = partial_coverage(baseline);
  if (!partial.empty()) add("the baseline covers only " + partial);
  return out;
}

}  // namespace ser::eval
