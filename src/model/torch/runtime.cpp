#include "ser/model/runtime.hpp"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <malloc.h>

#include <string>

#include "ser/error.hpp"

namespace ser::model {

void configure_cpu_runtime(const CpuRuntimeOptions& options) {
  if (options.retain_freed_memory) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum; also stops its dynamic adjustment
    mallopt(M_TRIM_THRESHOLD, 1 << 30);   // give heap back to the OS only above 1 GiB free
#endif
  }
  try {
    if (options.inter_op_threads > 0) at::set_num_interop_threads(options.inter_op_threads);
    if (options.intra_op_threads > 0) at::set_num_threads(options.intra_op_threads);
  } catch (const c10::Error& e) {
    fail_runtime("torch threads", std::string("cannot set thread counts: ") + e.what_without_backtrace() +
                                      " (configure the CPU runtime before any torch work)");
  }
}

}  // namespace ser::model
