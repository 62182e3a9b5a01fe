#pragma once
#include <string>

namespace ser::model {

struct TorchBuildInfo {
  std::string torch_version;
  bool cuda_compiled = false;
  bool cuda_available = false;
  int cuda_devices = 0;
  int intra_op_threads = 0;
};

TorchBuildInfo torch_build_info();

}  // namespace ser::model
