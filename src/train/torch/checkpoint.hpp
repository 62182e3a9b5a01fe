#pragma once
// Resumable state of one fold's training loop (private to src/train). Everything that decides
// the rest of the run is here, so a resumed fold continues bit for bit on the same device.
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ser/model/models.hpp"
#include "ser/train/trainer.hpp"

namespace ser::train::detail {

struct LoopState {
  int epoch = 0;  // epochs completed
  std::int64_t step = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  int best_epoch = 0, since_best = 0, since_plateau_best = 0;
  double plateau_factor = 1.0, plateau_best = -std::numeric_limits<double>::infinity();
  std::vector<EpochRecord> history;
};

// What a checkpoint must agree with to be resumed (a different fold or data is refused).
struct CheckpointShape {
  std::int64_t n_train = 0, n_validation = 0, dim = 0, n_classes = 0;
};

void save_checkpoint(const std::string& path, const CheckpointShape& shape, const LoopState& state,
                     const model::Classifier& net, const model::Classifier* best, torch::optim::Optimizer& optimizer,
                     const torch::Device& device);

// Restores state, weights, optimizer and RNG; `best` is replaced by the stored best model (or
// reset when none was stored). Throws ser::Error naming the file when it does not fit.
void load_checkpoint(const std::string& path, const CheckpointShape& shape, LoopState& state, model::Classifier& net,
                     model::ModelPtr& best, torch::optim::Optimizer& optimizer, const torch::Device& device);

}  // namespace ser::train::detail
