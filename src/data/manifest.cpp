// CSV manifests: the way to bring any corpus (or a subset, or relabelled data) without a parser.
#include <algorithm>
#include <filesystem>
#include <map>
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

// The id never depends on the working directory: a path written relative is taken relative to
// the manifest's folder ("a", "sub/b", "../other/c"); an absolute path inside that folder gives
// the same relative id, one outside it stays absolute. No extension, '/'-separated.
std::string default_id(const fs::path& as_written, const fs::path& absolute, const fs::path& manifest_dir) {
  fs::path rel = absolute.lexically_relative(manifest_dir);
  if (as_written.is_absolute() && escapes(rel)) rel = absolute;
  return rel.replace_extension().generic_string();
}

std::string duplicate_reason(const std::string& id, std::size_t first_line, std::size_t line, bool same_row) {
  return same_row ? "line " + std::to_string(line) + " repeats line " + std::to_string(first_line) + " (id '" + id +
                        "'); the repeat is ignored"
                  : "id '" + id + "' on lines " + std::to_string(first_line) + " and " + std::to_string(line) +
                        " with different contents; neither is indexed, keep only one of them";
}

}  // namespace

CorpusIndex index_manifest(const std::string& manifest_csv, const ManifestOptions& options) {
  check_corpus_location("manifest", manifest_csv);
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
  if (col_label < 0 && options.require_label) fail_input(manifest_csv, "missing required column 'label' in the header");

  // Paths are resolved against the manifest's folder and stored absolute, so ids, index.csv and
  // error messages are the same from any working directory.
  const fs::path manifest_dir = absolute_dir(fs::path(manifest_csv).parent_path());
  struct Seen {
    std::size_t line, item;  // item: index into index.items, or npos once dropped
    std::vector<std::string> fields;
  };
  std::map<std::string, Seen> seen;
  std::vector<std::size_t> item_lines;
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
    const fs::path as_written(raw_path);
    const fs::path absolute = (as_written.is_absolute() ? as_written : manifest_dir / as_written).lexically_normal();
    Item item;
    item.path = absolute.generic_string();
    if (col_label >= 0) item.label = trim(fields[static_cast<std::size_t>(col_label)]);
    if (item.label.empty() && options.require_label) {
      index.problems.push_back({item.path, "empty label (manifest line " + std::to_string(rows[r].line) + ")"});
      continue;
    }
    if (col_speaker >= 0) item.speaker = trim(fields[static_cast<std::size_t>(col_speaker)]);
    if (col_id >= 0) item.id = trim(fields[static_cast<std::size_t>(col_id)]);
    if (item.id.empty()) item.id = default_id(as_written, absolute, manifest_dir);
    const std::size_t line = rows[r].line;
    if (auto it = seen.find(item.id); it != seen.end()) {
      // A row pasted twice is harmless (keep one); two different rows claiming one id are not.
      const bool same_row = it->second.fields == fields;
      index.problems.push_back({where, duplicate_reason(item.id, it->second.line, line, same_row)});
      if (!same_row && it->second.item != std::string::npos) {
        index.problems.push_back({manifest_csv + ":" + std::to_string(it->second.line),
                                  duplicate_reason(item.id, it->second.line, line, false)});
        index.items[it->second.item].id.clear();  // dropped below
        it->second.item = std::string::npos;
      }
      continue;
    }
    seen.emplace(item.id, Seen{line, index.items.size(), fields});
    item_lines.push_back(line);
    for (std::size_t k = 0; k < meta_cols.size(); ++k) {
      item.metadata.emplace_back(index.metadata_columns[k], fields[static_cast<std::size_t>(meta_cols[k])]);
    }
    index.items.push_back(std::move(item));
  }
  std::vector<Item> kept;
  std::map<std::string, std::size_t> line_of;
  for (std::size_t i = 0; i < index.items.size(); ++i) {
    if (index.items[i].id.empty()) continue;
    line_of[index.items[i].id] = item_lines[i];
    kept.push_back(std::move(index.items[i]));
  }
  index.items = std::move(kept);
  detail::finalize(index);
  if (options.keep_row_order) {
    std::sort(index.items.begin(), index.items.end(),
              [&](const Item& a, const Item& b) { return line_of.at(a.id) < line_of.at(b.id); });
  }
  return index;
}

}  // namespace ser::data
