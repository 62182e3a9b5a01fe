// Hugging Face encoder folders, torch-free: safetensors (F32, F16, BF16) and every way a file can
// lie, config.json checks, and the tensor set an architecture needs (prefixes, heads, shapes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

#include "ser/error.hpp"
#include "ser/model/checkpoint.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;
using namespace ser;

namespace {

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ser-checkpoint-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& rel) const { return (dir_ / rel).string(); }
  // A safetensors file from a header and data bytes; `length` overrides the header length.
  std::string write(const std::string& name, const std::string& header, const std::string& data,
                    std::int64_t length = -1) {
    std::string out(8, '\0');
    const std::uint64_t n = length < 0 ? header.size() : static_cast<std::uint64_t>(length);
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    util::write_text_atomic(p(name), out + header + data);
    return p(name);
  }
  static std::string f32(std::initializer_list<float> v) {
    std::string s;
    for (float x : v) s.append(reinterpret_cast<const char*>(&x), 4);
    return s;
  }
  std::string error_of(const std::string& path) {
    try {
      model::read_safetensors(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

}  // namespace

TEST_F(Checkpoint, ReadsF32F16AndBf16) {
  // 1.5 and -2 in F16 (0x3E00, 0xC000) and BF16 (0x3FC0, 0xC000).
  const std::string data = f32({1.0f, 2.0f, 3.0f, 4.0f}) + std::string("\x00\x3E\x00\xC0", 4) + std::string("\xC0\x3F\x00\xC0", 4);
  const std::string header =
      R"({"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},)"
      R"( "h": {"dtype": "F16", "shape": [2], "data_offsets": [16, 20]}, "b": {"dtype": "BF16", "shape": [2], "data_offsets": [20, 24]}})";
  const auto t = model::read_safetensors(write("ok.safetensors", header, data));
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.at("a").shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(t.at("a").values, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(t.at("h").values, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(t.at("b").values, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(t.at("h").dtype, "F16");
}

TEST_F(Checkpoint, EveryLieIsANamedError) {
  const std::string data = f32({1.0f, 2.0f});
  const std::string good = R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  struct Case {
    std::string header, data, expect;
    std::int64_t length;
  };
  const std::vector<Case> cases = {
      {good, data, "claims", 4096},                                                                     // length past the end
      {"{not json", data, "not JSON", -1},
      {R"({"w": {"dtype": "I64", "shape": [2], "data_offsets": [0, 8]}})", data, "tensor 'w': dtype", -1},
      {R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", data, "tensor 'w': 8 bytes for shape", -1},
      {R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", data, "outside the 8 data bytes", -1},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", data, "tensor 'w': data_offsets", -1},
      {R"({"w": {"dtype": "F32", "shape": [2]}})", data, "needs dtype, shape and data_offsets", -1},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "v": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
       data, "overlap", -1},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string path = write("bad" + std::to_string(i++) + ".safetensors", c.header, c.data, c.length);
    const std::string why = error_of(path);
    EXPECT_NE(why.find(c.expect), std::string::npos) << c.header << " -> " << why;
    EXPECT_NE(why.find(path), std::string::npos) << why;
  }
  util::write_text_atomic(p("short.safetensors"), "abc");
  EXPECT_NE(error_of(p("short.safetensors")).find("truncated"), std::string::npos);
}

TEST_F(Checkpoint, ConfigAndTensorSetAreChecked) {
  const nlohmann::json cfg = {{"model_type", "wav2vec2"}, {"hidden_size", 8},     {"num_hidden_layers", 1},
                              {"num_attention_heads", 2}, {"intermediate_size", 16}, {"conv_dim", {4, 4}},
                              {"conv_kernel", {10, 3}},   {"conv_stride", {5, 2}},   {"num_conv_pos_embeddings", 4},
                              {"num_conv_pos_embedding_groups", 2}};
  util::write_text_atomic(p("config.json"), cfg.dump());
  const model::EncoderConfig c = model::read_encoder_config(dir_.string());
  EXPECT_EQ(c.receptive_field(), 20);
  EXPECT_EQ(c.hop(), 10);
  EXPECT_FALSE(c.do_normalize);

  // Every tensor the architecture needs, under the prefix of a *For* head, plus a head and
  // masked_spec_embed: the encoder's own come back without the prefix.
  auto t = [](std::vector<std::int64_t> shape) {
    model::CheckpointTensor x;
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    x.shape = shape;
    x.values.assign(static_cast<std::size_t>(n), 0.5f);
    return x;
  };
  std::map<std::string, model::CheckpointTensor> all = {
      {"wav2vec2.feature_extractor.conv_layers.0.conv.weight", t({4, 1, 10})},
      {"wav2vec2.feature_extractor.conv_layers.0.layer_norm.weight", t({4})},
      {"wav2vec2.feature_extractor.conv_layers.0.layer_norm.bias", t({4})},
      {"wav2vec2.feature_extractor.conv_layers.1.conv.weight", t({4, 4, 3})},
      {"wav2vec2.feature_projection.layer_norm.weight", t({4})},
      {"wav2vec2.feature_projection.layer_norm.bias", t({4})},
      {"wav2vec2.feature_projection.projection.weight", t({8, 4})},
      {"wav2vec2.feature_projection.projection.bias", t({8})},
      {"wav2vec2.encoder.pos_conv_embed.conv.weight_g", t({1, 1, 4})},
      {"wav2vec2.encoder.pos_conv_embed.conv.weight_v", t({8, 4, 4})},
      {"wav2vec2.encoder.pos_conv_embed.conv.bias", t({8})},
      {"wav2vec2.encoder.layer_norm.weight", t({8})},
      {"wav2vec2.encoder.layer_norm.bias", t({8})},
      {"wav2vec2.masked_spec_embed", t({8})},
      {"lm_head.weight", t({32, 8})},
  };
  for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
    all[std::string("wav2vec2.encoder.layers.0.attention.") + proj + ".weight"] = t({8, 8});
    all[std::string("wav2vec2.encoder.layers.0.attention.") + proj + ".bias"] = t({8});
  }
  for (const char* ln : {"layer_norm", "final_layer_norm"}) {
    all[std::string("wav2vec2.encoder.layers.0.") + ln + ".weight"] = t({8});
    all[std::string("wav2vec2.encoder.layers.0.") + ln + ".bias"] = t({8});
  }
  all["wav2vec2.encoder.layers.0.feed_forward.intermediate_dense.weight"] = t({16, 8});
  all["wav2vec2.encoder.layers.0.feed_forward.intermediate_dense.bias"] = t({16});
  all["wav2vec2.encoder.layers.0.feed_forward.output_dense.weight"] = t({8, 16});
  all["wav2vec2.encoder.layers.0.feed_forward.output_dense.bias"] = t({8});
  const auto bare = model::encoder_tensors(c, all, "m.safetensors");
  EXPECT_EQ(bare.size(), all.size() - 2);
  EXPECT_TRUE(bare.count("encoder.layer_norm.weight"));

  auto error_with = [&](const std::function<void(std::map<std::string, model::CheckpointTensor>&)>& edit) {
    auto copy = all;
    edit(copy);
    try {
      model::encoder_tensors(c, copy, "m.safetensors");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_with([](auto& m) { m.erase("wav2vec2.encoder.layer_norm.bias"); }).find("'encoder.layer_norm.bias' is missing"),
            std::string::npos);
  EXPECT_NE(error_with([&](auto& m) { m["wav2vec2.encoder.layer_norm.bias"] = t({9}); }).find("has shape [9]"),
            std::string::npos);
  EXPECT_NE(error_with([&](auto& m) { m["wav2vec2.encoder.layers.1.layer_norm.bias"] = t({8}); }).find("not part of"),
            std::string::npos);

  // config.json mistakes name the field.
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"model_type", "conformer"}, {"num_attention_heads", 3}, {"conv_kernel", {10}}, {"hidden_act", "relu"}}) {
    auto bad = cfg;
    bad[key] = value;
    util::write_text_atomic(p("config.json"), bad.dump());
    try {
      model::read_encoder_config(dir_.string());
      ADD_FAILURE() << key << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Config) << e.what();
    }
  }
  fs::remove(p("config.json"));
  EXPECT_THROW(model::read_encoder_config(dir_.string()), Error);
  EXPECT_THROW(model::encoder_weights_file(dir_.string()), Error);
}
