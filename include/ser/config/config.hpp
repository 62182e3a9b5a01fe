#pragma once
// JSON config -> typed structs. Every key is checked against the known schema, so a typo is an
// error naming the key (with a suggestion) rather than a silently ignored setting.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "ser/data/protocols.hpp"
#include "ser/features/registry.hpp"
#include "ser/train/trainer.hpp"

namespace ser::config {

struct FeatureConfig {
  std::string set = "issa193";
  std::string out;   // output folder for features.npy/index.csv/meta.json
  int jobs = 0;      // 0 = all cores
  bool cache = true;
  std::string cache_dir;  // default: <out>/cache
  // Train on the store already in `out` (written by `ser extract`) without reading any audio:
  // e.g. on a GPU node that has the features but not the corpus.
  bool from_store = false;
  // global: one scaler fitted on the training rows. speaker: each speaker standardised by its
  // own statistics first (features/speaker_norm.hpp); transductive for test speakers.
  std::string normalize = "global";
  // Upper analysis frequency in Hz; 0 analyses the whole band up to the set's rate / 2 (11025 Hz).
  // 8000 analyses what every 16 kHz recording holds: audio above 16 kHz is resampled to 16 kHz
  // first (features::load_for), so the band a 16 kHz input lacks is empty in training too.
  double fmax = 0;
  // Feature set "encoder": checkpoint, layers ("all" or a list), pooling, chunk_seconds.
  features::EncoderOptions encoder;
  // Train on these blocks of the set's vector only (names as in meta.json, or a prefix ending in
  // '*', e.g. "layer08.*"); empty: all. The store keeps every block, so a sweep over blocks
  // (an encoder's layers) extracts once. The model card records the columns.
  std::vector<std::string> blocks;
  // Also write the store's frame sequences (features/frames.hpp), for sets that have them.
  bool frames = false;
};

// Training-time augmentation: every recipe (augment.hpp's grammar) makes `copies` copies of each
// training item of each fold, after the split; validation and test items are never copied.
// Seeded by train.seed.
struct AugmentConfig {
  std::vector<std::string> ops;  // recipes, e.g. "speed=0.9|1.1", "noise:snr_db=10..30"
  int copies = 1;
};

struct Config {
  std::string name;      // run name (defaults to the dataset)
  std::string dataset;   // ravdess | emodb | manifest
  std::string root;      // corpus root (ravdess, emodb)
  std::string manifest;  // CSV manifest (dataset = manifest)
  FeatureConfig features;
  data::ProtocolConfig protocol;  // "protocol" section
  train::TrainConfig train;       // "train" and "model" sections; train.seed also seeds the folds
  AugmentConfig augment;
  std::string runs_dir = "runs";  // run directories go to <runs_dir>/<name>
  // Corpus label -> model label, for evaluating a model on another corpus (`ser evaluate`);
  // e.g. {"anger": "angry"}. Labels not mapped are used as they are.
  std::map<std::string, std::string> label_map;
  // The classes to train on, in this order (after label_map); items of other labels are left
  // out and counted. Empty: every label of the corpus. E.g. Emo-DB on the six classes it shares
  // with RAVDESS, for a within-corpus run that pairs with a cross-corpus one in `ser compare`.
  std::vector<std::string> classes;
};

// Reads and validates a config file. Throws ser::Error (config kind) naming the file and key.
Config load_config(const std::string& path);
// Parses an already-loaded JSON document; `origin` names it in errors.
Config parse_config(const nlohmann::json& doc, const std::string& origin);
// Applies "dotted.key=value" (value parsed as JSON, else taken as a string).
void apply_override(nlohmann::json& doc, const std::string& assignment);
// Checks the combination of settings (dataset known, root or manifest given, ...).
void validate(const Config& cfg, const std::string& origin);
// validate, and everything a training run needs whatever the data (`ser train` calls it before
// reading or writing anything): protocol, model and train ranges and names, every train.search point.
void validate_training(const Config& cfg, const std::string& origin);
nlohmann::json to_json(const Config& cfg);

// A settable key of the schema ("train.epochs"; not a section like "train"), and the
// " (did you mean 'x'?)" for a near miss ("" when nothing is near).
bool is_setting_key(const std::string& key);
std::string key_suggestion(const std::string& key);

// Sets "dotted.key" in a JSON document to value (creating objects on the way).
void apply_value(nlohmann::json& doc, const std::string& key, const nlohmann::json& value);
// The points of train.search, the cartesian product of its lists in key order; one empty point
// when there is no search.
std::vector<nlohmann::json> search_points(const train::TrainConfig& cfg);
// `base` with one search point's values set (and no search), re-parsed so every value is
// checked; throws ser::Error (config) naming the point.
Config with_point(const Config& base, const nlohmann::json& point);

}  // namespace ser::config
