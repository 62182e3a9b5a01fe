// The table libser_torch.so hands the loader (ser/model/torch_backend.hpp).
#include "ser/model/torch_backend.hpp"

#include "encoder.hpp"
#include "torch_internal.hpp"

extern "C" __attribute__((visibility("default"))) const ser::model::TorchBackend* ser_torch_backend() {
  static const ser::model::TorchBackend table = [] {
    ser::model::TorchBackend t;
    t.abi = ser::model::kTorchBackendAbi;
    t.train_fold = &ser::train::train_fold_torch;
    t.resolve_device = &ser::train::resolve_torch_device;
    t.build_info = &ser::model::torch_build_info;
    t.configure_cpu_runtime = &ser::model::configure_cpu_runtime;
    t.load_scoring_model = &ser::model::load_torch_scoring_model;
    t.load_speech_encoder = &ser::model::load_torch_speech_encoder;
    return t;
  }();
  return &table;
}
