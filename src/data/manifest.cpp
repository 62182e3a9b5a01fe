// CSV manifests: the way to bring any corpus (or a subset, or relabelled data) without a parser.
#include <filesystem>
#include <string>

#include "corpus_internal.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"

namespace ser::data {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool escapes(const fs::path& rel) {
  return rel.empty() || rel.is_absolute() || *rel.begin() == "..";
}

fs::path absolute_dir(const fs::path& dir) {
  fs::path abs = fs::absolute(dir.empty() ? fs::path(".") : dir).lexically_normal();
  if (abs.filename().empty() && abs.has_parent_path()) abs = abs.parent_path();  // "/a/" -> "/a"
  return abs;
}

// Path relative to the manifest's folder when the file lies inside it, else the path as
// written in the manifest (resolved); without extension, '/'-separated. Both sides are made
// absolute first so "/data/m/a.wav" in /data/m/manifest.csv still gives "a".
std::string default_id(const fs::path& resolved, const fs::path& base) {
  const fs::path abs = fs::absolute(resolved).lexically_normal();
  fs::path rel = abs.lexically_relative(absolute_dir(base));
  if (escapes(rel)) rel = resolved.lexically_normal();
  return rel.replace_extension().generic_string();
}

}  // namespace

CorpusIndex index_manifest(const std::string& manifest_csv) {
  std::error_code ec;
  if (!fs::exists(manifest_csv, ec)) fail_input(manifest_csv, "manifest not found");
  if (fs::is_directory(manifest_csv, ec)) fail_input(manifest_csv, "manifest is a folder, expected a CSV file");
  const auto rows = util::parse_csv(util::read_text(manifest_csv), manifest_csv);
  if (rows.empty()) fail_input(manifest_csv, "manifest is empty (expected a header with at least path,label)");

  const auto& header = rows[0].fields;
  int col_path = -1, col_label = -1, col_speaker = -1, col_id = -1;
  std::vector<int> meta_cols;
  CorpusIndex index;
  index.dataset = "manifest";
  index.root = manifest_csv;
  for (std::size_t c = 0; c < header.size(); ++c) {
    const std::string name = trim(header[c]);
    const std::string key = detail::to_lower(name);
    int* slot = key == "path" ? &col_path : key == "label" ? &col_label : key == "speaker" ? &col_speaker
              : key == "id" ? &col_id : nullptr;
    if (name.empty()) fail_input(manifest_csv, "header column " + std::to_string(c + 1) + " has no name");
    if (slot) {
      if (*slot >= 0) fail_input(manifest_csv, "column '" + key + "' appears twice in the header");
      *slot = static_cast<int>(c);
      continue;
    }
    for (const auto& existing : index.metadata_columns) {
      if (existing == name) fail_input(manifest_csv, "column '" + name + "' appears twice in the header");
    }
    meta_cols.push_back(static_cast<int>(c));
    index.metadata_columns.push_back(name);
  }
  if (col_path < 0) fail_input(manifest_csv, "missing required column 'path' in the header");
  if (col_label < 0) fail_input(manifest_csv, "missing required column 'label' in the header");

  const fs::path base = fs::path(manifest_csv).parent_path();
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& fields = rows[r].fields;
    const std::string where = manifest_csv + ":" + std::to_string(rows[r].line);
    if (fields.size() != header.size()) {
      index.problems.push_back({where, "row has " + std::to_string(fields.size()) + " fields, the header has " +
                                           std::to_string(header.size())});
      continue;
    }
    const std::string raw_path = trim(fields[static_cast<std::size_t>(col_path)]);
    if (raw_path.empty()) {
      index.problems.push_back({where, "empty path"});
      continue;
    }
    const fs::path p(raw_path);
    const fs::path resolved = p.is_absolute() ? p : base / p;
    Item item;
    item.path = resolved.generic_string();
    item.label = trim(fields[static_cast<std::size_t>(col_label)]);
    if (item.label.empty()) {
      index.problems.push_back({item.path, "empty label (manifest line " + std::to_string(rows[r].line) + ")"});
      continue;
    }
    if (col_speaker >= 0) item.speaker = trim(fields[static_cast<std::size_t>(col_speaker)]);
    if (col_id >= 0) item.id = trim(fields[static_cast<std::size_t>(col_id)]);
    if (item.id.empty()) item.id = default_id(resolved, base);
    for (std::size_t k = 0; k < meta_cols.size(); ++k) {
      item.metadata.emplace_back(index.metadata_columns[k], fields[static_cast<std::size_t>(meta_cols[k])]);
    }
    index.items.push_back(std::move(item));
  }
  detail::finalize(index);
  return index;
}

}  // namespace ser::data
