#pragma once
// Pieces of batch extraction shared between extract.cpp, cache.cpp and store.cpp.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ser/data/corpus.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"

namespace ser::features::detail {

// Content-addressed per-file cache: <dir>/<set name>/<16 hex>.bin. The key hashes the file's
// bytes seeded with everything that changes the numbers (set name, fingerprint, sample rate, dim,
// toolkit version), so an edited file or a changed setting simply misses.
class FeatureCache {
 public:
  FeatureCache(const std::string& dir, const FeatureSet& set);

  // Throws ser::Error naming the file when it cannot be read.
  std::uint64_t key_for(const std::string& audio_path) const;
  // False when the entry is absent, short, corrupt or for another dimension: the caller recomputes.
  bool load(std::uint64_t key, std::vector<float>& out, AudioFacts& facts) const;
  // Atomic write; a failure only costs a recomputation next time, so it is logged, not thrown.
  void store(std::uint64_t key, const std::vector<float>& values, const AudioFacts& facts) const;
  std::string file_for(std::uint64_t key) const;

 private:
  std::string dir_;
  std::uint64_t settings_hash_;
  std::size_t dim_;
  mutable std::atomic<bool> warned_{false};
};

// Writes features.npy, index.csv, audio.csv and meta.json (last) into dir. rows are indices into
// index.items; values is rows.size() x dim, row-major; facts one per row.
void write_store(const std::string& dir, const data::CorpusIndex& index, const std::vector<std::size_t>& rows,
                 const std::vector<float>& values, std::size_t dim, const std::vector<AudioFacts>& facts,
                 const nlohmann::json& meta);

// The meta.json of a store (counts, errors and warnings from `summary`, `rows` rows), without
// frames or shard records.
nlohmann::json store_meta(const FeatureSet& set, const data::CorpusIndex& index, const ExtractSummary& summary,
                          std::size_t rows);

// One item's frames while a store is written (features/frames.cpp): "SERFRM1\0", u64 width,
// u64 frames, then the rows. Written to a temporary name, renamed by commit(); a writer that
// is destroyed uncommitted removes its file.
class FrameFileWriter {
 public:
  FrameFileWriter(std::string path, std::size_t width);
  ~FrameFileWriter();
  FrameFileWriter(const FrameFileWriter&) = delete;
  FrameFileWriter& operator=(const FrameFileWriter&) = delete;
  void append(const float* rows, std::size_t count);
  void commit();
  std::size_t frames() const { return frames_; }

 private:
  std::string path_, tmp_;
  std::size_t width_, frames_ = 0;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};
// The frame count of a complete frame file of this width; false when absent, short or other.
bool frame_file_frames(const std::string& path, std::size_t width, std::size_t& frames);
void copy_frame_file(const std::string& path, std::size_t width, std::size_t frames, std::ostream& out);
// Writes <dir>/frames.npy (streamed: `copy` writes row r's counts[r] frames) and frames.csv;
// returns meta.json's "frames" object.
nlohmann::json write_frame_files(const std::string& dir, const FeatureSet& set, const std::vector<std::string>& ids,
                                 const std::vector<std::size_t>& counts,
                                 const std::function<void(std::size_t row, std::ostream&)>& copy);
void remove_frame_files(const std::string& dir);

}  // namespace ser::features::detail
