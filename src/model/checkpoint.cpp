#include "ser/model/checkpoint.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "ser/error.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;

namespace ser::model {

namespace {

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      std::uint32_t m = mant;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400u) == 0);
      bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_float(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

std::map<std::string, CheckpointTensor> read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail_config(path, "cannot be read");
  const auto size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  if (size < 8) fail_config(path, "truncated: shorter than the 8-byte header length");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > size - 8) {
    fail_config(path, "the header claims " + std::to_string(header_len) + " bytes but the file has " +
                         std::to_string(size - 8) + " after the length");
  }
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception&) {
    fail_config(path, "the safetensors header is not JSON");
  }
  if (!h.is_object()) fail_config(path, "the safetensors header is not a JSON object");
  const std::uint64_t data_start = 8 + header_len, data_size = size - data_start;

  struct Span {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  std::map<std::string, CheckpointTensor> out;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string& name = it.key();
    const auto& t = it.value();
    auto bad = [&](const std::string& why) { fail_config(path, "tensor '" + name + "': " + why); };
    if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets")) {
      bad("needs dtype, shape and data_offsets");
    }
    CheckpointTensor ct;
    ct.dtype = t["dtype"].is_string() ? t["dtype"].get<std::string>() : "";
    std::size_t elem = 0;
    if (ct.dtype == "F32") elem = 4;
    else if (ct.dtype == "F16" || ct.dtype == "BF16") elem = 2;
    else bad("dtype '" + t["dtype"].dump() + "' is not F32, F16 or BF16");
    if (!t["shape"].is_array()) bad("shape is not a list");
    std::uint64_t count = 1;
    for (const auto& d : t["shape"]) {
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (1ull << 40)) bad("shape " + t["shape"].dump() + " is not a list of sizes");
      ct.shape.push_back(d.get<std::int64_t>());
      count *= d.get<std::uint64_t>();
      if (count > (1ull << 36)) bad("shape " + t["shape"].dump() + " is too large");
    }
    const auto& off = t["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      bad("data_offsets is not [begin, end]");
    }
    const std::uint64_t b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
    if (b > e || e > data_size) {
      bad("data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] lie outside the " +
          std::to_string(data_size) + " data bytes (truncated file?)");
    }
    if (e - b != count * elem) {
      bad(std::to_string(e - b) + " bytes for shape " + t["shape"].dump() + " of " + ct.dtype + " (expected " +
          std::to_string(count * elem) + ")");
    }
    spans.push_back({b, e, name});
    std::vector<unsigned char> raw(e - b);
    in.seekg(static_cast<std::streamoff>(data_start + b));
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
    if (!in) bad("truncated file");
    ct.values.resize(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      const unsigned char* p = raw.data() + i * elem;
      if (elem == 4) {
        const std::uint32_t bits = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
        std::memcpy(&ct.values[i], &bits, 4);
      } else {
        const auto bits = static_cast<std::uint16_t>(p[0] | (p[1] << 8));
        ct.values[i] = ct.dtype == "F16" ? half_to_float(bits) : bf16_to_float(bits);
      }
    }
    out.emplace(name, std::move(ct));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& x, const Span& y) { return x.begin < y.begin; });
  for (std::size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].begin < spans[i - 1].end && spans[i].end > spans[i].begin) {
      fail_config(path, "tensors '" + spans[i - 1].name + "' and '" + spans[i].name + "' overlap");
    }
  }
  return out;
}

int EncoderConfig::receptive_field() const {
  int field = 1;
  for (std::size_t i = conv_kernel.size(); i-- > 0;) field = (field - 1) * conv_stride[i] + conv_kernel[i];
  return field;
}

int EncoderConfig::hop() const {
  int h = 1;
  for (int s : conv_stride) h *= s;
  return h;
}

EncoderConfig read_encoder_config(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!fs::exists(path)) fail_config(path, "missing: an encoder folder needs the Hugging Face config.json");
  const nlohmann::json j = util::read_json(path);
  EncoderConfig c;
  auto field = [&](const char* key, auto& value) {
    if (!j.contains(key)) return;
    try {
      j.at(key).get_to(value);
    } catch (const nlohmann::json::exception&) {
      fail_config(path, std::string("field '") + key + "' has the wrong type");
    }
  };
  field("model_type", c.model_type);
  if (c.model_type != "wav2vec2" && c.model_type != "hubert" && c.model_type != "wavlm") {
    fail_config(path, "model_type '" + c.model_type + "' is not one of wav2vec2, hubert, wavlm");
  }
  field("hidden_size", c.hidden_size);
  field("num_hidden_layers", c.num_hidden_layers);
  field("num_attention_heads", c.num_attention_heads);
  field("intermediate_size", c.intermediate_size);
  field("conv_dim", c.conv_dim);
  field("conv_kernel", c.conv_kernel);
  field("conv_stride", c.conv_stride);
  field("conv_bias", c.conv_bias);
  field("feat_extract_norm", c.feat_extract_norm);
  field("do_stable_layer_norm", c.do_stable_layer_norm);
  field("feat_proj_layer_norm", c.feat_proj_layer_norm);
  field("num_conv_pos_embeddings", c.num_conv_pos_embeddings);
  field("num_conv_pos_embedding_groups", c.num_conv_pos_embedding_groups);
  field("layer_norm_eps", c.layer_norm_eps);
  field("num_buckets", c.num_buckets);
  field("max_bucket_distance", c.max_bucket_distance);
  for (const char* act : {"hidden_act", "feat_extract_activation"}) {
    std::string a = "gelu";
    field(act, a);
    if (a != "gelu") fail_config(path, std::string("field '") + act + "' is '" + a + "'; only gelu is implemented");
  }
  if (c.feat_extract_norm != "group" && c.feat_extract_norm != "layer") {
    fail_config(path, "field 'feat_extract_norm' is '" + c.feat_extract_norm + "', not group or layer");
  }
  if (c.conv_dim.empty() || c.conv_dim.size() != c.conv_kernel.size() || c.conv_dim.size() != c.conv_stride.size()) {
    fail_config(path, "conv_dim, conv_kernel and conv_stride must be lists of one length");
  }
  for (std::size_t i = 0; i < c.conv_dim.size(); ++i) {
    if (c.conv_dim[i] < 1 || c.conv_kernel[i] < 1 || c.conv_stride[i] < 1) {
      fail_config(path, "conv layer " + std::to_string(i) + " has a size below 1");
    }
  }
  if (c.hidden_size < 1 || c.num_attention_heads < 1 || c.hidden_size % c.num_attention_heads != 0) {
    fail_config(path, "hidden_size " + std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                          std::to_string(c.num_attention_heads));
  }
  if (c.num_hidden_layers < 1 || c.intermediate_size < 1) fail_config(path, "num_hidden_layers and intermediate_size must be >= 1");
  if (c.num_conv_pos_embeddings < 1 || c.num_conv_pos_embedding_groups < 1 ||
      c.hidden_size % c.num_conv_pos_embedding_groups != 0) {
    fail_config(path, "num_conv_pos_embedding_groups must divide hidden_size");
  }
  if (c.model_type == "wavlm" && (c.num_buckets < 4 || c.max_bucket_distance < 2)) {
    fail_config(path, "num_buckets must be >= 4 and max_bucket_distance >= 2");
  }
  if (!(c.layer_norm_eps > 0)) fail_config(path, "layer_norm_eps must be > 0");
  const std::string pre = dir + "/preprocessor_config.json";
  if (fs::exists(pre)) {
    const nlohmann::json p = util::read_json(pre);
    if (p.contains("do_normalize") && p["do_normalize"].is_boolean()) c.do_normalize = p["do_normalize"].get<bool>();
    if (p.contains("sampling_rate") && p["sampling_rate"].is_number_integer()) c.sampling_rate = p["sampling_rate"].get<int>();
  }
  if (c.sampling_rate < 1000 || c.sampling_rate > 192000) fail_config(pre, "sampling_rate out of range");
  return c;
}

namespace {

// Every tensor the architecture reads, with its shape.
std::map<std::string, std::vector<std::int64_t>> expected_shapes(const EncoderConfig& c) {
  std::map<std::string, std::vector<std::int64_t>> e;
  const std::int64_t h = c.hidden_size, inter = c.intermediate_size, heads = c.num_attention_heads;
  for (std::size_t i = 0; i < c.conv_dim.size(); ++i) {
    const std::string p = "feature_extractor.conv_layers." + std::to_string(i) + ".";
    const std::int64_t in = i == 0 ? 1 : c.conv_dim[i - 1];
    e[p + "conv.weight"] = {c.conv_dim[i], in, c.conv_kernel[i]};
    if (c.conv_bias) e[p + "conv.bias"] = {c.conv_dim[i]};
    if (c.feat_extract_norm == "layer" || i == 0) {
      e[p + "layer_norm.weight"] = {c.conv_dim[i]};
      e[p + "layer_norm.bias"] = {c.conv_dim[i]};
    }
  }
  const std::int64_t last = c.conv_dim.back();
  if (c.model_type != "hubert" || c.feat_proj_layer_norm) {
    e["feature_projection.layer_norm.weight"] = {last};
    e["feature_projection.layer_norm.bias"] = {last};
  }
  e["feature_projection.projection.weight"] = {h, last};
  e["feature_projection.projection.bias"] = {h};
  const std::int64_t k = c.num_conv_pos_embeddings;
  e["encoder.pos_conv_embed.conv.weight_g"] = {1, 1, k};
  e["encoder.pos_conv_embed.conv.weight_v"] = {h, h / c.num_conv_pos_embedding_groups, k};
  e["encoder.pos_conv_embed.conv.bias"] = {h};
  e["encoder.layer_norm.weight"] = {h};
  e["encoder.layer_norm.bias"] = {h};
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "encoder.layers." + std::to_string(l) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      e[p + "attention." + proj + ".weight"] = {h, h};
      e[p + "attention." + proj + ".bias"] = {h};
    }
    for (const char* ln : {"layer_norm", "final_layer_norm"}) {
      e[p + ln + ".weight"] = {h};
      e[p + ln + ".bias"] = {h};
    }
    e[p + "feed_forward.intermediate_dense.weight"] = {inter, h};
    e[p + "feed_forward.intermediate_dense.bias"] = {inter};
    e[p + "feed_forward.output_dense.weight"] = {h, inter};
    e[p + "feed_forward.output_dense.bias"] = {h};
    if (c.model_type == "wavlm") {
      e[p + "attention.gru_rel_pos_const"] = {1, heads, 1, 1};
      e[p + "attention.gru_rel_pos_linear.weight"] = {8, h / heads};
      e[p + "attention.gru_rel_pos_linear.bias"] = {8};
      if (l == 0) e[p + "attention.rel_attn_embed.weight"] = {c.num_buckets, heads};
    }
  }
  return e;
}

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

std::map<std::string, CheckpointTensor> encoder_tensors(const EncoderConfig& config,
                                                        std::map<std::string, CheckpointTensor> all,
                                                        const std::string& origin) {
  const std::string prefix = config.model_type + ".";
  std::map<std::string, CheckpointTensor> bare;
  for (auto& [name, t] : all) {
    std::string n = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
    // Newer PyTorch stores a weight-normalised convolution as parametrizations.
    if (n == "encoder.pos_conv_embed.conv.parametrizations.weight.original0") n = "encoder.pos_conv_embed.conv.weight_g";
    if (n == "encoder.pos_conv_embed.conv.parametrizations.weight.original1") n = "encoder.pos_conv_embed.conv.weight_v";
    const bool encoder_part = n.rfind("feature_extractor.", 0) == 0 || n.rfind("feature_projection.", 0) == 0 ||
                              n.rfind("encoder.", 0) == 0;
    if (!encoder_part) continue;  // masked_spec_embed and the heads' own tensors
    if (!bare.emplace(n, std::move(t)).second) fail_config(origin, "tensor '" + n + "' appears twice (with and without the prefix)");
  }
  const auto expected = expected_shapes(config);
  for (const auto& [name, shape] : expected) {
    const auto it = bare.find(name);
    if (it == bare.end()) fail_config(origin, "tensor '" + name + "' is missing (" + config.model_type + " as config.json describes it)");
    if (it->second.shape != shape) {
      fail_config(origin, "tensor '" + name + "' has shape " + shape_text(it->second.shape) + ", config.json implies " +
                             shape_text(shape));
    }
  }
  for (const auto& [name, t] : bare) {
    if (!expected.count(name)) {
      fail_config(origin, "tensor '" + name + "' is not part of a " + config.model_type +
                             " encoder as config.json describes it (another architecture or layout?)");
    }
  }
  return bare;
}

std::string encoder_weights_file(const std::string& dir) {
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    if (fs::exists(dir + "/" + name)) return dir + "/" + name;
  }
  fail_config(dir, "no model.safetensors or pytorch_model.bin in the encoder folder");
}

}  // namespace ser::model
