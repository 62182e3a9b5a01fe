#pragma once
// Corpus indexing: turns a folder (RAVDESS, Emo-DB) or a CSV manifest into labelled items without
// opening any audio. Names that do not parse are reported with a precise reason, never dropped
// silently, so a user can see why a corpus has fewer items than expected.
#include <string>
#include <utility>
#include <vector>

namespace ser::data {

struct Item {
  std::string id;       // path relative to the root without extension, '/'-separated
  std::string path;     // path to open (root joined with the relative path)
  std::string label;    // e.g. "angry"
  std::string speaker;  // e.g. "01"; empty when unknown (manifest without a speaker column)
  std::vector<std::pair<std::string, std::string>> metadata;  // in CorpusIndex::metadata_columns order
};

struct IndexProblem {
  std::string path;
  std::string reason;
};

struct CorpusIndex {
  std::string dataset;  // "ravdess", "emodb" or "manifest"
  std::string root;     // the folder, or the manifest file
  std::vector<std::string> metadata_columns;
  std::vector<Item> items;              // sorted by id
  std::vector<IndexProblem> problems;   // sorted by path
};

// Recursive scans of a corpus folder. .wav, .flac and every other audio extension index the same
// way; files without an audio extension and hidden entries (".DS_Store", "._x.wav") are skipped.
// The same id reached through two files (x.wav and x.flac) is a problem for both: neither is
// indexed, since either could be the intended one. Throws ser::Error if root is not a folder.
CorpusIndex index_ravdess(const std::string& root);
CorpusIndex index_emodb(const std::string& root);

// Any folder of audio, for tools that need no labels (`ser augment`): ids as above, label and
// speaker empty, dataset "files". Same scan, skips and duplicate-id rule as the corpora.
CorpusIndex index_audio_folder(const std::string& root);

// A CSV with a header holding at least `path` and `label`; optional `speaker` and `id`; every other
// column is kept as metadata, in order. Relative paths are resolved against the manifest's folder.
// Listed files are not checked for existence here (extraction reports unreadable ones).
// Throws ser::Error naming the manifest for a missing file or a missing required column.
struct ManifestOptions {
  // Training and evaluation need labels; prediction does not (the column may be absent or empty).
  bool require_label = true;
  // Items in the manifest's row order instead of sorted by id (prediction output follows the input).
  bool keep_row_order = false;
};
CorpusIndex index_manifest(const std::string& manifest_csv, const ManifestOptions& options = {});

// dataset: "ravdess" | "emodb" | "manifest". Throws a config error for anything else.
CorpusIndex index_corpus(const std::string& dataset, const std::string& root_or_manifest);
// What index_corpus checks first, without reading the corpus: a manifest that is a file, or a
// root that is a folder. Throws a usage error naming the path ("corpus folder not found",
// "manifest not found", ...); a wrong path is a mistake in the command.
void check_corpus_location(const std::string& dataset, const std::string& root_or_manifest);

// True for the extensions libsndfile decodes (wav, flac, aiff, ogg, mp3, ...), any case.
bool is_audio_extension(const std::string& path);

// Class names in canonical order (the order of the datasets' own codes); empty for "manifest",
// whose labels are whatever the CSV holds.
std::vector<std::string> dataset_labels(const std::string& dataset);

// File-name parsers, exposed for tests and for tools that label single files. `stem` is the file
// name without folder and extension. On success `error` is empty and `item` has label, speaker and
// metadata filled (id and path are left to the caller).
struct ParsedName {
  Item item;
  std::string error;
  bool ok() const { return error.empty(); }
};
ParsedName parse_ravdess_name(const std::string& stem);
ParsedName parse_emodb_name(const std::string& stem);
std::vector<std::string> ravdess_metadata_columns();
std::vector<std::string> emodb_metadata_columns();

}  // namespace ser::data
