#pragma once
// wav2vec2, HuBERT and WavLM encoders in LibTorch, inference only, from a Hugging Face model
// folder (model/checkpoint.hpp reads config.json and model.safetensors; pytorch_model.bin is
// unpickled here). The computation follows the Hugging Face modules layer by layer, so that every
// hidden state equals theirs (and torchaudio's) on the same weights.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "ser/model/checkpoint.hpp"
#include "ser/model/encoder.hpp"

namespace ser::model {

class SpeechEncoder {
 public:
  // Throws ser::Error naming the folder, file or tensor for anything it cannot use.
  static SpeechEncoder load(const std::string& dir);
  SpeechEncoder(EncoderConfig config, const std::map<std::string, CheckpointTensor>& tensors);

  struct Output {
    torch::Tensor cnn;                  // frames x conv_dim.back(): the feature extractor's output
    std::vector<torch::Tensor> hidden;  // hidden_states[0..L] as Hugging Face returns them (frames x hidden)
    torch::Tensor raw_last;             // the last layer before a pre-LN encoder's final layer norm
  };
  // One clip at config().sampling_rate, mono. Throws ser::Error when it is shorter than the
  // CNN's receptive field. normalize false: the caller applied do_normalize already (chunks of
  // one clip share the clip's statistics).
  Output forward(const std::vector<float>& samples, bool normalize = true) const;
  // Several clips through one transformer pass (padded, padding masked out of attention); each
  // Output is the clip's own, equal to forward() of it to float rounding.
  std::vector<Output> forward_batch(const std::vector<const std::vector<float>*>& clips, bool normalize = true) const;
  // The clip's do_normalize (zero mean, unit variance as Wav2Vec2FeatureExtractor), or a copy.
  std::vector<float> normalized(const std::vector<float>& samples) const;

  const EncoderConfig& config() const { return config_; }
  // Moves the weights (and every later computation) to `device` in `dtype`; outputs stay float32
  // on the CPU.
  void to(torch::Device device, torch::ScalarType dtype);
  torch::Device device() const { return device_; }
  std::int64_t parameter_count() const;

 private:
  torch::Tensor get(const std::string& name) const;
  std::pair<torch::Tensor, torch::Tensor> front_end(const std::vector<float>& samples, bool normalize) const;
  torch::Tensor attention(const torch::Tensor& x, int layer, const torch::Tensor& position_bias,
                          const torch::Tensor& key_mask) const;
  torch::Tensor relative_position_bias(std::int64_t frames) const;

  EncoderConfig config_;
  std::map<std::string, torch::Tensor> weights_;
  torch::Tensor pos_conv_weight_;  // weight normalisation applied once
  torch::Device device_ = torch::kCPU;
  torch::ScalarType dtype_ = torch::kFloat32;
};

// The backend's entry point (torch_backend.hpp): the encoder behind the torch-free interface,
// with long clips encoded in chunks.
std::unique_ptr<SpeechEncoderModel> load_torch_speech_encoder(const std::string& dir, const std::string& device,
                                                              const std::string& dtype);

// The tensors of a pytorch_model.bin (torch.save zip of a state dict), as float32.
std::map<std::string, CheckpointTensor> read_torch_state_dict(const std::string& path);

}  // namespace ser::model
