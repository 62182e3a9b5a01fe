// `ser evaluate`: re-aggregate a run (--run) or apply a model to a corpus (--model), write every
// output (metrics.json, confusion CSVs, predictions.csv, report.md, SVG plots), then apply the CI
// gates: a failing gate exits with eval::kGateExitCode after all outputs are written.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "cli/commands.hpp"
#include "ser/config/config.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/eval/analysis.hpp"
#include "ser/eval/evaluate.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"
#include "ser/model/predictor.hpp"

namespace fs = std::filesystem;

namespace ser::cli {

namespace {

struct EvaluateArgs {
  std::string run, model, config_path, dataset, root, manifest, map, out, fail_under, baseline, device = "cpu";
  double max_drop = -1;
  int jobs = 0;
  bool no_progress = false;
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
  config::validate(cfg, origin);
  std::map<std::string, std::string> label_map = cfg.label_map;
  if (!a.map.empty()) {
    for (const auto& [from, to] : parse_map(a.map)) label_map[from] = to;  // the flag wins
  }

  const model::Predictor predictor = model::Predictor::load(a.model, a.device);
  const auto set = features::make_feature_set(predictor.feature_set());
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
  features::ExtractOptions ex;
  ex.out_dir = cfg.features.out;
  ex.jobs = a.jobs;
  ex.progress = !a.no_progress;
  const auto extracted = features::extract_corpus(index, *set, ex);
  for (const auto& f : extracted.failures) spdlog::warn("{}: {} (skipped)", f.path, f.reason);
  const features::FeatureTable table = features::read_feature_store(cfg.features.out);

  eval::EvaluationInput in;
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
    for (const auto& [l, n] : skipped) text += (text.empty() ? "" : ", ") + l + " " + std::to_string(n);
    spdlog::warn("skipped items whose label is not one of the model's (map them with --map src=dst): {}", text);
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
  const auto probs = predictor.predict(rows, kept.size(), groups, &small);
  for (const auto& g : small) spdlog::warn("speaker '{}' has fewer than 10 items: its normalisation statistics are noisy", g);
  for (std::size_t r = 0; r < kept.size(); ++r) {
    in.predictions.rows[r].probabilities = probs[r];
    in.predictions.rows[r].pred = eval::argmax(probs[r]);
  }
  in.header = {{"model", a.model},
               {"members", predictor.members()},
               {"dataset", cfg.dataset},
               {"feature_set", predictor.feature_set()},
               {"normalize", predictor.normalize()},
               {"architecture", predictor.architecture()}};
  if (!label_map.empty()) in.header["label_map"] = label_map;
  nlohmann::json skipped_json = nlohmann::json::object();
  for (const auto& [l, n] : skipped) skipped_json[l] = n;
  in.header["skipped_labels"] = skipped_json;
  return in;
}

int run_evaluate(const EvaluateArgs& a) {
  if (a.run.empty() == a.model.empty()) throw Error(ErrorKind::Usage, "evaluate", "give exactly one of --run DIR or --model M");
  eval::GateOptions gates;
  if (!a.fail_under.empty()) gates.fail_under = eval::parse_fail_under(a.fail_under);
  if (a.max_drop >= 0 && a.baseline.empty()) throw Error(ErrorKind::Usage, "--max-drop", "needs --baseline FILE");
  if (!a.baseline.empty()) {
    if (!fs::exists(a.baseline)) fail_input(a.baseline, "baseline metrics file not found");
    gates.baseline_path = a.baseline;
    gates.max_drop = a.max_drop >= 0 ? a.max_drop : 0.0;
    if (a.max_drop > 1) throw Error(ErrorKind::Usage, "--max-drop", "must be between 0 and 1");
  }

  std::string out = a.out;
  eval::EvaluationInput in;
  if (!a.run.empty()) {
    if (out.empty()) out = a.run;
    in = eval::read_run(a.run);
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
  const eval::EvaluationOutput result = eval::write_evaluation(in, gates, out);

  if (isatty(STDOUT_FILENO)) {
    std::fputs(eval::terminal_table(result.report).c_str(), stdout);
  } else {
    const auto& pooled = result.report.pooled;
    std::printf("%s: accuracy %.4f, UAR %.4f, macro-F1 %.4f over %d item(s)\n", in.title.c_str(), pooled.accuracy,
                pooled.balanced_accuracy, pooled.macro_f1, pooled.n);
    if (!result.report.setup.empty()) std::printf("  %s\n", result.report.setup.c_str());
  }
  for (const auto& g : result.gates) {
    std::printf("gate %s: %s (%.4f)\n", g.passed ? "passed" : "FAILED", g.gate.c_str(), g.value);
  }
  std::printf("wrote %s/{metrics.json, report.md, predictions.csv, confusion.csv, *.svg}\n", out.c_str());
  if (!result.passed) {
    std::fprintf(stderr, "ser: error: %s: a gate failed (exit code %d)\n", out.c_str(), eval::kGateExitCode);
    return eval::kGateExitCode;
  }
  return 0;
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
  sub->add_option("--fail-under", a->fail_under, "Gate: minimum values, e.g. uar=0.60,accuracy=0.70");
  sub->add_option("--baseline", a->baseline, "Gate: a metrics.json to compare against");
  sub->add_option("--max-drop", a->max_drop, "Gate: largest allowed drop against --baseline (default 0)");
  sub->add_option("-j,--jobs", a->jobs, "Extraction threads (0 = all cores)");
  sub->add_option("--device", a->device, "cpu | cuda | auto, for --model");
  sub->add_flag("--no-progress", a->no_progress, "No progress bar during feature extraction");
  add_runner("evaluate", [a]() { return run_evaluate(*a); });
}

}  // namespace ser::cli
