#pragma once
// Reading NumPy .npz archives (zip, stored or deflated) in tests: each member is inflated with
// zlib into a temporary .npy and read by util::read_npy.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "ser/util/files.hpp"
#include "ser/util/npy.hpp"

namespace ser::test {

inline std::map<std::string, util::NpyArray> read_npz(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string z((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u16 = [&](std::size_t at) { return static_cast<std::uint32_t>(static_cast<unsigned char>(z.at(at)) | (static_cast<unsigned char>(z.at(at + 1)) << 8)); };
  auto u32 = [&](std::size_t at) { return u16(at) | (u16(at + 2) << 16); };
  std::size_t eocd = z.size() < 22 ? std::string::npos : z.size() - 22;
  while (eocd != std::string::npos && u32(eocd) != 0x06054b50u) eocd = eocd == 0 ? std::string::npos : eocd - 1;
  if (eocd == std::string::npos) throw std::runtime_error(path + ": not a zip archive");
  const std::uint32_t entries = u16(eocd + 10);
  std::size_t at = u32(eocd + 16);
  std::map<std::string, util::NpyArray> out;
  const auto tmp = std::filesystem::temp_directory_path() / ("ser-npz-" + std::to_string(::getpid()) + ".npy");
  for (std::uint32_t e = 0; e < entries; ++e) {
    if (u32(at) != 0x02014b50u) throw std::runtime_error(path + ": bad central directory");
    const std::uint32_t method = u16(at + 10), csize = u32(at + 20), usize = u32(at + 24);
    const std::uint32_t name_len = u16(at + 28), extra_len = u16(at + 30), comment_len = u16(at + 32);
    const std::uint32_t local = u32(at + 42);
    std::string name = z.substr(at + 46, name_len);
    at += 46 + name_len + extra_len + comment_len;
    const std::size_t data = local + 30 + u16(local + 26) + u16(local + 28);
    std::string raw(usize, '\0');
    if (method == 0) {
      raw = z.substr(data, usize);
    } else if (method == 8) {
      z_stream s{};
      inflateInit2(&s, -15);
      s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data() + data));
      s.avail_in = csize;
      s.next_out = reinterpret_cast<Bytef*>(raw.data());
      s.avail_out = usize;
      const int rc = inflate(&s, Z_FINISH);
      inflateEnd(&s);
      if (rc != Z_STREAM_END) throw std::runtime_error(path + ": cannot inflate " + name);
    } else {
      throw std::runtime_error(path + ": unsupported zip method for " + name);
    }
    util::write_text_atomic(tmp.string(), raw);
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out[name] = util::read_npy(tmp.string());
  }
  std::filesystem::remove(tmp);
  return out;
}

}  // namespace ser::test
