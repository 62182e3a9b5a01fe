// Replays every input kept under fuzz/corpus/<target>/ (hand-made seeds, the fuzzers' minimised
// corpus and any input that once crashed) through the fuzz targets: each must return normally,
// i.e. end in a ser::Error or a result, never a crash or another exception.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "targets.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs_of(const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(SER_FUZZ_DIR) / "corpus" / target;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void replay(const std::string& target, void (*body)(const std::uint8_t*, std::size_t), std::size_t at_least) {
  const auto files = inputs_of(target);
  ASSERT_GE(files.size(), at_least) << "fuzz/corpus/" << target << " lost its seeds";
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    const auto data = bytes_of(f);
    body(data.data(), data.size());
  }
}

}  // namespace

TEST(FuzzInputs, Audio) { replay("audio", ser::fuzz::audio_bytes, 5); }
TEST(FuzzInputs, Manifest) { replay("manifest", ser::fuzz::manifest_bytes, 5); }
TEST(FuzzInputs, Config) { replay("config", ser::fuzz::config_bytes, 5); }
