#include "ser/model/build_info.hpp"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

namespace ser::model {

TorchBuildInfo torch_build_info() {
  TorchBuildInfo info;
  info.torch_version = TORCH_VERSION;
#ifdef USE_CUDA
  info.cuda_compiled = true;
#endif
  info.cuda_available = torch::cuda::is_available();
  info.cuda_compiled = info.cuda_compiled || info.cuda_available;
  info.cuda_devices = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  info.intra_op_threads = at::get_num_threads();
  return info;
}

}  // namespace ser::model
