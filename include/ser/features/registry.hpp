#pragma once
// Named utterance-level feature sets. A trained model records the name and dimension of the set
// it was trained on, so a mismatch is caught before any prediction.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ser/audio/audio.hpp"

namespace ser::features {

struct Block {
  std::string name;   // e.g. "mfcc"
  std::size_t offset;  // first index in the vector
  std::size_t size;
};

class FeatureSet {
 public:
  virtual ~FeatureSet() = default;
  virtual std::string name() const = 0;
  virtual int sample_rate() const = 0;  // the rate audio is loaded at
  virtual std::vector<Block> blocks() const = 0;
  // Settings that change the numbers; part of the extraction cache key.
  virtual std::string settings_fingerprint() const = 0;
  // One vector for one utterance (already loaded at sample_rate()). Throws ser::Error.
  virtual std::vector<float> compute(const audio::Signal& signal) const = 0;
  // The upper analysis frequency in Hz (features.fmax), 0 when the whole band up to
  // sample_rate() / 2 is analysed. Audio is band-limited to it by load_for() before compute().
  virtual double band_limit_hz() const { return 0; }

  // Frame sequences, for sets that have them (features.frames; features/frames.hpp): each frame
  // is one row of frame_width() floats, its columns named by frame_blocks(); frames come
  // frame_rate_hz() apart. No blocks: the set has no frame sequences.
  using FrameSink = std::function<void(const float* rows, std::size_t count)>;
  virtual std::vector<Block> frame_blocks() const { return {}; }
  virtual double frame_rate_hz() const { return 0; }
  // compute(), and the clip's frames handed to `frames` in time order as they are made (a long
  // file never sits in memory whole). Throws ser::Error for a set without frames.
  virtual std::vector<float> compute_with_frames(const audio::Signal& signal, const FrameSink& frames) const;
  // Sets that compute several clips faster together (speech encoders): at most this many per
  // compute_batch() call; 1 = one at a time. A clip's numbers do not depend on its batch
  // beyond float rounding (1e-5).
  virtual std::size_t batch_size() const { return 1; }
  // compute() of each clip, or compute_with_frames() with (*frames)[i] for clip i. The default
  // computes them one by one.
  virtual std::vector<std::vector<float>> compute_batch(const std::vector<const audio::Signal*>& signals,
                                                        const std::vector<FrameSink>* frames) const;
  std::size_t frame_width() const {
    std::size_t d = 0;
    for (const auto& b : frame_blocks()) d += b.size;
    return d;
  }

  std::size_t dim() const {
    std::size_t d = 0;
    for (const auto& b : blocks()) d += b.size;
    return d;
  }
};

// features.encoder: a speech encoder's hidden states as utterance features (feature set
// "encoder"; LibTorch is loaded when such a set is made).
struct EncoderOptions {
  std::string checkpoint;         // a Hugging Face wav2vec2 / HuBERT / WavLM folder
  std::vector<int> layers;        // hidden-state indices 0..L (0: the transformer input); empty: all
  std::string pooling = "mean";   // mean | mean+std, over the clip's frames
  double chunk_seconds = 30;      // longer clips are encoded in chunks (model/encoder.hpp)
  // Frame sequences (features.frames) are the chosen layers side by side, frame by frame.
  int batch = 1;                  // clips per encoder pass (extraction sorts them by length)
  std::string device = "auto";    // cpu | cuda | auto (CUDA when a GPU is usable)
  std::string dtype = "float32";  // float32 | bfloat16 | float16 (CUDA only): the computation's
};

// The [offset, size) column ranges of the blocks `patterns` name (a block name, or a prefix
// ending in '*'), in the set's block order; all columns for no patterns. Throws a config error
// (features.blocks) for a pattern that names no block.
std::vector<std::pair<std::size_t, std::size_t>> block_columns(const std::vector<Block>& blocks,
                                                               const std::vector<std::string>& patterns);

std::vector<std::string> feature_set_names();
// Whether the set named `name` ("encoder", "functionals+encoder") has the encoder as a part:
// making it loads LibTorch and the checkpoint, and its model card records features.encoder.
bool uses_encoder(const std::string& name);
// Throws a config error naming the unknown set and listing the known ones. fmax > 0 band-limits
// the audio to fmax Hz first (features.fmax; a config error unless 1000 <= fmax < the set's
// sample_rate() / 2): the set keeps its name and rate, its fingerprint gains the limit.
std::unique_ptr<FeatureSet> make_feature_set(const std::string& name, double fmax = 0,
                                             const EncoderOptions& encoder = {});

// Decodes `path` for `set`: librosa.load at set.sample_rate(), except that with a band limit a
// file whose rate exceeds 2 x fmax is first resampled to 2 x fmax (soxr HQ), so that a 48 kHz
// recording is analysed over the band a 16 kHz one has. The Signal keeps the file's own rate and
// effective bandwidth. Throws ser::Error naming the file.
audio::Signal load_for(const std::string& path, const FeatureSet& set);

}  // namespace ser::features
