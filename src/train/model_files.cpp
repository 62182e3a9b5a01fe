// The files beside a trained model's weights (private to src/train): what `ser predict` and
// `ser evaluate --model` need to use it, and what an evaluation needs to tell held-out items
// from training items.
#include <nlohmann/json.hpp>

#include <filesystem>

#include "experiment.hpp"
#include "run_files.hpp"
#include "ser/eval/overlap.hpp"
#include "ser/features/bandwidth.hpp"
#include "ser/util/files.hpp"

namespace ser::train::detail {

namespace {

// The items of the corpus a model learnt from: every one but its fold's test items (validation
// items chose its epoch; copies are made from training items). `test` empty: all of them.
std::string training_items_csv(const Experiment& ex, const std::vector<std::size_t>& test) {
  std::vector<char> held_out(ex.content.size(), 0);
  for (std::size_t i : test) held_out[i] = 1;
  std::vector<eval::ContentRecord> learnt;
  for (std::size_t i = 0; i < ex.content.size(); ++i) {
    if (!held_out[i]) learnt.push_back(ex.content[i]);
  }
  return eval::content_records_csv(learnt);
}

// The audio facts of the files a model learnt from (as training_items_csv); none for a store
// written before they were recorded.
std::vector<features::AudioFacts> training_audio(const Experiment& ex, const std::vector<std::size_t>& test) {
  if (ex.table.audio.size() != ex.table.items.size()) return {};
  std::vector<char> held_out(ex.table.audio.size(), 0);
  for (std::size_t i : test) held_out[i] = 1;
  std::vector<features::AudioFacts> out;
  for (std::size_t i = 0; i < ex.table.audio.size(); ++i) {
    if (!held_out[i]) out.push_back(ex.table.audio[i]);
  }
  return out;
}

}  // namespace

void write_model_files(const Experiment& ex, const std::string& dir, const FoldResult& r, const TrainConfig& tc,
                       const features::FoldNormalization* norm, const std::vector<std::size_t>& test,
                       const nlohmann::json& ood) {
  util::write_text_atomic(dir + "/scaler.json", r.scaler.to_json().dump(2) + "\n");
  util::write_text_atomic(dir + "/" + eval::kTrainingItemsFile, training_items_csv(ex, test));
  if (!train::is_classic(tc.model.architecture)) util::write_text_atomic(dir + "/history.csv", history_csv(r.history));
  auto card = model_card(ex.set->name(), ex.set->settings_fingerprint(), ex.table.dim, ex.labels, r.scaler);
  card["architecture"] = tc.model.architecture;
  card["weights"] = train::weights_file(tc.model.architecture);
  card["normalize"] = ex.speaker_norm ? "speaker" : "global";
  card["band_limit_hz"] = ex.set->band_limit_hz();
  card["audio"] = features::trained_band_json(*ex.set, training_audio(ex, test));
  if (features::uses_encoder(ex.set->name())) {
    // What `ser predict` needs to remake the features: the checkpoint (absolute, so the model
    // works from any folder) and the layers and pooling; the fingerprint holds its content hash.
    const auto& e = ex.cfg.features.encoder;
    std::error_code ec;
    nlohmann::json layers = e.layers.empty() ? nlohmann::json("all") : nlohmann::json(e.layers);
    card["encoder"] = {{"checkpoint", std::filesystem::absolute(e.checkpoint, ec).lexically_normal().string()},
                       {"layers", layers},
                       {"pooling", e.pooling},
                       {"chunk_seconds", e.chunk_seconds},
                       {"dtype", e.dtype}};
  }
  if (!ex.cfg.features.blocks.empty()) {
    // The model sees only these columns of the set's vector; the predictor selects them.
    nlohmann::json ranges = nlohmann::json::array();
    for (const auto& [off, size] : features::block_columns(ex.set->blocks(), ex.cfg.features.blocks)) {
      ranges.push_back({off, size});
    }
    card["feature_columns"] = {{"input_dim", ex.set->dim()}, {"ranges", ranges}, {"blocks", ex.cfg.features.blocks}};
  }
  if (!ood.is_null()) card["ood"] = ood;  // the out-of-distribution threshold learnt for this model
  if (ex.speaker_norm && norm) {
    // The training speakers' statistics, for reference: new audio is normalised by its own groups.
    nlohmann::json stats = nlohmann::json::object();
    for (const auto& [speaker, st] : norm->training) stats[speaker] = features::to_json(st);
    card["training_speaker_stats"] = stats;
  }
  util::write_text_atomic(dir + "/model.json", card.dump(2) + "\n");
}

}  // namespace ser::train::detail
