// `ser predict`: label and per-class probabilities for audio files, folders or manifests, with a
// model directory or a whole run (fold ensemble). Files need no corpus naming scheme. A file that
// cannot be used is reported on stderr and makes the exit code 1; the others are still printed.
// Rows whose input lies far outside the training data, or is silent or nearly empty, are flagged
// (the `ood` column and a warning): the model answers them, but the answer means little.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "cli/commands.hpp"
#include "ser/audio/audio.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/eval/predictions.hpp"
#include "ser/features/bandwidth.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"
#include "ser/model/predictor.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/util/parallel.hpp"

namespace fs = std::filesystem;

namespace ser::cli {

namespace {

struct PredictArgs {
  std::string model, format = "table", device = "cpu", speaker, out;
  std::vector<std::string> inputs;
  int jobs = 0;
  double ood_z = model::kOutOfRangeZ;
  bool ood_z_given = false;
  bool allow_partial = false;
};

// Quieter than -60 dBFS at its loudest, or shorter than 0.1 s: nothing a model can judge.
constexpr double kSilentPeak = 1e-3;
constexpr double kShortSeconds = 0.1;

// Why a row's answer means little; empty when it does not.
struct RowFlag {
  double max_abs_z = 0;
  double score = NAN, threshold = NAN;  // max_abs_z over the threshold it was held to
  std::string block, reason;        // reason: the out-of-distribution reasons joined by "; "
  std::vector<std::string> warnings;  // each reason, and what else the row's answer depends on
  features::AudioFacts audio;         // the file's own rate and effective bandwidth
  bool narrow = false;                // below the band the model was trained on
};

// What the JSON output says about the whole call, beside the rows.
struct PredictSummary {
  std::string model;
  std::size_t files = 0, failed = 0;
  std::optional<features::TrainedBand> band;
};

// What a manifest says about its files beyond the path: carried to the output, so a script
// never has to join the predictions back to its manifest.
struct InputFacts {
  std::vector<std::string> speakers;  // per file: the manifest's speaker column, else --speaker
  std::vector<std::string> labels;    // per file: the manifest's label column (may be empty)
  std::vector<std::map<std::string, std::string>> metadata;  // per file: the manifest's other columns
  std::vector<std::string> columns;   // every metadata column of the manifests, first seen first
};

// Files to predict: a file as it is, a folder's audio files (recursively, sorted), a manifest's
// paths (a .csv input), with what the manifests say of them.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs, const std::string& speaker,
                                       InputFacts& facts, std::vector<data::IndexProblem>& unusable_rows) {
  auto& speakers = facts.speakers;
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
      // Prediction needs no labels, and its output follows the manifest's row order.
      const data::CorpusIndex index = data::index_manifest(in, {/*require_label=*/false, /*keep_row_order=*/true});
      if (index.items.empty() && index.problems.empty()) fail_input(in, "the manifest lists no items");
      // Rows the manifest cannot give a file for (ragged, empty path, conflicting duplicates)
      // are errors like unreadable files, never silently fewer outputs.
      unusable_rows.insert(unusable_rows.end(), index.problems.begin(), index.problems.end());
      for (const auto& c : index.metadata_columns) {
        if (std::find(facts.columns.begin(), facts.columns.end(), c) == facts.columns.end()) facts.columns.push_back(c);
      }
      for (const auto& item : index.items) {
        files.push_back(item.path);
        speakers.push_back(item.speaker.empty() ? speaker : item.speaker);
        facts.labels.resize(files.size());
        facts.labels.back() = item.label;
        facts.metadata.resize(files.size());
        facts.metadata.back() = {item.metadata.begin(), item.metadata.end()};
      }
    } else {
      files.push_back(in);  // a missing or unreadable file is reported by the decoder
    }
    speakers.resize(files.size(), speaker);
    facts.labels.resize(files.size());
    facts.metadata.resize(files.size());
  }
  return files;
}

// Format "ser-predictions" version 1 (docs/SCHEMAS.md): the call's facts, then one object per
// predicted file in input order.
std::string json_output(const std::vector<std::string>& files, const std::vector<std::size_t>& ok,
                        const std::vector<std::vector<double>>& probs, const std::vector<std::string>& labels,
                        const std::vector<RowFlag>& flags, const PredictSummary& summary, const InputFacts& inputs) {
  // ordered: keys keep the model's label order and the field order below.
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  std::size_t flagged = 0, narrow = 0;
  for (std::size_t r = 0; r < ok.size(); ++r) {
    flagged += !flags[r].reason.empty();
    narrow += flags[r].narrow;
    nlohmann::ordered_json p = nlohmann::ordered_json::object();
    for (std::size_t c = 0; c < labels.size(); ++c) p[labels[c]] = probs[r][c];
    const int best = eval::argmax(probs[r]);
    items.push_back({{"path", files[ok[r]]},
                   {"label", labels[static_cast<std::size_t>(best)]},
                   {"confidence", probs[r][static_cast<std::size_t>(best)]},
                   {"probabilities", p},
                   {"max_abs_z", flags[r].max_abs_z},
                   {"ood_threshold", flags[r].threshold},
                   {"ood_score", flags[r].score},
                   {"z_block", flags[r].block},
                   {"ood", !flags[r].reason.empty()},
                   {"ood_reason", flags[r].reason},
                   {"native_rate", flags[r].audio.native_rate},
                   {"bandwidth_hz", std::lround(flags[r].audio.bandwidth_hz)},
                   {"below_trained_bandwidth", flags[r].narrow},
                   {"speaker", inputs.speakers[ok[r]]},
                   {"manifest_label", inputs.labels[ok[r]]},
                   {"metadata", inputs.metadata[ok[r]]},
                   {"warnings", flags[r].warnings}});
  }
  nlohmann::ordered_json band = nullptr;
  if (summary.band) band = {{"analysis_band_hz", summary.band->analysis_hz}, {"bandwidth_hz", summary.band->bandwidth_hz}};
  const nlohmann::ordered_json out = {{"format", "ser-predictions"},
                                      {"format_version", 1},
                                      {"model", summary.model},
                                      {"labels", labels},
                                      {"trained_band", band},
                                      {"files", summary.files},
                                      {"predicted", ok.size()},
                                      {"failed", summary.failed},
                                      {"ood", flagged},
                                      {"below_trained_bandwidth", narrow},
                                      {"items", items}};
  return out.dump(2) + "\n";
}

// Terminal columns of a UTF-8 string: one per code point (combining marks and wide CJK glyphs
// aside, which is what most terminals do for Latin, Greek and Cyrillic names).
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string table_output(const std::vector<std::string>& files, const std::vector<std::size_t>& ok,
                         const std::vector<std::vector<double>>& probs, const std::vector<std::string>& labels,
                         const std::vector<RowFlag>& flags) {
  std::size_t path_width = 4, label_width = 5, runner_width = 9;
  for (std::size_t i : ok) path_width = std::max(path_width, display_width(files[i]));
  for (const auto& l : labels) {
    label_width = std::max(label_width, display_width(l));
    runner_width = std::max(runner_width, display_width(l) + 8);
  }
  std::string out;
  char buf[64];
  auto pad = [](const std::string& s, std::size_t w) {
    const std::size_t d = display_width(s);
    return s + std::string(w > d ? w - d : 0, ' ');
  };
  out += pad("file", path_width) + "  " + pad("label", label_width) + "  confidence  " + pad("runner-up", runner_width) +
         "  ood\n";
  for (std::size_t r = 0; r < ok.size(); ++r) {
    std::vector<std::size_t> order(labels.size());
    for (std::size_t c = 0; c < order.size(); ++c) order[c] = c;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return probs[r][x] > probs[r][y]; });
    std::snprintf(buf, sizeof(buf), "%10.3f", probs[r][order[0]]);
    out += pad(files[ok[r]], path_width) + "  " + pad(labels[order[0]], label_width) + "  " + buf + "  ";
    std::snprintf(buf, sizeof(buf), " (%.3f)", probs[r][order[1]]);
    std::string note = flags[r].reason;
    if (flags[r].narrow) {
      note += (note.empty() ? "" : "; ") + std::string("narrow band (") +
              std::to_string(std::lround(flags[r].audio.bandwidth_hz)) + " Hz)";
    }
    std::string line = pad(labels[order[1]] + buf, runner_width) + "  " + note;
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

// Fails before any audio is decoded when `path` cannot be written (the output is written last).
void check_writable(const std::string& path) {
  if (fs::is_directory(path)) fail_input(path, "--out names a folder; give a file name");
  const fs::path parent = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  if (!fs::is_directory(parent)) fail_input(path, "cannot write the output: folder " + parent.string() + " does not exist");
  const std::string probe = (parent / (".ser-write-check-" + std::to_string(::getpid()))).string();
  { std::ofstream f(probe); if (!f) fail_input(path, "cannot write the output: folder " + parent.string() + " is not writable"); }
  std::error_code ec;
  fs::remove(probe, ec);
}

// Per row: the largest |z| and its block, and why the answer means little (far outside the
// training data, silent, nearly empty). Reads each file again: decoding costs little next to
// feature extraction, and the feature code keeps no signal statistics.
// ood_z > 0: the fixed threshold --ood-z gives; 0: each model's learnt one (RowZ::threshold).
std::vector<RowFlag> flag_rows(const std::vector<std::string>& files, const std::vector<std::size_t>& ok,
                               const std::vector<model::Predictor::RowZ>& z, const features::FeatureSet& set,
                               double ood_z, int jobs) {
  std::vector<RowFlag> flags(ok.size());
  const auto blocks = set.blocks();
  util::parallel_for(ok.size(), util::resolve_jobs(jobs, ok.size()), [&](std::size_t r) {
    RowFlag& f = flags[r];
    f.max_abs_z = z[r].max_abs_z;
    f.block = model::block_of(blocks, z[r].feature);
    f.threshold = ood_z > 0 ? ood_z : z[r].threshold;
    f.score = f.max_abs_z / f.threshold;
    std::vector<std::string> why;
    if (f.score > 1) {
      why.push_back("|z| " + util::format_double("%.1f", f.max_abs_z) + " in block " + f.block + " (over " +
                    (ood_z > 0 ? "--ood-z " : "the model's learnt ") + util::format_double("%.1f", f.threshold) + ")");
    }
    try {
      const audio::Signal s = audio::read_mono(files[ok[r]]);
      float peak = 0;
      for (float v : s.samples) peak = std::max(peak, std::fabs(v));
      if (s.duration_seconds() < kShortSeconds) {
        why.push_back("nearly empty (" + std::to_string(s.samples.size()) + " samples)");
      } else if (peak < kSilentPeak) {
        why.push_back("silent (peak " + util::format_double("%.1f", 20 * std::log10(std::max(peak, 1e-10f))) + " dBFS)");
      }
    } catch (const std::exception&) {
      // decoded once already; a second failure changes nothing about the prediction
    }
    for (const auto& w : why) f.reason += (f.reason.empty() ? "" : "; ") + w;
    f.warnings = why;
  });
  return flags;
}

int run_predict(const PredictArgs& a) {
  if (a.format != "table" && a.format != "csv" && a.format != "json") {
    throw Error(ErrorKind::Usage, "--format", "'" + a.format + "' is not one of table, csv, json");
  }
  if (a.jobs < 0) throw Error(ErrorKind::Usage, "--jobs", "must be >= 0 (0 = all cores)");
  if (!(a.ood_z > 0)) throw Error(ErrorKind::Usage, "--ood-z", "must be a number > 0");
  if (!a.out.empty()) check_writable(a.out);
  const model::Predictor predictor = model::Predictor::load(a.model, a.device, a.allow_partial);
  const auto set = features::make_feature_set(predictor.feature_set(), predictor.band_limit_hz(), predictor.encoder());
  if (set->settings_fingerprint() != predictor.feature_fingerprint()) {
    fail_input(a.model, "model was trained on " + predictor.feature_set() + " features made with other settings (" +
                            predictor.feature_fingerprint() + ") than this build computes; retrain it");
  }
  InputFacts inputs;
  std::vector<data::IndexProblem> unusable_rows;
  const std::vector<std::string> files = expand_inputs(a.inputs, a.speaker, inputs, unusable_rows);
  const auto& speakers = inputs.speakers;
  if (files.empty()) {
    for (const auto& p : unusable_rows) std::fprintf(stderr, "ser: error: %s: %s\n", p.path.c_str(), p.reason.c_str());
    return 1;
  }
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
  std::vector<model::Predictor::RowZ> z;
  const auto probs = predictor.predict(features.values, features.ok.size(), groups, &small, &z);
  for (const auto& g : small) {
    spdlog::warn("speaker '{}' has fewer than 10 files: its normalisation statistics are noisy", g);
  }
  const auto& labels = predictor.labels();
  // The model's learnt threshold unless --ood-z is given (or the model predates them: 50).
  const double fixed_z = a.ood_z_given ? a.ood_z : predictor.calibrated() ? 0.0 : model::kOutOfRangeZ;
  std::vector<RowFlag> flags = flag_rows(files, features.ok, z, *set, fixed_z, a.jobs);
  if (!small.empty()) {
    for (std::size_t r = 0; r < features.ok.size(); ++r) {
      if (std::find(small.begin(), small.end(), groups[r]) == small.end()) continue;
      flags[r].warnings.push_back("speaker '" + groups[r] + "' has fewer than 10 files: its normalisation statistics are noisy");
    }
  }
  for (std::size_t r = 0; r < flags.size(); ++r) {
    if (flags[r].reason.empty()) continue;
    spdlog::warn("{}: {}: the label means little", files[features.ok[r]], flags[r].reason);
  }
  // Inputs that cover less of the spectrum than the training audio did (a 16 kHz or telephone
  // recording given to a model trained on 48 kHz audio analysed up to 11 kHz).
  const auto band = predictor.trained_band();
  std::size_t narrow = 0;
  for (std::size_t r = 0; r < flags.size(); ++r) {
    flags[r].audio = features.audio[r];
    const std::string w = band ? features::bandwidth_warning(features.audio[r], *band) : "";
    if (w.empty()) continue;
    flags[r].narrow = true;
    flags[r].warnings.push_back(w);
    ++narrow;
    spdlog::warn("{}: {}", files[features.ok[r]], w);
  }
  if (narrow) {
    spdlog::warn("{} of {} file(s) have less bandwidth than the {} Hz the model was trained on: their labels are "
                 "unreliable (train with features.fmax at or below their band, e.g. 8000 for 16 kHz audio)",
                 narrow, flags.size(), std::lround(band->bandwidth_hz));
  }

  std::string text;
  if (a.format == "json") {
    text = json_output(files, features.ok, probs, labels, flags,
                       {a.model, files.size() + unusable_rows.size(), features.failures.size() + unusable_rows.size(), band},
                       inputs);
  } else if (a.format == "csv") {
    eval::PredictionTable t;
    t.labels = labels;
    // The same fields as the JSON rows: `ood` is true/false, `ood_reason` says why.
    // The manifests' speaker and own columns first, as in a run's predictions.csv; `true` holds a
    // manifest's label when it is one of the model's.
    t.metadata_columns = {"speaker"};
    t.metadata_columns.insert(t.metadata_columns.end(), inputs.columns.begin(), inputs.columns.end());
    for (const char* c : {"max_abs_z", "z_block", "ood_threshold", "ood_score", "ood", "ood_reason", "native_rate",
                          "bandwidth_hz", "below_trained_bandwidth", "warnings"}) {
      t.metadata_columns.push_back(c);
    }
    for (std::size_t r = 0; r < features.ok.size(); ++r) {
      eval::PredictionRow row;
      row.id = files[features.ok[r]];
      row.probabilities = probs[r];
      row.pred = eval::argmax(probs[r]);
      std::string warnings;
      for (const auto& w : flags[r].warnings) warnings += (warnings.empty() ? "" : "; ") + w;
      const std::size_t i = features.ok[r];
      const auto known = std::find(labels.begin(), labels.end(), inputs.labels[i]);
      if (known != labels.end()) row.truth = static_cast<int>(known - labels.begin());
      row.metadata = {inputs.speakers[i]};
      for (const auto& c : inputs.columns) {
        const auto it = inputs.metadata[i].find(c);
        row.metadata.push_back(it == inputs.metadata[i].end() ? std::string() : it->second);
      }
      const std::vector<std::string> flag_fields = {util::format_double("%.2f", flags[r].max_abs_z), flags[r].block,
                      util::format_double("%.2f", flags[r].threshold), util::format_double("%.3f", flags[r].score),
                      flags[r].reason.empty() ? "false" : "true", flags[r].reason,
                      std::to_string(flags[r].audio.native_rate), std::to_string(std::lround(flags[r].audio.bandwidth_hz)),
                      flags[r].narrow ? "true" : "false", warnings};
      row.metadata.insert(row.metadata.end(), flag_fields.begin(), flag_fields.end());
      t.rows.push_back(std::move(row));
    }
    text = eval::predictions_csv(t);
  } else {
    text = table_output(files, features.ok, probs, labels, flags);
  }
  if (a.out.empty()) {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  } else {
    util::write_text_atomic(a.out, text);
  }
  for (const auto& p : unusable_rows) std::fprintf(stderr, "ser: error: %s: %s\n", p.path.c_str(), p.reason.c_str());
  for (const auto& f : features.failures) std::fprintf(stderr, "ser: error: %s: %s\n", f.path.c_str(), f.reason.c_str());
  return features.failures.empty() && unusable_rows.empty() ? 0 : 1;
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
  sub->add_option("-o,--out", a->out, "Write the output to this file instead of stdout (checked before any work)");
  auto* ood_z = sub->add_option("--ood-z", a->ood_z,
                                "Flag rows whose largest |standardised feature| exceeds this fixed value instead of the "
                                "threshold each model learnt at training (models without one: 50)");
  sub->add_flag("--allow-partial", a->allow_partial, "Ensemble a run that lacks some fold models (k of n is reported)");
  sub->add_option("--speaker", a->speaker,
                  "Speaker of the files given (for speaker-normalised models; a manifest's speaker column wins)");
  add_runner("predict", [a, ood_z]() {
    a->ood_z_given = ood_z->count() > 0;
    return run_predict(*a);
  });
}

}  // namespace ser::cli
