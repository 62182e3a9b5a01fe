#pragma once
// The frame store beside a feature store (features.frames: true, for sets with frame sequences):
//   <store>/frames.npy   total_frames x width float32: every item's frames, items in index.csv order
//   <store>/frames.csv   id,first,frames: which rows of frames.npy are each item's
//   <store>/meta.json    "frames": {"width", "rate_hz", "blocks", "rows"}
// NumPy reads frames.npy with mmap_mode="r"; FrameStore maps it too, so a corpus of frames is
// never copied into memory.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "ser/features/registry.hpp"

namespace ser::features {

class FrameStore {
 public:
  // Throws ser::Error naming the file when the store has no frames or its files disagree
  // (frames.csv vs index.csv ids, row ranges vs frames.npy's shape, meta.json's width).
  static FrameStore open(const std::string& store_dir);

  std::size_t items() const { return ids_.size(); }
  std::size_t width() const { return width_; }
  std::size_t total_frames() const { return total_; }
  double rate_hz() const { return rate_hz_; }
  const std::vector<Block>& blocks() const { return blocks_; }
  const std::string& id(std::size_t i) const { return ids_[i]; }
  std::size_t frames(std::size_t i) const { return count_[i]; }
  // Item i's frames, frames(i) x width(), row-major, valid while this store (or a copy) lives.
  const float* data(std::size_t i) const { return base_ + first_[i] * width_; }

 private:
  std::shared_ptr<void> mapping_;
  const float* base_ = nullptr;
  std::size_t width_ = 0, total_ = 0;
  double rate_hz_ = 0;
  std::vector<Block> blocks_;
  std::vector<std::string> ids_;
  std::vector<std::size_t> first_, count_;
};

}  // namespace ser::features
