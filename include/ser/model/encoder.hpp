#pragma once
// A speech encoder (wav2vec2, HuBERT, WavLM from a Hugging Face folder) as torch-free code sees
// it: load through the LibTorch backend, then hidden states per layer as plain float matrices.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ser/model/checkpoint.hpp"

namespace ser::model {

struct EncodedClip {
  std::size_t frames = 0, width = 0;       // width = hidden_size
  std::vector<std::vector<float>> hidden;  // hidden_states[0..L], each frames x width, row-major
  std::size_t cnn_width = 0;
  std::vector<float> cnn;                  // the feature extractor's output, frames x cnn_width
};

class SpeechEncoderModel {
 public:
  virtual ~SpeechEncoderModel() = default;
  virtual const EncoderConfig& config() const = 0;
  virtual std::int64_t parameter_count() const = 0;
  virtual std::string device() const = 0;  // where it computes: "cpu" or "cuda"
  // One clip at config().sampling_rate. Audio longer than chunk_seconds (> 0) is encoded in
  // chunks (see encode_chunked in the backend: README, "Speech encoders"). Thread-safe.
  virtual EncodedClip encode(const std::vector<float>& samples, double chunk_seconds) const = 0;
  // The same frames, of the chosen hidden states only, handed to `sink` in time order one span
  // (one chunk's kept frames) at a time, so that memory stays that of one chunk however long the
  // clip: span.layers[i] is span.frames x width for layers[i], row-major. Thread-safe.
  struct Span {
    std::size_t frames = 0, width = 0;
    std::vector<const float*> layers;
  };
  virtual void encode_spans(const std::vector<float>& samples, double chunk_seconds, const std::vector<int>& layers,
                            const std::function<void(const Span&)>& sink) const = 0;
  // Several clips at once: those up to chunk_seconds share one transformer pass (padded, the
  // padding masked out of attention: each clip's frames equal its own pass to float rounding),
  // longer ones are chunked alone. sink(i, span) gets clip i's spans in time order.
  virtual void encode_spans_batch(const std::vector<const std::vector<float>*>& clips, double chunk_seconds,
                                  const std::vector<int>& layers,
                                  const std::function<void(std::size_t, const Span&)>& sink) const = 0;
};

// Loads `dir` through the LibTorch backend (opening it). Throws ser::Error naming the folder,
// file or tensor.
// device: "cpu", "cuda" or "auto" (CUDA when a GPU is usable); dtype: "float32", "bfloat16" or
// "float16" (CUDA only) for the computation; hidden states come back as float32 either way.
std::unique_ptr<SpeechEncoderModel> load_speech_encoder(const std::string& dir, const std::string& device = "cpu",
                                                        const std::string& dtype = "float32");

}  // namespace ser::model
