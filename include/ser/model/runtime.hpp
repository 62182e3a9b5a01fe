#pragma once
// Process-wide CPU settings for training and prediction with LibTorch.
namespace ser::model {

struct CpuRuntimeOptions {
  int intra_op_threads = 0;  // 0: leave torch's default (one per core)
  int inter_op_threads = 0;  // 0: leave torch's default; only settable before parallel torch work
  // LibTorch's CPU allocator calls malloc/free for every activation. glibc serves the multi-MB
  // batch tensors with mmap/munmap (or trims the heap after each free), so every batch pays page
  // faults and kernel page zeroing: ~30 % of a Model A epoch on one thread. Pinning the mmap
  // threshold at its 32 MiB maximum and raising the trim threshold keeps that memory in the heap.
  bool retain_freed_memory = true;
};

// Call once, early (before the first torch op when inter_op_threads is set).
// Throws ser::Error (runtime) when torch refuses the thread settings.
void configure_cpu_runtime(const CpuRuntimeOptions& options);

}  // namespace ser::model
