#pragma once
// The feature set "encoder": a speech encoder's hidden states (model/encoder.hpp) pooled over
// the clip's frames, one block per chosen layer and statistic ("layer08.mean", "layer08.std").
#include <memory>

#include "ser/features/registry.hpp"

namespace ser::features {

// Loads the encoder (through the LibTorch backend). Throws ser::Error (config, subject
// features.encoder.*) for a missing checkpoint, a layer outside 0..L, or an unknown pooling;
// the folder's own problems are named by the loader.
std::unique_ptr<FeatureSet> make_encoder_set(const EncoderOptions& options);

}  // namespace ser::features
