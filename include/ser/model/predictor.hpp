#pragma once
// A trained model applied to new feature vectors. Loads what `ser train` writes: a model
// directory (model.json, the card with feature set, labels, scaler and architecture, beside the
// weights: model.pt for torch models, classifier.json for classic ones) or a whole run
// directory, whose fold models form an ensemble that averages their probabilities. LibTorch is
// loaded only when a member is a torch model, so classic models predict without it.
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ser/features/bandwidth.hpp"
#include "ser/features/registry.hpp"
#include "ser/model/scoring.hpp"

namespace ser::model {

class Predictor {
 public:
  // `path`: a model directory, its model.pt / classifier.json / model.json, or a run directory
  // (every fold-K/; members must agree on feature set, settings, labels and normalisation).
  // Throws ser::Error (input) naming the file that is missing or inconsistent: a card naming a
  // feature set this build lacks, non-finite scaler values, weights that give non-finite
  // probabilities, or a run with fewer fold models than folds (unless allow_partial).
  static Predictor load(const std::string& path, const std::string& device = "cpu", bool allow_partial = false);

  const std::string& feature_set() const;
  const std::string& feature_fingerprint() const;
  std::size_t dim() const;
  const std::vector<std::string>& labels() const;
  std::size_t members() const;                    // 1 for a single model
  const std::vector<std::string>& sources() const;  // the weight files, in order
  // For a run directory: the folds the run has (members() of them were loaded); 0 otherwise.
  std::size_t folds_expected() const;
  const std::string& architecture() const;        // of the first member
  // "global" or "speaker": with "speaker", predict() standardises each speaker group by its own
  // statistics first (features::normalize_groups) and needs a group per row.
  const std::string& normalize() const;
  bool speaker_normalized() const { return normalize() == "speaker"; }
  // Every member has an out-of-distribution threshold learnt at training (model.json "ood": the
  // 99th percentile of max |z| on held-out training speech); models from before have none.
  bool calibrated() const;
  // The upper analysis frequency the model's features were made with (model.json
  // band_limit_hz, features.fmax; 0: the whole band): make_feature_set(feature_set(), this).
  double band_limit_hz() const;
  // For the feature set "encoder": the checkpoint, layers and pooling (model.json "encoder").
  const features::EncoderOptions& encoder() const;
  // The band its training files covered (model.json "audio"); nullopt for models from before it
  // was recorded. Inputs below it get features::bandwidth_warning.
  std::optional<features::TrainedBand> trained_band() const;

  // rows: n x dim raw (unscaled) features, row-major. groups: one speaker name per row (required
  // for speaker-normalised models, ignored otherwise). Each member standardises with its own
  // scaler; returns n x labels().size() probabilities, the members' averaged. Groups of fewer
  // than 10 rows are listed in small_groups when given. z, when given, gets per row its largest
  // |standardised value| and that feature's index (how far outside the training data the row
  // lies), from the member that finds the row least unusual. A non-finite standardised value or probability throws ser::Error
  // (input) naming the member's model file.
  struct RowZ {
    double max_abs_z = 0;
    std::size_t feature = 0;
    // With calibrated(): the member's learnt threshold and max_abs_z / threshold (> 1: out of
    // distribution); NaN otherwise.
    double threshold = std::numeric_limits<double>::quiet_NaN();
    double score = std::numeric_limits<double>::quiet_NaN();
  };
  std::vector<std::vector<double>> predict(const std::vector<float>& rows, std::size_t n,
                                           const std::vector<std::string>& groups = {},
                                           std::vector<std::string>* small_groups = nullptr,
                                           std::vector<RowZ>* z = nullptr) const;

  Predictor(Predictor&&) noexcept;
  Predictor& operator=(Predictor&&) noexcept;
  ~Predictor();

 private:
  struct Impl;
  explicit Predictor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The out-of-distribution threshold of models trained before thresholds were learnt per model
// (model.json "ood"): RAVDESS training clips with issa193 features stay below it (99th
// percentile 28, 99.9th 44); synthetic speech reaches 1300.
inline constexpr double kOutOfRangeZ = 50.0;
// The name of the block holding feature `index` ("?" past the end).
std::string block_of(const std::vector<features::Block>& blocks, std::size_t index);

// The number of folds of the run in `run_dir`, as its resolved config and protocol make them:
// the folds_total of its plan.json (written by `ser train`), else of its aggregate metrics.json;
// 0 when neither records it. Never counted from the fold folders present.
std::size_t run_fold_count(const std::string& run_dir);

// A classic model file (classifier.json) behind ScoringModel; torch-free.
std::unique_ptr<ScoringModel> load_classic_scoring_model(const std::string& path);

}  // namespace ser::model
