#pragma once
// Files of a run directory (private to src/train): writing a fold's outputs and comparing a
// stored config with the current one. The aggregate reads the folds back through eval::read_run.
#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "ser/config/config.hpp"
#include "ser/data/corpus.hpp"
#include "ser/data/protocols.hpp"
#include "ser/eval/overlap.hpp"
#include "ser/train/trainer.hpp"

namespace ser::train::detail {

// What a model directory needs besides model.pt so the model can be used on new audio.
nlohmann::json model_card(const std::string& feature_set, const std::string& fingerprint, std::size_t dim,
                          const std::vector<std::string>& labels, const features::StandardScaler& scaler);

std::string history_csv(const std::vector<EpochRecord>& history);
// predictions.csv (eval/predictions.hpp) of a fold's test part, with the speaker and the corpus
// metadata columns beside each prediction for per-group breakdowns.
std::string predictions_csv(const std::vector<data::Item>& items, const std::vector<std::size_t>& test,
                            const std::vector<int>& truth, const FoldResult& r, const std::vector<std::string>& labels,
                            const std::vector<std::string>& metadata_columns);

// First key (dotted) whose value differs between two resolved configs, ignoring settings that do
// not change results (threads, jobs, cache, device) and where the run lives (name, runs_dir);
// empty when they agree.
// For classic models (both configs classic, no search over the architecture) the torch-only keys
// (torch_only_keys) are ignored too: they cannot change a classic run's results.
std::string config_difference(const nlohmann::json& stored, const nlohmann::json& current);


// config.json is a run's identity: a re-run with the same config resumes, another is refused
// (unless fresh, which removes what earlier runs left: folds, repeats, final model, aggregate).
void claim_run_directory(const std::string& run_dir, const nlohmann::json& resolved, bool fresh);

// Each item's content record: hashed from its file, or, for a run from a feature store (a fold
// process, a node without the corpus), read from the run's items.csv; a file that is neither
// readable nor recorded keeps its id only.
std::vector<eval::ContentRecord> item_content(const config::Config& cfg, const std::string& run_dir,
                                              const std::vector<data::Item>& items);
// <run>/items.csv, rewritten only when it changes (the fold jobs of one run agree).
void write_item_content(const std::string& run_dir, const std::vector<eval::ContentRecord>& content);

// A corpus that is not there (unless the run trains from a feature store) is a usage mistake,
// found before the run directory is made, so a failed start leaves nothing behind.
void require_corpus(const config::Config& cfg);

// <run>/plan.json: how many folds the resolved config and protocol make (what coverage is
// measured against, whichever fold folders exist), the protocol, the labels and the corpus as an
// absolute path. Written when the folds are laid out, by every `ser train` of the run (a job
// array's `--fold K` included); rewritten only when it changes.
void write_run_plan(const std::string& run_dir, const config::Config& cfg, const std::vector<data::Fold>& folds,
                    const std::vector<std::string>& labels);

}  // namespace ser::train::detail
