#include "ser/eval/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "ser/error.hpp"
#include "ser/eval/analysis.hpp"
#include "ser/eval/duplicates.hpp"
#include "ser/eval/uncertainty.hpp"
#include "ser/model/predictor.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/version.hpp"

namespace fs = std::filesystem;

namespace ser::eval {

namespace {

double number_or_nan(const std::string& field) {
  if (field.empty() || field == "nan") return NAN;
  try {
    return std::stod(field);
  } catch (const std::exception&) {
    return NAN;
  }
}

// history.csv: epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_uar
FoldCurve read_history(const std::string& path, const std::string& name, const std::string& metric_column) {
  const auto rows = util::parse_csv(util::read_text(path), path);
  if (rows.empty()) fail_input(path, "empty history");
  const auto& header = rows[0].fields;
  auto column = [&](const std::string& c) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == c) return i;
    }
    fail_input(path, "history lacks a '" + c + "' column");
  };
  const std::size_t epoch = column("epoch"), train_loss = column("train_loss"), val_loss = column("val_loss"),
                    metric = column(metric_column);
  FoldCurve curve;
  curve.name = name;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    if (f.size() != header.size()) fail_input(path + ":" + std::to_string(rows[r].line), "wrong number of fields");
    curve.epoch.push_back(number_or_nan(f[epoch]));
    curve.train_loss.push_back(number_or_nan(f[train_loss]));
    curve.val_loss.push_back(number_or_nan(f[val_loss]));
    curve.val_metric.push_back(number_or_nan(f[metric]));
  }
  return curve;
}

std::string svg_name(const std::string& what) { return what + ".svg"; }

// The labelled rows, resampled by speaker where the protocol (or, without one, the data) says so.
nlohmann::json pooled_intervals(const EvaluationInput& in) {
  PredictionTable labelled = in.predictions;
  labelled.rows.erase(std::remove_if(labelled.rows.begin(), labelled.rows.end(), [](const PredictionRow& r) { return r.truth < 0; }),
                      labelled.rows.end());
  std::string unit = in.resample_unit;
  if (unit.empty()) {
    const std::string protocol = in.header.is_object() ? in.header.value("protocol", "") : "";
    const auto speakers = labelled.column("speaker");
    const bool every_row_named =
        !speakers.empty() && std::none_of(speakers.begin(), speakers.end(), [](const std::string& s) { return s.empty(); });
    unit = protocol.empty() ? (every_row_named ? "speaker" : "item") : resample_unit_for(protocol, false);
  }
  return bootstrap_json(scored_table(labelled, unit, in.title), in.bootstrap_seed);
}

// What chose each fold's model, averaged over folds: the inner cross-validation UAR of a search,
// else the validation score of the best epoch when the monitor is UAR. Null when neither exists.
nlohmann::json validation_summary(const nlohmann::json& folds) {
  if (!folds.is_array() || folds.empty()) return nullptr;
  double inner = 0, epoch = 0;
  std::size_t n_inner = 0, n_epoch = 0;
  for (const auto& f : folds) {
    if (f.contains("search") && f["search"].contains("inner_uar") && f["search"]["inner_uar"].is_number()) {
      inner += f["search"]["inner_uar"].get<double>();
      ++n_inner;
    } else if (f.value("monitor", "") == "val_uar" && f.contains("best_validation") && f["best_validation"].is_number()) {
      epoch += f["best_validation"].get<double>();
      ++n_epoch;
    }
  }
  if (n_inner == folds.size()) {
    return {{"uar", inner / static_cast<double>(n_inner)}, {"source", "inner cross-validation on the training part"}};
  }
  if (n_epoch == folds.size()) {
    return {{"uar", epoch / static_cast<double>(n_epoch)}, {"source", "validation part at the best epoch"}};
  }
  return nullptr;
}

// Identical audio in the run's corpus (<run>/items.csv): `duplicates` in the header and a
// warning, with the pairs that crossed a fold's train/test boundary (only with
// protocol.allow_duplicates) and those inside one split.
void report_duplicates(const std::string& run_dir, const std::vector<std::vector<std::string>>& fold_tests,
                       EvaluationInput& in) {
  const std::string path = run_dir + "/items.csv";
  if (!fs::exists(path)) return;
  const std::vector<ContentRecord> records = read_content_records(path);
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < records.size(); ++i) index[records[i].id] = i;
  std::vector<std::vector<char>> in_test;
  for (const auto& ids : fold_tests) {
    in_test.emplace_back(records.size(), 0);
    for (const auto& id : ids) {
      const auto it = index.find(id);
      if (it != index.end()) in_test.back()[it->second] = 1;
    }
  }
  const FoldsDuplicates d = folds_duplicates(records, in_test);
  if (d.groups == 0) return;
  nlohmann::json ex = nlohmann::json::array();
  for (const auto& [a, b] : d.examples) ex.push_back({a, b});
  in.header["duplicates"] = {{"groups", d.groups}, {"duplicate_items", d.duplicate_items},
                             {"across_train_test_pairs", d.across}, {"examples", ex}};
  std::string text = std::to_string(d.duplicate_items) + " item(s) repeat the audio of another item (" +
                     std::to_string(d.groups) + " group(s) of identical files)";
  if (d.across > 0) {
    text += "; " + std::to_string(d.across) + " pair(s) crossed a fold's train/test boundary (e.g. " +
            example_pairs(d.examples) + "), trained with --allow-duplicates: those test scores are not held-out";
  } else {
    text += ", each group inside one split: one recording weighs more than once";
  }
  in.warnings.push_back(text);
}

}  // namespace

std::string shared_speakers_warning(const std::string& protocol, bool holdout_by_speakers, const PredictionTable& predictions) {
  const bool by_items = protocol == "random_kfold" || (protocol == "holdout" && !holdout_by_speakers);
  if (!by_items) return "";
  const auto speakers = predictions.column("speaker");
  if (speakers.empty() || std::any_of(speakers.begin(), speakers.end(), [](const std::string& s) { return s.empty(); })) {
    return "";
  }
  const std::set<std::string> distinct(speakers.begin(), speakers.end());
  if (distinct.size() < 2) return "";
  return protocol + " splits items, not speakers: the same " + std::to_string(distinct.size()) +
         " speakers are in training and test, so these numbers are speaker-dependent (speaker_kfold gives "
         "speaker-independent ones)";
}

EvaluationOutput write_evaluation(const EvaluationInput& in, const GateOptions& gate_options, const std::string& out_dir) {
  const auto& labels = in.predictions.labels;
  const Metrics pooled = table_metrics(in.predictions);
  if (pooled.n == 0) fail_input(in.title, "no labelled predictions to evaluate");

  EvaluationOutput out;
  nlohmann::json& m = out.metrics;
  m = nlohmann::json::object();
  m["format_version"] = kMetricsFormatVersion;
  m["kind"] = in.per_fold.empty() ? "model" : "run";
  if (in.header.is_object()) m.update(in.header);
  m["labels"] = labels;
  // The same top-level keys for every kind: metrics pooled over every prediction.
  const nlohmann::json single = to_json(pooled);  // named: items() of a temporary would dangle
  for (auto it = single.begin(); it != single.end(); ++it) m[it.key()] = it.value();
  const bool partial = in.partial();
  if (!in.per_fold.empty()) {
    m["folds"] = in.fold_metrics.is_null() ? nlohmann::json::array() : in.fold_metrics;
    m["summary"] = summarize_folds(in.per_fold);
    m["pooled"] = single;
    m["coverage"] = {{"folds_used", in.folds_used}, {"folds_total", in.folds_total}, {"complete", !partial}};
    if (!in.folds_total_known) m["coverage"]["folds_total_known"] = false;
  }
  m["ci"] = pooled_intervals(in);
  if (!in.per_fold.empty()) {
    const nlohmann::json validation = validation_summary(in.fold_metrics);
    if (!validation.is_null()) m["validation"] = validation;
  }
  const nlohmann::json analysis = analysis_json(in.predictions);
  m["analysis"] = analysis;
  m["warnings"] = in.warnings;
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& f : in.skipped_files) skipped.push_back({{"path", f.path}, {"reason", f.reason}});
  m["skipped_files"] = skipped;
  m["skipped_files_count"] = in.skipped_files.size();

  // Gates are judged on the numbers above; outputs are written whatever their verdict.
  if (!gate_options.fail_under.empty()) {
    const auto g = check_thresholds(m, gate_options.fail_under);
    out.gates.insert(out.gates.end(), g.begin(), g.end());
  }
  if (!gate_options.baseline_path.empty()) {
    const auto g = check_baseline(m, util::read_json(gate_options.baseline_path), gate_options.baseline_path,
                                  gate_options.max_drop);
    out.gates.insert(out.gates.end(), g.begin(), g.end());
  }
  // A gate passed on part of a run would vouch for folds nobody measured.
  if (partial && gate_options.any() && !gate_options.allow_partial) {
    GateResult g;
    g.gate = "fold coverage: " + std::to_string(in.folds_used) + " of " + std::to_string(in.folds_total) +
             " folds (pass --allow-partial to gate on these)";
    g.value = static_cast<double>(in.folds_used) / in.folds_total;
    g.limit = 1.0;
    g.passed = false;
    out.gates.push_back(g);
  }
  // A gate on items the model trained on would vouch for numbers that are not held-out.
  const nlohmann::json overlap = in.header.is_object() ? in.header.value("training_overlap", nlohmann::json()) : nlohmann::json();
  if (overlap.is_object() && gate_options.any() && !gate_options.allow_training_overlap) {
    const std::size_t either = overlap.value("either", std::size_t{0}), items = overlap.value("items", std::size_t{0});
    GateResult g;
    g.limit = 0.0;
    g.passed = false;
    if (!overlap.value("known", false)) {
      g.gate = "training overlap: unknown (" + overlap.value("note", std::string()) +
               "); pass --allow-training-overlap to gate anyway";
      g.value = NAN;
      out.gates.push_back(g);
    } else if (either > 0) {
      g.gate = "training overlap: " + std::to_string(either) + " of " + std::to_string(items) +
               " evaluated items were training items of the model (pass --allow-training-overlap to gate anyway)";
      g.value = static_cast<double>(either);
      out.gates.push_back(g);
    }
  }
  m["gates"] = gates_json(out.gates);
  for (const auto& g : out.gates) out.passed = out.passed && g.passed;
  m["toolkit_version"] = kVersion;

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) fail_runtime(out_dir, "cannot create output folder: " + ec.message());

  std::vector<std::string> plots;
  auto plot = [&](const std::string& name, const std::string& svg) {
    util::write_text_atomic(out_dir + "/" + svg_name(name), svg);
    plots.push_back(svg_name(name));
  };
  plot("confusion", confusion_svg(pooled.confusion, labels, in.title + ": confusion matrix"));
  std::vector<double> recall;
  std::vector<int> support;
  for (const auto& c : pooled.per_class) {
    recall.push_back(c.recall);
    support.push_back(c.support);
  }
  plot("recall", recall_bars_svg(labels, recall, support, in.title + ": recall per class"));
  if (!in.curves.empty()) plot("curves", training_curves_svg(in.curves, in.curve_metric, in.title + ": training"));

  out.report.title = in.title;
  out.report.pooled = pooled;
  out.report.labels = labels;
  out.report.summary = in.per_fold.empty() ? nlohmann::json() : m["summary"];
  out.report.analysis = analysis;
  out.report.gates = out.gates;
  out.report.plots = plots;
  out.report.setup = setup_line(in.header);
  out.report.warnings = in.warnings;
  out.report.ci = m["ci"];
  out.report.skipped_files = in.skipped_files;
  if (in.folds_total > 0) {
    out.report.coverage = std::to_string(in.folds_used) + " of " + (in.folds_total_known ? "" : "at least ") +
                          std::to_string(in.folds_total) + " folds" +
                          (in.folds_total_known ? "" : " (the run does not record its fold total)");
  }
  if (in.header.is_object() && in.header.value("normalize", "") == "speaker") m["normalization_note"] = kSpeakerNormalisedNote;
  if (in.fold_metrics.is_array()) {
    for (const auto& fm : in.fold_metrics) {
      if (!fm.contains("search")) continue;
      if (!out.report.selection.is_array()) out.report.selection = nlohmann::json::array();
      out.report.selection.push_back({{"fold", fm.value("fold", 0)}, {"chosen", fm["search"]["chosen"]},
                                      {"inner_uar", fm["search"].value("inner_uar", 0.0)}});
    }
  }

  util::write_text_atomic(out_dir + "/predictions.csv", predictions_csv(in.predictions));
  util::write_text_atomic(out_dir + "/confusion.csv", confusion_csv(pooled, labels));
  util::write_text_atomic(out_dir + "/confusion_normalized.csv", normalized_confusion_csv(pooled, labels));
  util::write_text_atomic(out_dir + "/report.md", report_markdown(out.report));
  util::write_text_atomic(out_dir + "/metrics.json", m.dump(2) + "\n");
  return out;
}

EvaluationInput read_run(const std::string& run_dir) {
  if (!fs::exists(run_dir)) throw Error(ErrorKind::Usage, run_dir, "no such run directory");
  if (!fs::is_directory(run_dir)) fail_input(run_dir, "not a run directory (a folder written by `ser train`)");
  EvaluationInput in;
  in.title = fs::path(run_dir).filename().string();
  nlohmann::json config;
  if (fs::exists(run_dir + "/config.json")) config = util::read_json(run_dir + "/config.json");
  const std::string monitor = config.is_object() && config.contains("train") ? config["train"].value("monitor", "val_uar") : "val_uar";
  const std::string metric_column = monitor == "val_accuracy" ? "val_accuracy" : "val_uar";
  in.curve_metric = metric_column == "val_accuracy" ? "validation accuracy" : "validation UAR";

  const auto folds = util::numbered_subdirs(run_dir, "fold-");
  std::vector<std::vector<std::string>> fold_tests;  // test ids per finished fold, for duplicates
  in.fold_metrics = nlohmann::json::array();
  int finished = 0;
  std::vector<std::string> missing;
  const std::size_t recorded_total = model::run_fold_count(run_dir);
  in.folds_total_known = recorded_total > 0;
  std::size_t highest = 0;
  for (const auto& [k, dir] : folds) highest = std::max(highest, static_cast<std::size_t>(k));
  std::vector<bool> present(std::max(recorded_total, highest) + 1, false);
  for (const auto& [k, dir] : folds) {
    present[static_cast<std::size_t>(k)] = true;
    if (!fs::exists(dir + "/metrics.json")) {  // unfinished: not part of the aggregate
      missing.push_back("fold-" + std::to_string(k) + " has no metrics.json");
      continue;
    }
    ++finished;
    const nlohmann::json fm = util::read_json(dir + "/metrics.json");
    PredictionTable t = read_predictions_csv(dir + "/predictions.csv");
    if (in.predictions.labels.empty()) {
      in.predictions.labels = t.labels;
      in.predictions.metadata_columns = {"fold"};
    } else if (t.labels != in.predictions.labels) {
      fail_input(dir + "/predictions.csv", "labels differ from the run's first fold");
    }
    // Folds written by different versions may carry different metadata: align by name.
    std::vector<std::size_t> slot;
    for (const auto& c : t.metadata_columns) {
      auto& cols = in.predictions.metadata_columns;
      auto it = std::find(cols.begin(), cols.end(), c);
      if (it == cols.end()) {
        cols.push_back(c);
        for (auto& row : in.predictions.rows) row.metadata.emplace_back();
        it = cols.end() - 1;
      }
      slot.push_back(static_cast<std::size_t>(it - cols.begin()));
    }
    in.per_fold.push_back(table_metrics(t));
    // The fold's numbers are its predictions' (what the summary and pooled numbers are made
    // of); the rest of its metrics.json (best epoch, search, sizes) is kept as written.
    nlohmann::json fold_entry = fm.is_object() ? fm : nlohmann::json::object();
    fold_entry.update(to_json(in.per_fold.back()));
    in.fold_metrics.push_back(fold_entry);
    fold_tests.emplace_back();
    for (const auto& row : t.rows) fold_tests.back().push_back(row.id);
    for (auto& row : t.rows) {
      std::vector<std::string> metadata(in.predictions.metadata_columns.size());
      metadata[0] = std::to_string(k);
      for (std::size_t c = 0; c < slot.size(); ++c) metadata[slot[c]] = std::move(row.metadata[c]);
      row.metadata = std::move(metadata);
      in.predictions.rows.push_back(std::move(row));
    }
    const std::string history = fs::exists(dir + "/selection/history.csv") ? dir + "/selection/history.csv" : dir + "/history.csv";
    if (fs::exists(history)) {
      FoldCurve c = read_history(history, "fold " + std::to_string(k), metric_column);
      c.best_epoch = fm.value("best_epoch", 0);
      in.curves.push_back(std::move(c));
    }
  }
  if (finished == 0) fail_input(run_dir, "no finished fold (fold-K/metrics.json) to evaluate");
  in.header = {{"run", run_dir}};
  if (config.is_object()) {
    if (config.contains("dataset")) in.header["dataset"] = config["dataset"];
    if (config.contains("protocol")) {
      const auto& p = config["protocol"];
      in.header["protocol"] = p.value("name", "");
      const bool by_speaker = p.contains("holdout_test_speakers") && p["holdout_test_speakers"].is_array() &&
                              !p["holdout_test_speakers"].empty();
      in.resample_unit = resample_unit_for(p.value("name", ""), by_speaker);
      const std::string shared = shared_speakers_warning(p.value("name", ""), by_speaker, in.predictions);
      if (!shared.empty()) in.warnings.push_back(shared);
    }
    if (config.contains("train") && config["train"].contains("seed") && config["train"]["seed"].is_number_unsigned()) {
      in.bootstrap_seed = config["train"]["seed"].get<std::uint64_t>();
    }
    if (config.contains("features")) {
      in.header["feature_set"] = config["features"].value("set", "issa193");
      in.header["normalize"] = config["features"].value("normalize", "global");
    }
    if (config.contains("model")) in.header["architecture"] = config["model"].value("architecture", "model_a");
  }
  // What `ser train` recorded of the data beyond the config: the corpora of a cross-corpus run
  // and the classes kept (corpus.json), so a re-aggregation describes the run as training did.
  if (fs::exists(run_dir + "/corpus.json")) {
    const nlohmann::json corpus = util::read_json(run_dir + "/corpus.json");
    if (!corpus.is_object()) fail_input(run_dir + "/corpus.json", "not a JSON object");
    for (const auto& key : {"cross_corpus", "classes"}) {
      if (corpus.contains(key)) in.header[key] = corpus[key];
    }
  }
  for (std::size_t k = 1; k < present.size(); ++k) {
    if (!present[k]) missing.push_back("fold-" + std::to_string(k) + " is missing");
  }
  report_duplicates(run_dir, fold_tests, in);
  // The out-of-distribution thresholds the fold models learnt, and what they flag of held-out
  // speech (each fold's test part): near 1 - quantile when the threshold generalises.
  double alarms = 0, thresholds = 0;
  std::size_t calibrated = 0;
  for (const auto& fm : in.fold_metrics) {
    if (!fm.contains("ood") || !fm["ood"].is_object() || !fm["ood"].contains("test_false_alarm_rate")) continue;
    alarms += fm["ood"]["test_false_alarm_rate"].get<double>();
    thresholds += fm["ood"]["threshold"].get<double>();
    ++calibrated;
  }
  if (calibrated > 0 && calibrated == in.fold_metrics.size()) {
    in.header["ood"] = {{"statistic", "max_abs_z"},
                        {"quantile", in.fold_metrics[0]["ood"].value("quantile", 0.0)},
                        {"mean_threshold", thresholds / static_cast<double>(calibrated)},
                        {"test_false_alarm_rate", alarms / static_cast<double>(calibrated)}};
  }
  in.folds_used = finished;
  in.folds_total = static_cast<int>(present.size()) - 1;
  // Only a recorded total is passed on: a count of folders must never become the record.
  if (in.folds_total_known) in.header["folds_total"] = in.folds_total;
  if (!in.folds_total_known) {
    in.warnings.push_back("the run does not record how many folds it has (no plan.json): " + std::to_string(finished) +
                          " finished fold(s) found, more may be missing");
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    in.missing_folds = list;
    in.warnings.push_back("only " + std::to_string(finished) + " of " + std::to_string(in.folds_total) +
                          " folds are finished (" + list + "): the numbers cover part of the corpus");
  }
  return in;
}

}  // namespace ser::eval
