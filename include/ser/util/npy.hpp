#pragma once
// NumPy .npy (format 1.0/2.0, little-endian, C order) reading and writing, for interop with
// Python and for the librosa reference arrays.
#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace ser::util {

struct NpyArray {
  std::vector<std::size_t> shape;
  std::string dtype;          // as stored, e.g. "<f4", "<f8", "<i8"
  std::vector<double> values;  // every element widened to double, C order

  std::size_t size() const { return values.size(); }
  // Element (i, j) of a 2-D array.
  double at(std::size_t i, std::size_t j) const { return values[i * shape[1] + j]; }
};

NpyArray read_npy(const std::string& path);

// Writes a float32 array of the given shape atomically (temp file, then rename).
void write_npy_f32(const std::string& path, const std::vector<std::size_t>& shape, const float* data);
// The same with the data written by `body` (exactly the product of shape floats, little-endian),
// for arrays too large to hold in memory at once.
void write_npy_f32_stream(const std::string& path, const std::vector<std::size_t>& shape,
                          const std::function<void(std::ostream&)>& body);
// The header (magic, version 1.0, padded dict) that starts such a file.
std::string npy_f32_header(const std::vector<std::size_t>& shape);

}  // namespace ser::util
