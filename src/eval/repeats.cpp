#include "ser/eval/repeats.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "ser/error.hpp"
#include "ser/eval/analysis.hpp"
#include "ser/eval/evaluate.hpp"
#include "ser/eval/plots.hpp"
#include "ser/eval/predictions.hpp"
#include "ser/eval/report.hpp"
#include "ser/eval/uncertainty.hpp"
#include "ser/model/predictor.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/version.hpp"

namespace ser::eval {

namespace {

const char* const kKeys[] = {"accuracy", "balanced_accuracy", "macro_f1"};

nlohmann::json mean_std_values(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  return {{"mean", mean}, {"std", std::sqrt(var / static_cast<double>(v.size()))}, {"values", v}};
}

// summary.<key>.mean or pooled.<key> of a repeat's metrics.json.
double number_at(const nlohmann::json& doc, const std::string& a, const std::string& b, const std::string& origin) {
  if (doc.contains(a) && doc[a].is_object() && doc[a].contains(b)) {
    const nlohmann::json& v = doc[a][b];
    if (v.is_object() && v.contains("mean") && v["mean"].is_number()) return v["mean"].get<double>();
    if (v.is_number()) return v.get<double>();
  }
  fail_input(origin, "'" + a + "." + b + "' is missing or not a number");
}

std::string f4(double v) { return util::format_double("%.4f", v); }

}  // namespace

RepeatsEvaluation write_repeats_evaluation(const std::string& run_dir, const std::vector<RepeatRun>& repeats,
                                           const nlohmann::json& header, std::uint64_t bootstrap_seed,
                                           const GateOptions& gate_options, const std::string& out) {
  if (repeats.empty()) fail_input(run_dir, "no repeats to aggregate");
  const std::string out_dir = out.empty() ? run_dir : out;
  const bool in_place = std::filesystem::weakly_canonical(out_dir) == std::filesystem::weakly_canonical(run_dir);
  PredictionTable all;
  nlohmann::json per_repeat = nlohmann::json::array();
  std::vector<std::string> warnings;
  std::vector<double> validation;
  std::vector<std::vector<double>> fold_means(3), pooled(3);
  std::string unit;
  std::map<std::string, int> first_answers;
  bool all_identical = true;
  for (const auto& r : repeats) {
    // Each repeat's aggregate is rebuilt from its folds' files, as `ser evaluate --run` of that
    // repeat would: edited or re-trained fold predictions are never summed up stale.
    EvaluationInput in = read_run(r.dir);
    if (in.folds_used < in.folds_total || !in.folds_total_known) {
      fail_input(r.dir, "only " + std::to_string(in.folds_used) + " of " + std::to_string(in.folds_total) +
                            " folds are finished; run `ser train` again to finish them");
    }
    const std::string repeat_out = in_place ? r.dir : out_dir + "/repeat-" + std::to_string(r.repeat);
    const nlohmann::json m = write_evaluation(in, {}, repeat_out).metrics;
    const PredictionTable& t = in.predictions;
    std::map<std::string, int> answers;  // id -> predicted class, to tell whether repeats varied
    for (const auto& row : t.rows) answers[row.id] = row.pred;
    if (first_answers.empty()) {
      first_answers = answers;
    } else {
      all_identical = all_identical && answers == first_answers;
    }
    if (all.labels.empty()) {
      all.labels = t.labels;
      all.metadata_columns = {"repeat"};
    } else if (t.labels != all.labels) {
      fail_input(r.dir + "/predictions.csv", "labels differ from repeat " + std::to_string(repeats.front().repeat));
    }
    std::vector<std::size_t> slot;  // repeats may carry metadata columns in another order
    for (const auto& c : t.metadata_columns) {
      auto it = std::find(all.metadata_columns.begin(), all.metadata_columns.end(), c);
      if (it == all.metadata_columns.end()) {
        all.metadata_columns.push_back(c);
        for (auto& row : all.rows) row.metadata.emplace_back();
        it = all.metadata_columns.end() - 1;
      }
      slot.push_back(static_cast<std::size_t>(it - all.metadata_columns.begin()));
    }
    for (const auto& row : t.rows) {
      PredictionRow row_out = row;
      row_out.metadata.assign(all.metadata_columns.size(), "");
      row_out.metadata[0] = std::to_string(r.repeat);
      for (std::size_t c = 0; c < slot.size(); ++c) row_out.metadata[slot[c]] = row.metadata[c];
      all.rows.push_back(std::move(row_out));
    }
    nlohmann::json entry = {{"repeat", r.repeat}, {"seed", r.seed},
                            {"run", std::filesystem::path(r.dir).filename().string()}};
    entry["summary"] = m.value("summary", nlohmann::json());
    entry["pooled"] = nlohmann::json::object();
    const std::string metrics_path = repeat_out + "/metrics.json";
    for (std::size_t k = 0; k < 3; ++k) {
      fold_means[k].push_back(number_at(m, "summary", kKeys[k], metrics_path));
      pooled[k].push_back(number_at(m, "pooled", kKeys[k], metrics_path));
      entry["pooled"][kKeys[k]] = pooled[k].back();
    }
    entry["ci"] = m.value("ci", nlohmann::json());
    if (unit.empty() && entry["ci"].is_object()) unit = entry["ci"].value("unit", "");
    if (m.contains("validation") && m["validation"].contains("uar") && m["validation"]["uar"].is_number()) {
      entry["validation"] = m["validation"];
      validation.push_back(m["validation"]["uar"].get<double>());
    }
    if (m.contains("warnings") && m["warnings"].is_array()) {
      for (const auto& w : m["warnings"]) warnings.push_back("repeat " + std::to_string(r.repeat) + ": " + w.get<std::string>());
    }
    per_repeat.push_back(entry);
  }

  RepeatsEvaluation result;
  nlohmann::json& m = result.metrics;
  m = {{"format_version", kMetricsFormatVersion}, {"kind", "repeats"}};
  if (header.is_object()) m.update(header);
  m["repeats_total"] = repeats.size();
  m["labels"] = all.labels;
  // Top level, as for every metrics.json: every repeat's predictions counted (confusion counts
  // summed over repeats).
  const Metrics every = table_metrics(all);
  const nlohmann::json top = to_json(every);
  for (auto it = top.begin(); it != top.end(); ++it) m[it.key()] = it.value();
  m["summary"] = nlohmann::json::object();
  m["pooled"] = nlohmann::json::object();
  m["over_repeats"] = {{"fold_mean", nlohmann::json::object()}, {"pooled", nlohmann::json::object()}};
  for (std::size_t k = 0; k < 3; ++k) {
    const nlohmann::json fm = mean_std_values(fold_means[k]), pm = mean_std_values(pooled[k]);
    m["over_repeats"]["fold_mean"][kKeys[k]] = fm;
    m["over_repeats"]["pooled"][kKeys[k]] = pm;
    m["summary"][kKeys[k]] = {{"mean", fm["mean"]}, {"std", fm["std"]}};
    m["pooled"][kKeys[k]] = pm["mean"];
  }
  m["summary_of"] = "repeats: mean and population std over repeats of each repeat's mean over folds";
  m["ci"] = bootstrap_json(scored_table(all, unit.empty() ? "item" : unit, run_dir + "/predictions.csv"), bootstrap_seed);
  if (validation.size() == repeats.size()) {
    double mean = 0;
    for (double v : validation) mean += v;
    m["validation"] = {{"uar", mean / static_cast<double>(validation.size())},
                       {"source", per_repeat[0]["validation"].value("source", "") + ", mean over repeats"}};
  }
  m["repeats"] = per_repeat;
  m["coverage"] = {{"repeats_used", repeats.size()}, {"repeats_total", repeats.size()}, {"complete", true}};
  if (repeats.size() > 1 && all_identical) {
    // A fixed fold table and a deterministic model: the seeds had nothing to change.
    warnings.push_back("every repeat predicted every item the same, so the ± over repeats is 0: the repeats did not "
                       "vary here (a fixed fold table with a deterministic model and no seeded search cannot); the CI "
                       "over test units is what measures uncertainty");
  }
  m["warnings"] = warnings;
  m["skipped_files"] = nlohmann::json::array();
  m["skipped_files_count"] = 0;
  if (!gate_options.fail_under.empty()) result.gates = check_thresholds(m, gate_options.fail_under);
  if (!gate_options.baseline_path.empty()) {
    const auto b = check_baseline(m, util::read_json(gate_options.baseline_path), gate_options.baseline_path,
                                  gate_options.max_drop);
    result.gates.insert(result.gates.end(), b.begin(), b.end());
  }
  for (const auto& g : result.gates) result.passed = result.passed && g.passed;
  m["gates"] = gates_json(result.gates);
  m["toolkit_version"] = kVersion;

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) fail_runtime(out_dir, "cannot create output folder: " + ec.message());
  const std::string title = std::filesystem::path(run_dir).filename().string();
  util::write_text_atomic(out_dir + "/predictions.csv", predictions_csv(all));
  util::write_text_atomic(out_dir + "/confusion.csv", confusion_csv(every, all.labels));
  util::write_text_atomic(out_dir + "/confusion_normalized.csv", normalized_confusion_csv(every, all.labels));
  util::write_text_atomic(out_dir + "/confusion.svg",
                          confusion_svg(every.confusion, all.labels, title + ": confusion matrix, every repeat"));
  util::write_text_atomic(out_dir + "/report.md", repeats_report_markdown(m, title, result.gates));
  util::write_text_atomic(out_dir + "/metrics.json", m.dump(2) + "\n");
  return result;
}

RepeatsOnDisk read_repeats(const std::string& run_dir) {
  RepeatsOnDisk out;
  if (!util::numbered_subdirs(run_dir, "fold-").empty()) return out;
  const auto repeats = util::numbered_subdirs(run_dir, "repeat-");
  if (repeats.empty()) return out;
  const std::string top_config = run_dir + "/config.json";
  if (std::filesystem::exists(top_config)) {
    const auto cfg = util::read_json(top_config);
    if (cfg.contains("train") && cfg["train"].is_object()) {
      out.total = cfg["train"].value("repeats", 0);
      if (cfg["train"].contains("seed") && cfg["train"]["seed"].is_number_unsigned()) {
        out.seed = cfg["train"]["seed"].get<std::uint64_t>();
      }
    }
  }
  for (const auto& [r, dir] : repeats) {
    out.total = std::max(out.total, r);
    const std::size_t folds = model::run_fold_count(dir);
    bool finished = folds > 0;
    for (std::size_t k = 1; finished && k <= folds; ++k) {
      finished = std::filesystem::exists(dir + "/fold-" + std::to_string(k) + "/metrics.json");
    }
    if (!finished) continue;
    RepeatRun run{r, 0, dir};
    const auto cfg = util::read_json(dir + "/config.json");
    if (cfg.contains("train") && cfg["train"].contains("seed") && cfg["train"]["seed"].is_number_unsigned()) {
      run.seed = cfg["train"]["seed"].get<std::uint64_t>();
    }
    if (out.finished.empty()) {
      const EvaluationInput first = read_run(dir);
      const nlohmann::json& h = first.header;
      out.labels = first.predictions.labels;
      out.header = nlohmann::json::object();
      for (const char* key : {"dataset", "protocol", "feature_set", "normalize", "architecture", "folds_total"}) {
        if (h.contains(key)) out.header[key] = h[key];
      }
      out.header["run"] = run_dir;
    }
    out.finished.push_back(run);
  }
  return out;
}

std::string repeats_report_markdown(const nlohmann::json& m, const std::string& title,
                                    const std::vector<GateResult>& gates) {
  const char* const names[] = {"accuracy (WA)", "UAR (balanced accuracy)", "macro-F1"};
  const std::size_t n = m.value("repeats_total", 0);
  std::string out = "# " + title + "\n\n";
  for (const auto& w : m.value("warnings", nlohmann::json::array())) out += "> **Warning:** " + w.get<std::string>() + "\n\n";
  const std::string setup = setup_line(m);
  if (!setup.empty()) out += "Setup: " + setup + ".\n\n";
  out += std::to_string(n) + " repeats of the protocol, each with its own seed (folds reshuffled where the protocol is "
         "random; models and augmentation initialised anew).\n\n";
  out += "| metric | mean ± std over repeats (of the fold means) | pooled, mean over repeats | 95 % CI (pooled) |\n";
  out += "|---|---:|---:|---:|\n";
  for (std::size_t k = 0; k < 3; ++k) {
    const auto& fm = m["over_repeats"]["fold_mean"][kKeys[k]];
    out += "| " + std::string(names[k]) + " | " + f4(fm["mean"].get<double>()) + " ± " + f4(fm["std"].get<double>()) +
           " | " + f4(m["pooled"][kKeys[k]].get<double>()) + " | " + interval_text(m["ci"], kKeys[k]) + " |\n";
  }
  out += "\n" + ci_note(m["ci"]) + " Each resample keeps the same units in every repeat.\n\n";
  out += gates_markdown(gates);
  if (m.contains("validation")) {
    out += "Validation UAR (" + m["validation"].value("source", "") + "): " + f4(m["validation"]["uar"].get<double>()) + ".\n\n";
  }
  out += "## Repeats\n\n| repeat | seed | WA (fold mean ± std) | UAR (fold mean ± std) | macro-F1 (fold mean ± std) | pooled UAR | 95 % CI of UAR | report |\n";
  out += "|---|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : m["repeats"]) {
    std::string row = "| " + std::to_string(r["repeat"].get<int>()) + " | " + std::to_string(r["seed"].get<std::uint64_t>());
    for (const char* key : kKeys) {
      const auto& s = r["summary"];
      row += " | " + (s.is_object() && s.contains(key) ? f4(s[key]["mean"].get<double>()) + " ± " + f4(s[key]["std"].get<double>()) : "–");
    }
    const std::string run = r.value("run", "");
    row += " | " + f4(r["pooled"]["balanced_accuracy"].get<double>()) + " | " + interval_text(r["ci"], "balanced_accuracy") +
           " | [" + run + "](" + run + "/report.md) |\n";
    out += row;
  }
  return out;
}

}  // namespace ser::eval
