#pragma once
// Speech-encoder checkpoints as Hugging Face stores them: a model folder with config.json
// (Wav2Vec2Config / HubertConfig / WavLMConfig field names), preprocessor_config.json and the
// weights as model.safetensors. Torch-free: the weights are read into float32 arrays here and
// handed to the LibTorch encoder, so a damaged file is refused before LibTorch is involved.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ser::model {

// One tensor of a checkpoint, converted to float32 (from F32, F16 or BF16).
struct CheckpointTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;  // row-major, product(shape) values
  std::string dtype;          // as stored: "F32", "F16", "BF16"
};

// Every tensor of a .safetensors file by name ("__metadata__" is not a tensor). The format: a
// little-endian u64 header length, a JSON header {name: {dtype, shape, data_offsets}}, then the
// raw little-endian bytes. Throws ser::Error (input) naming the file and the tensor or field for
// a header length past the end, a header that is not JSON, an unknown dtype, offsets outside
// the data or disagreeing with the shape, overlapping tensors, or a truncated file.
std::map<std::string, CheckpointTensor> read_safetensors(const std::string& path);

// config.json and preprocessor_config.json of an encoder folder.
struct EncoderConfig {
  std::string model_type;  // wav2vec2 | hubert | wavlm
  int hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12, intermediate_size = 3072;
  std::vector<int> conv_dim, conv_kernel, conv_stride;
  bool conv_bias = false;
  std::string feat_extract_norm = "group";  // group: GroupNorm on the first conv; layer: LayerNorm on every conv
  bool do_stable_layer_norm = false;        // pre-LN encoder layers (the "large" layout)
  bool feat_proj_layer_norm = true;         // HuBERT may leave the projection's LayerNorm out
  int num_conv_pos_embeddings = 128, num_conv_pos_embedding_groups = 16;
  double layer_norm_eps = 1e-5;
  int num_buckets = 320, max_bucket_distance = 800;  // WavLM's relative position bias
  bool do_normalize = false;                         // preprocessor: zero mean, unit variance per clip
  int sampling_rate = 16000;
  // Samples the CNN needs for one frame (400 for the usual kernels and strides), and the hop.
  int receptive_field() const;
  int hop() const;
};

// Reads <dir>/config.json (and preprocessor_config.json when present). Throws ser::Error (config
// kind, subject the file and field) for a missing file, an unknown model_type or
// hidden_act/feat_extract_activation other than gelu, a hidden size not divisible by the heads,
// conv lists of different lengths or non-positive values.
EncoderConfig read_encoder_config(const std::string& dir);

// The encoder's own tensors, keyed as a bare Wav2Vec2Model / HubertModel / WavLMModel names them:
// the "wav2vec2." / "hubert." / "wavlm." prefix of the *For* heads is removed and the heads'
// own tensors (lm_head, classifier, projector, quantizer, ...) and masked_spec_embed are left
// out. Every tensor the architecture needs must be there with its shape, and no unexpected
// encoder tensor may remain: each mismatch is a ser::Error (config kind) naming the tensor.
std::map<std::string, CheckpointTensor> encoder_tensors(const EncoderConfig& config,
                                                        std::map<std::string, CheckpointTensor> all,
                                                        const std::string& origin);

// The weights of a model folder: model.safetensors (pytorch_model.bin is read by the LibTorch
// side). Throws ser::Error naming the folder when neither is there.
std::string encoder_weights_file(const std::string& dir);

}  // namespace ser::model
