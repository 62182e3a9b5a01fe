#include "ser/eval/compare.hpp"

#include <filesystem>

#include "ser/error.hpp"
#include "ser/eval/predictions.hpp"
#include "ser/eval/report.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;

namespace ser::eval {

namespace {

const char* const kKeys[] = {"accuracy", "balanced_accuracy", "macro_f1"};

[[noreturn]] void differ(const std::string& a, const std::string& b, const std::string& what) {
  throw Error(ErrorKind::Usage, a + " vs " + b, "not evaluated on the same items: " + what + "; only such runs can be compared");
}

nlohmann::json interval(const stats::Interval& i) { return nlohmann::json::array({i.low, i.high}); }

nlohmann::json triple(const stats::Triple& t) {
  return {{"accuracy", t.accuracy}, {"balanced_accuracy", t.balanced_accuracy}, {"macro_f1", t.macro_f1}};
}

nlohmann::json intervals(const stats::Intervals& i) {
  return {{"accuracy", interval(i.accuracy)}, {"balanced_accuracy", interval(i.balanced_accuracy)},
          {"macro_f1", interval(i.macro_f1)}};
}

void check_same_items(const ComparedRun& a, const ComparedRun& b) {
  if (a.labels != b.labels) differ(a.name, b.name, "different label sets or order");
  if (a.table.ids.size() != b.table.ids.size()) {
    differ(a.name, b.name, std::to_string(a.table.ids.size()) + " against " + std::to_string(b.table.ids.size()) + " items");
  }
  for (std::size_t i = 0; i < a.table.ids.size(); ++i) {
    if (a.table.ids[i] != b.table.ids[i]) differ(a.name, b.name, "item '" + a.table.ids[i] + "' is not in both");
    if (a.table.scored.truth[i] != b.table.scored.truth[i]) differ(a.name, b.name, "item '" + a.table.ids[i] + "' has another true label");
  }
  if (a.table.unit != b.table.unit || a.table.units != b.table.units) {
    differ(a.name, b.name, "different resampling units (" + a.table.unit + " against " + b.table.unit + ")");
  }
  if (a.table.repeats != b.table.repeats) {
    throw Error(ErrorKind::Usage, a.name + " vs " + b.name,
                std::to_string(a.table.repeats) + " against " + std::to_string(b.table.repeats) +
                    " repeats: paired tests need the same number of repeats");
  }
}

std::string f3(double v) { return util::format_double("%.3f", v); }
std::string f4(double v) { return util::format_double("%.4f", v); }
std::string signed4(double v) { return (v >= 0 ? "+" : "") + f4(v); }
std::string pv(double p) { return p < 1e-4 ? util::format_double("%.1e", p) : util::format_double("%.4f", p); }

std::string ci_text(const nlohmann::json& pair) { return "[" + f3(pair[0].get<double>()) + ", " + f3(pair[1].get<double>()) + "]"; }
std::string signed_ci(const nlohmann::json& pair) {
  return "[" + signed4(pair[0].get<double>()) + ", " + signed4(pair[1].get<double>()) + "]";
}

}  // namespace

ComparedRun load_compared_run(const std::string& dir) {
  if (!fs::is_directory(dir)) fail_input(dir, "no such run or evaluation folder");
  const std::string metrics_path = dir + "/metrics.json", predictions_path = dir + "/predictions.csv";
  if (!fs::exists(metrics_path)) {
    fail_input(dir, "no metrics.json: not a finished run (every fold and repeat) or `ser evaluate` output");
  }
  if (!fs::exists(predictions_path)) fail_input(dir, "no predictions.csv");
  ComparedRun r;
  r.name = dir;
  r.metrics = util::read_json(metrics_path);
  const PredictionTable t = read_predictions_csv(predictions_path);
  r.labels = t.labels;
  std::string unit = "item";
  if (r.metrics.contains("ci") && r.metrics["ci"].is_object()) {
    unit = r.metrics["ci"].value("unit", "item");
  } else if (r.metrics.is_object() && r.metrics.value("protocol", "") == "speaker_kfold") {
    unit = "speaker";  // written before intervals existed
  }
  r.table = scored_table(t, unit, predictions_path);
  return r;
}

nlohmann::json compare_runs(const std::vector<ComparedRun>& runs, const CompareOptions& opt) {
  if (runs.size() < 2) throw Error(ErrorKind::Usage, "ser compare", "needs at least two runs");
  for (std::size_t i = 1; i < runs.size(); ++i) check_same_items(runs[0], runs[i]);
  auto recorded_seed = [](const ComparedRun& r) -> std::uint64_t {
    const nlohmann::json ci = r.metrics.is_object() ? r.metrics.value("ci", nlohmann::json()) : nlohmann::json();
    return ci.is_object() && ci.contains("seed") && ci["seed"].is_number_unsigned() ? ci["seed"].get<std::uint64_t>() : 0;
  };
  const std::uint64_t seed = opt.seed ? *opt.seed : recorded_seed(runs[0]);
  stats::BootstrapOptions boot;
  boot.resamples = opt.resamples;
  boot.seed = seed;
  stats::PermutationOptions perm;
  perm.permutations = opt.permutations;
  perm.seed = seed;

  nlohmann::json result;
  result["format"] = "ser-compare";  // docs/SCHEMAS.md
  result["format_version"] = 1;
  result["settings"] = {{"resamples", opt.resamples}, {"permutations", opt.permutations}, {"seed", seed},
                        {"level", boot.level}, {"unit", runs[0].table.unit}, {"n_units", runs[0].table.scored.n_units},
                        {"n_items", runs[0].table.ids.size()}, {"repeats", runs[0].table.repeats}};
  result["runs"] = nlohmann::json::array();
  for (const auto& r : runs) {
    nlohmann::json j = {{"run", r.name}, {"repeats", r.table.repeats}, {"n_items", r.table.ids.size()}};
    j["pooled"] = triple(stats::point_metrics(r.table.scored));
    stats::BootstrapOptions own = boot;
    own.seed = opt.seed ? *opt.seed : recorded_seed(r);
    j["ci"] = intervals(stats::bootstrap_intervals(r.table.scored, own));
    j["ci_seed"] = own.seed;
    if (r.metrics.contains("summary")) j["summary"] = r.metrics["summary"];
    j["setup"] = setup_line(r.metrics);
    result["runs"].push_back(j);
  }
  result["pairs"] = nlohmann::json::array();
  std::vector<double> mcnemar, permutation;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t k = i + 1; k < runs.size(); ++k) {
      const stats::PairedComparison c = stats::compare_paired(runs[i].table.scored, runs[k].table.scored, boot, perm);
      nlohmann::json p = {{"a", runs[i].name}, {"b", runs[k].name}};
      p["difference"] = triple(c.difference);
      p["difference_ci"] = intervals(c.difference_interval);
      p["mcnemar"] = {{"only_a_correct", c.only_a_correct}, {"only_b_correct", c.only_b_correct}, {"p", c.mcnemar_p},
                      {"on", runs[i].table.repeats > 1 ? "first repeat" : "every item"}};
      p["permutation_uar"] = {{"p", c.permutation_p}, {"exact", c.permutation_exact}, {"permutations", c.permutations}};
      mcnemar.push_back(c.mcnemar_p);
      permutation.push_back(c.permutation_p);
      result["pairs"].push_back(p);
    }
  }
  const auto mcnemar_holm = stats::holm_adjust(mcnemar), permutation_holm = stats::holm_adjust(permutation);
  for (std::size_t i = 0; i < result["pairs"].size(); ++i) {
    result["pairs"][i]["mcnemar"]["p_holm"] = mcnemar_holm[i];
    result["pairs"][i]["permutation_uar"]["p_holm"] = permutation_holm[i];
  }
  return result;
}

std::string compare_markdown(const nlohmann::json& r) {
  const auto& s = r["settings"];
  const std::string unit = s["unit"] == "speaker" ? "speakers" : "items";
  std::string out = "## Runs\n\n| run | repeats | WA [95 % CI] | UAR [95 % CI] | macro-F1 [95 % CI] | UAR fold mean ± std |\n";
  out += "|---|---:|---:|---:|---:|---:|\n";
  for (const auto& run : r["runs"]) {
    std::string row = "| " + run["run"].get<std::string>() + " | " + std::to_string(run["repeats"].get<int>());
    for (const char* key : kKeys) row += " | " + f4(run["pooled"][key].get<double>()) + " " + ci_text(run["ci"][key]);
    const auto& sum = run.value("summary", nlohmann::json());
    row += " | " + (sum.is_object() && sum.contains("balanced_accuracy")
                        ? f4(sum["balanced_accuracy"]["mean"].get<double>()) + " ± " + f4(sum["balanced_accuracy"]["std"].get<double>())
                        : std::string("–"));
    out += row + " |\n";
  }
  out += "\nPooled metrics (mean over repeats) on " + std::to_string(s["n_items"].get<std::size_t>()) + " items of " +
         std::to_string(s["n_units"].get<int>()) + " " + unit + "; 95 % percentile bootstrap intervals over " +
         std::to_string(s["resamples"].get<int>()) + " resamples of the " + unit + " (seed " +
         std::to_string(s["seed"].get<std::uint64_t>()) + ").\n\n";
  out += "## Pairs (A − B)\n\n| A | B | ΔWA [95 % CI] | ΔUAR [95 % CI] | Δmacro-F1 [95 % CI] | McNemar only A / only B | McNemar p (Holm) | permutation p on UAR (Holm) |\n";
  out += "|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& p : r["pairs"]) {
    std::string row = "| " + p["a"].get<std::string>() + " | " + p["b"].get<std::string>();
    for (const char* key : kKeys) row += " | " + signed4(p["difference"][key].get<double>()) + " " + signed_ci(p["difference_ci"][key]);
    const auto& m = p["mcnemar"];
    const auto& t = p["permutation_uar"];
    row += " | " + std::to_string(m["only_a_correct"].get<long long>()) + " / " + std::to_string(m["only_b_correct"].get<long long>());
    row += " | " + pv(m["p"].get<double>()) + " (" + pv(m["p_holm"].get<double>()) + ")";
    row += " | " + pv(t["p"].get<double>()) + " (" + pv(t["p_holm"].get<double>()) + ") |\n";
    out += row;
  }
  out += "\nDifferences: the same resampled " + unit + " for both runs. McNemar: exact two-sided binomial test on the items "
         "exactly one run got right" + std::string(s["repeats"].get<int>() > 1 ? " (first repeat)" : "") +
         ". Permutation: paired, each of the " + unit + " swapped between A and B at random (" +
         std::to_string(s["permutations"].get<int>()) + " permutations, or all when fewer), two-sided. Holm: across the " +
         std::to_string(r["pairs"].size()) + " pair(s), per test.\n";
  return out;
}

std::string compare_csv(const nlohmann::json& r) {
  std::string out = "a,b";
  for (const char* who : {"a", "b"}) {
    for (const char* key : kKeys) out += std::string(",") + who + "_" + key;
  }
  for (const char* key : kKeys) out += std::string(",diff_") + key + ",diff_" + key + "_low,diff_" + key + "_high";
  out += ",only_a_correct,only_b_correct,mcnemar_p,mcnemar_p_holm,permutation_p,permutation_p_holm,unit,resamples,permutations,seed\n";
  const auto& s = r["settings"];
  auto run_of = [&](const std::string& name) -> const nlohmann::json& {
    for (const auto& run : r["runs"]) {
      if (run["run"] == name) return run;
    }
    return r["runs"][0];
  };
  auto g = [](double v) { return util::format_double("%.6g", v); };
  for (const auto& p : r["pairs"]) {
    out += util::csv_field(p["a"].get<std::string>()) + "," + util::csv_field(p["b"].get<std::string>());
    for (const char* who : {"a", "b"}) {
      for (const char* key : kKeys) out += "," + g(run_of(p[who].get<std::string>())["pooled"][key].get<double>());
    }
    for (const char* key : kKeys) {
      out += "," + g(p["difference"][key].get<double>()) + "," + g(p["difference_ci"][key][0].get<double>()) + "," +
             g(p["difference_ci"][key][1].get<double>());
    }
    const auto& m = p["mcnemar"];
    const auto& t = p["permutation_uar"];
    out += "," + std::to_string(m["only_a_correct"].get<long long>()) + "," + std::to_string(m["only_b_correct"].get<long long>()) +
           "," + g(m["p"].get<double>()) + "," + g(m["p_holm"].get<double>()) + "," + g(t["p"].get<double>()) + "," +
           g(t["p_holm"].get<double>()) + "," + s["unit"].get<std::string>() + "," + std::to_string(s["resamples"].get<int>()) +
           "," + std::to_string(s["permutations"].get<int>()) + "," + std::to_string(s["seed"].get<std::uint64_t>()) + "\n";
  }
  return out;
}

}  // namespace ser::eval
