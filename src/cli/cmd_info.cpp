// `ser info`: what this build is and what it can use. LibTorch is loaded only with --torch
// (CUDA devices, torch threads), so the plain command starts in milliseconds.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
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

}  // namespace

void register_info(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Version, build (FFT backend, SIMD, LibTorch backend, CUDA with --torch), feature sets");
  auto as_json = std::make_shared<bool>(false);
  auto with_torch = std::make_shared<bool>(false);
  sub->add_flag("--json", *as_json, "Print as JSON");
  sub->add_flag("--torch", *with_torch, "Load LibTorch and report its version, CUDA devices and threads");
  add_runner("info", [as_json, with_torch]() {
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
