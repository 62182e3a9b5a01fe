#include "ser/eval/overlap.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "ser/error.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/util/hash.hpp"
#include "ser/util/parallel.hpp"

namespace fs = std::filesystem;

namespace ser::eval {

namespace {

// What a run's folds were made from: its corpus as indexed now (id -> path), or, when that
// corpus is gone, the ids its folds tested (every item, for k-fold protocols).
struct RunItems {
  std::map<std::string, std::string> path_of;  // id -> path ("" when only the id is known)
  bool from_corpus = false;
};

std::vector<std::string> test_ids(const std::string& fold_dir) {
  std::vector<std::string> ids;
  const std::string path = fold_dir + "/predictions.csv";
  if (!fs::exists(path)) return ids;
  const auto rows = util::parse_csv(util::read_text(path), path);
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (!rows[r].fields.empty()) ids.push_back(rows[r].fields[0]);
  }
  return ids;
}

RunItems run_items(const std::string& run_dir) {
  RunItems out;
  try {
    const auto cfg = util::read_json(run_dir + "/config.json");
    const std::string dataset = cfg.value("dataset", "");
    const std::string where = dataset == "manifest" ? cfg.value("manifest", "") : cfg.value("root", "");
    if (!dataset.empty() && !where.empty() && fs::exists(where)) {
      for (const auto& item : data::index_corpus(dataset, where).items) out.path_of[item.id] = item.path;
      out.from_corpus = true;
      return out;
    }
  } catch (const std::exception&) {
    // an unreadable config or corpus leaves the folds' own lists
  }
  for (const auto& [k, dir] : util::numbered_subdirs(run_dir, "fold-")) {
    for (auto& id : test_ids(dir)) out.path_of.emplace(std::move(id), "");
  }
  return out;
}

std::string canonical(const std::string& path) {
  std::error_code ec;
  const auto c = fs::weakly_canonical(path, ec);
  return ec ? path : c.string();
}

std::uintmax_t size_of(const std::string& path) {
  std::error_code ec;
  const auto s = fs::file_size(path, ec);
  return ec ? static_cast<std::uintmax_t>(-1) : s;
}

}  // namespace

TrainingOverlap training_overlap(const std::vector<std::string>& model_dirs, const std::vector<data::Item>& evaluated,
                                 int jobs) {
  TrainingOverlap o;
  o.items = evaluated.size();
  std::map<std::string, RunItems> runs;
  std::map<std::string, std::string> trained;  // id -> path, over every member
  bool by_id_only = false;
  std::size_t unknown = 0;
  for (const auto& d : model_dirs) {
    fs::path dir = fs::path(d).lexically_normal();
    if (dir.filename().empty()) dir = dir.parent_path();
    if (dir.filename() == "selection") dir = dir.parent_path();  // fold-K/selection trained on part of fold-K's items
    const std::string name = dir.filename().string();
    const std::string run = dir.parent_path().string();
    const bool fold = name.rfind("fold-", 0) == 0;
    if ((!fold && name != "final") || !fs::exists(run + "/config.json")) {
      ++unknown;
      continue;
    }
    auto it = runs.find(run);
    if (it == runs.end()) it = runs.emplace(run, run_items(run)).first;
    const RunItems& items = it->second;
    if (items.path_of.empty()) {
      ++unknown;
      continue;
    }
    by_id_only = by_id_only || !items.from_corpus;
    std::unordered_set<std::string> test;
    if (fold) {
      for (auto& id : test_ids(dir.string())) test.insert(std::move(id));
    }
    for (const auto& [id, path] : items.path_of) {
      if (!test.count(id)) trained.emplace(id, path);
    }
  }
  o.known = unknown < model_dirs.size();
  if (!o.known) {
    o.note = "the model's training items are unknown (it is not a fold-K/ or final/ folder of a run with config.json)";
    return o;
  }

  // Content: the same file, or another file with the same size and bytes.
  std::unordered_set<std::string> trained_paths;
  std::unordered_map<std::uintmax_t, std::vector<std::string>> trained_by_size;
  for (const auto& [id, path] : trained) {
    if (path.empty()) continue;
    const std::string c = canonical(path);
    trained_paths.insert(c);
    trained_by_size[size_of(c)].push_back(c);
  }
  std::vector<std::string> eval_paths(evaluated.size());
  std::vector<char> same_file(evaluated.size(), 0), by_content(evaluated.size(), 0);
  std::unordered_map<std::uintmax_t, std::vector<std::size_t>> candidates;
  for (std::size_t i = 0; i < evaluated.size(); ++i) {
    eval_paths[i] = canonical(evaluated[i].path);
    same_file[i] = trained_paths.count(eval_paths[i]) > 0;
    if (!same_file[i]) {
      const auto size = size_of(eval_paths[i]);
      if (trained_by_size.count(size)) candidates[size].push_back(i);
    }
  }
  // Only files whose size matches one on the other side are read.
  std::vector<std::string> to_hash;
  for (const auto& [size, list] : candidates) {
    for (std::size_t i : list) to_hash.push_back(eval_paths[i]);
    for (const auto& p : trained_by_size[size]) to_hash.push_back(p);
  }
  std::vector<std::uint64_t> hashes(to_hash.size(), 0);
  std::vector<char> hashed(to_hash.size(), 0);
  util::parallel_for(to_hash.size(), util::resolve_jobs(jobs, to_hash.size()), [&](std::size_t k) {
    try {
      hashes[k] = util::hash_file(to_hash[k]);
      hashed[k] = 1;
    } catch (const std::exception&) {
      // unreadable: it cannot be matched by content
    }
  });
  std::unordered_map<std::string, std::uint64_t> hash_of;
  for (std::size_t k = 0; k < to_hash.size(); ++k) {
    if (hashed[k]) hash_of[to_hash[k]] = hashes[k];
  }
  for (const auto& [size, list] : candidates) {
    std::unordered_set<std::uint64_t> trained_hashes;
    for (const auto& p : trained_by_size[size]) {
      if (hash_of.count(p)) trained_hashes.insert(hash_of[p]);
    }
    for (std::size_t i : list) by_content[i] = hash_of.count(eval_paths[i]) && trained_hashes.count(hash_of[eval_paths[i]]);
  }
  for (std::size_t i = 0; i < evaluated.size(); ++i) {
    const bool id = trained.count(evaluated[i].id) > 0;
    const bool content = same_file[i] || by_content[i];
    o.by_id += id;
    o.by_content += content;
    o.either += id || content;
  }
  if (by_id_only) o.note = "the run's corpus was not found: training items matched by id only";
  if (unknown) {
    o.note += (o.note.empty() ? "" : "; ") + std::to_string(unknown) + " of " + std::to_string(model_dirs.size()) +
              " models have unknown training items";
  }
  return o;
}

std::string overlap_warning(const TrainingOverlap& o) {
  if (!o.known || o.either == 0) return "";
  return std::to_string(o.either) + " of " + std::to_string(o.items) + " evaluated items were training items of the model (" +
         std::to_string(o.by_id) + " by id, " + std::to_string(o.by_content) + " by content): these scores are not " +
         "held-out; use `ser evaluate --run` for cross-validated numbers" + (o.note.empty() ? "" : " (" + o.note + ")");
}

}  // namespace ser::eval
