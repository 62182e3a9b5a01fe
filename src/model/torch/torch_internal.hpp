#pragma once
// Entry points of the LibTorch backend that backend_export.cpp collects into its table.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "ser/model/scoring.hpp"
#include "ser/train/trainer.hpp"

namespace ser::model {
torch::Device predictor_device(const std::string& device);
std::unique_ptr<ScoringModel> load_torch_scoring_model(const std::string& model_pt, const std::string& device);
}  // namespace ser::model

namespace ser::train {
// The torch trainer (train/torch/trainer.cpp); train::train_fold dispatches here for torch models.
FoldResult train_fold_torch(const std::vector<float>& rows, std::size_t dim, const std::vector<int>& labels,
                            int n_classes, const data::Fold& fold, const TrainConfig& cfg, const FoldOptions& options);
std::string resolve_torch_device(const std::string& requested);
}  // namespace ser::train
