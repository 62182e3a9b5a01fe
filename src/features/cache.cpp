#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <spdlog/spdlog.h>

#include "extract_internal.hpp"
#include "ser/error.hpp"
#include "ser/util/files.hpp"
#include "ser/util/hash.hpp"
#include "ser/version.hpp"

namespace ser::features::detail {

namespace {

// Layout: magic[8] | key u64 | dim u32 | native rate u32 | bandwidth f64 (Hz) | dim x f32 |
// checksum u64 (hash of all preceding bytes). Native byte order: a cache is private to the machine that wrote it, and a
// foreign byte order fails the magic/key check and is recomputed.
constexpr char kMagic[8] = {'S', 'E', 'R', 'F', 'E', 'A', 'T', '2'};
constexpr std::size_t kHeader = 8 + 8 + 4 + 4 + 8;

std::string safe_name(const std::string& name) {
  std::string out = name.empty() ? "unnamed" : name;
  for (auto& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return out;
}

}  // namespace

FeatureCache::FeatureCache(const std::string& dir, const FeatureSet& set)
    : dir_(dir + "/" + safe_name(set.name())), dim_(set.dim()) {
  std::string settings = set.name();
  settings += '\0';
  settings += set.settings_fingerprint();
  settings += '\0';
  settings += std::to_string(set.sample_rate()) + '\0' + std::to_string(dim_) + '\0' + kVersion;
  settings += '\0';
  settings += "bandwidth-estimate-2";  // entries keep the file's bandwidth: a new estimate is a miss
  settings_hash_ = util::hash64(settings);
  // Created once up front: workers racing to create the same folder is needless contention.
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
}

std::uint64_t FeatureCache::key_for(const std::string& audio_path) const {
  return util::hash_file(audio_path, settings_hash_);
}

std::string FeatureCache::file_for(std::uint64_t key) const { return dir_ + "/" + util::hex64(key) + ".bin"; }

bool FeatureCache::load(std::uint64_t key, std::vector<float>& out, AudioFacts& facts) const {
  std::ifstream in(file_for(key), std::ios::binary);
  if (!in) return false;
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw.size() != kHeader + dim_ * sizeof(float) + 8) return false;
  if (std::memcmp(raw.data(), kMagic, 8) != 0) return false;
  std::uint64_t stored_key, checksum;
  std::uint32_t dim;
  std::memcpy(&stored_key, raw.data() + 8, 8);
  std::memcpy(&dim, raw.data() + 16, 4);
  std::memcpy(&checksum, raw.data() + raw.size() - 8, 8);
  if (stored_key != key || dim != dim_) return false;
  if (util::hash64(raw.data(), raw.size() - 8) != checksum) return false;
  std::uint32_t rate;
  double bandwidth;
  std::memcpy(&rate, raw.data() + 20, 4);
  std::memcpy(&bandwidth, raw.data() + 24, 8);
  if (!std::isfinite(bandwidth) || bandwidth < 0) return false;
  facts = {static_cast<int>(rate), bandwidth};
  out.resize(dim_);
  std::memcpy(out.data(), raw.data() + kHeader, dim_ * sizeof(float));
  for (float v : out) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

void FeatureCache::store(std::uint64_t key, const std::vector<float>& values, const AudioFacts& facts) const {
  std::string raw(kHeader + values.size() * sizeof(float), '\0');
  const auto dim = static_cast<std::uint32_t>(values.size());
  std::memcpy(raw.data(), kMagic, 8);
  std::memcpy(raw.data() + 8, &key, 8);
  std::memcpy(raw.data() + 16, &dim, 4);
  const auto rate = static_cast<std::uint32_t>(facts.native_rate);
  std::memcpy(raw.data() + 20, &rate, 4);
  std::memcpy(raw.data() + 24, &facts.bandwidth_hz, 8);
  std::memcpy(raw.data() + kHeader, values.data(), values.size() * sizeof(float));
  const std::uint64_t checksum = util::hash64(raw);
  raw.append(reinterpret_cast<const char*>(&checksum), 8);
  try {
    util::write_text_atomic(file_for(key), raw);
  } catch (const std::exception& e) {
    if (warned_.exchange(true)) return;  // one line, not one per file, for an unwritable folder
    spdlog::warn("feature cache: cannot write {} ({}); results are still correct, only not cached",
                 file_for(key), e.what());
  }
}

}  // namespace ser::features::detail
