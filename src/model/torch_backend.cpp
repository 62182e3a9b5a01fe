#include "ser/model/torch_backend.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "ser/error.hpp"

namespace ser::model {

namespace {

using Entry = const TorchBackend* (*)();

std::string library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&torch_backend_path), &info) && info.dli_fname) {
    return std::filesystem::path(info.dli_fname).parent_path().string();
  }
  return ".";
}

const TorchBackend* open_backend() {
  // Linked in already (torch tests, benchmarks): use that copy.
  if (void* sym = dlsym(RTLD_DEFAULT, "ser_torch_backend")) return reinterpret_cast<Entry>(sym)();
  const std::string path = torch_backend_path();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    fail_runtime(path, std::string("cannot load the LibTorch backend, needed for torch models (model_a, mlp): ") +
                           (why ? why : "unknown reason"));
  }
  void* sym = dlsym(handle, "ser_torch_backend");
  if (!sym) fail_runtime(path, "not a ser LibTorch backend (no ser_torch_backend symbol)");
  return reinterpret_cast<Entry>(sym)();
}

}  // namespace

std::string torch_backend_path() {
  if (const char* env = std::getenv("SER_TORCH_LIBRARY"); env && *env) return env;
  return library_dir() + "/libser_torch.so";
}

const TorchBackend& torch_backend() {
  static std::once_flag once;
  static const TorchBackend* backend = nullptr;
  static std::string problem;
  std::call_once(once, [] {
    try {
      backend = open_backend();
      if (!backend || backend->abi != kTorchBackendAbi) {
        problem = "interface version " + std::to_string(backend ? backend->abi : 0) + ", this build expects " +
                  std::to_string(kTorchBackendAbi) + "; rebuild";
        backend = nullptr;
      }
    } catch (const Error& e) {
      problem = e.what();
    }
  });
  if (!backend) {
    if (problem.rfind(torch_backend_path(), 0) == 0) fail_runtime("", problem);
    fail_runtime(torch_backend_path(), problem);
  }
  return *backend;
}

bool torch_backend_loaded() {
  if (dlsym(RTLD_DEFAULT, "ser_torch_backend")) return true;
  void* handle = dlopen(torch_backend_path().c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle) dlclose(handle);  // NOLOAD still counts a reference
  return handle != nullptr;
}

}  // namespace ser::model

namespace ser::model {
std::unique_ptr<SpeechEncoderModel> load_speech_encoder(const std::string& dir, const std::string& device,
                                                        const std::string& dtype) {
  if (device != "cpu" && device != "cuda" && device != "auto") {
    fail_config("features.encoder.device", "'" + device + "' is not one of cpu, cuda, auto");
  }
  if (dtype != "float32" && dtype != "bfloat16" && dtype != "float16") {
    fail_config("features.encoder.dtype", "'" + dtype + "' is not one of float32, bfloat16, float16");
  }
  read_encoder_config(dir);  // a folder without config.json is a config error before LibTorch loads
  return torch_backend().load_speech_encoder(dir, device, dtype);
}
}  // namespace ser::model
