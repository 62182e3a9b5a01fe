#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include "corpus_internal.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"

namespace ser::data {

namespace fs = std::filesystem;

namespace detail {

std::string to_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<ScannedFile> scan_audio_files(const std::string& root) {
  check_corpus_location("ravdess", root);  // any folder corpus
  std::error_code ec;

  // A trailing '/' would make lexically_relative produce "../" paths.
  std::string trimmed = root;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const fs::path base(trimmed);
  std::vector<ScannedFile> files;
  // Symlinked folders are followed: corpora are often assembled from links to other disks.
  fs::recursive_directory_iterator it(
      base, fs::directory_options::skip_permission_denied | fs::directory_options::follow_directory_symlink, ec);
  const fs::recursive_directory_iterator end;
  if (ec) fail_input(root, "cannot list folder: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) fail_input(root, "cannot list folder: " + ec.message());
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    // Hidden entries are OS or tool litter (.DS_Store, AppleDouble "._x.wav", .git), not corpus.
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || !is_audio_extension(name)) continue;
    const fs::path rel = p.lexically_relative(base);
    ScannedFile f;
    f.id = fs::path(rel).replace_extension().generic_string();
    f.path = (base / rel).generic_string();
    f.stem = p.stem().string();
    f.parent = rel.has_parent_path() ? rel.parent_path().filename().string() : std::string();
    files.push_back(std::move(f));
  }
  return files;
}

CorpusIndex index_folder(const std::string& root, const std::string& dataset, std::vector<std::string> columns,
                         const NameParser& parse, const ItemCheck& check) {
  CorpusIndex index;
  index.dataset = dataset;
  index.root = root;
  index.metadata_columns = std::move(columns);
  for (auto& f : scan_audio_files(root)) {
    ParsedName parsed = parse(f.stem);
    if (parsed.ok() && check) parsed.error = check(f, parsed.item);
    if (!parsed.ok()) {
      index.problems.push_back({f.path, parsed.error});
      continue;
    }
    parsed.item.id = std::move(f.id);
    parsed.item.path = std::move(f.path);
    index.items.push_back(std::move(parsed.item));
  }
  finalize(index);
  return index;
}

void finalize(CorpusIndex& index) {
  std::map<std::string, std::vector<std::size_t>> by_id;
  for (std::size_t i = 0; i < index.items.size(); ++i) by_id[index.items[i].id].push_back(i);
  std::vector<Item> kept;
  kept.reserve(index.items.size());
  for (auto& [id, where] : by_id) {
    if (where.size() == 1) {
      kept.push_back(std::move(index.items[where[0]]));
      continue;
    }
    for (std::size_t i : where) {
      std::string others;
      for (std::size_t j : where) {
        if (j == i) continue;
        others += (others.empty() ? "" : ", ") + index.items[j].path;
      }
      index.problems.push_back({index.items[i].path, "duplicate id '" + id + "' (also " + others +
                                                         "); neither is indexed, keep only one of them"});
    }
  }
  index.items = std::move(kept);  // std::map iteration already sorted them by id
  std::stable_sort(index.problems.begin(), index.problems.end(),
                   [](const IndexProblem& a, const IndexProblem& b) { return a.path < b.path; });
}

}  // namespace detail

bool is_audio_extension(const std::string& path) {
  // The containers libsndfile 1.1+ decodes; anything else in a corpus folder is not audio.
  static const char* const kExtensions[] = {".wav", ".wave", ".flac", ".aif", ".aiff", ".aifc", ".ogg",
                                            ".oga",  ".opus", ".mp3",  ".au",  ".snd",  ".caf",  ".w64",
                                            ".rf64", ".voc",  ".sph",  ".sd2", ".paf",  ".svx",  ".avr"};
  const std::string ext = detail::to_lower(fs::path(path).extension().string());
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* e) { return ext == e; });
}

CorpusIndex index_audio_folder(const std::string& root) {
  return detail::index_folder(root, "files", {}, [](const std::string&) { return ParsedName{}; });
}

void check_corpus_location(const std::string& dataset, const std::string& root_or_manifest) {
  const std::string d = detail::to_lower(dataset);
  const std::string& p = root_or_manifest;
  std::error_code ec;
  // A wrong --root, --manifest or config path is a usage mistake (exit 2), not a failing input.
  if (d == "manifest" || d == "csv") {
    if (!fs::exists(p, ec)) throw Error(ErrorKind::Usage, p, "manifest not found");
    if (fs::is_directory(p, ec)) throw Error(ErrorKind::Usage, p, "manifest is a folder, expected a CSV file");
    return;
  }
  if (!fs::exists(p, ec)) throw Error(ErrorKind::Usage, p, "corpus folder not found");
  if (!fs::is_directory(p, ec)) throw Error(ErrorKind::Usage, p, "corpus root is not a folder");
}

CorpusIndex index_corpus(const std::string& dataset, const std::string& root_or_manifest) {
  const std::string d = detail::to_lower(dataset);
  if (d == "ravdess") return index_ravdess(root_or_manifest);
  if (d == "emodb" || d == "emo-db") return index_emodb(root_or_manifest);
  if (d == "manifest" || d == "csv") return index_manifest(root_or_manifest);
  fail_config("dataset", "unknown dataset '" + dataset + "' (known: ravdess, emodb, manifest)");
}

std::vector<std::string> dataset_labels(const std::string& dataset) {
  const std::string d = detail::to_lower(dataset);
  if (d == "ravdess") return {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"};
  if (d == "emodb" || d == "emo-db") return {"anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral"};
  if (d == "manifest" || d == "csv") return {};
  fail_config("dataset", "unknown dataset '" + dataset + "' (known: ravdess, emodb, manifest)");
}

}  // namespace ser::data
