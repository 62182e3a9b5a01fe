#pragma once
// Fast non-cryptographic 64-bit hashing (the XXH64 algorithm) for content-addressed caches: a
// corpus re-run must be able to recognise unchanged files without decoding them.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ser::util {

std::uint64_t hash64(const void* data, std::size_t size, std::uint64_t seed = 0);
inline std::uint64_t hash64(const std::string& bytes, std::uint64_t seed = 0) {
  return hash64(bytes.data(), bytes.size(), seed);
}

// Hash of a file's bytes (read once, whole). Throws ser::Error naming the file if unreadable.
std::uint64_t hash_file(const std::string& path, std::uint64_t seed = 0);

// 16 lower-case hex digits.
std::string hex64(std::uint64_t value);

}  // namespace ser::util
