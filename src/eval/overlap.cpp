#include "ser/eval/overlap.hpp"

#include <algorithm>
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
    const std::string stored = dataset == "manifest" ? cfg.value("manifest", "") : cfg.value("root", "");
    const std::string where =
        stored.empty() ? "" : resolve_run_path(run_dir, cfg.value("runs_dir", "runs"), stored);
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

std::int64_t size_of(const std::string& path) {
  std::error_code ec;
  const auto s = fs::file_size(path, ec);
  return ec ? -1 : static_cast<std::int64_t>(s);
}

std::uint64_t parse_hex64(const std::string& hex) { return std::stoull(hex, nullptr, 16); }

// What the scored models learnt from: ids, and content as (size, hash) from training_items.csv
// or as files of a run's corpus (hashed only when an evaluated file has their size).
struct Trained {
  std::unordered_set<std::string> ids;
  std::unordered_map<std::int64_t, std::unordered_set<std::uint64_t>> hashes_by_size;
  std::unordered_map<std::int64_t, std::vector<std::string>> paths_by_size;
  std::unordered_set<std::string> paths;  // canonical
};

}  // namespace

std::vector<ContentRecord> content_records(const std::vector<data::Item>& items, int jobs) {
  std::vector<ContentRecord> out(items.size());
  util::parallel_for(items.size(), util::resolve_jobs(jobs, items.size()), [&](std::size_t i) {
    out[i].id = items[i].id;
    try {
      const std::int64_t bytes = size_of(items[i].path);
      const std::uint64_t h = util::hash_file(items[i].path);
      out[i].bytes = bytes;
      out[i].xxh64 = util::hex64(h);
    } catch (const std::exception&) {
      // unreadable now: its id still identifies it
    }
  });
  return out;
}

std::string content_records_csv(const std::vector<ContentRecord>& records) {
  std::string out = "id,bytes,xxh64\n";
  for (const auto& r : records) {
    out += util::csv_line({r.id, r.bytes < 0 ? "" : std::to_string(r.bytes), r.xxh64});
  }
  return out;
}

std::vector<ContentRecord> read_content_records(const std::string& path) {
  const auto rows = util::parse_csv(util::read_text(path), path);
  if (rows.empty() || rows[0].fields != std::vector<std::string>{"id", "bytes", "xxh64"}) {
    fail_input(path, "not a training items file (expected the header id,bytes,xxh64)");
  }
  std::vector<ContentRecord> out;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    const std::string where = path + ":" + std::to_string(rows[r].line);
    if (f.size() != 3 || f[0].empty()) fail_input(where, "expected id,bytes,xxh64");
    ContentRecord c;
    c.id = f[0];
    if (!f[1].empty() || !f[2].empty()) {
      const bool hex = f[2].size() == 16 && f[2].find_first_not_of("0123456789abcdef") == std::string::npos;
      const bool digits = !f[1].empty() && f[1].size() < 19 && f[1].find_first_not_of("0123456789") == std::string::npos;
      if (!hex || !digits) fail_input(where, "bytes must be a count and xxh64 16 lower-case hex digits");
      c.bytes = std::stoll(f[1]);
      c.xxh64 = f[2];
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string resolve_run_path(const std::string& run_dir, const std::string& runs_dir, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  // The run lives in <start>/<runs_dir>/<name>: strip the name (whatever it is now: a moved run
  // keeps its place relative to the folder it was started from) and each part of runs_dir.
  const fs::path rd = fs::path(runs_dir.empty() ? "." : runs_dir).lexically_normal();
  fs::path start = fs::absolute(run_dir).lexically_normal();
  if (!start.has_filename()) start = start.parent_path();
  start = start.parent_path();
  if (!rd.is_absolute()) {
    for (const auto& part : rd) {
      if (part == "..") return "";  // <start>/../x: which folder <start> was is not recorded
      if (part != "." && !part.empty()) start = start.parent_path();
    }
  } else {
    return "";  // started elsewhere, and the run directory does not say where
  }
  return (start / path).lexically_normal().string();
}

TrainingOverlap training_overlap(const std::vector<std::string>& model_dirs, const std::vector<data::Item>& evaluated,
                                 int jobs) {
  TrainingOverlap o;
  o.items = evaluated.size();
  std::map<std::string, RunItems> runs;
  Trained trained;
  std::size_t unknown = 0, id_only = 0, from_records = 0;
  for (const auto& d : model_dirs) {
    fs::path dir = fs::path(d).lexically_normal();
    if (dir.filename().empty()) dir = dir.parent_path();
    const std::string records_path = (dir / kTrainingItemsFile).string();
    if (fs::exists(records_path)) {
      bool all_hashed = true;
      for (const auto& r : read_content_records(records_path)) {
        trained.ids.insert(r.id);
        if (r.xxh64.empty()) {
          all_hashed = false;
        } else {
          trained.hashes_by_size[r.bytes].insert(parse_hex64(r.xxh64));
        }
      }
      ++from_records;
      id_only += !all_hashed;
      continue;
    }
    // A model from before training_items.csv: the run's corpus less the fold's test items.
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
    id_only += !items.from_corpus;
    std::unordered_set<std::string> test;
    if (fold) {
      for (auto& id : test_ids(dir.string())) test.insert(std::move(id));
    }
    for (const auto& [id, path] : items.path_of) {
      if (test.count(id)) continue;
      trained.ids.insert(id);
      if (path.empty()) continue;
      const std::string c = canonical(path);
      if (trained.paths.insert(c).second) trained.paths_by_size[size_of(c)].push_back(c);
    }
  }
  o.known = unknown == 0 && id_only == 0;
  if (unknown == model_dirs.size()) {
    o.note = "the model's training items are unknown (no " + std::string(kTrainingItemsFile) +
             " beside it, and it is not a fold-K/ or final/ folder of a run with config.json)";
    return o;
  }

  // Content: the same file, or a file with the size and XXH64 of a training item. Only files
  // whose size matches one on the training side are read.
  std::vector<std::string> eval_paths(evaluated.size());
  std::vector<std::int64_t> eval_sizes(evaluated.size());
  std::vector<char> same_file(evaluated.size(), 0), by_content(evaluated.size(), 0);
  std::vector<std::string> to_hash;
  std::unordered_set<std::int64_t> legacy_sizes_needed;
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < evaluated.size(); ++i) {
    eval_paths[i] = canonical(evaluated[i].path);
    eval_sizes[i] = size_of(eval_paths[i]);
    same_file[i] = trained.paths.count(eval_paths[i]) > 0;
    if (same_file[i] || eval_sizes[i] < 0) continue;
    const bool recorded = trained.hashes_by_size.count(eval_sizes[i]) > 0;
    const bool legacy = trained.paths_by_size.count(eval_sizes[i]) > 0;
    if (!recorded && !legacy) continue;
    candidates.push_back(i);
    to_hash.push_back(eval_paths[i]);
    if (legacy) legacy_sizes_needed.insert(eval_sizes[i]);
  }
  for (std::int64_t size : legacy_sizes_needed) {
    for (const auto& p : trained.paths_by_size[size]) to_hash.push_back(p);
  }
  std::sort(to_hash.begin(), to_hash.end());
  to_hash.erase(std::unique(to_hash.begin(), to_hash.end()), to_hash.end());
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
  for (std::int64_t size : legacy_sizes_needed) {
    for (const auto& p : trained.paths_by_size[size]) {
      if (hash_of.count(p)) trained.hashes_by_size[size].insert(hash_of[p]);
    }
  }
  for (std::size_t i : candidates) {
    const auto h = hash_of.find(eval_paths[i]);
    const auto set = trained.hashes_by_size.find(eval_sizes[i]);
    by_content[i] = h != hash_of.end() && set != trained.hashes_by_size.end() && set->second.count(h->second);
  }
  for (std::size_t i = 0; i < evaluated.size(); ++i) {
    const bool id = trained.ids.count(evaluated[i].id) > 0;
    const bool content = same_file[i] || by_content[i];
    o.by_id += id;
    o.by_content += content;
    o.either += id || content;
  }
  auto note = [&](const std::string& what) { o.note += (o.note.empty() ? "" : "; ") + what; };
  if (from_records == model_dirs.size()) note("from the models' " + std::string(kTrainingItemsFile));
  if (id_only) {
    note(std::to_string(id_only) + " of " + std::to_string(model_dirs.size()) +
         " models' training files could not be read (the run's corpus was not found, or they were trained from a "
         "feature store without it): matched by id only");
  }
  if (unknown) {
    note(std::to_string(unknown) + " of " + std::to_string(model_dirs.size()) + " models have unknown training items");
  }
  return o;
}

std::string overlap_warning(const TrainingOverlap& o) {
  const std::string note = o.note.empty() ? "" : " (" + o.note + ")";
  std::string out;
  if (o.either > 0) {
    out = std::to_string(o.either) + " of " + std::to_string(o.items) + " evaluated items were training items of the model (" +
          std::to_string(o.by_id) + " by id, " + std::to_string(o.by_content) + " by content): these scores are not " +
          "held-out; use `ser evaluate --run` for cross-validated numbers" + note;
  }
  if (!o.known) {
    out += (out.empty() ? "whether the evaluated items were training items of the model is not known" + note
                        : std::string("; more of them may be")) +
           ": a gate on this evaluation fails unless --allow-training-overlap";
  }
  return out;
}

}  // namespace ser::eval
