// libFuzzer entry point for ser::fuzz::manifest_bytes (see targets.hpp).
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ser::fuzz::manifest_bytes(data, size);
  return 0;
}
