// `ser info`: what this build is and what it can use.
#include <nlohmann/json.hpp>

#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "ser/dsp/fft.hpp"
#include "ser/augment/augment.hpp"
#include "ser/features/registry.hpp"
#include "ser/model/build_info.hpp"
#include "ser/version.hpp"

namespace ser::cli {

void register_info(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Version, build (torch, CUDA, FFT backend) and threads");
  auto as_json = std::make_shared<bool>(false);
  sub->add_flag("--json", *as_json, "Print as JSON");
  add_runner("info", [as_json]() {
    const model::TorchBuildInfo torch = model::torch_build_info();
    nlohmann::json j;
    j["version"] = kVersion;
    j["torch"] = torch.torch_version;
    j["cuda_available"] = torch.cuda_available;
    j["cuda_devices"] = torch.cuda_devices;
    j["fft_backend"] = dsp::fft_backend_name();
    j["hardware_threads"] = std::thread::hardware_concurrency();
    j["torch_threads"] = torch.intra_op_threads;
    j["feature_sets"] = features::feature_set_names();
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
              << "  torch:            " << torch.torch_version << "\n"
              << "  CUDA available:   " << (torch.cuda_available ? "yes" : "no");
    if (torch.cuda_available) std::cout << " (" << torch.cuda_devices << " device(s))";
    std::cout << "\n"
              << "  FFT backend:      " << dsp::fft_backend_name() << "\n"
              << "  SIMD:             " << j["simd"].get<std::string>() << "\n"
              << "  hardware threads: " << std::thread::hardware_concurrency() << "\n"
              << "  torch threads:    " << torch.intra_op_threads << "\n"
              << "  feature sets:     ";
    for (const auto& n : features::feature_set_names()) std::cout << n << " ";
    std::cout << "\n  augment ops:      ";
    for (const auto& n : augment::op_names()) std::cout << n << " ";
    std::cout << "\n";
    return 0;
  });
}

}  // namespace ser::cli
