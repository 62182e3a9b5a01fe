#pragma once
// LibTorch lives in a shared library of its own (libser_torch.so beside libser_core.so), opened
// on first use. Commands that never touch a torch model (--help, info, extract, augment, and
// train/evaluate/predict with classic models) start without loading it: LibTorch's own start-up
// (~0.5 s of relocations and static initialisers) would otherwise dominate short commands.
//
// The library exports one C function returning a table of entry points; callers go through
// torch_backend(), which opens the library once (thread-safe) or throws ser::Error saying why.
#include <memory>
#include <string>

#include "ser/model/build_info.hpp"
#include "ser/model/encoder.hpp"
#include "ser/model/runtime.hpp"
#include "ser/model/scoring.hpp"
#include "ser/train/trainer.hpp"

namespace ser::model {

// Bumped whenever a signature below changes, so a stale library is refused rather than misused.
constexpr int kTorchBackendAbi = 4;

struct TorchBackend {
  int abi = 0;
  train::FoldResult (*train_fold)(const std::vector<float>& rows, std::size_t dim, const std::vector<int>& labels,
                                  int n_classes, const data::Fold& fold, const train::TrainConfig& cfg,
                                  const train::FoldOptions& options) = nullptr;
  std::string (*resolve_device)(const std::string& requested) = nullptr;
  TorchBuildInfo (*build_info)() = nullptr;
  void (*configure_cpu_runtime)(const CpuRuntimeOptions& options) = nullptr;
  // A saved torch model (model.pt) on `device` ("cpu" | "cuda" | "auto").
  std::unique_ptr<ScoringModel> (*load_scoring_model)(const std::string& model_pt, const std::string& device) = nullptr;
  // A speech encoder folder (model/encoder.hpp), on the CPU.
  std::unique_ptr<SpeechEncoderModel> (*load_speech_encoder)(const std::string& dir, const std::string& device,
                                                            const std::string& dtype) = nullptr;
};

// Opens the backend on first call. Throws ser::Error (runtime) naming the library when it is
// missing or does not match this build.
const TorchBackend& torch_backend();
// Whether LibTorch is in this process (opened by torch_backend() or linked in, as in tests).
bool torch_backend_loaded();
// Where torch_backend() looks for the library (SER_TORCH_LIBRARY overrides it).
std::string torch_backend_path();

}  // namespace ser::model

// The one symbol libser_torch.so exports for the loader.
extern "C" const ser::model::TorchBackend* ser_torch_backend();
