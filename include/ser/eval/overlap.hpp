#pragma once
// Whether a model is being scored on items it was trained on. Every model directory `ser train`
// writes (fold-K/, fold-K/selection/, final/) holds training_items.csv: the id, size and XXH64 of
// the bytes of every corpus item it learnt from (training and validation parts), so the check
// needs neither the run nor its corpus and survives copying the model elsewhere. Items are
// matched by id and by content, so a renamed copy still counts. Model directories from before
// that file existed fall back to the run's corpus (config.json, relative roots resolved against
// the run directory, never the working directory) less the fold's test items.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ser/data/corpus.hpp"

namespace ser::eval {

inline constexpr const char* kTrainingItemsFile = "training_items.csv";

// One corpus item's identity: its id and, when its file could be read, its size and XXH64.
struct ContentRecord {
  std::string id;
  std::int64_t bytes = -1;  // -1: unknown
  std::string xxh64;        // 16 hex digits; empty: unknown
};
// The records of `items` (their files hashed in parallel; an unreadable file keeps its id only).
std::vector<ContentRecord> content_records(const std::vector<data::Item>& items, int jobs = 0);
// training_items.csv: id,bytes,xxh64 per row.
std::string content_records_csv(const std::vector<ContentRecord>& records);
// Throws ser::Error (input) naming the file when it is not such a CSV.
std::vector<ContentRecord> read_content_records(const std::string& path);

// Where a run's relative corpus path points: against the folder the run was started from, which
// is the run directory less its name and its config's runs_dir, never the working directory.
// Empty when that folder cannot be known (runs_dir absolute or climbing with "..").
std::string resolve_run_path(const std::string& run_dir, const std::string& runs_dir, const std::string& path);

struct TrainingOverlap {
  // false when some member's training items could not be found: the overlap is then not known
  // to be zero, and a gate on the evaluation refuses (unless --allow-training-overlap).
  bool known = false;
  std::size_t items = 0;       // evaluated items
  std::size_t by_id = 0;       // of them, with the id of an item some member trained on
  std::size_t by_content = 0;  // of them, whose file has the bytes of such an item
  std::size_t either = 0;      // by id or by content
  std::string note;            // how the training items were found, or why they were not
};

// model_dirs: the directories of the models scored (Predictor::sources()' parents).
// Never throws for a missing or unreadable run corpus: the overlap is then unknown (or by id
// only, when the folds' test lists are all there is), and `note` says so.
TrainingOverlap training_overlap(const std::vector<std::string>& model_dirs, const std::vector<data::Item>& evaluated,
                                 int jobs = 0);

// One sentence for report.md and the terminal: how many evaluated items were training items,
// and whether that count is not known to be complete; empty when none were and it is known.
std::string overlap_warning(const TrainingOverlap& o);

}  // namespace ser::eval
