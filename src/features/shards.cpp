// Merging the shard stores of `ser extract --shard K/N` into one store (features/extract.hpp).
#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include <spdlog/spdlog.h>

#include "extract_internal.hpp"
#include "ser/error.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/frames.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;

namespace ser::features {

namespace {

struct Shard {
  std::string dir;
  FeatureTable table;
  std::map<std::string, std::string> failed;                  // id -> reason
  std::map<std::string, std::vector<std::string>> warnings;   // id -> warnings
  std::unique_ptr<FrameStore> frames;
  std::size_t next_row = 0;
};

// The N of the shards under <out>/shards, checking that 1..N are all there and nothing else.
int shard_count(const std::string& out_dir) {
  const std::string root = out_dir + "/shards";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) fail_input(root, "no shard stores here (run ser extract --shard K/N first)");
  const std::regex name(R"(([0-9]{1,6})-of-([0-9]{1,6}))");
  int n = 0;
  std::vector<int> ks;
  for (const auto& e : fs::directory_iterator(root)) {
    std::smatch m;
    const std::string base = e.path().filename().string();
    if (!e.is_directory() || !std::regex_match(base, m, name)) continue;
    const int k = std::stoi(m[1]), of = std::stoi(m[2]);
    if (n && of != n) fail_input(root, "holds shards of " + std::to_string(n) + " and of " + std::to_string(of) + " (remove the stale ones)");
    n = of;
    ks.push_back(k);
  }
  if (n == 0) fail_input(root, "no shard stores here (run ser extract --shard K/N first)");
  for (int k = 1; k <= n; ++k) {
    if (std::find(ks.begin(), ks.end(), k) == ks.end()) {
      fail_input(shard_dir(out_dir, k, n), "shard " + std::to_string(k) + " of " + std::to_string(n) + " is missing (not run, or failed)");
    }
  }
  return n;
}

}  // namespace

ExtractSummary merge_shards(const data::CorpusIndex& index, const FeatureSet& set, const ExtractOptions& opt) {
  const int n = shard_count(opt.out_dir);
  const std::size_t dim = set.dim(), frame_width = opt.frames ? set.frame_width() : 0;
  std::vector<Shard> shards(static_cast<std::size_t>(n));
  ExtractSummary summary;
  for (int k = 1; k <= n; ++k) {
    Shard& s = shards[static_cast<std::size_t>(k - 1)];
    s.dir = shard_dir(opt.out_dir, k, n);
    s.table = read_feature_store(s.dir);
    const auto& m = s.table.meta;
    const std::string meta_path = s.dir + "/meta.json";
    if (m.value("settings_fingerprint", "") != set.settings_fingerprint() || s.table.dim != dim) {
      fail_input(meta_path, "was extracted with other settings than these (feature set, checkpoint, fmax...)");
    }
    if (!m.contains("shard") || m["shard"].value("k", 0) != k || m["shard"].value("n", 0) != n) {
      fail_input(meta_path, "is not the record of shard " + std::to_string(k) + " of " + std::to_string(n));
    }
    if (m["shard"].value("index_items", std::size_t{0}) != index.items.size()) {
      fail_input(meta_path, "was made from a listing of " + std::to_string(m["shard"].value("index_items", 0)) +
                                " items; the corpus now lists " + std::to_string(index.items.size()) + " (re-run the shards)");
    }
    for (const auto& e : m.value("errors", nlohmann::json::array())) {
      if (e.contains("id")) s.failed[e["id"].get<std::string>()] = e.value("reason", "");
    }
    for (const auto& w : m.value("warnings", nlohmann::json::array())) {
      s.warnings[w.value("id", "")].push_back(w.value("warning", ""));
    }
    if (frame_width) {
      s.frames = std::make_unique<FrameStore>(FrameStore::open(s.dir));
      if (s.frames->width() != frame_width) fail_input(s.dir + "/frames.npy", "frames of another width");
    }
    const auto& c = m.value("counts", nlohmann::json::object());
    summary.extracted += c.value("extracted", std::size_t{0});
    summary.from_cache += c.value("from_cache", std::size_t{0});
    summary.seconds += m.value("seconds", 0.0);
  }

  // Walk the listing: item p is shard ((p / window) % N)'s next row or one of its failures.
  const std::size_t window = extract_window(set);
  for (const auto& s : shards) {
    if (s.table.meta["shard"].value("window", std::size_t{1}) != window) {
      fail_input(s.dir + "/meta.json", "was cut in windows of another size (features.encoder.batch differs?)");
    }
  }
  summary.total = index.items.size() + index.problems.size();
  for (const auto& p : index.problems) summary.failures.push_back({"", p.path, p.reason});
  std::vector<std::size_t> rows;
  std::vector<float> values;
  std::vector<AudioFacts> facts;
  std::vector<std::pair<std::size_t, std::size_t>> frame_rows;  // (shard, row in it)
  for (std::size_t p = 0; p < index.items.size(); ++p) {
    const data::Item& item = index.items[p];
    const std::size_t owner = (p / window) % static_cast<std::size_t>(n);
    Shard& s = shards[owner];
    const FeatureTable& t = s.table;
    if (s.next_row < t.items.size() && t.items[s.next_row].id == item.id) {
      if (t.items[s.next_row].path != item.path) {
        fail_input(s.dir + "/index.csv", "item " + item.id + " has path " + t.items[s.next_row].path + ", the corpus now " + item.path);
      }
      rows.push_back(p);
      values.insert(values.end(), t.row(s.next_row), t.row(s.next_row) + dim);
      facts.push_back(t.audio.empty() ? AudioFacts{} : t.audio[s.next_row]);
      frame_rows.emplace_back(owner, s.next_row);
      for (const auto& w : s.warnings[item.id]) summary.warnings.push_back({item.id, item.path, w});
      ++s.next_row;
    } else if (auto f = s.failed.find(item.id); f != s.failed.end()) {
      summary.failures.push_back({item.id, item.path, f->second});
    } else {
      fail_input(s.dir, "has no row or failure for item " + item.id + " (made from another corpus listing? re-run it)");
    }
  }
  for (const auto& s : shards) {
    if (s.next_row != s.table.items.size()) fail_input(s.dir + "/index.csv", "has rows for items the corpus no longer lists");
  }
  summary.failed = summary.failures.size();

  util::ensure_writable_dir(opt.out_dir);
  nlohmann::json meta = detail::store_meta(set, index, summary, rows.size());
  meta["merged_from_shards"] = n;
  if (frame_width) {
    std::vector<std::string> ids;
    std::vector<std::size_t> counts;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      ids.push_back(index.items[rows[r]].id);
      counts.push_back(shards[frame_rows[r].first].frames->frames(frame_rows[r].second));
    }
    meta["frames"] = detail::write_frame_files(opt.out_dir, set, ids, counts, [&](std::size_t r, std::ostream& out) {
      const FrameStore& f = *shards[frame_rows[r].first].frames;
      out.write(reinterpret_cast<const char*>(f.data(frame_rows[r].second)),
                static_cast<std::streamsize>(counts[r] * frame_width * sizeof(float)));
    });
  } else {
    detail::remove_frame_files(opt.out_dir);
  }
  detail::write_store(opt.out_dir, index, rows, values, dim, facts, meta);
  spdlog::info("merged {} shards: {} of {} files -> {}", n, rows.size(), summary.total, opt.out_dir);
  return summary;
}

}  // namespace ser::features
