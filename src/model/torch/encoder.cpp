#include "encoder.hpp"

#include <limits>

#include <torch/serialize.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "ser/error.hpp"

namespace F = torch::nn::functional;

namespace ser::model {

namespace {

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps) {
  return torch::layer_norm(x, {x.size(-1)}, w, b, eps);
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return torch::linear(x, w, b);
}

}  // namespace

std::map<std::string, CheckpointTensor> read_torch_state_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_config(path, "cannot be read");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    fail_config(path, "not a readable torch.save state dict (" + what + ")");
  }
  if (!value.isGenericDict()) fail_config(path, "not a state dict (a dict of tensors)");
  std::map<std::string, CheckpointTensor> out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString()) fail_config(path, "a state dict key is not a string");
    const std::string name = entry.key().toStringRef();
    if (!entry.value().isTensor()) fail_config(path, "'" + name + "' is not a tensor");
    const torch::Tensor t = entry.value().toTensor();
    if (!t.is_floating_point()) fail_config(path, "tensor '" + name + "' is not floating point");
    CheckpointTensor ct;
    ct.dtype = t.scalar_type() == torch::kFloat16 ? "F16" : t.scalar_type() == torch::kBFloat16 ? "BF16" : "F32";
    ct.shape = t.sizes().vec();
    const torch::Tensor f = t.to(torch::kFloat32).contiguous();
    ct.values.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    out.emplace(name, std::move(ct));
  }
  return out;
}

SpeechEncoder SpeechEncoder::load(const std::string& dir) {
  EncoderConfig cfg = read_encoder_config(dir);
  const std::string file = encoder_weights_file(dir);
  auto all = file.size() >= 12 && file.compare(file.size() - 12, 12, ".safetensors") == 0 ? read_safetensors(file)
                                                                                          : read_torch_state_dict(file);
  return SpeechEncoder(cfg, encoder_tensors(cfg, std::move(all), file));
}

SpeechEncoder::SpeechEncoder(EncoderConfig config, const std::map<std::string, CheckpointTensor>& tensors)
    : config_(std::move(config)) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : tensors) {
    weights_[name] = torch::from_blob(const_cast<float*>(t.values.data()), t.shape, torch::kFloat32).clone();
  }
  // Weight normalisation over dim 2 (torch.nn.utils.weight_norm(conv, dim=2)): for each kernel
  // position k, weight[:, :, k] = g[k] * v[:, :, k] / ||v[:, :, k]||.
  const torch::Tensor v = get("encoder.pos_conv_embed.conv.weight_v");
  const torch::Tensor g = get("encoder.pos_conv_embed.conv.weight_g");
  const torch::Tensor norm = v.pow(2).sum(torch::IntArrayRef{0, 1}, /*keepdim=*/true).sqrt();
  pos_conv_weight_ = v * (g / norm);
}

void SpeechEncoder::to(torch::Device device, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : weights_) t = t.to(device, dtype);
  pos_conv_weight_ = pos_conv_weight_.to(device, dtype);
  device_ = device;
  dtype_ = dtype;
}

torch::Tensor SpeechEncoder::get(const std::string& name) const {
  const auto it = weights_.find(name);
  if (it == weights_.end()) fail_runtime("encoder", "tensor '" + name + "' is missing");
  return it->second;
}

std::int64_t SpeechEncoder::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& [name, t] : weights_) n += t.numel();
  return n;
}

// WavLM: the bucketed relative position of every (query, key) pair, looked up in layer 0's
// embedding: heads x frames x frames. Buckets as Hugging Face's _relative_positions_bucket.
torch::Tensor SpeechEncoder::relative_position_bias(std::int64_t frames) const {
  const auto pos = torch::arange(frames, torch::TensorOptions().dtype(torch::kLong).device(device_));
  const torch::Tensor relative = pos.unsqueeze(0) - pos.unsqueeze(1);  // memory - context
  const std::int64_t half = config_.num_buckets / 2;
  torch::Tensor buckets = (relative > 0).to(torch::kLong) * half;
  const torch::Tensor distance = relative.abs();
  const std::int64_t max_exact = half / 2;
  const torch::Tensor is_small = distance < max_exact;
  torch::Tensor large = torch::log(distance.to(torch::kFloat32) / static_cast<float>(max_exact));  // float32, as HF
  large = large / static_cast<float>(std::log(static_cast<double>(config_.max_bucket_distance) / max_exact));
  large = large * static_cast<float>(half - max_exact);
  torch::Tensor large_bucket = (large + static_cast<float>(max_exact)).to(torch::kLong);
  large_bucket = torch::min(large_bucket, torch::full_like(large_bucket, half - 1));
  buckets = buckets + torch::where(is_small, distance, large_bucket);
  const torch::Tensor values = F::embedding(buckets, get("encoder.layers.0.attention.rel_attn_embed.weight"));
  return values.permute({2, 0, 1});  // heads x q x k
}

// x: B x t x hidden. key_mask: additive B x 1 x 1 x t (0, or -inf for padding), or undefined.
torch::Tensor SpeechEncoder::attention(const torch::Tensor& x, int layer, const torch::Tensor& position_bias,
                                       const torch::Tensor& key_mask) const {
  const std::string p = "encoder.layers." + std::to_string(layer) + ".attention.";
  const std::int64_t n = x.size(0), t = x.size(1), heads = config_.num_attention_heads, dim = config_.hidden_size / heads;
  const double scaling = 1.0 / std::sqrt(static_cast<double>(dim));
  const auto split = [&](const torch::Tensor& y) { return y.view({n, t, heads, dim}).transpose(1, 2); };  // B x heads x t x dim
  const torch::Tensor q = split(linear(x, get(p + "q_proj.weight"), get(p + "q_proj.bias")) * scaling);
  const torch::Tensor k = split(linear(x, get(p + "k_proj.weight"), get(p + "k_proj.bias")));
  const torch::Tensor v = split(linear(x, get(p + "v_proj.weight"), get(p + "v_proj.bias")));
  torch::Tensor scores = torch::matmul(q, k.transpose(2, 3));  // B x heads x t x t
  if (position_bias.defined()) {
    // Gated relative position bias: each head's gate from its slice of the layer input.
    const torch::Tensor gates_in = x.view({n, t, heads, dim}).transpose(1, 2);  // B x heads x t x dim
    const torch::Tensor proj =
        linear(gates_in, get(p + "gru_rel_pos_linear.weight"), get(p + "gru_rel_pos_linear.bias")).view({n, heads, t, 2, 4}).sum(-1);
    const auto gate = torch::sigmoid(proj).chunk(2, -1);
    const torch::Tensor constant = get(p + "gru_rel_pos_const").view({1, heads, 1, 1});
    const torch::Tensor gate_out = gate[0] * (gate[1] * constant - 1.0) + 2.0;  // B x heads x t x 1
    scores = scores + gate_out * position_bias;
  }
  if (key_mask.defined()) scores = scores + key_mask;
  const torch::Tensor probs = torch::softmax(scores, -1);
  const torch::Tensor context = torch::matmul(probs, v).transpose(1, 2).reshape({n, t, heads * dim});
  return linear(context, get(p + "out_proj.weight"), get(p + "out_proj.bias"));
}

std::vector<float> SpeechEncoder::normalized(const std::vector<float>& samples) const {
  if (!config_.do_normalize || samples.empty()) return samples;
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::from_blob(const_cast<float*>(samples.data()), {static_cast<std::int64_t>(samples.size())},
                                     torch::kFloat32);
  // Wav2Vec2FeatureExtractor: (x - mean) / sqrt(var + 1e-7), population variance, in float32.
  const torch::Tensor mean = x.mean();
  const torch::Tensor var = (x - mean).pow(2).mean();
  const torch::Tensor y = ((x - mean) / torch::sqrt(var + 1e-7)).contiguous();
  return {y.data_ptr<float>(), y.data_ptr<float>() + y.numel()};
}

SpeechEncoder::Output SpeechEncoder::forward(const std::vector<float>& samples, bool normalize) const {
  return std::move(forward_batch({&samples}, normalize)[0]);
}

// The feature extractor and projection of one clip: (cnn: T x conv_dim.back(), projected: T x hidden).
std::pair<torch::Tensor, torch::Tensor> SpeechEncoder::front_end(const std::vector<float>& samples, bool normalize) const {
  const auto& c = config_;
  if (static_cast<std::int64_t>(samples.size()) < c.receptive_field()) {
    fail_input("encoder", "clip of " + std::to_string(samples.size()) + " samples is shorter than the " +
                              std::to_string(c.receptive_field()) + " the encoder needs for one frame");
  }
  const std::vector<float> input = normalize ? normalized(samples) : samples;
  torch::Tensor x = torch::from_blob(const_cast<float*>(input.data()), {static_cast<std::int64_t>(input.size())},
                                     torch::kFloat32)
                        .to(device_, dtype_, /*non_blocking=*/false, /*copy=*/true);
  // Feature extractor: 1 x C x T.
  x = x.view({1, 1, -1});
  for (std::size_t i = 0; i < c.conv_dim.size(); ++i) {
    const std::string p = "feature_extractor.conv_layers." + std::to_string(i) + ".";
    x = F::conv1d(x, get(p + "conv.weight"),
                  F::Conv1dFuncOptions().stride(c.conv_stride[i]).bias(c.conv_bias ? get(p + "conv.bias") : torch::Tensor()));
    if (c.feat_extract_norm == "layer") {
      x = layer_norm(x.transpose(1, 2), get(p + "layer_norm.weight"), get(p + "layer_norm.bias"), 1e-5).transpose(1, 2);
    } else if (i == 0) {
      x = F::group_norm(x, F::GroupNormFuncOptions(c.conv_dim[0])
                               .weight(get(p + "layer_norm.weight"))
                               .bias(get(p + "layer_norm.bias"))
                               .eps(1e-5));
    }
    x = torch::gelu(x);
  }
  torch::Tensor cnn = x[0].transpose(0, 1).contiguous();  // T x C
  torch::Tensor h = cnn;
  if (c.model_type != "hubert" || c.feat_proj_layer_norm) {
    h = layer_norm(h, get("feature_projection.layer_norm.weight"), get("feature_projection.layer_norm.bias"), c.layer_norm_eps);
  }
  h = linear(h, get("feature_projection.projection.weight"), get("feature_projection.projection.bias"));
  return {cnn, h};
}

// Clips of different lengths share the transformer: the projected frames are zero-padded to
// the longest (zeros are what the positional convolution pads with anyway) and padded keys are
// masked out of attention, so every clip's frames equal its own pass to rounding. The feature
// extractor runs per clip: a group norm over padding would change the clip's statistics.
std::vector<SpeechEncoder::Output> SpeechEncoder::forward_batch(const std::vector<const std::vector<float>*>& clips,
                                                                bool normalize) const {
  torch::NoGradGuard no_grad;
  const auto& c = config_;
  const std::int64_t n = static_cast<std::int64_t>(clips.size());
  std::vector<Output> out(clips.size());
  std::vector<torch::Tensor> projected;
  std::int64_t frames = 0;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    auto [cnn, h] = front_end(*clips[i], normalize);
    out[i].cnn = cnn;
    frames = std::max(frames, h.size(0));
    projected.push_back(h);
  }
  torch::Tensor h;
  torch::Tensor key_mask;
  if (n == 1) {
    h = projected[0].unsqueeze(0);
  } else {
    const auto options = torch::TensorOptions().dtype(dtype_).device(device_);
    h = torch::zeros({n, frames, c.hidden_size}, options);
    key_mask = torch::zeros({n, 1, 1, frames}, options);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t t = projected[static_cast<std::size_t>(i)].size(0);
      h[i].slice(0, 0, t).copy_(projected[static_cast<std::size_t>(i)]);
      if (t < frames) key_mask[i].slice(2, t, frames).fill_(-std::numeric_limits<float>::infinity());
    }
  }
  // Convolutional position embedding (an even kernel drops its last frame), GELU, added.
  const std::int64_t k = c.num_conv_pos_embeddings;
  torch::Tensor pos = F::conv1d(h.transpose(1, 2), pos_conv_weight_,
                                F::Conv1dFuncOptions()
                                    .padding(k / 2)
                                    .groups(c.num_conv_pos_embedding_groups)
                                    .bias(get("encoder.pos_conv_embed.conv.bias")));
  if (k % 2 == 0) pos = pos.slice(2, 0, pos.size(2) - 1);
  h = h + torch::gelu(pos).transpose(1, 2);
  const bool pre_ln = c.do_stable_layer_norm;
  if (!pre_ln) h = layer_norm(h, get("encoder.layer_norm.weight"), get("encoder.layer_norm.bias"), c.layer_norm_eps);
  std::vector<torch::Tensor> hidden = {h};
  const torch::Tensor bias = c.model_type == "wavlm" ? relative_position_bias(frames) : torch::Tensor();
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "encoder.layers." + std::to_string(l) + ".";
    auto ff = [&](const torch::Tensor& y) {
      const torch::Tensor mid = torch::gelu(
          linear(y, get(p + "feed_forward.intermediate_dense.weight"), get(p + "feed_forward.intermediate_dense.bias")));
      return linear(mid, get(p + "feed_forward.output_dense.weight"), get(p + "feed_forward.output_dense.bias"));
    };
    if (pre_ln) {
      const torch::Tensor a = layer_norm(h, get(p + "layer_norm.weight"), get(p + "layer_norm.bias"), c.layer_norm_eps);
      h = h + attention(a, l, bias, key_mask);
      h = h + ff(layer_norm(h, get(p + "final_layer_norm.weight"), get(p + "final_layer_norm.bias"), c.layer_norm_eps));
    } else {
      h = h + attention(h, l, bias, key_mask);
      h = layer_norm(h, get(p + "layer_norm.weight"), get(p + "layer_norm.bias"), c.layer_norm_eps);
      h = h + ff(h);
      h = layer_norm(h, get(p + "final_layer_norm.weight"), get(p + "final_layer_norm.bias"), c.layer_norm_eps);
    }
    hidden.push_back(h);
  }
  const torch::Tensor raw_last = h;
  if (pre_ln) hidden.back() = layer_norm(h, get("encoder.layer_norm.weight"), get("encoder.layer_norm.bias"), c.layer_norm_eps);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t t = out[static_cast<std::size_t>(i)].cnn.size(0);
    Output& o = out[static_cast<std::size_t>(i)];
    o.cnn = o.cnn.to(torch::kCPU, torch::kFloat32);
    for (const auto& layer : hidden) o.hidden.push_back(layer[i].slice(0, 0, t).to(torch::kCPU, torch::kFloat32));
    o.raw_last = raw_last[i].slice(0, 0, t).to(torch::kCPU, torch::kFloat32);
  }
  return out;
}

}  // namespace ser::model

namespace ser::model {

namespace {

class TorchSpeechEncoderModel : public SpeechEncoderModel {
 public:
  explicit TorchSpeechEncoderModel(SpeechEncoder e) : e_(std::move(e)) {}
  const EncoderConfig& config() const override { return e_.config(); }
  std::int64_t parameter_count() const override { return e_.parameter_count(); }
  std::string device() const override { return e_.device().is_cuda() ? "cuda" : "cpu"; }

  // Long clips: chunks of chunk_seconds whose starts are multiples of the hop, each with a
  // context margin of min(chunk / 4, 2 s) on both sides; from chunk i the frames of its core
  // [i * core, (i + 1) * core) are kept, so every output frame is computed once, its receptive
  // field inside the chunk, and with at least the margin of audio on each side for attention.
  // The frames are the unchunked ones, one for one; their values differ where context differs:
  // transformer layers attend within a chunk only, and a group-norm feature extractor (the base
  // layout) normalises each chunk by its own statistics (a layer-norm one is per frame: equal).
  EncodedClip encode(const std::vector<float>& samples, double chunk_seconds) const override {
    EncodedClip clip;
    for_each_part(samples, chunk_seconds, [&](const SpeechEncoder::Output& part, std::int64_t lo, std::int64_t hi) {
      clip.width = static_cast<std::size_t>(part.hidden[0].size(1));
      clip.cnn_width = static_cast<std::size_t>(part.cnn.size(1));
      clip.hidden.resize(part.hidden.size());
      clip.frames += static_cast<std::size_t>(hi - lo);
      append(clip.cnn, part.cnn, lo, hi);
      for (std::size_t l = 0; l < clip.hidden.size(); ++l) append(clip.hidden[l], part.hidden[l], lo, hi);
    });
    return clip;
  }

  void encode_spans(const std::vector<float>& samples, double chunk_seconds, const std::vector<int>& layers,
                    const std::function<void(const Span&)>& sink) const override {
    check_layers(layers);
    for_each_part(samples, chunk_seconds, [&](const SpeechEncoder::Output& part, std::int64_t lo, std::int64_t hi) {
      send(part, lo, hi, layers, sink);
    });
  }

  void encode_spans_batch(const std::vector<const std::vector<float>*>& clips, double chunk_seconds,
                          const std::vector<int>& layers,
                          const std::function<void(std::size_t, const Span&)>& sink) const override {
    check_layers(layers);
    const auto& c = e_.config();
    const std::int64_t chunk = static_cast<std::int64_t>(chunk_seconds * c.sampling_rate) / c.hop() * c.hop();
    std::vector<const std::vector<float>*> together;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < clips.size(); ++i) {
      if (chunk_seconds > 0 && static_cast<std::int64_t>(clips[i]->size()) > chunk) {
        encode_spans(*clips[i], chunk_seconds, layers, [&](const Span& s) { sink(i, s); });
      } else {
        together.push_back(clips[i]);
        which.push_back(i);
      }
    }
    if (together.empty()) return;
    const auto outs = e_.forward_batch(together);
    for (std::size_t j = 0; j < outs.size(); ++j) {
      send(outs[j], 0, outs[j].cnn.size(0), layers, [&](const Span& s) { sink(which[j], s); });
    }
  }

 private:
  // Long clips: chunks of chunk_seconds whose starts are multiples of the hop, each with a
  // context margin of min(chunk / 4, 2 s) on both sides; from chunk i the frames of its core
  // [i * core, (i + 1) * core) are kept, so every output frame is computed once, its receptive
  // field inside the chunk, and with at least the margin of audio on each side for attention.
  // The frames are the unchunked ones, one for one; their values differ where context differs:
  // transformer layers attend within a chunk only, and a group-norm feature extractor (the base
  // layout) normalises each chunk by its own statistics (a layer-norm one is per frame: equal).
  // `use(part, lo, hi)` gets each chunk's output and the range of its frames to keep, in order;
  // only one chunk's output is alive at a time.
  template <typename Use>
  void for_each_part(const std::vector<float>& samples, double chunk_seconds, Use&& use) const {
    const auto& c = e_.config();
    const std::int64_t n = static_cast<std::int64_t>(samples.size()), hop = c.hop();
    const std::int64_t chunk = static_cast<std::int64_t>(chunk_seconds * c.sampling_rate) / hop * hop;
    if (chunk_seconds <= 0 || n <= chunk) {
      const SpeechEncoder::Output whole = e_.forward(samples);
      use(whole, 0, whole.cnn.size(0));
      return;
    }
    const std::int64_t margin = std::max<std::int64_t>(
        (std::min<std::int64_t>(chunk / 4, 2 * c.sampling_rate) / hop) * hop, (c.receptive_field() / hop + 1) * hop);
    const std::int64_t core = chunk - 2 * margin;
    if (core < hop) fail_config("features.encoder.chunk_seconds", "too short for this encoder's context margin");
    const std::vector<float> input = e_.normalized(samples);
    // Frames of the whole clip: the conv stack's output length.
    std::int64_t total = n;
    for (std::size_t i = 0; i < c.conv_kernel.size(); ++i) total = (total - c.conv_kernel[i]) / c.conv_stride[i] + 1;
    for (std::int64_t core_start = 0; core_start / hop < total; core_start += core) {
      const std::int64_t start = std::max<std::int64_t>(0, core_start - margin);
      const std::int64_t end = std::min(n, core_start + core + margin);
      const std::vector<float> piece(input.begin() + start, input.begin() + end);
      if (static_cast<std::int64_t>(piece.size()) < c.receptive_field()) break;
      const SpeechEncoder::Output part = e_.forward(piece, /*normalize=*/false);
      const std::int64_t offset = start / hop;  // global index of the part's frame 0
      const std::int64_t lo = core_start / hop - offset;
      const std::int64_t hi = std::min<std::int64_t>(std::min((core_start + core) / hop, total) - offset, part.cnn.size(0));
      if (hi > lo) use(part, lo, hi);
    }
  }
  void check_layers(const std::vector<int>& layers) const {
    for (int l : layers) {
      if (l < 0 || l > e_.config().num_hidden_layers) {
        fail_config("features.encoder.layers", "layer " + std::to_string(l) + " is outside 0.." +
                                                   std::to_string(e_.config().num_hidden_layers));
      }
    }
  }
  // Frames [lo, hi) of the chosen layers of one output, as one span.
  static void send(const SpeechEncoder::Output& part, std::int64_t lo, std::int64_t hi, const std::vector<int>& layers,
                   const std::function<void(const Span&)>& sink) {
    std::vector<torch::Tensor> kept;
    Span span;
    span.frames = static_cast<std::size_t>(hi - lo);
    span.width = static_cast<std::size_t>(part.hidden[0].size(1));
    for (int l : layers) {
      kept.push_back(part.hidden[static_cast<std::size_t>(l)].slice(0, lo, hi).contiguous());
      span.layers.push_back(kept.back().data_ptr<float>());
    }
    sink(span);
  }
  static void append(std::vector<float>& out, const torch::Tensor& t, std::int64_t lo, std::int64_t hi) {
    const torch::Tensor part = t.slice(0, lo, hi).contiguous();
    out.insert(out.end(), part.data_ptr<float>(), part.data_ptr<float>() + part.numel());
  }
  SpeechEncoder e_;
};

}  // namespace

std::unique_ptr<SpeechEncoderModel> load_torch_speech_encoder(const std::string& dir, const std::string& device,
                                                              const std::string& dtype) {
  const bool cuda = torch::cuda::is_available();
  if (device == "cuda" && !cuda) fail_config("features.encoder.device", "cuda requested but no usable GPU");
  const bool on_gpu = device == "cuda" || (device == "auto" && cuda);
  if (dtype == "float16" && !on_gpu) fail_config("features.encoder.dtype", "float16 needs a GPU (bfloat16 works on the CPU)");
  SpeechEncoder e = SpeechEncoder::load(dir);
  const torch::ScalarType type = dtype == "bfloat16" ? torch::kBFloat16 : dtype == "float16" ? torch::kHalf : torch::kFloat32;
  if (on_gpu || type != torch::kFloat32) e.to(on_gpu ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU), type);
  return std::make_unique<TorchSpeechEncoderModel>(std::move(e));
}

}  // namespace ser::model
