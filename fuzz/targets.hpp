#pragma once
// The fuzz targets' bodies, shared by the libFuzzer executables (fuzz_*.cpp, clang only) and by
// test_fuzz_inputs (tests/unit), which replays every kept input under the normal build so a
// crash found once stays a test. A target returns normally for any input: a ser::Error is the
// expected answer to bad bytes; any other exception or a crash is a bug.
#include <cstddef>
#include <cstdint>

namespace ser::fuzz {

// The first byte picks the container's file extension (libsndfile detects most formats by
// content, a few by name); the rest is the file. Decodes, mixes and resamples to 22050 Hz.
void audio_bytes(const std::uint8_t* data, std::size_t size);

// The bytes as a manifest CSV, indexed with training rules and with prediction rules.
void manifest_bytes(const std::uint8_t* data, std::size_t size);

// A JSON config, optionally followed by a line "--" and one `--set key=value` override per line;
// parsed, overridden, validated, serialised and parsed again.
void config_bytes(const std::uint8_t* data, std::size_t size);

}  // namespace ser::fuzz
