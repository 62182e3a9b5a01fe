// `ser predict`: label and per-class probabilities for audio files, folders or manifests, with a
// model directory or a whole run (fold ensemble). Files need no corpus naming scheme. A file that
// cannot be used is reported on stderr and makes the exit code 1; the others are still printed.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/eval/predictions.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"
#include "ser/model/predictor.hpp"

namespace fs = std::filesystem;

namespace ser::cli {

namespace {

struct PredictArgs {
  std::string model, format = "table", device = "cpu", speaker;
  std::vector<std::string> inputs;
  int jobs = 0;
};

// Files to predict: a file as it is, a folder's audio files (recursively, sorted), a manifest's
// paths (a .csv input). speakers[i]: file i's speaker group (the manifest's speaker column, else
// --speaker), empty when neither says.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs, const std::string& speaker,
                                       std::vector<std::string>& speakers) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    if (fs::is_directory(in)) {
      std::vector<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(in)) {
        if (e.is_regular_file() && data::is_audio_extension(e.path().string())) found.push_back(e.path().string());
      }
      if (found.empty()) fail_input(in, "no audio files found");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::path(in).extension() == ".csv") {
      const data::CorpusIndex index = data::index_manifest(in);
      if (index.items.empty()) fail_input(in, "the manifest lists no items");
      for (const auto& item : index.items) {
        files.push_back(item.path);
        speakers.push_back(item.speaker.empty() ? speaker : item.speaker);
      }
    } else {
      files.push_back(in);  // a missing or unreadable file is reported by the decoder
    }
    speakers.resize(files.size(), speaker);
  }
  return files;
}

std::string json_output(const std::vector<std::string>& files, const std::vector<std::size_t>& ok,
                        const std::vector<std::vector<double>>& probs, const std::vector<std::string>& labels) {
  // ordered: keys keep the model's label order and the field order below.
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (std::size_t r = 0; r < ok.size(); ++r) {
    nlohmann::ordered_json p = nlohmann::ordered_json::object();
    for (std::size_t c = 0; c < labels.size(); ++c) p[labels[c]] = probs[r][c];
    const int best = eval::argmax(probs[r]);
    out.push_back({{"path", files[ok[r]]},
                   {"label", labels[static_cast<std::size_t>(best)]},
                   {"confidence", probs[r][static_cast<std::size_t>(best)]},
                   {"probabilities", p}});
  }
  return out.dump(2) + "\n";
}

std::string table_output(const std::vector<std::string>& files, const std::vector<std::size_t>& ok,
                         const std::vector<std::vector<double>>& probs, const std::vector<std::string>& labels) {
  std::size_t path_width = 4, label_width = 5;
  for (std::size_t i : ok) path_width = std::max(path_width, files[i].size());
  for (const auto& l : labels) label_width = std::max(label_width, l.size());
  std::string out;
  char buf[64];
  auto pad = [](const std::string& s, std::size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); };
  out += pad("file", path_width) + "  " + pad("label", label_width) + "  confidence  runner-up\n";
  for (std::size_t r = 0; r < ok.size(); ++r) {
    std::vector<std::size_t> order(labels.size());
    for (std::size_t c = 0; c < order.size(); ++c) order[c] = c;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return probs[r][x] > probs[r][y]; });
    std::snprintf(buf, sizeof(buf), "%10.3f", probs[r][order[0]]);
    out += pad(files[ok[r]], path_width) + "  " + pad(labels[order[0]], label_width) + "  " + buf + "  ";
    std::snprintf(buf, sizeof(buf), " (%.3f)", probs[r][order[1]]);
    out += labels[order[1]] + buf + "\n";
  }
  return out;
}

int run_predict(const PredictArgs& a) {
  if (a.format != "table" && a.format != "csv" && a.format != "json") {
    throw Error(ErrorKind::Usage, "--format", "'" + a.format + "' is not one of table, csv, json");
  }
  const model::Predictor predictor = model::Predictor::load(a.model, a.device);
  const auto set = features::make_feature_set(predictor.feature_set());
  if (set->settings_fingerprint() != predictor.feature_fingerprint()) {
    fail_input(a.model, "model was trained on " + predictor.feature_set() + " features made with other settings (" +
                            predictor.feature_fingerprint() + ") than this build computes; retrain it");
  }
  std::vector<std::string> speakers;
  const std::vector<std::string> files = expand_inputs(a.inputs, a.speaker, speakers);
  if (predictor.speaker_normalized()) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (speakers[i].empty()) {
        throw Error(ErrorKind::Usage, files[i],
                    "the model is speaker-normalised and this file has no speaker: give --speaker NAME or a manifest "
                    "with a speaker column");
      }
    }
  }
  const features::ComputedFeatures features = features::compute_features(files, *set, a.jobs);
  std::vector<std::string> groups;
  if (predictor.speaker_normalized()) {
    for (std::size_t i : features.ok) groups.push_back(speakers[i]);
  }
  std::vector<std::string> small;
  const auto probs = predictor.predict(features.values, features.ok.size(), groups, &small);
  for (const auto& g : small) {
    spdlog::warn("speaker '{}' has fewer than 10 files: its normalisation statistics are noisy", g);
  }
  const auto& labels = predictor.labels();

  if (a.format == "json") {
    std::fputs(json_output(files, features.ok, probs, labels).c_str(), stdout);
  } else if (a.format == "csv") {
    eval::PredictionTable t;
    t.labels = labels;
    for (std::size_t r = 0; r < features.ok.size(); ++r) {
      eval::PredictionRow row;
      row.id = files[features.ok[r]];
      row.probabilities = probs[r];
      row.pred = eval::argmax(probs[r]);
      t.rows.push_back(std::move(row));
    }
    std::fputs(eval::predictions_csv(t).c_str(), stdout);
  } else {
    std::fputs(table_output(files, features.ok, probs, labels).c_str(), stdout);
  }
  std::fflush(stdout);
  for (const auto& f : features.failures) std::fprintf(stderr, "ser: error: %s: %s\n", f.path.c_str(), f.reason.c_str());
  return features.failures.empty() ? 0 : 1;
}

}  // namespace

void register_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* sub = app.add_subcommand("predict", "Emotion label and class probabilities for audio files");
  sub->add_option("-m,--model", a->model, "Model directory, its model.json, or a run directory (fold ensemble)")->required();
  sub->add_option("inputs", a->inputs, "Audio files, folders (searched recursively) or CSV manifests")->required();
  sub->add_option("-f,--format", a->format, "table | csv | json (default table)");
  sub->add_option("-j,--jobs", a->jobs, "Feature extraction threads (0 = all cores)");
  sub->add_option("--device", a->device, "cpu | cuda | auto");
  sub->add_option("--speaker", a->speaker,
                  "Speaker of the files given (for speaker-normalised models; a manifest's speaker column wins)");
  add_runner("predict", [a]() { return run_predict(*a); });
}

}  // namespace ser::cli
