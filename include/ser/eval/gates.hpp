#pragma once
// CI gates: `--fail-under uar=0.60,accuracy=0.70` and `--baseline other/metrics.json --max-drop
// 0.02`. A failing gate makes `ser evaluate` exit with kGateExitCode after writing every output.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ser::eval {

constexpr int kGateExitCode = 3;

// Metric names accepted in gates and their key in metrics.json's "summary"/"pooled" objects:
// accuracy (alias wa), uar (alias balanced_accuracy), macro_f1 (alias f1).
// Returns the canonical metrics.json key; throws a usage error naming `option` for another name.
std::string canonical_metric(const std::string& name, const std::string& option);

struct Threshold {
  std::string metric;  // canonical: accuracy | balanced_accuracy | macro_f1
  double minimum;
  std::string text;    // the bound as the user wrote it ("0.5319"); empty: its exact decimal
};
// "uar=0.60,accuracy=0.70" -> thresholds; throws a usage error naming --fail-under for an
// unknown metric, a value that is not a number in [0, 1], a metric given twice, or empty text.
std::vector<Threshold> parse_fail_under(const std::string& text);

struct GateResult {
  // e.g. "balanced_accuracy >= 0.5319" (the bound as given, never rounded) or
  // "accuracy drop <= 0.02 vs base/metrics.json"
  std::string gate;
  double value;         // what was measured
  double limit;         // the bound it was held to
  bool passed;
};

// The value a gate reads from a metrics.json document: summary.<key>.mean when the document has
// per-fold results, else the top-level <key> (a single evaluation). Throws an input error naming
// `origin` when absent.
double headline_value(const nlohmann::json& metrics, const std::string& key, const std::string& origin);

std::vector<GateResult> check_thresholds(const nlohmann::json& metrics, const std::vector<Threshold>& thresholds);
// Every one of accuracy, balanced_accuracy, macro_f1 may drop by at most max_drop against the
// baseline document (read from baseline_origin, named in errors and in the gate text).
std::vector<GateResult> check_baseline(const nlohmann::json& metrics, const nlohmann::json& baseline,
                                       const std::string& baseline_origin, double max_drop);

// metrics.json's "gates": [{gate, value, limit, passed}] (value null when nothing was measured).
nlohmann::json gates_json(const std::vector<GateResult>& gates);

// Why a baseline cannot be held against these metrics: another corpus (`dataset`), label set
// (`labels`, in order) or protocol (`protocol`; a model evaluation has none), or a baseline of a
// partial run (coverage k of n). Empty when comparable. `--allow-mismatch` overrides.
std::string baseline_mismatch(const nlohmann::json& current, const nlohmann::json& baseline);

}  // namespace ser::eval
