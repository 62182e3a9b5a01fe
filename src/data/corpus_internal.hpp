#pragma once
// Pieces shared by the corpus indexers (not part of the public API).
#include <functional>
#include <string>
#include <vector>

#include "ser/data/corpus.hpp"

namespace ser::data::detail {

struct ScannedFile {
  std::string id;      // relative path without extension, '/'-separated
  std::string path;    // root joined with the relative path
  std::string stem;    // file name without extension
  std::string parent;  // name of the containing folder ("" when directly under root)
};

// Every audio file under root, recursively, skipping hidden entries. Throws ser::Error naming
// root when it does not exist or is not a folder.
std::vector<ScannedFile> scan_audio_files(const std::string& root);

// Drops items whose id occurs more than once (reporting each), then sorts items by id and
// problems by path, so the index never depends on directory iteration order.
void finalize(CorpusIndex& index);

std::string to_lower(std::string s);

// The folder corpora's common loop: scan root, name every file with `parse`, let `check`
// (optional) veto a parsed item with a reason, report the rest as problems, finalize.
using NameParser = std::function<ParsedName(const std::string& stem)>;
using ItemCheck = std::function<std::string(const ScannedFile& file, const Item& item)>;
CorpusIndex index_folder(const std::string& root, const std::string& dataset, std::vector<std::string> columns,
                         const NameParser& parse, const ItemCheck& check = {});

}  // namespace ser::data::detail
