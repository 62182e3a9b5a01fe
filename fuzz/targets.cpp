#include "targets.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "ser/audio/audio.hpp"
#include "ser/config/config.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/util/csv.hpp"

namespace ser::fuzz {

namespace {

// One scratch file per process and extension; rewritten for every input.
std::string scratch_file(const std::string& extension, const std::uint8_t* data, std::size_t size) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("ser-fuzz-" + std::to_string(::getpid()) + extension)).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// Anything but ser::Error escaping the library would reach the user as a raw C++ message.
template <class F>
void expect_only_ser_errors(const char* target, F f) {
  try {
    f();
  } catch (const ser::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz %s: escaped a non-ser exception: %s\n", target, e.what());
    std::abort();
  }
}

}  // namespace

void audio_bytes(const std::uint8_t* data, std::size_t size) {
  // A minute, not the 30-minute default: a few bytes of FLAC at 768 kHz may legally decode to the
  // whole cap, and libFuzzer's malloc limit is there to catch what the cap lets through.
  static const audio::Limits kLimits{60};
  if (size < 1) return;
  static const char* const kExtensions[] = {".wav", ".flac", ".aiff", ".ogg", ".au", ".caf", ".w64", ".raw"};
  const std::string path = scratch_file(kExtensions[data[0] % 8], data + 1, size - 1);
  expect_only_ser_errors("audio", [&] { audio::probe(path); });
  expect_only_ser_errors("audio", [&] {
    const audio::Signal s = audio::load(path, audio::kDefaultSampleRate, kLimits);
    if (s.samples.empty()) {
      std::fprintf(stderr, "fuzz audio: load returned an empty signal without an error\n");
      std::abort();
    }
  });
  // The in-memory decoder (the same checks behind a virtual file) must agree with the file one.
  expect_only_ser_errors("audio", [&] {
    audio::load_memory("fuzz", data + 1, size - 1, audio::kDefaultSampleRate, kLimits);
  });
  std::remove(path.c_str());
}

void manifest_bytes(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  expect_only_ser_errors("manifest", [&] { util::parse_csv(text, "fuzz.csv"); });
  const std::string path = scratch_file(".csv", data, size);
  expect_only_ser_errors("manifest", [&] { data::index_manifest(path); });
  expect_only_ser_errors("manifest", [&] { data::index_manifest(path, {false, true}); });
  std::remove(path.c_str());
}

void config_bytes(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto split = text.find("\n--\n");
  const std::string json_text = text.substr(0, split);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception&) {
    return;  // load_config's own answer to invalid JSON; not the parser under test
  }
  expect_only_ser_errors("config", [&] {
    if (split != std::string::npos) {
      std::size_t start = split + 4;
      while (start <= text.size()) {
        const auto end = text.find('\n', start);
        const std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!line.empty()) config::apply_override(doc, line);
        if (end == std::string::npos) break;
        start = end + 1;
      }
    }
    const config::Config cfg = config::parse_config(doc, "fuzz.json");
    config::validate(cfg, "fuzz.json");
    const config::Config again = config::parse_config(config::to_json(cfg), "fuzz.json");
    config::validate(again, "fuzz.json");
    if (config::to_json(again) != config::to_json(cfg)) {
      std::fprintf(stderr, "fuzz config: to_json/parse_config round trip differs\n");
      std::abort();
    }
  });
}

}  // namespace ser::fuzz
