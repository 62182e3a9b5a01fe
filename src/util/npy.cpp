#include "ser/util/npy.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "ser/error.hpp"
#include "ser/util/files.hpp"

namespace ser::util {

namespace {

template <typename T>
void widen(const std::string& raw, std::size_t offset, std::size_t n, std::vector<double>& out) {
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + offset + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

// Reorders a Fortran-order (first index fastest) array into C order.
void to_c_order(NpyArray& arr) {
  const std::size_t ndim = arr.shape.size();
  std::vector<std::size_t> f_stride(ndim, 1);
  for (std::size_t d = 1; d < ndim; ++d) f_stride[d] = f_stride[d - 1] * arr.shape[d - 1];
  std::vector<double> c(arr.values.size());
  std::vector<std::size_t> index(ndim, 0);
  for (std::size_t flat = 0; flat < c.size(); ++flat) {
    std::size_t src = 0;
    for (std::size_t d = 0; d < ndim; ++d) src += index[d] * f_stride[d];
    c[flat] = arr.values[src];
    for (std::size_t d = ndim; d-- > 0;) {  // advance the C-order multi-index
      if (++index[d] < arr.shape[d]) break;
      index[d] = 0;
    }
  }
  arr.values.swap(c);
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  const std::string raw = read_text(path);
  if (raw.size() < 10 || raw.compare(0, 6, "\x93NUMPY") != 0) fail_input(path, "not a .npy file");
  const int major = static_cast<unsigned char>(raw[6]);
  std::size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(raw[8]) | (static_cast<unsigned char>(raw[9]) << 8);
    header_start = 10;
  } else {
    if (raw.size() < 12) fail_input(path, "truncated .npy header");
    std::uint32_t len;
    std::memcpy(&len, raw.data() + 8, 4);
    header_len = len;
    header_start = 12;
  }
  if (raw.size() < header_start + header_len) fail_input(path, "truncated .npy header");
  const std::string header = raw.substr(header_start, header_len);

  NpyArray arr;
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'"))) fail_input(path, "npy header lacks descr");
  arr.dtype = m[1];
  const bool fortran = std::regex_search(header, m, std::regex("'fortran_order':\\s*True"));
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) fail_input(path, "npy header lacks shape");
  std::stringstream dims(m[1].str());
  std::string item;
  std::size_t count = 1;
  while (std::getline(dims, item, ',')) {
    if (item.find_first_not_of(" ") == std::string::npos) continue;
    arr.shape.push_back(std::stoull(item));
    count *= arr.shape.back();
  }
  const std::size_t data_offset = header_start + header_len;
  const std::size_t item_size = std::stoul(arr.dtype.substr(2));
  if (raw.size() < data_offset + count * item_size) fail_input(path, "truncated .npy data");
  if (arr.dtype == "<f4") widen<float>(raw, data_offset, count, arr.values);
  else if (arr.dtype == "<f8") widen<double>(raw, data_offset, count, arr.values);
  else if (arr.dtype == "<i8") widen<std::int64_t>(raw, data_offset, count, arr.values);
  else if (arr.dtype == "<i4") widen<std::int32_t>(raw, data_offset, count, arr.values);
  else fail_input(path, "unsupported npy dtype " + arr.dtype);
  if (fortran && arr.shape.size() > 1) to_c_order(arr);
  return arr;
}

std::string npy_f32_header(const std::vector<std::size_t>& shape) {
  std::string shape_text = "(";
  for (std::size_t d : shape) shape_text += std::to_string(d) + ",";
  if (shape.size() > 1) shape_text.pop_back();
  shape_text += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text + ", }";
  // Pad so that magic + length field + header is a multiple of 64 bytes, ending in '\n'.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  const auto len = static_cast<std::uint16_t>(header.size());
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(len & 0xff) + static_cast<char>(len >> 8) + header;
}

void write_npy_f32_stream(const std::string& path, const std::vector<std::size_t>& shape,
                          const std::function<void(std::ostream&)>& body) {
  write_file_atomic(path, [&](std::ostream& out) {
    const std::string header = npy_f32_header(shape);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    body(out);
  });
}

void write_npy_f32(const std::string& path, const std::vector<std::size_t>& shape, const float* data) {
  std::size_t count = 1;
  for (std::size_t d : shape) count *= d;
  write_npy_f32_stream(path, shape, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(float)));
  });
}

}  // namespace ser::util
