// The frame store (features/frames.hpp) and the per-item frame files extraction spools through.
#include "ser/features/frames.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "extract_internal.hpp"
#include "ser/error.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/util/npy.hpp"

namespace fs = std::filesystem;

namespace ser::features {

namespace {

constexpr char kFrameMagic[8] = {'S', 'E', 'R', 'F', 'R', 'M', '1', '\0'};
constexpr std::size_t kFrameHeader = 24;  // magic, u64 width, u64 frames

std::size_t parse_count(const std::string& text, const std::string& file, const std::string& where) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end || errno || text[0] == '-') fail_input(file, where + ": '" + text + "' is not a count");
  return static_cast<std::size_t>(v);
}

}  // namespace

namespace detail {

FrameFileWriter::FrameFileWriter(std::string path, std::size_t width) : path_(std::move(path)), width_(width) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) fail_runtime(tmp_, std::string("cannot write frames: ") + std::strerror(errno));
  const std::uint64_t header[2] = {width_, 0};
  if (std::fwrite(kFrameMagic, 1, 8, file_) != 8 || std::fwrite(header, 8, 2, file_) != 2) {
    fail_runtime(tmp_, "cannot write frames (disk full?)");
  }
}

FrameFileWriter::~FrameFileWriter() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(tmp_.c_str());
}

void FrameFileWriter::append(const float* rows, std::size_t count) {
  if (std::fwrite(rows, sizeof(float) * width_, count, file_) != count) fail_runtime(tmp_, "cannot write frames (disk full?)");
  frames_ += count;
}

void FrameFileWriter::commit() {
  const std::uint64_t n = frames_;
  if (std::fseek(file_, 16, SEEK_SET) != 0 || std::fwrite(&n, 8, 1, file_) != 1 || std::fclose(file_) != 0) {
    file_ = nullptr;
    fail_runtime(tmp_, "cannot write frames (disk full?)");
  }
  file_ = nullptr;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail_runtime(path_, std::string("cannot rename frames: ") + std::strerror(errno));
  committed_ = true;
}

bool frame_file_frames(const std::string& path, std::size_t width, std::size_t& frames) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  char magic[8];
  std::uint64_t header[2];
  if (!in.read(magic, 8) || std::memcmp(magic, kFrameMagic, 8) != 0) return false;
  if (!in.read(reinterpret_cast<char*>(header), 16) || header[0] != width) return false;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || size != kFrameHeader + header[1] * width * sizeof(float)) return false;
  frames = static_cast<std::size_t>(header[1]);
  return true;
}

void copy_frame_file(const std::string& path, std::size_t width, std::size_t frames, std::ostream& out) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(kFrameHeader));
  std::vector<char> buf(1 << 20);
  std::size_t left = frames * width * sizeof(float);
  while (left > 0 && in) {
    const std::size_t n = std::min(left, buf.size());
    if (!in.read(buf.data(), static_cast<std::streamsize>(n))) break;
    out.write(buf.data(), static_cast<std::streamsize>(n));
    left -= n;
  }
  if (left) fail_runtime(path, "frames file ended early (changed during extraction?)");
}

nlohmann::json write_frame_files(const std::string& dir, const FeatureSet& set, const std::vector<std::string>& ids,
                                 const std::vector<std::size_t>& counts,
                                 const std::function<void(std::size_t row, std::ostream&)>& copy) {
  std::size_t total = 0;
  for (std::size_t c : counts) total += c;
  const std::size_t width = set.frame_width();
  util::write_npy_f32_stream(dir + "/frames.npy", {total, width}, [&](std::ostream& out) {
    for (std::size_t r = 0; r < ids.size(); ++r) copy(r, out);
  });
  util::write_file_atomic(dir + "/frames.csv", [&](std::ostream& out) {
    out << util::csv_line({"id", "first", "frames"});
    std::size_t first = 0;
    for (std::size_t r = 0; r < ids.size(); ++r) {
      out << util::csv_line({ids[r], std::to_string(first), std::to_string(counts[r])});
      first += counts[r];
    }
  });
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : set.frame_blocks()) blocks.push_back({{"name", b.name}, {"offset", b.offset}, {"size", b.size}});
  return {{"width", width}, {"rate_hz", set.frame_rate_hz()}, {"blocks", blocks}, {"rows", total}};
}

void remove_frame_files(const std::string& dir) {
  std::error_code ec;
  fs::remove(dir + "/frames.npy", ec);
  fs::remove(dir + "/frames.csv", ec);
}

}  // namespace detail

FrameStore FrameStore::open(const std::string& store_dir) {
  const std::string meta_path = store_dir + "/meta.json", npy_path = store_dir + "/frames.npy",
                    csv_path = store_dir + "/frames.csv", index_path = store_dir + "/index.csv";
  const nlohmann::json meta = util::read_json(meta_path);
  if (!meta.is_object() || !meta.contains("frames") || !meta["frames"].is_object()) {
    fail_input(meta_path, "this store has no frame sequences (extract with features.frames true)");
  }
  FrameStore s;
  try {
    const auto& f = meta["frames"];
    s.width_ = f.at("width").get<std::size_t>();
    s.total_ = f.at("rows").get<std::size_t>();
    s.rate_hz_ = f.at("rate_hz").get<double>();
    for (const auto& b : f.at("blocks")) {
      s.blocks_.push_back({b.at("name").get<std::string>(), b.at("offset").get<std::size_t>(), b.at("size").get<std::size_t>()});
    }
  } catch (const nlohmann::json::exception&) {
    fail_input(meta_path, "\"frames\" needs width, rows, rate_hz and blocks");
  }
  if (s.width_ == 0) fail_input(meta_path, "\"frames\".width is 0");

  // Items: frames.csv, row for row with index.csv's ids.
  const auto index_rows = util::parse_csv(util::read_text(index_path), index_path);
  const auto rows = util::parse_csv(util::read_text(csv_path), csv_path);
  if (rows.empty() || rows[0].fields != std::vector<std::string>{"id", "first", "frames"}) {
    fail_input(csv_path, "header must be id,first,frames");
  }
  if (rows.size() != index_rows.size()) {
    fail_input(csv_path, "has " + std::to_string(rows.size() - 1) + " items but index.csv has " +
                             std::to_string(index_rows.size() - 1) + " (files from different runs?)");
  }
  std::size_t next = 0;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    const std::string where = "line " + std::to_string(rows[r].line);
    if (f.size() != 3 || index_rows[r].fields.empty() || f[0] != index_rows[r].fields[0]) {
      fail_input(csv_path, where + " does not match index.csv's item");
    }
    const std::size_t first = parse_count(f[1], csv_path, where), count = parse_count(f[2], csv_path, where);
    if (first != next || count > s.total_ - first) fail_input(csv_path, where + ": rows do not follow on within frames.npy");
    next = first + count;
    s.ids_.push_back(f[0]);
    s.first_.push_back(first);
    s.count_.push_back(count);
  }
  if (next != s.total_) fail_input(csv_path, "covers " + std::to_string(next) + " frames, meta.json says " + std::to_string(s.total_));

  // frames.npy: its header must be exactly the one ser writes for this shape; then map it.
  const std::string header = util::npy_f32_header({s.total_, s.width_});
  const int fd = ::open(npy_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_input(npy_path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  const std::size_t bytes = header.size() + s.total_ * s.width_ * sizeof(float);
  std::string head(header.size(), '\0');
  if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) != bytes ||
      ::pread(fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size()) || head != header) {
    ::close(fd);
    fail_input(npy_path, "is not a float32 array of shape (" + std::to_string(s.total_) + ", " +
                             std::to_string(s.width_) + ") as meta.json and frames.csv say");
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) fail_input(npy_path, std::string("cannot map: ") + std::strerror(errno));
  s.mapping_ = std::shared_ptr<void>(p, [bytes](void* q) { ::munmap(q, bytes); });
  s.base_ = reinterpret_cast<const float*>(static_cast<const char*>(p) + header.size());
  return s;
}

}  // namespace ser::features
