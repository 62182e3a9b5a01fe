// `ser evaluate`: re-aggregate a run (--run) or apply a model to a corpus (--model), write every
// output (metrics.json, confusion CSVs, predictions.csv, report.md, SVG plots), then apply the CI
// gates: a failing gate exits with eval::kGateExitCode after all outputs are written.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "cli/commands.hpp"
#include "ser/config/config.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/eval/analysis.hpp"
#include "ser/eval/evaluate.hpp"
#include "ser/eval/repeats.hpp"
#include "ser/eval/uncertainty.hpp"
#include "ser/eval/overlap.hpp"
#include "ser/features/bandwidth.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"
#include "ser/model/predictor.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;

namespace ser::cli {

namespace {

struct EvaluateArgs {
  std::string run, model, config_path, dataset, root, manifest, map, out, fail_under, baseline, device = "cpu";
  std::string format = "text";
  double max_drop = NAN;  // NaN: not given
  int jobs = 0;
  bool no_progress = false, allow_partial = false, allow_training_overlap = false, allow_mismatch = false,
       allow_skipped = false;
  // Whether a gate option was given at all: an empty value (an unset CI variable) is a mistake,
  // never a gate switched off.
  bool fail_under_given = false, baseline_given = false;
};

// "anger=angry,happiness=happy" -> map; throws a usage error naming --map.
std::map<std::string, std::string> parse_map(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string pair = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const std::size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
      throw Error(ErrorKind::Usage, "--map", "'" + pair + "' is not src=dst");
    }
    if (!out.emplace(pair.substr(0, eq), pair.substr(eq + 1)).second) {
      throw Error(ErrorKind::Usage, "--map", "'" + pair.substr(0, eq) + "' is mapped twice");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// The model applied to every item of a corpus whose (mapped) label is one of the model's.
eval::EvaluationInput evaluate_model(const EvaluateArgs& a, const std::string& out_dir) {
  auto [doc, origin] = config_document(a.config_path);
  apply_corpus_flags(doc, a.dataset, a.root, a.manifest);
  if (doc.value("dataset", "").empty()) {
    throw Error(ErrorKind::Usage, "evaluate", "--model needs a corpus: --dataset with --root/--manifest, or --config");
  }
  doc["features"]["out"] = out_dir + "/features";  // this evaluation's own store and cache
  const config::Config cfg = config::parse_config(doc, origin);
  // Only the corpus is used here: a config's protocol and training settings are for `ser train`
  // (a manifest config without a speaker table must still name a corpus to evaluate on).
  if (cfg.dataset != "ravdess" && cfg.dataset != "emodb" && cfg.dataset != "manifest") {
    fail_config("dataset", "'" + cfg.dataset + "' is not one of ravdess, emodb, manifest in " + origin);
  }
  if (cfg.dataset == "manifest" && cfg.manifest.empty()) fail_config("manifest", "required when dataset is manifest");
  if (cfg.dataset != "manifest" && cfg.root.empty()) fail_config("root", "required for dataset " + cfg.dataset);
  std::map<std::string, std::string> label_map = cfg.label_map;
  if (!a.map.empty()) {
    for (const auto& [from, to] : parse_map(a.map)) label_map[from] = to;  // the flag wins
  }

  const model::Predictor predictor = model::Predictor::load(a.model, a.device, a.allow_partial);
  const auto set = features::make_feature_set(predictor.feature_set(), predictor.band_limit_hz(), predictor.encoder());
  if (set->settings_fingerprint() != predictor.feature_fingerprint()) {
    fail_input(a.model, "model was trained on " + predictor.feature_set() + " features made with other settings (" +
                            predictor.feature_fingerprint() + ") than this build computes; retrain it");
  }
  const auto& labels = predictor.labels();
  for (const auto& [from, to] : label_map) {
    if (std::find(labels.begin(), labels.end(), to) == labels.end()) {
      std::string known;
      for (const auto& l : labels) known += (known.empty() ? "" : ", ") + l;
      fail_config(a.map.empty() ? "label_map" : "--map", "'" + to + "' is not a label of the model (" + known + ")");
    }
  }

  const data::CorpusIndex index = data::index_corpus(cfg.dataset, cfg.dataset == "manifest" ? cfg.manifest : cfg.root);
  // A --map entry for a label the corpus lacks is a typo that would skip items silently.
  std::set<std::string> corpus_labels;
  for (const auto& item : index.items) corpus_labels.insert(item.label);
  if (!a.map.empty()) {
    for (const auto& [from, to] : parse_map(a.map)) {
      if (corpus_labels.count(from)) continue;
      std::string known;
      for (const auto& l : corpus_labels) known += (known.empty() ? "" : ", ") + l;
      throw Error(ErrorKind::Usage, "--map", "'" + from + "' is not a label of the corpus (" + known + ")");
    }
  }
  features::ExtractOptions ex;
  ex.out_dir = cfg.features.out;
  ex.jobs = a.jobs;
  ex.progress = !a.no_progress;
  const auto extracted = features::extract_corpus(index, *set, ex);
  eval::EvaluationInput in;
  for (const auto& f : extracted.failures) {
    spdlog::warn("{}: {} (skipped)", f.path, f.reason);
    in.skipped_files.push_back({f.path, f.reason});
  }
  const features::FeatureTable table = features::read_feature_store(cfg.features.out);
  if (!in.skipped_files.empty()) {
    in.warnings.push_back(std::to_string(in.skipped_files.size()) + " of " + std::to_string(extracted.total) +
                          " corpus files could not be used and are not in these numbers (see skipped_files)");
  }

  in.title = fs::path(a.model).filename().string() + " on " + cfg.dataset;
  in.predictions.labels = labels;
  in.predictions.metadata_columns = {"speaker"};
  in.predictions.metadata_columns.insert(in.predictions.metadata_columns.end(), table.metadata_columns.begin(),
                                         table.metadata_columns.end());
  std::vector<float> rows;
  std::vector<std::size_t> kept;
  std::map<std::string, int> skipped;
  for (std::size_t i = 0; i < table.items.size(); ++i) {
    const auto it = label_map.find(table.items[i].label);
    const std::string label = it == label_map.end() ? table.items[i].label : it->second;
    const auto pos = std::find(labels.begin(), labels.end(), label);
    if (pos == labels.end()) {
      ++skipped[table.items[i].label];
      continue;
    }
    eval::PredictionRow row;
    row.id = table.items[i].id;
    row.truth = static_cast<int>(pos - labels.begin());
    row.metadata.push_back(table.items[i].speaker);
    for (const auto& [k, v] : table.items[i].metadata) row.metadata.push_back(v);
    in.predictions.rows.push_back(std::move(row));
    rows.insert(rows.end(), table.row(i), table.row(i) + table.dim);
    kept.push_back(i);
  }
  if (!skipped.empty()) {
    std::string text;
    std::size_t total = 0;
    for (const auto& [l, n] : skipped) {
      text += (text.empty() ? "" : ", ") + l + " " + std::to_string(n);
      total += static_cast<std::size_t>(n);
    }
    in.warnings.push_back(std::to_string(total) + " of " + std::to_string(table.items.size()) +
                          " items skipped: their label is not one of the model's (map them with --map src=dst): " + text);
  }
  if (kept.empty()) fail_input(cfg.dataset == "manifest" ? cfg.manifest : cfg.root, "no item has a label the model knows");
  std::vector<std::string> groups;
  if (predictor.speaker_normalized()) {
    for (std::size_t i : kept) {
      if (table.items[i].speaker.empty()) {
        throw Error(ErrorKind::Usage, table.items[i].path,
                    "the model is speaker-normalised and this item has no speaker (give the manifest a speaker column)");
      }
      groups.push_back(table.items[i].speaker);
    }
  }
  std::vector<std::string> small;
  std::vector<model::Predictor::RowZ> z;
  const auto probs = predictor.predict(rows, kept.size(), groups, &small, &z);
  for (const auto& g : small) spdlog::warn("speaker '{}' has fewer than 10 items: its normalisation statistics are noisy", g);
  // The threshold each model learnt at training; 50 for models from before.
  const bool calibrated = predictor.calibrated();
  auto out_of_range = [&](const model::Predictor::RowZ& row) {
    return calibrated ? row.score > 1 : row.max_abs_z > model::kOutOfRangeZ;
  };
  const std::string threshold_text =
      calibrated ? std::string("the model's learnt threshold") : util::format_double("%g", model::kOutOfRangeZ);
  std::size_t far = 0, worst = 0;
  for (std::size_t r = 0; r < z.size(); ++r) {
    far += out_of_range(z[r]);
    if (z[r].max_abs_z > z[worst].max_abs_z) worst = r;
  }
  if (far) {
    in.warnings.push_back(std::to_string(far) + " of " + std::to_string(kept.size()) +
                          " items lie far outside the training data (|z| over " + threshold_text +
                          "; largest " + util::format_double("%.1f", z[worst].max_abs_z) + " in block " +
                          model::block_of(set->blocks(), z[worst].feature) + ", " + table.items[kept[worst]].id + ")");
  }

  // Items whose audio covers less of the spectrum than the model's training audio did.
  const auto band = predictor.trained_band();
  std::vector<std::string> narrow(kept.size());
  std::size_t narrow_count = 0;
  std::vector<double> narrow_bw;
  if (band && table.audio.size() == table.items.size()) {
    for (std::size_t r = 0; r < kept.size(); ++r) {
      narrow[r] = features::bandwidth_warning(table.audio[kept[r]], *band);
      if (narrow[r].empty()) continue;
      ++narrow_count;
      narrow_bw.push_back(table.audio[kept[r]].bandwidth_hz);
    }
  }
  if (narrow_count) {
    // Per item in predictions.csv (`warnings`); here the count, their median band and a few names.
    std::string names;
    for (std::size_t r = 0, shown = 0; r < kept.size() && shown < 3; ++r) {
      if (narrow[r].empty()) continue;
      names += (shown++ ? ", " : "") + table.items[kept[r]].id;
    }
    spdlog::warn("{} item(s) below the band the model was trained on, e.g. {} (each row of predictions.csv says so)",
                 narrow_count, names);
    std::sort(narrow_bw.begin(), narrow_bw.end());
    in.warnings.push_back(std::to_string(narrow_count) + " of " + std::to_string(kept.size()) +
                          " items have less bandwidth (median " +
                          std::to_string(std::lround(narrow_bw[narrow_bw.size() / 2])) + " Hz) than the " +
                          std::to_string(std::lround(band->bandwidth_hz)) +
                          " Hz the model was trained on: the features read the missing band as signal, so these "
                          "numbers understate what a model trained on their band would do (train with features.fmax "
                          "at or below it)");
  }

  std::vector<data::Item> scored;
  for (std::size_t i : kept) scored.push_back(table.items[i]);
  std::vector<std::string> member_dirs;
  for (const auto& s : predictor.sources()) member_dirs.push_back(fs::path(s).parent_path().string());
  const eval::TrainingOverlap overlap = eval::training_overlap(member_dirs, scored, a.jobs);
  const std::string overlap_text = eval::overlap_warning(overlap);
  if (!overlap_text.empty()) in.warnings.push_back(overlap_text);
  // Per row, what `ser predict` says of it too: how far outside the training data it lies.
  in.predictions.metadata_columns.push_back("max_abs_z");
  in.predictions.metadata_columns.push_back("warnings");
  for (std::size_t r = 0; r < kept.size(); ++r) {
    auto& row = in.predictions.rows[r];
    row.probabilities = probs[r];
    row.pred = eval::argmax(probs[r]);
    row.metadata.push_back(util::format_double("%.2f", z[r].max_abs_z));
    std::string why = out_of_range(z[r]) ? "|z| " + util::format_double("%.1f", z[r].max_abs_z) + " in block " +
                                               model::block_of(set->blocks(), z[r].feature)
                                         : "";
    if (!narrow[r].empty()) why += (why.empty() ? "" : "; ") + narrow[r];
    row.metadata.push_back(why);
  }
  in.header = {{"model", a.model},
               {"members", predictor.members()},
               {"dataset", cfg.dataset},
               {"feature_set", predictor.feature_set()},
               {"normalize", predictor.normalize()},
               {"architecture", predictor.architecture()}};
  if (predictor.folds_expected() > 0) {
    in.header["folds_total"] = predictor.folds_expected();
    in.header["coverage"] = {{"folds_used", predictor.members()}, {"folds_total", predictor.folds_expected()},
                             {"complete", predictor.members() >= predictor.folds_expected()}};
  }
  if (predictor.members() < predictor.folds_expected()) {
    in.warnings.push_back("a fold ensemble of " + std::to_string(predictor.members()) + " of " +
                          std::to_string(predictor.folds_expected()) + " folds (--allow-partial)");
  }
  in.header["training_overlap"] = {{"known", overlap.known}, {"items", overlap.items}, {"by_id", overlap.by_id},
                                   {"by_content", overlap.by_content}, {"either", overlap.either}, {"note", overlap.note}};
  in.header["out_of_range_items"] = far;
  in.header["below_trained_bandwidth_items"] = narrow_count;
  if (band) in.header["trained_band"] = {{"analysis_band_hz", band->analysis_hz}, {"bandwidth_hz", band->bandwidth_hz}};
  if (!label_map.empty()) in.header["label_map"] = label_map;
  nlohmann::json skipped_json = nlohmann::json::object();
  for (const auto& [l, n] : skipped) skipped_json[l] = n;
  in.header["skipped_labels"] = skipped_json;
  return in;
}

// stdout carries the result in the asked format; everything else goes to stderr.
void print_result(const std::string& format, const nlohmann::json& metrics, const std::string& report_md,
                  const std::string& text) {
  const std::string out = format == "json" ? metrics.dump(2) + "\n" : format == "md" ? report_md : text;
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

std::string gate_lines(const std::vector<eval::GateResult>& gates) {
  std::string out;
  for (const auto& g : gates) {
    out += std::string("gate ") + (g.passed ? "passed" : "FAILED") + ": " + g.gate + " (measured " +
           util::exact_double(g.value) + ")\n";
  }
  return out;
}

// The verdict's exit code, said on stderr: a failed gate (3) or skipped files (1).
int verdict(const std::string& where, bool passed, std::size_t skipped, bool allow_skipped, const std::string& format,
            const std::vector<eval::GateResult>& gates) {
  if (format != "text") std::fputs(gate_lines(gates).c_str(), stderr);  // the gates are in the JSON/Markdown too
  if (!passed) {
    std::fprintf(stderr, "ser: error: %s: a gate failed (exit code %d)\n", where.c_str(), eval::kGateExitCode);
    return eval::kGateExitCode;
  }
  if (skipped > 0 && !allow_skipped) {
    std::fprintf(stderr, "ser: error: %s: %zu file(s) could not be used (listed in metrics.json skipped_files); pass "
                         "--allow-skipped to accept an evaluation without them\n",
                 where.c_str(), skipped);
    return 1;
  }
  return 0;
}

// A baseline of another corpus, label set or protocol, or of a partial run, is refused before
// anything is written.
void check_baseline_matches(const eval::GateOptions& gates, const nlohmann::json& header,
                            const std::vector<std::string>& labels, bool allow_mismatch) {
  if (gates.baseline_path.empty()) return;
  nlohmann::json current = header.is_object() ? header : nlohmann::json::object();
  current["labels"] = labels;
  const std::string why = eval::baseline_mismatch(current, util::read_json(gates.baseline_path));
  if (why.empty()) return;
  if (allow_mismatch) {
    spdlog::warn("{}: compared although it differs ({}), as --allow-mismatch asks", gates.baseline_path, why);
    return;
  }
  throw Error(ErrorKind::Usage, gates.baseline_path,
              "cannot be a baseline here: " + why + " (pass --allow-mismatch to compare anyway)");
}

// Where `--run` writes: --out when given; with a gate, <run>/gates/, so that a CI check never
// rewrites what training wrote (the run's own metrics.json and report.md stay as they were);
// otherwise the run itself (a re-aggregation).
std::string run_output_dir(const EvaluateArgs& a, const eval::GateOptions& gates) {
  if (!a.out.empty()) return a.out;
  return gates.any() ? a.run + "/gates" : a.run;
}

// A run of train.repeats: the aggregate over its repeats, rebuilt from their folds' files, and
// the gates on it (summary = mean over repeats of the fold means). Every repeat must have finished.
int evaluate_repeats(const EvaluateArgs& a, const eval::GateOptions& gates, const eval::RepeatsOnDisk& repeats) {
  const std::string out = run_output_dir(a, gates);
  const int finished = static_cast<int>(repeats.finished.size());
  if (finished < repeats.total) {
    fail_input(a.run, std::to_string(finished) + " of " + std::to_string(repeats.total) +
                          " repeats are finished; run `ser train` again to finish them, or evaluate one repeat (" + a.run +
                          "/repeat-R)");
  }
  check_baseline_matches(gates, repeats.header, repeats.labels, a.allow_mismatch);
  const eval::RepeatsEvaluation result =
      eval::write_repeats_evaluation(a.run, repeats.finished, repeats.header, repeats.seed, gates, out);
  const nlohmann::json& m = result.metrics;
  const auto& sum = m["summary"];
  char line[512];
  std::snprintf(line, sizeof(line),
                "%s: %d repeats; mean +- std over repeats of the fold means: accuracy %.4f +- %.4f, UAR %.4f +- %.4f, "
                "macro-F1 %.4f +- %.4f; pooled UAR %.4f %s\n",
                a.run.c_str(), finished, sum["accuracy"]["mean"].get<double>(), sum["accuracy"]["std"].get<double>(),
                sum["balanced_accuracy"]["mean"].get<double>(), sum["balanced_accuracy"]["std"].get<double>(),
                sum["macro_f1"]["mean"].get<double>(), sum["macro_f1"]["std"].get<double>(),
                m["pooled"]["balanced_accuracy"].get<double>(), eval::interval_text(m["ci"], "balanced_accuracy").c_str());
  print_result(a.format, m, util::read_text(out + "/report.md"), line + gate_lines(result.gates));
  spdlog::info("wrote {}/{{metrics.json, report.md, predictions.csv, confusion.csv, confusion.svg}}", out);
  return verdict(out, result.passed, 0, a.allow_skipped, a.format, result.gates);
}

// The run's folds as its plan counts them; a partial run is refused unless --allow-partial.
eval::EvaluationInput read_complete_run(const EvaluateArgs& a) {
  eval::EvaluationInput in = eval::read_run(a.run);
  if (in.partial() && !a.allow_partial) {
    const std::string why = in.folds_total_known ? in.missing_folds : "the run does not record its fold total (no plan.json)";
    fail_input(a.run, "only " + std::to_string(in.folds_used) + " of " + (in.folds_total_known ? "" : "at least ") +
                          std::to_string(in.folds_total) + " folds are finished (" + why +
                          "); finish the run with `ser train`, or pass --allow-partial to evaluate those");
  }
  return in;
}

int run_evaluate(const EvaluateArgs& a) {
  if (a.run.empty() == a.model.empty()) throw Error(ErrorKind::Usage, "evaluate", "give exactly one of --run DIR or --model M");
  if (a.jobs < 0) throw Error(ErrorKind::Usage, "--jobs", "must be >= 0 (0 = all cores)");
  if (a.format != "text" && a.format != "json" && a.format != "md") {
    throw Error(ErrorKind::Usage, "--format", "'" + a.format + "' is not one of text, json, md");
  }
  eval::GateOptions gates;
  gates.allow_partial = a.allow_partial;
  gates.allow_training_overlap = a.allow_training_overlap;
  if (a.fail_under_given) gates.fail_under = eval::parse_fail_under(a.fail_under);  // empty text is an error there
  const bool max_drop_given = !std::isnan(a.max_drop);
  if (max_drop_given && !(a.max_drop >= 0 && a.max_drop <= 1)) {
    throw Error(ErrorKind::Usage, "--max-drop", "must be between 0 and 1, got " + util::format_double("%g", a.max_drop));
  }
  if (max_drop_given && !a.baseline_given) throw Error(ErrorKind::Usage, "--max-drop", "needs --baseline FILE");
  if (a.baseline_given) {
    if (a.baseline.find_first_not_of(" \t\r\n") == std::string::npos) {
      throw Error(ErrorKind::Usage, "--baseline", "empty; expected a metrics.json file (is a CI variable unset?)");
    }
    if (!fs::exists(a.baseline)) throw Error(ErrorKind::Usage, a.baseline, "baseline metrics file not found");
    // Checked before anything is computed: a mistyped baseline is a usage mistake.
    try {
      const auto j = nlohmann::json::parse(util::read_text(a.baseline));
      if (!j.is_object()) throw Error(ErrorKind::Usage, a.baseline, "not a metrics.json (expected a JSON object)");
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::Usage, a.baseline, std::string("not valid JSON (") + e.what() + ")");
    }
    gates.baseline_path = a.baseline;
    gates.max_drop = max_drop_given ? a.max_drop : 0.0;
  }

  std::string out = a.out;
  eval::EvaluationInput in;
  if (!a.run.empty() && fs::is_directory(a.run)) {
    const eval::RepeatsOnDisk repeats = eval::read_repeats(a.run);
    if (repeats.total > 0) return evaluate_repeats(a, gates, repeats);
  }
  if (!a.run.empty()) {
    out = run_output_dir(a, gates);
    in = read_complete_run(a);
  } else {
    if (out.empty()) {
      const fs::path m(a.model);
      const fs::path dir = fs::is_regular_file(m) ? m.parent_path() : m;
      std::string dataset = a.dataset;
      if (dataset.empty() && !a.config_path.empty()) dataset = config::load_config(a.config_path).dataset;
      out = (dir / ("eval-" + (dataset.empty() ? std::string("corpus") : dataset))).string();
    }
    in = evaluate_model(a, out);
  }
  check_baseline_matches(gates, in.header, in.predictions.labels, a.allow_mismatch);
  const eval::EvaluationOutput result = eval::write_evaluation(in, gates, out);

  std::string text;
  if (isatty(STDOUT_FILENO) && a.format == "text") {
    text = eval::terminal_table(result.report);
  } else {
    const auto& pooled = result.report.pooled;
    char line[512];
    std::snprintf(line, sizeof(line), "%s: pooled accuracy %.4f, UAR %.4f %s, macro-F1 %.4f over %d item(s)\n",
                  in.title.c_str(), pooled.accuracy, pooled.balanced_accuracy,
                  eval::interval_text(result.metrics.value("ci", nlohmann::json()), "balanced_accuracy").c_str(),
                  pooled.macro_f1, pooled.n);
    text = line;
    const auto& sum = result.report.summary;
    if (sum.is_object() && sum.contains("macro_f1")) {
      auto num = [&](const char* key, const char* part) -> double {
        const auto it = sum.find(key);
        if (it == sum.end() || !it->is_object() || !it->contains(part) || !(*it)[part].is_number()) return NAN;
        return (*it)[part].get<double>();
      };
      auto ms = [&](const char* key) {
        return util::format_double("%.4f", num(key, "mean")) + " +- " + util::format_double("%.4f", num(key, "std"));
      };
      text += "  fold mean +- std over " + result.report.coverage + ": accuracy " + ms("accuracy") + ", UAR " +
              ms("balanced_accuracy") + ", macro-F1 " + ms("macro_f1") + "\n";
    }
    if (!result.report.setup.empty()) text += "  " + result.report.setup + "\n";
    for (const auto& w : in.warnings) spdlog::warn("{}", w);
  }
  text += gate_lines(result.gates);
  print_result(a.format, result.metrics, util::read_text(out + "/report.md"), text);
  spdlog::info("wrote {}/{{metrics.json, report.md, predictions.csv, confusion.csv, *.svg}}", out);
  return verdict(out, result.passed, in.skipped_files.size(), a.allow_skipped, a.format, result.gates);
}

}  // namespace

void register_evaluate(CLI::App& app) {
  auto a = std::make_shared<EvaluateArgs>();
  auto* sub = app.add_subcommand("evaluate", "Metrics, confusion matrices, report and plots for a run or a model; CI gates");
  sub->add_option("--run", a->run, "Run directory to re-aggregate (written by ser train)");
  sub->add_option("--model", a->model, "Model directory, model.pt, or a run directory (fold ensemble) to apply to a corpus");
  sub->add_option("-c,--config", a->config_path, "Corpus from a config (dataset, root/manifest, label_map)");
  sub->add_option("--dataset", a->dataset, "ravdess | emodb | manifest");
  sub->add_option("--root", a->root, "Corpus folder (ravdess, emodb)");
  sub->add_option("--manifest", a->manifest, "CSV manifest with path,label[,speaker,...]");
  sub->add_option("--map", a->map, "Corpus label -> model label, e.g. anger=angry,happiness=happy");
  sub->add_option("-o,--out", a->out, "Output folder (default: the run, or <model>/eval-<dataset>)");
  auto* fail_under = sub->add_option("--fail-under", a->fail_under, "Gate: minimum values, e.g. uar=0.60,accuracy=0.70");
  auto* baseline = sub->add_option("--baseline", a->baseline, "Gate: a metrics.json to compare against");
  sub->add_option("--max-drop", a->max_drop, "Gate: largest allowed drop against --baseline (default 0)");
  sub->add_option("-j,--jobs", a->jobs, "Extraction threads (0 = all cores)");
  sub->add_option("--device", a->device, "cpu | cuda | auto, for --model");
  sub->add_flag("--no-progress", a->no_progress, "No progress bar during feature extraction");
  sub->add_flag("--allow-partial", a->allow_partial,
                "Accept a run with unfinished or missing folds (gates, fold ensembles); coverage is still reported");
  sub->add_flag("--allow-training-overlap", a->allow_training_overlap,
                "Gate a model evaluation although its items overlap the model's training items (or those are unknown)");
  sub->add_flag("--allow-mismatch", a->allow_mismatch,
                "Compare against a --baseline of another corpus, label set or protocol, or of a partial run");
  sub->add_flag("--allow-skipped", a->allow_skipped, "Exit 0 although some corpus files could not be used (they are listed)");
  sub->add_option("-f,--format", a->format, "What stdout gets: text (summary and gates), json (metrics.json), md (report.md)");
  add_runner("evaluate", [a, fail_under, baseline]() {
    a->fail_under_given = fail_under->count() > 0;
    a->baseline_given = baseline->count() > 0;
    return run_evaluate(*a);
  });
}

}  // namespace ser::cli
