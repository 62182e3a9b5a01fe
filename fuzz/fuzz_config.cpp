// libFuzzer entry point for ser::fuzz::config_bytes (see targets.hpp).
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ser::fuzz::config_bytes(data, size);
  return 0;
}
