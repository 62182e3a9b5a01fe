// `ser info`: what this build is and what it can use. LibTorch is loaded only with --torch
// (CUDA devices, torch threads), so the plain command starts in milliseconds.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "ser/error.hpp"
#include "ser/model/encoder.hpp"
#include "ser/augment/augment.hpp"
#include "ser/dsp/fft.hpp"
#include "ser/features/registry.hpp"
#include "ser/model/torch_backend.hpp"
#include "ser/version.hpp"

namespace ser::cli {

namespace {

nlohmann::json feature_sets_json() {
  nlohmann::json sets = nlohmann::json::array();
  for (const auto& name : features::feature_set_names()) {
    const auto set = features::make_feature_set(name);
    nlohmann::json blocks = nlohmann::json::array();
    for (const auto& b : set->blocks()) blocks.push_back({{"name", b.name}, {"offset", b.offset}, {"size", b.size}});
    sets.push_back({{"name", name}, {"dim", set->dim()}, {"blocks", blocks}});
  }
  return sets;
}

// `ser info --encoder DIR`: what the folder holds, loaded as `ser extract` would load it.
int print_encoder(const std::string& dir, bool as_json) {
  if (!std::filesystem::is_directory(dir)) throw Error(ErrorKind::Usage, dir, "no such encoder folder");
  const auto encoder = model::load_speech_encoder(dir);
  const model::EncoderConfig& c = encoder->config();
  const nlohmann::json j = {
      {"format", "ser-encoder-info"},
      {"format_version", 1},
      {"folder", dir},
      {"weights", model::encoder_weights_file(dir)},
      {"model_type", c.model_type},
      {"feature_extractor", c.feat_extract_norm == "layer" ? "layer norm on every conv" : "group norm on the first conv"},
      {"encoder_layout", c.do_stable_layer_norm ? "pre-LN (stable layer norm)" : "post-LN"},
      {"hidden_size", c.hidden_size},
      {"transformer_layers", c.num_hidden_layers},
      {"attention_heads", c.num_attention_heads},
      {"hidden_states", c.num_hidden_layers + 1},
      {"parameters", encoder->parameter_count()},
      {"sampling_rate", c.sampling_rate},
      {"do_normalize", c.do_normalize},
      {"receptive_field_samples", c.receptive_field()},
      {"hop_samples", c.hop()},
      {"frame_rate_hz", static_cast<double>(c.sampling_rate) / c.hop()}};
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << dir << ": " << c.model_type << ", " << j["encoder_layout"].get<std::string>() << ", "
            << j["feature_extractor"].get<std::string>() << "\n"
            << "  weights:        " << j["weights"].get<std::string>() << " (" << encoder->parameter_count()
            << " parameters)\n"
            << "  layers:         hidden states 0.." << c.num_hidden_layers << " (0: the transformer input), width "
            << c.hidden_size << ", " << c.num_attention_heads << " heads\n"
            << "  input:          " << c.sampling_rate << " Hz" << (c.do_normalize ? ", normalised per clip" : "")
            << "; one frame per " << c.hop() << " samples (" << j["frame_rate_hz"].get<double>()
            << " Hz), receptive field " << c.receptive_field() << " samples\n";
  return 0;
}

}  // namespace

void register_info(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Version, build (FFT backend, SIMD, LibTorch backend, CUDA with --torch), feature sets");
  auto as_json = std::make_shared<bool>(false);
  auto with_torch = std::make_shared<bool>(false);
  auto encoder_dir = std::make_shared<std::string>();
  sub->add_flag("--json", *as_json, "Print as JSON");
  sub->add_option("--encoder", *encoder_dir,
                  "A Hugging Face wav2vec2 / HuBERT / WavLM folder: print its architecture, parameters and layers");
  sub->add_flag("--torch", *with_torch, "Load LibTorch and report its version, CUDA devices and threads");
  add_runner("info", [as_json, with_torch, encoder_dir]() {
    if (!encoder_dir->empty()) return print_encoder(*encoder_dir, *as_json);
    nlohmann::json j = {{"format", "ser-info"}, {"format_version", 1}};  // docs/SCHEMAS.md
    j["version"] = kVersion;
    j["torch_backend"] = model::torch_backend_path();
    j["torch_backend_present"] = std::filesystem::exists(model::torch_backend_path());
    if (*with_torch) {
      const model::TorchBuildInfo torch = model::torch_backend().build_info();
      j["torch"] = torch.torch_version;
      j["cuda_available"] = torch.cuda_available;
      j["cuda_devices"] = torch.cuda_devices;
      j["torch_threads"] = torch.intra_op_threads;
    }
    j["fft_backend"] = dsp::fft_backend_name();
    j["hardware_threads"] = std::thread::hardware_concurrency();
    j["feature_sets"] = feature_sets_json();
    j["architectures"] = {"model_a", "mlp", "svm", "logreg"};
    j["augment_ops"] = augment::op_names();
#ifdef __AVX512F__
    j["simd"] = "avx512";
#elif defined(__AVX2__)
    j["simd"] = "avx2";
#else
    j["simd"] = "baseline";
#endif
    if (*as_json) {
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << "ser " << kVersion << "\n"
              << "  LibTorch backend: " << j["torch_backend"].get<std::string>()
              << (j["torch_backend_present"].get<bool>() ? "" : " (missing: torch models unavailable)") << "\n";
    if (*with_torch) {
      std::cout << "  torch:            " << j["torch"].get<std::string>() << "\n"
                << "  CUDA available:   " << (j["cuda_available"].get<bool>() ? "yes" : "no");
      if (j["cuda_available"].get<bool>()) std::cout << " (" << j["cuda_devices"] << " device(s))";
      std::cout << "\n  torch threads:    " << j["torch_threads"] << "\n";
    } else {
      std::cout << "  torch, CUDA:      not loaded (ser info --torch)\n";
    }
    std::cout << "  FFT backend:      " << dsp::fft_backend_name() << "\n"
              << "  SIMD:             " << j["simd"].get<std::string>() << "\n"
              << "  hardware threads: " << std::thread::hardware_concurrency() << "\n"
              << "  models:           model_a mlp (LibTorch), svm logreg (libsvm, liblinear)\n"
              << "  feature sets:\n";
    for (const auto& s : j["feature_sets"]) {
      std::cout << "    " << s["name"].get<std::string>() << " (" << s["dim"] << "):";
      std::size_t shown = 0;
      for (const auto& b : s["blocks"]) {
        if (shown++ == 12) {
          std::cout << " ... (" << s["blocks"].size() << " blocks; --json lists all)";
          break;
        }
        std::cout << " " << b["name"].get<std::string>() << "[" << b["size"] << "]";
      }
      std::cout << "\n";
    }
    std::cout << "    (sets join with '+', e.g. issa193+functionals)\n  augment ops:      ";
    for (const auto& n : augment::op_names()) std::cout << n << " ";
    std::cout << "\n";
    return 0;
  });
}

}  // namespace ser::cli
